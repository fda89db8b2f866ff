"""The filter's covariance propagation: the second-order transition matrix of its error
dynamics and the process noise of the IMU's random walks, Phi P Phi' + Qd."""

import numpy as np

from dynamics import quaternion
from dynamics.constants import MOON_GM_M3PS2, MOON_MEAN_RADIUS_M
from dynamics.gravity import GravityField
from dynamics.views import record
from gnc.navigation import filter as ekf
from tests.gnc.test_error_model import Estimate

NOISE = record(
    ekf.NAV_NOISE_DTYPE,
    accel_noise_density=3e-4,
    gyro_noise_density=6e-7,
    accel_bias_walk=5e-7,
    gyro_bias_walk=5e-9,
)


def thrusting_nav(seed=0):
    """A navigation state in powered flight (specific force, body rates) with a random P."""
    rng = np.random.default_rng(seed)
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    nav["r_mci_m"] = (
        (MOON_MEAN_RADIUS_M + 8000.0)
        * np.array([0.48, 0.1, 0.87])
        / np.linalg.norm([0.48, 0.1, 0.87])
    )
    nav["q_body_to_mci"] = quaternion.from_axis_angle((0.3, -0.5, 0.8), 1.2)
    nav["specific_force_body_mps2"] = (0.05, -0.02, 3.1)
    nav["rate_body_radps"] = (0.01, -0.03, 0.002)
    nav["P"] = random_covariance(rng)
    return nav


def random_covariance(rng):
    """A dense positive-definite P, each block on its state's scale."""
    scale = np.repeat([100.0, 1.0, 1e-3, 1e-6, 1e-4, 1e-5, 1e-5, 1e-5, 1e-5], 3)
    a = rng.normal(size=(ekf.N_ERR, ekf.N_ERR)) * scale
    return a @ a.T


def process_noise(dt):
    """Qd over dt of the IMU's noise densities and bias random walks, in NOISE."""
    densities = ["accel_noise_density", "gyro_noise_density", "gyro_bias_walk", "accel_bias_walk"]
    q = np.zeros((ekf.N_ERR, ekf.N_ERR))
    q[3:15, 3:15] = np.diag(np.repeat([NOISE[k] ** 2 for k in densities], 3) * dt)
    return q


def test_propagation_is_phi_p_phi_transpose_plus_the_random_walks():
    nav = thrusting_nav()
    ekf.error_dynamics(nav, MOON_GM_M3PS2)
    f = np.zeros((ekf.N_ERR, ekf.N_ERR))
    f[: ekf.N_NAV] = nav["f"]
    # attitude error turns the specific force into velocity error: dv' = -R [f]x dtheta
    r = np.array([quaternion.rotate(nav["q_body_to_mci"], e) for e in np.eye(3)]).T
    fx = np.cross(np.eye(3), nav["specific_force_body_mps2"])  # rows: e_j x f = -[f]x e_j
    assert np.allclose(f[ekf.DV : ekf.DV + 3, ekf.DTH : ekf.DTH + 3], r @ fx.T, atol=1e-15)
    dt = 0.2
    phi = np.eye(ekf.N_ERR) + f * dt + 0.5 * (f @ f) * dt * dt
    expected = phi @ nav["P"] @ phi.T + process_noise(dt)
    nav["uncovered_s"] = dt
    ekf.propagate_covariance(nav, NOISE, MOON_GM_M3PS2)
    assert np.allclose(nav["P"], expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    assert np.array_equal(nav["P"], nav["P"].T) and nav["uncovered_s"] == 0.0


def test_propagation_matches_an_independently_derived_transition_matrix():
    """The same with F from the nonlinear model by central differences
    (`tests/gnc/test_error_model.py`), none of it from the filter's own F: to the 1e-3 that
    the neglected products of small errors leave in F's blocks. Break it catches: the
    second-order term F^2 dt^2 / 2 taken with the wrong sign over a 2-s gap."""
    estimate = Estimate(3)
    nav = estimate.nav()
    nav["P"] = random_covariance(np.random.default_rng(3))
    f = np.zeros((ekf.N_ERR, ekf.N_ERR))
    f[: ekf.N_NAV] = estimate.numerical_f()
    dt = 2.0
    phi = np.eye(ekf.N_ERR) + f * dt + 0.5 * (f @ f) * dt * dt
    expected = phi @ nav["P"] @ phi.T + process_noise(dt)
    nav["uncovered_s"] = dt
    ekf.propagate_covariance(nav, NOISE, MOON_GM_M3PS2)
    sigma = np.sqrt(np.diag(expected))
    assert np.allclose(
        nav["P"] / np.outer(sigma, sigma), expected / np.outer(sigma, sigma), atol=2e-3
    )


def _strapdown_once(nav, dv_body, dtheta_body, dt):
    gravity = record(ekf.gravity.GRAVITY_DTYPE, gm_m3ps2=MOON_GM_M3PS2)
    out = nav.copy()
    no_table = np.zeros((1, 1))
    field = GravityField(gravity, no_table, no_table)
    ekf.strapdown(out, dv_body, dtheta_body, dt, field, 0.0)
    return out


def test_imu_scale_factor_columns_match_the_strapdown_correction():
    """The error dynamics' columns of the gyro's error matrix and of the accelerometer's
    thrust-axis column are what strapdown does with an error in those estimates: an estimate
    short by dE turns into an attitude (or velocity) error growing at F[:, dE] dE."""
    nav = thrusting_nav()
    dt = 0.02
    w = np.array(nav["rate_body_radps"])
    f = np.array(nav["specific_force_body_mps2"])
    base = _strapdown_once(nav, tuple(f * dt), tuple(w * dt), dt)
    ekf.error_dynamics(base, MOON_GM_M3PS2)
    eps = 1e-4
    for i in range(3):
        for j in range(3):
            wrong = nav.copy()
            wrong["gyro_matrix_error"][i, j] -= eps  # true = estimate + eps
            out = _strapdown_once(wrong, tuple(f * dt), tuple(w * dt), dt)
            dq = quaternion.multiply(
                quaternion.conjugate(tuple(out["q_body_to_mci"])), tuple(base["q_body_to_mci"])
            )
            # attitude error (estimate -> truth) after dt: F[dth, dE] eps dt
            predicted = base["f"][ekf.DTH : ekf.DTH + 3, ekf.DKG + 3 * i + j] * eps * dt
            # to first order: the rotation over dt couples the axes by w dt ~ 6e-4 of it
            assert np.allclose(2 * np.array(dq[1:]), predicted, rtol=1e-3, atol=1e-3 * eps * dt)
    for i in range(3):
        wrong = nav.copy()
        wrong["accel_thrust_axis_error"][i] -= eps
        out = _strapdown_once(wrong, tuple(f * dt), tuple(w * dt), dt)
        predicted = base["f"][ekf.DV : ekf.DV + 3, ekf.DKA + i] * eps * dt
        error = base["v_mci_mps"] - out["v_mci_mps"]
        assert np.allclose(error, predicted, rtol=0.0, atol=1e-3 * np.abs(predicted).max())
