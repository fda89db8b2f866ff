"""Sensor models against their specifications: error statistics, validity, geometry."""

import math

import numpy as np
import pytest

from dynamics import frames, quaternion, terrain, vector
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.views import record
from sensors import (
    bus,
    contact_probe,
    doppler_lidar,
    imu,
    laser_rangefinder,
    random_stream,
    star_tracker,
)

SITE = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)
NO_TILES, NO_HEIGHTS = terrain.make_tiles([])
FLAT = TruthTerrain(SITE, NO_TILES, NO_HEIGHTS)
NONE = np.zeros_like(terrain.REGION_SIGMAS_M)
MAP = OnboardMap(SITE, NO_TILES, NO_HEIGHTS, 0.0, 0.0, NONE, 0.0)
UP = tuple(SITE["up"])


def stream(seed):
    """A compiled random stream seeded from one seed."""
    return random_stream.seeded_states([np.random.SeedSequence(seed)])[0]


def triad(**errors):
    spec = record(imu.TRIAD_DTYPE, saturation=1e9, **errors)
    state = np.zeros(1, imu.TRIAD_STATE_DTYPE)[0]
    imu.init_triad(spec, state, stream(0))
    return spec, state


def samples(spec, state, increment, n, dt=0.01, seed=1):
    rng = stream(seed)
    out, all_out = np.zeros(3), np.zeros((n, 3))
    for k in range(n):
        imu.measure_triad(spec, state, np.asarray(increment, float), dt, rng, out)
        all_out[k] = out
    return all_out


def test_error_free_triad_reports_the_truth():
    spec, state = triad()
    assert samples(spec, state, (0.1, -0.2, 0.3), 3) == pytest.approx(
        np.tile([0.1, -0.2, 0.3], (3, 1))
    )


def test_bias_and_white_noise_statistics():
    spec, state = triad(noise_density=0.02)
    state["bias"][:] = (1e-3, 0.0, -2e-3)
    out = samples(spec, state, (0.0, 0.0, 0.0), 20_000)
    # mean = bias * dt; std = density * sqrt(dt)  (5-sigma bounds on the estimates)
    assert out.mean(axis=0) / 0.01 == pytest.approx(
        [1e-3, 0.0, -2e-3], abs=5 * 0.2 / math.sqrt(20_000)
    )
    assert out.std(axis=0) == pytest.approx(0.02 * math.sqrt(0.01), rel=5 / math.sqrt(2 * 20_000))


def test_bias_instability_is_a_random_walk():
    spec, _ = triad(bias_walk=1e-4)
    finals = []
    for seed in range(400):
        state = np.zeros(1, imu.TRIAD_STATE_DTYPE)[0]
        state["matrix"] = np.eye(3)
        state["noise_scale"] = 1.0
        samples(spec, state, (0, 0, 0), 100, seed=seed)  # 1 s
        finals.append(state["bias"][0])
    assert np.std(finals) == pytest.approx(1e-4, rel=0.2)  # sigma * sqrt(1 s)


def test_quantisation_keeps_the_sum_and_saturation_clips():
    spec, state = triad(quantum=0.01)
    out = samples(spec, state, (0.0037, 0.0, 0.0), 1000)
    assert set(np.round(out[:, 0] / 0.01).astype(int)) <= {0, 1}
    assert abs(out[:, 0].sum() - 3.7) <= 0.01
    spec = record(imu.TRIAD_DTYPE, saturation=50.0)
    state = np.zeros(1, imu.TRIAD_STATE_DTYPE)[0]
    state["matrix"] = np.eye(3)
    state["noise_scale"] = 1.0
    assert samples(spec, state, (1.0, -0.2, 0.0), 1)[0] == pytest.approx([0.5, -0.2, 0.0])


def test_true_increments_of_a_spinning_thrusting_body():
    w, dt, f = 0.3, 0.01, 2.0  # spin about body z, thrust acceleration along body z
    q0 = quaternion.from_axis_angle((1.0, 1.0, 0.0), 0.4)
    q1 = quaternion.multiply(q0, quaternion.from_axis_angle((0.0, 0.0, 1.0), w * dt))
    g = (0.0, 0.0, -1.6)
    thrust_mci = quaternion.rotate(q0, (0.0, 0.0, f))
    v0 = (1.0, 2.0, 3.0)
    v1 = tuple(v0[i] + (g[i] + thrust_mci[i]) * dt for i in range(3))
    dv, dth = imu.true_increments(q0, q1, v0, v1, g, g, dt)
    assert dth == pytest.approx((0.0, 0.0, w * dt), abs=1e-15)
    assert dv == pytest.approx((0.0, 0.0, f * dt), abs=1e-15)


