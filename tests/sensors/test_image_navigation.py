"""Image-based terrain-relative navigation: the fix's error statistics, its availability
conditions, false matches, and the model the filter uses (sensors/image_navigation.py)."""

import math

import numpy as np
import pytest

from dynamics import frames, quaternion, sun, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.views import record
from sensors import bus, image_navigation
from sims import api
from sims.run import consistency
from tests.sensors.test_sensor_models import changed, channel_state, pose_at, sample
from tests.sims.scenarios import IMAGE_NAVIGATION, closed_loop, with_channel

SITE = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)  # Sun 10 deg up in the east
UP = tuple(SITE["up"])
Q_UP = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)
LEVEL = np.zeros((41, 41))  # a level 40 km tile around the site


POPULATION_M = (25.0, 5000.0)  # the tile's craters (not rendered: the level tile's texture)


def ground(crater_density=1.0, site=SITE):
    population = (crater_density, *POPULATION_M)
    tiles, heights = terrain.make_tiles([(-20e3, -20e3, 1000.0, LEVEL, population)])
    return TruthTerrain(site, tiles, heights)


CAMERA = record(
    image_navigation.SPEC_DTYPE,
    boresight_body=(0.0, 0.0, -1.0),
    ifov_rad=math.radians(40.0) / 1024,
    tan_half_fov=math.tan(math.radians(20.0)),
    exposure_s=0.002,
    match_error_px=0.5,
    noise_m=2.0,
    min_altitude_m=100.0,
    max_altitude_m=20e3,
    min_cos_off_nadir=math.cos(math.radians(60.0)),
    min_sin_sun_elevation=math.sin(math.radians(2.0)),
    max_blur_px=1.0,
    min_craters=3.0,
    smallest_mapped_crater_m=100.0,
    false_match_error_m=200.0,
)


def above(height_m, downrange_m=0.0):
    theta = downrange_m / MOON_MEAN_RADIUS_M
    direction = math.cos(theta) * SITE["up"] + math.sin(theta) * SITE["track_downrange"]
    return tuple((MOON_MEAN_RADIUS_M + height_m) * direction)


def fixes(spec, pose, n, terrain_truth=None, seed=3):
    state = channel_state(seed)
    terrain_truth = ground() if terrain_truth is None else terrain_truth
    return [sample(image_navigation, spec, pose, state, terrain_truth) for _ in range(n)]


def test_fix_error_grows_with_the_ground_sample_distance():
    """Nadir from 3 km and from 12 km: each axis unbiased, with 1 sigma
    hypot(2 m, 0.5 px x h x IFOV) as reported (5-sigma bounds on mean and spread)."""
    for height, downrange in ((3000.0, 0.0), (12000.0, -5000.0)):
        expected = math.hypot(2.0, 0.5 * height * CAMERA["ifov_rad"])
        out = fixes(CAMERA, pose_at(above(height, downrange), Q_UP), 4000)
        assert all(o["valid"] for o in out)
        y = np.array([o["y"][:2] for o in out])
        assert y.mean(axis=0) == pytest.approx([downrange, 0.0], abs=5 * expected / 63)
        assert y.std(axis=0) == pytest.approx([expected, expected], rel=5 / math.sqrt(8000))
        assert out[0]["sigma"][:2] == pytest.approx([expected, expected], rel=1e-4)  # ray cast


def valid(spec=CAMERA, height=3000.0, q=Q_UP, w=(0.0, 0.0, 0.0), terrain_truth=None):
    out = fixes(spec, pose_at(above(height), q, w_body=w), 1, terrain_truth)
    return bool(out[0]["valid"])


def test_no_fix_outside_the_conditions_the_pipeline_needs():
    """No fix below or above the altitude window, looking 70 deg off the vertical, turning
    faster than a pixel over the exposure, over a featureless plain or off the map, or with
    the Sun under its minimum elevation; a fix just inside each."""
    any_texture = changed(CAMERA, min_craters=0.0)
    assert valid(any_texture, height=150.0) and not valid(any_texture, height=90.0)
    assert valid(height=19e3) and not valid(height=21e3)
    tilt = quaternion.multiply(Q_UP, quaternion.from_rotation_vector((math.radians(70.0), 0, 0)))
    assert not valid(q=tilt)
    limit = CAMERA["ifov_rad"] / CAMERA["exposure_s"]  # rad/s for one pixel of smear
    assert valid(w=(0.9 * limit, 0.0, 0.0)) and not valid(w=(1.1 * limit, 0.0, 0.0))
    assert not valid(terrain_truth=ground(crater_density=0.0))
    assert not valid(terrain_truth=TruthTerrain(SITE, *terrain.make_tiles([])))
    east, north, up = SITE["east"], SITE["north"], SITE["up"]
    for elevation, expected in ((3.0, True), (1.0, False), (-10.0, False)):
        site = SITE.copy()
        site["sun_mcmf"] = sun.direction_from_horizon(
            east, north, up, math.radians(elevation), math.pi / 2
        )
        assert valid(terrain_truth=ground(site=site)) is expected


