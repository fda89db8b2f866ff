"""Sensor models against their specifications: error statistics, validity, geometry."""

import math

import numpy as np
import pytest

from dynamics import frames, quaternion, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.terrain import OnboardMap, TruthTerrain
from sensors import (
    bus,
    contact_probe,
    doppler_velocimeter,
    imu,
    laser_rangefinder,
    random_stream,
    star_tracker,
)
from sims.model import record

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


RANGEFINDER = record(
    laser_rangefinder.SPEC_DTYPE,
    beam_body=(0, 0, -1),
    noise_m=0.5,
    noise_fraction=0.001,
    max_range_m=3000.0,
    ray_step_m=5.0,
)
Q_UP = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)


def above(height_m):
    return tuple((MOON_MEAN_RADIUS_M + height_m) * SITE["up"])


def test_rangefinder_range_noise_and_no_return():
    state = channel_state(4)
    ranges = [
        sample(laser_rangefinder, RANGEFINDER, pose_at(above(1000.0), Q_UP), state)["y"][0]
        for _ in range(4000)
    ]
    assert np.mean(ranges) == pytest.approx(1000.0, abs=0.05)
    assert np.std(ranges) == pytest.approx(0.5 + 1.0, rel=0.05)
    far = sample(laser_rangefinder, RANGEFINDER, pose_at(above(3500.0), Q_UP), state)
    assert not far["valid"] and np.isnan(far["y"][0])


def test_rangefinder_slant_range_on_a_tilted_beam_and_its_degraded_reach():
    """A beam 40 deg off nadir over the bare sphere reads the ray-sphere intersection (h / cos
    40 deg and the curvature); at a quarter of the received power an extended target is seen
    to half the range (P ~ 1 / R^2)."""
    tilt = math.radians(40.0)
    spec = record(
        laser_rangefinder.SPEC_DTYPE,
        beam_body=(math.sin(tilt), 0.0, -math.cos(tilt)),
        max_range_m=3000.0,
        ray_step_m=1.0,
    )
    state = channel_state(5)
    out = sample(laser_rangefinder, spec, pose_at(above(1000.0), Q_UP), state)
    r, radius = MOON_MEAN_RADIUS_M + 1000.0, MOON_MEAN_RADIUS_M
    exact = r * math.cos(tilt) - math.sqrt(radius**2 - (r * math.sin(tilt)) ** 2)
    assert out["valid"] and out["y"][0] == pytest.approx(exact, abs=1e-3)
    assert exact == pytest.approx(1000.0 / math.cos(tilt), abs=0.5)
    state["performance"] = 0.25
    reach = 1500.0 * math.cos(tilt)  # the height at which the slant range is 1.5 km
    assert sample(laser_rangefinder, spec, pose_at(above(reach - 2.0), Q_UP), state)["valid"]
    assert not sample(laser_rangefinder, spec, pose_at(above(reach + 2.0), Q_UP), state)["valid"]


def test_velocimeter_reads_the_velocity_along_each_beam_and_drops_beams_without_return():
    beams = np.array([[0.5, 0.0, -0.866], [-0.25, 0.433, -0.866], [0.0, 0.0, 1.0]])
    beams /= np.linalg.norm(beams, axis=1)[:, None]
    spec = record(
        doppler_velocimeter.SPEC_DTYPE,
        n_beams=3,
        noise_mps=0.0,
        max_range_m=5000.0,
        ray_step_m=5.0,
        min_cos_incidence=0.1,
    )
    spec["beams_body"][:3] = beams
    v_body = np.array([3.0, -1.0, -20.0])  # with the body axes along east, north, up
    v = tuple(v_body[0] * SITE["east"] + v_body[1] * SITE["north"] + v_body[2] * SITE["up"])
    out = sample(doppler_velocimeter, spec, pose_at(above(800.0), Q_UP, v), channel_state(6))
    assert out["valid"] and out["m"] == 3
    assert out["y"][:2] == pytest.approx(beams[:2] @ v_body, abs=1e-9)
    assert np.isnan(out["y"][2])  # the upward beam sees no ground
    model = np.zeros(1, bus.MODEL_DTYPE)[0]
    meas = record(bus.MEASUREMENT_DTYPE, m=3, valid=True)
    meas["y"][:3] = out["y"][:3] + np.array([0.1, -0.2, 0.0])
    spec["noise_mps"] = 0.05
    doppler_velocimeter.predict(spec, pose_at(above(800.0), Q_UP, v), MAP, meas, model)
    assert model["usable"] and model["m"] == 2  # one row per beam with a value
    assert model["innovation"][:2] == pytest.approx([0.1, -0.2], abs=1e-9)
    beam_mci = beams[:2, 0:1] * SITE["east"] + beams[:2, 1:2] * SITE["north"]
    beam_mci += beams[:2, 2:3] * SITE["up"]
    assert model["j_velocity"][:2] == pytest.approx(beam_mci, abs=1e-12)
    assert model["noise_cov"][:2, :2] == pytest.approx(np.eye(2) * 0.05**2)


def test_contact_probe_signals_when_a_probe_tip_reaches_the_ground():
    q_up = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)
    pads = np.array([[1.3, 0.0, -0.9], [-1.3, 0.0, -0.9], [0.0, 1.3, -0.9]])
    com = np.zeros(3)
    for height, expected in ((1.41, False), (1.39, True)):  # pads 0.9 m + probes 0.5 m down
        r = tuple((MOON_MEAN_RADIUS_M + height) * SITE["up"])
        assert (
            contact_probe.touching(SITE, NO_TILES, NO_HEIGHTS, r, q_up, com, pads, 3, 0.5)
            == expected
        )
