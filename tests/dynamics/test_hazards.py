"""Hazards below the map's resolution (`dynamics.hazards`): the boulders follow their power law
and cover the ground the law says, a boulder stands in the truth at its shape and height and
not on the onboard map, the lander resting on one tilts as its pads' support plane says
(`dynamics.touchdown`), and the summary names what tipped it."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from dynamics import frames, hazards, quaternion, terrain, terrain_section, touchdown
from sims.analysis import failure_class
from sims.run import records
from sims.scenarios import scenario
from tests.sims.scenarios import on_a_hazard_field

LAW = (0.01, 3.5, 0.3, 5.0)  # K [per m^2, D >= 1 m], b, smallest and largest diameter [m]


def test_boulder_counts_follow_the_power_law():
    """Counts per diameter bin over 0.4 km^2 against K A (D_lo^-b - D_hi^-b): chi-square
    within its 99.9 % quantile, for three seeds."""
    density, exponent, _, _ = LAW
    edges = np.array([0.3, 0.4, 0.6, 1.0, 1.6, 2.5, 5.0])
    expected = density * 4e5 * (edges[:-1] ** -exponent - edges[1:] ** -exponent)
    assert expected.min() > 20  # every bin in the chi-square's range
    for seed in range(3):
        rng = np.random.default_rng(seed)
        b = hazards.sample_boulders(rng, (0.0, 800.0), (0.0, 500.0), LAW, 0.5)
        counts, _ = np.histogram(b["diameter_m"], edges)
        chi2 = np.sum((counts - expected) ** 2 / expected)
        assert chi2 < stats.chi2.ppf(0.999, len(expected)), (seed, counts, expected)
        assert np.all(b["height_m"] == 0.5 * b["diameter_m"])
        assert b["downrange_m"].min() >= 0.0 and b["downrange_m"].max() <= 800.0


def test_rock_abundance_is_the_ground_the_boulders_cover():
    """The formula against a numerical integral of the law's disc areas, and against the discs
    of boulders drawn from it."""
    density, exponent, d_min, d_max = LAW

    def covered(d):  # disc area times the number density -dN/dD = b K D^(-b-1)
        return math.pi * d * d / 4 * exponent * density * d ** (-exponent - 1)

    by_integral, _ = integrate.quad(covered, d_min, d_max)
    assert hazards.rock_abundance(*LAW) == pytest.approx(by_integral, rel=1e-9)
    rng = np.random.default_rng(7)
    area = 2000.0 * 2000.0
    b = hazards.sample_boulders(rng, (0.0, 2000.0), (0.0, 2000.0), LAW, 0.5)
    drawn = np.sum(math.pi * b["diameter_m"] ** 2 / 4) / area
    assert drawn == pytest.approx(by_integral, rel=0.05)


PLACED = {"kind": "boulder", "downrange": "3 m", "diameter": "1.2 m", "height": "0.6 m"}


def hazard_scenario(**law):
    """A level site with a hazard field 20 m around the target at 0.1 m, the boulder PLACED
    at (3, 0) and boulders of the law given (none by default)."""
    return on_a_hazard_field("20 m", "0.1 m", [PLACED], **law)


def test_a_boulder_stands_in_the_truth_and_not_on_the_map():
    sc = hazard_scenario()
    truth = terrain_section.truth_terrain(sc.site, sc.terrain)
    t = truth.tiles
    assert list(t["hazard_field"]) == [False, True]
    for r in (
        0.0,
        0.2,
        0.4,
        0.5,
    ):  # at the field's nodes: half an ellipsoid, h sqrt(1 - (2 r / D)^2)
        h, _, _ = terrain.height_and_gradient(t, truth.heights, 3.0 + r, 0.0)
        assert h == pytest.approx(0.6 * math.sqrt(1 - (r / 0.6) ** 2), abs=1e-9), r
    assert terrain.height_and_gradient(t, truth.heights, 3.7, 0.0)[0] == 0.0
    onboard = terrain_section.onboard_map(sc.site, sc.terrain, truth, "map", 5.0)
    assert len(onboard.tiles) == 1
    assert terrain.height_and_gradient(onboard.tiles, onboard.heights, 3.0, 0.0)[0] == 0.0
    # a ray straight down meets its top
    site = truth.site
    above = np.array(frames.track_point(site, 3.0, 0.0, site["map_radius_m"] + 50.0))
    down = -above / np.linalg.norm(above)
    rho = terrain.ray_cast(site, t, truth.heights, above, down, 100.0, 0.01)
    assert rho == pytest.approx(50.0 - 0.6, abs=0.005)


def test_the_odd_pad_is_the_farthest_from_numpys_median():
    """The pad named is the one farthest from the pads' median height as numpy's median gives
    it, for three to six pads, with ties and with the middle two apart (an even count takes
    their mean: for heights 0, 0.1, 0.5, 0.55 the median 0.3 makes the first pad the odd one,
    the lower middle value 0.1 the last)."""
    ground = np.zeros((4, 3))
    ground[:, 2] = (0.0, 0.1, 0.5, 0.55)
    assert touchdown.odd_pad(ground) == 0
    rng = np.random.default_rng(3)
    for n in (3, 4, 5, 6):
        for _ in range(200):
            ground = np.zeros((n, 3))
            ground[:, 2] = rng.integers(-3, 4, n) * 0.1 if rng.random() < 0.5 else rng.random(n)
            deviation = np.abs(ground[:, 2] - np.median(ground[:, 2]))
            assert touchdown.odd_pad(ground) == int(np.argmax(deviation))


def test_the_support_plane_of_a_pad_on_a_rock():
    """A rock of height h under pad 1 of a four-legged lander: it rests on pad 1 and the
    opposite pad 3 and one of 2, 4; the plane through (1.3, 0, h), (0, 1.3, 0), (-1.3, 0, 0)
    by its normal (a cross product); the pad named is pad 1. A three-legged lander with one
    pad raised rests on all three."""
    for h in (0.1, 0.4, 0.8):
        ground = np.array([[1.3, 0, h], [0, 1.3, 0], [-1.3, 0, 0], [0, -1.3, 0]])
        normal = np.cross(ground[1] - ground[0], ground[2] - ground[0])
        expected = math.acos(abs(normal[2]) / np.linalg.norm(normal))
        assert touchdown.support_tilt(ground) == pytest.approx(expected, abs=1e-12)
        assert touchdown.odd_pad(ground) == 0
        tripod = np.array([[1.0, 0, h], [-0.5, 0.866, 0], [-0.5, -0.866, 0]])
        n3 = np.cross(tripod[1] - tripod[0], tripod[2] - tripod[0])
        assert touchdown.support_tilt(tripod) == pytest.approx(
            math.acos(abs(n3[2]) / np.linalg.norm(n3)), abs=1e-12
        )
    level = np.array([[1.3, 0, 0.2], [0, 1.3, 0.2], [-1.3, 0, 0.2], [0, -1.3, 0.2]])
    assert touchdown.support_tilt(level) == 0.0
    # the centre of mass outside every facet: it falls
    off = np.array([[5.0, 0, 0], [6.0, 1.0, 0], [6.0, -1.0, 0]])
    assert touchdown.support_tilt(off) == pytest.approx(math.pi / 2)


def test_landing_with_a_pad_on_a_placed_boulder_tips_and_names_it():
    """On the hazard field the slope is the pads' support plane (pad 1 on the 0.6-m boulder at
    3 m: the centre of mass at 1.7 m); off it, the slope beneath the centre of mass as before;
    the summary's ground feature names the boulder and the pad, the failure class says so."""
    sc = hazard_scenario()
    truth = terrain_section.truth_terrain(sc.site, sc.terrain)
    site = truth.site
    pads = [[1.3, 0, -0.9], [0, 1.3, -0.9], [-1.3, 0, -0.9], [0, -1.3, -0.9]]
    gear = (np.zeros(3), np.array(pads))
    r = np.array(frames.track_point(site, 1.7, 0.0, site["map_radius_m"] + 1.0))
    q = quaternion.from_axes(*frames.local_track_axes(site, r))
    slope, pad, pad_x, pad_y, roughness = touchdown.ground_slope(truth, r, q, gear)
    # pad 1 on the boulder's top (0.6 m), the others on bare ground: the plane through pads
    # 1, 2 and 3, by its normal
    a, b, c = np.array([1.3, 0, 0.6]), np.array([0, 1.3, 0]), np.array([-1.3, 0, 0])
    normal = np.cross(b - a, c - a)
    expected = math.acos(abs(normal[2]) / np.linalg.norm(normal))
    assert pad == 0 and slope == pytest.approx(expected, abs=1e-6)
    assert math.degrees(slope) > 12.0  # beyond the nominal's slope limit: tipped
    summary = np.zeros(1, records.SUMMARY_DTYPE)[0]
    summary["resting_pad"] = pad
    assert (pad_x, pad_y) == pytest.approx((3.0, 0.0), abs=1e-6)  # pad 1, on the boulder
    summary["pad_downrange_m"], summary["pad_crossrange_m"] = pad_x, pad_y
    feature = failure_class.ground_feature(sc, summary)
    assert feature["feature"] == "boulder" and feature["footpad"] == 1
    assert feature["height_m"] == 0.6 and feature["diameter_m"] == 1.2
    cls = failure_class.classify(
        "tipped_over", "slope", [], None, None, (1.7, 0.0), None, 600.0, feature["feature"]
    )
    assert cls == "tipped_on_boulder"
    # the roughness under it: the ground's largest distance from its least-squares plane over
    # the pads' reach (1.3 m), the boulder's shape sampled at the field's nodes
    i, j = np.meshgrid(np.arange(-13, 14), np.arange(-13, 14), indexing="ij")
    x, y = 0.1 * i.ravel(), 0.1 * j.ravel()
    inside = x**2 + y**2 < 1.3**2 - 1e-6  # the reach measured at the datum: a hair short
    x, y = x[inside], y[inside]
    rho2 = ((x - 1.3) ** 2 + y**2) / 0.36  # from the boulder's centre, 1.3 m ahead
    z = np.where(rho2 < 1.0, 0.6 * np.sqrt(np.clip(1.0 - rho2, 0.0, None)), 0.0)
    a = np.column_stack([np.ones_like(x), x, y])
    fit = np.linalg.lstsq(a, z, rcond=None)[0]
    assert roughness == pytest.approx(np.abs(z - a @ fit).max(), abs=1e-6)
    # off the field (the 5-m tile): the slope beneath the centre of mass, no pad
    far = np.array(frames.track_point(site, 500.0, 0.0, site["map_radius_m"] + 1.0))
    q_far = quaternion.from_axes(*frames.local_track_axes(site, far))
    slope_far, pad_far, _, _, roughness_far = touchdown.ground_slope(truth, far, q_far, gear)
    assert pad_far == -1 and np.isnan(roughness_far)
    assert slope_far == pytest.approx(terrain.slope_rad(site, truth.tiles, truth.heights, far))


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        (
            {"boulder_density": 0.5, "boulder_exponent": 3.0},
            "boulder_density 0.5 per m2 with boulder_exponent 3 covers",
        ),
        ({"boulder_exponent": 1.5}, "boulder_exponent"),
        ({"boulder_density": -1.0}, "boulder_density"),
        ({"min_boulder_diameter": "0.1 m"}, "min_boulder_diameter (0.1 m) must be at least two"),
        ({"max_boulder_diameter": "0.2 m"}, "max_boulder_diameter must be larger"),
    ],
)
def test_a_boulder_law_out_of_range_is_one_sentence(fields, words):
    with pytest.raises(scenario.ScenarioError) as err:
        hazard_scenario(**fields)
    message = str(err.value)
    assert "terrain.hazards" in message and words in message, message
    assert message.count("\n") == 0