def pose_at(r_mcmf, q_body_to_mcmf, v_mcmf=(0.0, 0.0, 0.0), w_body=(0.0, 0.0, 0.0)):
    """A pose on a non-rotating Moon (MCI = MCMF)."""
    pose = np.zeros(1, bus.POSE_DTYPE)[0]
    r, v, q, w = (tuple(float(c) for c in a) for a in (r_mcmf, v_mcmf, q_body_to_mcmf, w_body))
    bus.fill_pose(pose, 0.0, r, v, q, w, (0.0, 0.0, 0.0), 0.0)
    return pose


def changed(spec, **fields):
    """A copy of a kind's spec record with fields changed."""
    spec = spec.copy()
    for name, value in fields.items():
        spec[name] = value
    return spec


def channel_state(seed):
    state = np.zeros(1, bus.CHANNEL_STATE_DTYPE)[0]
    state["stream"] = stream(seed)
    state["performance"] = 1.0
    return state


def sample(kind, spec, pose, state, terrain_truth=FLAT):
    out = np.zeros(1, bus.SAMPLE_DTYPE)[0]
    kind.sample(spec, pose, terrain_truth, state, out)
    return out


def test_star_tracker_noise_and_rate_limit():
    spec = record(star_tracker.SPEC_DTYPE, noise_rad=1e-4, max_rate_radps=0.05)
    state = channel_state(3)
    q = quaternion.from_axis_angle((0.2, 0.5, 1.0), 1.1)
    errors = []
    for _ in range(5000):
        out = sample(star_tracker, spec, pose_at(UP, q, w_body=(0.0, 0.01, 0.0)), state)
        assert out["valid"] and out["m"] == 3
        qm = quaternion.from_rotation_vector(tuple(out["y"][:3]))
        e = quaternion.multiply(quaternion.conjugate(q), qm)
        errors.append(2.0 * np.array(e[1:]))
        # the noise it reports is the difference it drew into the values
        y_true = quaternion.to_rotation_vector(q)
        assert out["noise"][:3] == pytest.approx(out["y"][:3] - y_true, abs=1e-15)
    assert np.std(errors, axis=0) == pytest.approx([1e-4] * 3, rel=0.05)
    assert not sample(star_tracker, spec, pose_at(UP, q, w_body=(0, 0.06, 0)), state)["valid"]


def test_star_tracker_model_innovation_is_the_body_rotation_to_the_measurement():
    q = quaternion.from_axis_angle((0.2, 0.5, 1.0), 1.1)
    small = (2e-4, -1e-4, 3e-4)
    measured = quaternion.multiply(q, quaternion.from_rotation_vector(small))
    meas = record(bus.MEASUREMENT_DTYPE, m=3, valid=True)
    meas["y"][:3] = quaternion.to_rotation_vector(measured)
    out = np.zeros(1, bus.MODEL_DTYPE)[0]
    spec = record(star_tracker.SPEC_DTYPE, noise_rad=1e-4, max_rate_radps=0.05)
    star_tracker.predict(spec, pose_at(UP, q), MAP, meas, out)
    assert out["usable"] and out["m"] == 3
    assert out["innovation"][:3] == pytest.approx(small, rel=1e-6)
    assert out["j_attitude"][:3, :3] == pytest.approx(np.eye(3))
    assert out["noise_cov"][:3, :3] == pytest.approx(np.eye(3) * 1e-8)


def link(dtype, **fields):
    """A laser channel's record with a link budget reaching 3 km at normal incidence on the
    site's albedo (0.2): P_t T A_r / (pi P_min) = 4.5e7 m^2."""
    values = dict(
        laser_power_w=1000.0,
        receiver_aperture_m=0.05,
        optics_transmission=0.7,
        sensitivity_w=1000.0 * 0.7 * (math.pi * 0.025**2) / (math.pi * 4.5e7),
        beam_divergence_rad=1e-3,
        noise_m=0.5,
        noise_at_threshold_m=4.0,
        ray_step_m=1.0,
    )
    values.update(fields)
    return record(dtype, **values)