def test_texture_is_the_craters_the_match_can_use_in_the_footprint():
    """Straight down over a tile of equilibrium density f (craters 25 m to 5 km): the image's
    footprint holds f K (2 h tan 20 deg)^2 (D^-2 - (5 km)^-2) craters of D >= 100 m (Trask's
    K = 10^-1.1 / m^2; the mapped craters, here larger than 4 pixels), so the fix needs
    h >= h* where that is 3 (min_craters); a denser tile fixes from lower down."""
    for density in (1.0, 0.2):
        per_h2 = (
            density
            * 10.0**-1.1
            * (2 * CAMERA["tan_half_fov"]) ** 2
            * (100.0**-2 - POPULATION_M[1] ** -2)
        )
        h_star = math.sqrt(3.0 / per_h2)
        truth = ground(crater_density=density)
        assert valid(height=1.02 * h_star, terrain_truth=truth)
        assert not valid(height=0.98 * h_star, terrain_truth=truth)


def test_false_matches_are_off_by_their_own_error_with_a_good_match_covariance():
    """With a 30 % false-match rate the spread is sqrt(0.7 s^2 + 0.3 (200 m)^2) while the
    reported sigma stays that of a good match."""
    spec = changed(CAMERA, false_match_probability=0.3)
    out = fixes(spec, pose_at(above(3000.0), Q_UP), 4000)
    good = math.hypot(2.0, 0.5 * 3000.0 * CAMERA["ifov_rad"])
    y = np.array([o["y"][:2] for o in out])
    assert y.std() == pytest.approx(math.sqrt(0.7 * good**2 + 0.3 * 200.0**2), rel=0.05)
    assert out[0]["sigma"][0] == pytest.approx(good)


def test_model_innovation_and_jacobians():
    """The filter's model of a fix offset by (30, -20) m: that innovation; d y / d r the
    gradient of the track coordinates (finite differences); d y / d theta = arm x gradient
    for a camera 1 m off the centre of mass."""
    spec = changed(CAMERA, position_body_m=(1.0, 0.0, 0.0))
    pose = pose_at(above(3000.0, -2000.0), Q_UP)
    camera_mcmf = np.array(bus.sensor_position_mcmf(pose, (1.0, 0.0, 0.0)))
    x, y, _ = frames.track_coordinates(SITE, camera_mcmf)
    meas = record(bus.MEASUREMENT_DTYPE, m=2, valid=True, period_s=1.0)
    meas["y"][:2] = (x + 30.0, y - 20.0)
    meas["sigma"][:2] = (4.0, 4.0)
    model = np.zeros(1, bus.MODEL_DTYPE)[0]
    empty = np.zeros_like(terrain.REGION_SIGMAS_M)
    onboard = OnboardMap(SITE, *terrain.make_tiles([]), 0.0, 0.0, empty, 0.0)
    image_navigation.predict(spec, pose, onboard, meas, model)
    assert model["usable"] and model["m"] == 2
    assert model["innovation"][:2] == pytest.approx([30.0, -20.0], abs=1e-6)
    step = 1.0
    axes = np.array([SITE["east"], SITE["north"], SITE["up"]])  # rows: body axes, MCMF
    for row, predicted in enumerate((x, y)):
        gradient = np.zeros(3)
        for axis in range(3):
            moved = camera_mcmf.copy()
            moved[axis] += step
            gradient[axis] = (frames.track_coordinates(SITE, moved)[row] - predicted) / step
        assert model["j_position"][row] == pytest.approx(gradient, abs=1e-6)
        expected = np.cross((1.0, 0.0, 0.0), axes @ gradient)  # arm x gradient in body axes
        assert model["j_attitude"][row] == pytest.approx(expected, abs=1e-6)
    # the ground track runs north (body y): turning about body z moves the camera on body x
    # along it, by the angle times the 1 m arm, read on the map radius (R / (R + 3 km))
    assert model["j_attitude"][0, 2] == pytest.approx(1.0, rel=2e-3)
    assert model["noise_cov"][:2, :2] == pytest.approx(np.eye(2) * 16.0)


