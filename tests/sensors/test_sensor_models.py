"""Sensor models against their specifications: error statistics, validity, geometry."""

import math

import numpy as np
import pytest

from dynamics import frames, quaternion, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from sensors import contact_probe, imu, laser_rangefinder, random_stream, star_tracker
from sims.model import record

SITE = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)
NO_TILES, NO_HEIGHTS = terrain.make_tiles([])
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


def test_star_tracker_noise_and_rate_limit():
    spec = record(
        star_tracker.STAR_TRACKER_DTYPE, every_steps=1, noise_rad=1e-4, max_rate_radps=0.05
    )
    rng = stream(3)
    q = quaternion.from_axis_angle((0.2, 0.5, 1.0), 1.1)
    errors = []
    for _ in range(5000):
        valid, qm = star_tracker.measure(spec, q, (0.0, 0.01, 0.0), rng)
        assert valid
        e = quaternion.multiply(quaternion.conjugate(q), qm)
        errors.append(2.0 * np.array(e[1:]))
    assert np.std(errors, axis=0) == pytest.approx([1e-4] * 3, rel=0.05)
    assert not star_tracker.measure(spec, q, (0.0, 0.06, 0.0), rng)[0]


def test_rangefinder_range_noise_and_no_return():
    spec = record(
        laser_rangefinder.RANGEFINDER_DTYPE,
        every_steps=1,
        beam_body=(0, 0, -1),
        noise_m=0.5,
        noise_fraction=0.001,
        max_range_m=3000.0,
        ray_step_m=5.0,
    )
    q_up = quaternion.from_axes(tuple(SITE["east"]), tuple(SITE["north"]), UP)
    rng = stream(4)
    r = tuple((MOON_MEAN_RADIUS_M + 1000.0) * SITE["up"])
    ranges = [
        laser_rangefinder.measure(spec, SITE, NO_TILES, NO_HEIGHTS, r, q_up, rng)[1]
        for _ in range(4000)
    ]
    assert np.mean(ranges) == pytest.approx(1000.0, abs=0.05)
    assert np.std(ranges) == pytest.approx(0.5 + 1.0, rel=0.05)
    high = tuple((MOON_MEAN_RADIUS_M + 3500.0) * SITE["up"])
    assert laser_rangefinder.measure(spec, SITE, NO_TILES, NO_HEIGHTS, high, q_up, rng) == (
        False,
        0.0,
    )


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