RANGEFINDER = link(laser_rangefinder.SPEC_DTYPE, beam_body=(0, 0, -1))
Q_UP = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)


def above(height_m):
    return tuple((MOON_MEAN_RADIUS_M + height_m) * SITE["up"])


def test_rangefinder_noise_follows_the_signal():
    """At 1.5 km nadir the return is (3 / 1.5)^2 = 4 times the threshold: the jitter is a
    quarter of its 4 m at threshold, over the 0.5 m floor."""
    state = channel_state(4)
    ranges = [
        sample(laser_rangefinder, RANGEFINDER, pose_at(above(1500.0), Q_UP), state)["y"][0]
        for _ in range(4000)
    ]
    assert np.mean(ranges) == pytest.approx(1500.0, abs=0.05)
    assert np.std(ranges) == pytest.approx(math.hypot(0.5, 1.0), rel=0.05)


def test_rangefinder_reach_follows_its_link_budget():
    """The longest valid range is sqrt(P_t T rho cos(i) A_r / (pi P_min)): 3 km at normal
    incidence; 1 / sqrt(2) of it with half the laser power or on ground half as bright; a beam
    40 deg off nadir over the bare sphere meets it at 40 deg incidence and reads the
    ray-sphere intersection, and reaches sqrt(cos 40 deg) of it; a degraded channel (a
    quarter of the received power) half of it."""

    def valid_near(spec, slant_m, tilt_rad=0.0, performance=1.0, albedo=0.2):
        site = SITE.copy()
        site["albedo"] = albedo
        state = channel_state(5)
        state["performance"] = performance
        terrain_truth = TruthTerrain(site, NO_TILES, NO_HEIGHTS)
        seen = [
            sample(
                laser_rangefinder,
                spec,
                pose_at(above(s * math.cos(tilt_rad)), Q_UP),
                state,
                terrain_truth,
            )["valid"]
            for s in (slant_m - 3.0, slant_m + 3.0)
        ]
        return seen == [True, False]

    assert valid_near(RANGEFINDER, 3000.0)
    half_power = RANGEFINDER.copy()
    half_power["laser_power_w"] = 500.0
    assert valid_near(half_power, 3000.0 / math.sqrt(2.0))
    assert valid_near(RANGEFINDER, 3000.0 / math.sqrt(2.0), albedo=0.1)
    assert valid_near(RANGEFINDER, 1500.0, performance=0.25)
    tilt = math.radians(40.0)
    tilted = link(laser_rangefinder.SPEC_DTYPE, beam_body=(math.sin(tilt), 0.0, -math.cos(tilt)))
    assert valid_near(tilted, 3000.0 * math.sqrt(math.cos(tilt)), tilt_rad=tilt)
    out = sample(laser_rangefinder, tilted, pose_at(above(1000.0), Q_UP), channel_state(5))
    r, radius = MOON_MEAN_RADIUS_M + 1000.0, MOON_MEAN_RADIUS_M
    exact = r * math.cos(tilt) - math.sqrt(radius**2 - (r * math.sin(tilt)) ** 2)
    assert out["valid"] and out["y"][0] - out["noise"][0] == pytest.approx(exact, abs=1e-2)


def test_rangefinder_range_is_the_centroid_of_its_footprint():
    """A wide beam (0.2 rad) over level ground reads the range of its footprint rays, h / cos
    of their 0.1 / sqrt(2) rad from the boresight; with a 10-m step across the footprint, the
    power-weighted mean of the two levels (a single ray reads one of them)."""
    wide = link(
        laser_rangefinder.SPEC_DTYPE,
        beam_body=(0, 0, -1),
        beam_divergence_rad=0.2,
        noise_m=0.0,
        noise_at_threshold_m=0.0,
    )
    out = sample(laser_rangefinder, wide, pose_at(above(1000.0), Q_UP), channel_state(7))
    curvature = 1000.0 * 1000.0 * math.tan(0.1 / math.sqrt(2.0)) ** 2 / (2 * MOON_MEAN_RADIUS_M)
    assert out["y"][0] == pytest.approx(
        1000.0 / math.cos(0.1 / math.sqrt(2.0)) - curvature, abs=0.05
    )
    spacing = 2.0
    xs = np.arange(-400.0, 400.0 + spacing / 2, spacing)
    step = np.tile(np.where(xs < 0.0, 10.0, 0.0), (xs.size, 1))  # higher on the east side
    tiles, heights = terrain.make_tiles([(-400.0, -400.0, spacing, step)])
    site = SITE.copy()
    site["highest_terrain_m"] = 10.0
    site["steepest_slope"] = 10.0 / spacing
    cliff = TruthTerrain(site, tiles, heights)
    stepped = sample(laser_rangefinder, wide, pose_at(above(1000.0), Q_UP), channel_state(7), cliff)
    narrow = wide.copy()
    narrow["beam_divergence_rad"] = 0.0
    single = sample(
        laser_rangefinder, narrow, pose_at(above(1000.0), Q_UP), channel_state(7), cliff
    )
    # one ray of four on the high side: a quarter of the step (its power a little more)
    assert stepped["y"][0] == pytest.approx(out["y"][0] - 2.5, abs=0.05)
    assert single["y"][0] == pytest.approx(1000.0, abs=0.01)  # the edge's foot