def test_a_boulder_casts_its_shadow_for_the_camera():
    """The Sun 20 deg up toward -downrange: ground beyond the placed boulder (0.6 m tall, 1.2 m
    wide at 3 m) is in its shadow out to where a ray toward the Sun clears the half ellipsoid
    (found here on the analytic shape, off points within 0.1 m of that edge), lit beyond, in
    the camera renderer's own test (`sensors.camera_render.sunlit_cosine`)."""
    from sensors import camera_render

    sc = hazard_scenario()
    truth = terrain_section.truth_terrain(sc.site, sc.terrain)
    site = truth.site
    elevation = math.radians(20.0)
    ground0 = np.array(frames.track_point(site, 3.0, 0.0, site["map_radius_m"]))
    down, _, up = frames.local_track_axes(site, ground0)
    sun = -math.cos(elevation) * np.array(down) + math.sin(elevation) * np.array(up)
    scene = camera_render.scene(sun, 0.12, 0.0, 1.0, reach_m=50.0, step_m=0.01)

    def shadowed(d):  # the ray from the ground at 3 + d back toward the Sun meets the boulder
        t = np.linspace(0.0, d + 0.6, 20001)
        x = d - t
        shape = 0.6 * np.sqrt(np.clip(1.0 - (x / 0.6) ** 2, 0.0, None))
        return bool(np.any(shape > t * math.tan(elevation)))

    tip = max(d for d in np.arange(0.6, 3.0, 0.001) if shadowed(d))
    checked = 0
    for d in np.arange(0.7, 3.0, 0.1):
        if abs(d - tip) < 0.1:
            continue
        point = np.array(frames.track_point(site, 3.0 + d, 0.0, site["map_radius_m"]))
        normal = terrain.surface_normal(site, truth.tiles, truth.heights, point)
        lit = camera_render.sunlit_cosine(site, truth.tiles, truth.heights, scene, point, normal)
        assert (lit == 0.0) == shadowed(d), (d, tip, lit)
        checked += 1
    assert checked > 15 and 1.4 < tip < 2.0