def camera_runs(seeds, **changes):
    """The closed-loop nominal with the bundled suites' descent camera, changed: by default
    it never mismatches, is not gated and finds texture down to its lowest altitude (the
    site's craters fill too little of a footprint below ~1.5 km: tested above)."""
    exact = {"false_match_probability": 0.0, "gate": {"policy": "accept_all"}, "min_craters": 0}
    spec = {**IMAGE_NAVIGATION, **exact, **changes}
    return api.run_seeds(with_channel(closed_loop(), "camera", spec), seeds)


def position_errors(results):
    return np.array([r.summary["navigation"]["final_position_error_m"] for r in results])


def test_a_fix_delivered_late_is_as_good_as_an_immediate_one():
    """Fixes 2 s after their image (predicted at the image time, `gnc.navigation.updates`)
    navigate as well as fixes without latency on the same seeds: every run lands, knowing
    its position to about a metre, with the same errors and a consistent filter. (Taken as
    current, a fix 2 s old is off by the 2 s of flight: kilometres in braking.)"""
    seeds = range(12)
    low, high = consistency.band(len(seeds), probability=0.99)  # chi-square(36) / 12: 1.5-5.1
    at_once, late = camera_runs(seeds, latency="0 s"), camera_runs(seeds, latency="2 s")
    for results in (at_once, late):
        assert all(r.outcome == "landed" for r in results)
        assert np.median(position_errors(results)) < 2.0
        nees = [r.summary["navigation"]["nees"]["end_braking"]["position"] for r in results]
        assert low < np.mean(nees) < high  # measured: 2.6 at once, 2.3 late
    assert np.median(position_errors(late)) < 1.2 * np.median(position_errors(at_once))


def test_the_gate_rejects_false_matches():
    """One fix in five a false match 200 m off (with a good match's covariance): a gate at
    the chi-square 99.99 % point rejects them, and after three in a row re-initialises the
    horizontal position (`recover`), so that no run is left rejecting good fixes; every run
    lands knowing its position to metres. Without a gate the filter takes them and lands
    knowing it an order of magnitude worse (measured: medians 1.4 m and 22 m)."""
    seeds = range(12)
    false = {"false_match_probability": 0.2, "false_match_error": "200 m"}
    gate = {"policy": "recover", "probability": 0.9999, "reject_limit": 3}
    gated = camera_runs(seeds, gate=gate, **false)
    rejected = [
        sum(e == {**e, "event": "measurement_rejected", "sensor": "camera"} for e in events)
        for events in (r.summary["events"] for r in gated)
    ]
    assert min(rejected) > 0
    assert all(r.outcome == "landed" for r in gated)
    assert position_errors(gated).max() < 5.0
    ungated = camera_runs(seeds, **false)
    assert np.median(position_errors(ungated)) > 5 * np.median(position_errors(gated))


def test_image_navigation_removes_a_pdi_state_error_that_nothing_else_sees():
    """Apollo 11's descent handed a PDI position 5.5 km (3 nmi) uprange of the truth, its
    covariance unaware (apollo11_state_error): every run touches down 3-5 km past the target,
    `lands_long` (the ranging sees altitude, not where along the track). With the camera
    (apollo11_state_error_trn) its first fixes are refused, `recover` then re-initialises the
    horizontal position after three (not the altitude: `filter.reinitialise_position`), and
    every run lands within 100 m of the target."""
    seeds = range(4)
    for r in api.run_seeds("apollo11_state_error", seeds):
        assert r.summary["failure_class"] == "lands_long"
        assert 3000.0 < r.summary["touchdown"]["downrange_m"] < 5500.0
    for r in api.run_seeds("apollo11_state_error_trn", seeds):
        assert r.outcome == "landed" and r.summary["touchdown"]["position_error_m"] < 100.0
        camera = [e["event"] for e in r.summary["events"] if e.get("sensor") == "camera"]
        assert camera[:3] == ["measurement_rejected", "sensor_acquired", "sensor_recovered"]