def test_a_footprint_inside_one_grid_cell_is_its_central_ray():
    """A 1-mrad beam 1.5 km over rough ground on a 5-m grid (a 1.5-m footprint): the return is
    the central ray's range, and the four rays' power-weighted centroid agrees with it to a
    centimetre (the shortcut `footprint_return` takes)."""
    rng = np.random.default_rng(3)
    spacing = 5.0
    rough = rng.normal(0.0, 2.0, (161, 161))  # 2-m rms heights, slopes up to ~1
    tiles, heights = terrain.make_tiles([(-400.0, -400.0, spacing, rough)])
    site = SITE.copy()
    site["highest_terrain_m"] = rough.max()
    site["steepest_slope"] = terrain.steepest_slope([(-400.0, -400.0, spacing, rough)])
    ground = TruthTerrain(site, tiles, heights)
    spec = link(
        laser_rangefinder.SPEC_DTYPE,
        beam_body=(0.3, 0.0, -0.954),
        noise_m=0.0,
        noise_at_threshold_m=0.0,
        ray_step_m=0.5,
    )
    spec["beam_body"] = np.array(spec["beam_body"]) / np.linalg.norm(spec["beam_body"])
    for east in (-60.0, 0.0, 35.0):
        pose = pose_at(above(1500.0) + np.array(SITE["east"]) * east, Q_UP)
        out = sample(laser_rangefinder, spec, pose, channel_state(2), ground)
        origin = np.array(pose["r_mcmf_m"])
        p1, p2 = (np.array(v) for v in vector.perpendiculars(tuple(spec["beam_body"])))
        off = math.tan(0.5e-3 / math.sqrt(2.0))
        ranges, powers = [], []
        for side, sign in ((p1, 1), (p1, -1), (p2, 1), (p2, -1)):
            d = np.array(bus.body_to_mcmf(pose, tuple(spec["beam_body"] + sign * off * side)))
            d /= np.linalg.norm(d)
            rho = terrain.ray_cast(site, tiles, heights, tuple(origin), tuple(d), 5000.0, 0.5)
            n = terrain.surface_normal(site, tiles, heights, tuple(origin + rho * d))
            ranges.append(rho)
            powers.append(max(-np.dot(n, d), 0.0) / rho**2)
        assert out["y"][0] == pytest.approx(np.average(ranges, weights=powers), abs=0.01)


@pytest.mark.parametrize("beam", [(0.3, -0.2, -1.0), (0.0, 0.0, -1.0), (-0.5, 0.4, -0.8)])
def test_a_narrow_footprint_over_a_tilted_plane_reads_the_analytic_range(beam):
    """The expectation computed without the terrain code: over the plane h = a x + b y + c
    (x downrange, y crossrange; a flat datum: map radius 1e10 m) the ray from height h0 at
    (x0, y0) along d meets it at (a x0 + b y0 + c - h0) / (d_z - a d_x - b d_y). A 1-mrad
    footprint's four rays on a plane average to its central ray's range to 1e-7 of it. Break
    it catches: the beam turned to Moon-fixed axes by the inverse attitude."""
    a, b, c = 0.12, -0.07, 15.0
    site = frames.make_site(0.4, -0.3, 0.6, 0.0, 1.0e10)  # axes not symmetric under inversion
    spacing, half = 10.0, 2000.0
    xs = np.arange(-half, half + spacing / 2, spacing)
    plane = a * xs[:, None] + b * xs[None, :] + c
    tiles, heights = terrain.make_tiles([(-half, -half, spacing, plane)])
    site["steepest_slope"] = math.hypot(a, b)
    site["highest_terrain_m"] = plane.max()
    ground = TruthTerrain(site, tiles, heights)
    d = np.array(beam) / np.linalg.norm(beam)
    spec = link(laser_rangefinder.SPEC_DTYPE, beam_body=d, noise_m=0.0, noise_at_threshold_m=0.0)
    x0, y0, h0 = -120.0, 45.0, 1200.0
    axes = (site["track_downrange"], site["track_left"], site["up"])
    origin = (site["map_radius_m"] + h0) * axes[2] + x0 * axes[0] + y0 * axes[1]
    q = quaternion.from_axes(*(tuple(v) for v in axes))  # body x, y, z: downrange, left, up
    out = sample(laser_rangefinder, spec, pose_at(origin, q), channel_state(5), ground)
    expected = (a * x0 + b * y0 + c - h0) / (d[2] - a * d[0] - b * d[1])
    assert out["valid"] and out["y"][0] == pytest.approx(expected, abs=2e-3)


def test_doppler_lidar_reads_velocity_and_range_along_each_beam_and_drops_beams_without_return():
    beams = np.array([[0.5, 0.0, -0.866], [-0.25, 0.433, -0.866], [0.0, 0.0, 1.0]])
    beams /= np.linalg.norm(beams, axis=1)[:, None]
    spec = link(
        doppler_lidar.SPEC_DTYPE,
        n_beams=3,
        velocity_noise_mps=0.0,
        noise_m=0.0,
        noise_at_threshold_m=0.0,
        min_cos_incidence=0.1,
    )
    spec["beams_body"][:3] = beams
    v_body = np.array([3.0, -1.0, -20.0])  # with the body axes along east, north, up
    v = tuple(v_body[0] * SITE["east"] + v_body[1] * SITE["north"] + v_body[2] * SITE["up"])
    out = sample(doppler_lidar, spec, pose_at(above(800.0), Q_UP, v), channel_state(6))
    assert out["valid"] and out["m"] == 6
    assert out["y"][:2] == pytest.approx(beams[:2] @ v_body, abs=1e-9)
    assert out["y"][3:5] == pytest.approx(800.0 / -beams[:2, 2], abs=0.1)
    assert np.isnan(out["y"][2]) and np.isnan(out["y"][5])  # the upward beam sees no ground
    model = np.zeros(1, bus.MODEL_DTYPE)[0]
    meas = record(bus.MEASUREMENT_DTYPE, m=6, valid=True, period_s=0.1)
    meas["y"][:6] = out["y"][:6] + np.array([0.1, -0.2, 0.0, 1.0, 2.0, 0.0])
    spec["velocity_noise_mps"] = 0.05
    doppler_lidar.predict(spec, pose_at(above(800.0), Q_UP, v), MAP, meas, model)
    assert model["usable"] and model["m"] == 4  # a velocity and a range per beam with a value
    assert model["innovation"][:4] == pytest.approx([0.1, -0.2, 1.0, 2.0], abs=0.1)
    beam_mci = beams[:2, 0:1] * SITE["east"] + beams[:2, 1:2] * SITE["north"]
    beam_mci += beams[:2, 2:3] * SITE["up"]
    assert model["j_velocity"][:2] == pytest.approx(beam_mci, abs=1e-12)
    assert model["noise_cov"][:2, :2] == pytest.approx(np.eye(2) * 0.05**2)
    # a range to level ground: d rho / d r = -up / (up . beam) (up at the foot: to 1e-3)
    assert model["j_position"][2:4] == pytest.approx(
        np.outer(-1.0 / beams[:2, 2], SITE["up"]), abs=1e-3
    )
    assert model["noise_cov"][:2, 2:4] == pytest.approx(np.zeros((2, 2)))


def test_contact_probe_signals_when_a_probe_tip_reaches_the_ground():
    q_up = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)
    pads = np.array([[1.3, 0.0, -0.9], [-1.3, 0.0, -0.9], [0.0, 1.3, -0.9]])
    com = np.zeros(3)
    for height, expected in ((1.41, False), (1.39, True)):  # pads 0.9 m + probes 0.5 m down
        r = tuple((MOON_MEAN_RADIUS_M + height) * SITE["up"])
        assert contact_probe.touching(FLAT, r, q_up, com, pads, 3, 0.5) == expected
