"""The filter's error-state dynamics against an independent derivation.

Every block of F (`filter.error_dynamics`) is compared with a central-difference Jacobian of
the nonlinear error dynamics written here from first principles, with scipy's rotations and
none of the filter's code: a true state that differs from the estimate by the error state
(position, velocity, attitude q_true = q_est * Exp(dtheta), gyro and accelerometer biases,
the gyro's error matrix E and the accelerometer's thrust-axis column), both driven by the
same IMU output, measured rate = (I + E) rate + bias and measured specific force =
f + e_a f_z + bias, over a point-mass Moon (F's gravity gradient is the point mass's).
"""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dynamics.constants import MOON_GM_M3PS2, MOON_MEAN_RADIUS_M
from gnc.navigation import filter as ekf

BLOCKS = {
    "position": ekf.DR,
    "velocity": ekf.DV,
    "attitude": ekf.DTH,
    "gyro bias": ekf.DBG,
    "accelerometer bias": ekf.DBA,
    "gyro error matrix": ekf.DKG,
    "accelerometer thrust-axis column": ekf.DKA,
}
WIDTH = {ekf.DKG: 9}
# central-difference steps, one per block: large enough for roundoff, small enough that the
# second-order terms (e.g. the attitude error times the specific force's error) stay below
# 1e-6 of the first
STEP = {ekf.DR: 1.0, ekf.DV: 1e-3, ekf.DTH: 1e-6, ekf.DBG: 1e-7, ekf.DBA: 1e-5, ekf.DKG: 1e-6}
STEP[ekf.DKA] = 1e-6


def _skew(v):
    return np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])


def _right_jacobian_inverse(phi):
    """J_r^-1 of SO(3): d/dt Log(D) = J_r^-1(phi) vee(D' dD/dt) for D = Exp(phi)."""
    a = np.linalg.norm(phi)
    k = _skew(phi)
    if a < 1e-8:
        return np.eye(3) + 0.5 * k
    return np.eye(3) + 0.5 * k + (1.0 / a**2 - (1.0 + np.cos(a)) / (2.0 * a * np.sin(a))) * k @ k


def _gravity(r):
    return -MOON_GM_M3PS2 * r / np.linalg.norm(r) ** 3


class Estimate:
    """An estimated state in powered flight and the IMU output that drives it."""

    def __init__(self, seed):
        rng = np.random.default_rng(seed)
        up = rng.normal(size=3)
        self.r = (MOON_MEAN_RADIUS_M + rng.uniform(100.0, 15_000.0)) * up / np.linalg.norm(up)
        self.v = rng.normal(size=3) * 500.0
        self.attitude = Rotation.random(random_state=seed)  # body to MCI
        self.gyro_bias = rng.normal(size=3) * 1e-5
        self.accel_bias = rng.normal(size=3) * 1e-3
        self.gyro_matrix = rng.normal(size=(3, 3)) * 1e-4
        self.accel_column = rng.normal(size=3) * 1e-4
        self.rate = rng.normal(size=3) * 0.05  # the estimated true rate, body [rad/s]
        self.force = np.array([*rng.normal(size=2) * 0.05, rng.uniform(1.0, 6.0)])  # [m/s^2]
        # what the IMU reads, by the estimate's own error model
        self.rate_measured = (np.eye(3) + self.gyro_matrix) @ self.rate + self.gyro_bias
        column = np.outer(self.accel_column, [0.0, 0.0, 1.0])
        self.force_measured = (np.eye(3) + column) @ self.force + self.accel_bias

    def nav(self):
        """The filter's navigation record of this estimate."""
        nav = np.zeros(1, ekf.NAV_DTYPE)[0]
        nav["r_mci_m"], nav["v_mci_mps"] = self.r, self.v
        x, y, z, w = self.attitude.as_quat()
        nav["q_body_to_mci"] = (w, x, y, z)
        nav["gyro_bias_radps"], nav["accel_bias_mps2"] = self.gyro_bias, self.accel_bias
        nav["gyro_matrix_error"], nav["accel_thrust_axis_error"] = (
            self.gyro_matrix,
            self.accel_column,
        )
        nav["rate_body_radps"], nav["specific_force_body_mps2"] = self.rate, self.force
        return nav

    def error_rate(self, dx):
        """d(error)/dt, rows position, velocity, attitude, of a truth that is this estimate
        plus the error state dx, both driven by the same IMU output."""
        r, v = self.r + dx[ekf.DR : ekf.DR + 3], self.v + dx[ekf.DV : ekf.DV + 3]
        phi = dx[ekf.DTH : ekf.DTH + 3]
        attitude = self.attitude * Rotation.from_rotvec(phi)
        gyro_bias = self.gyro_bias + dx[ekf.DBG : ekf.DBG + 3]
        accel_bias = self.accel_bias + dx[ekf.DBA : ekf.DBA + 3]
        gyro_matrix = self.gyro_matrix + dx[ekf.DKG : ekf.DKG + 9].reshape(3, 3)
        column = np.outer(self.accel_column + dx[ekf.DKA : ekf.DKA + 3], [0.0, 0.0, 1.0])
        rate = np.linalg.solve(np.eye(3) + gyro_matrix, self.rate_measured - gyro_bias)
        force = np.linalg.solve(np.eye(3) + column, self.force_measured - accel_bias)
        d_r = v - self.v
        d_v = (
            attitude.apply(force) + _gravity(r) - self.attitude.apply(self.force) - _gravity(self.r)
        )
        # D = R_est' R_true: dD/dt = -[w_est]x D + D [w_true]x, so D' dD/dt = [w_true - D' w_est]x
        d = Rotation.from_rotvec(phi)
        d_phi = _right_jacobian_inverse(phi) @ (rate - d.inv().apply(self.rate))
        return np.concatenate([d_r, d_v, d_phi])

    def numerical_f(self):
        """The rows of F with dynamics, by central differences of `error_rate`."""
        f = np.zeros((ekf.N_NAV, ekf.N_ERR))
        for first, step in STEP.items():
            for j in range(first, first + WIDTH.get(first, 3)):
                dx = np.zeros(ekf.N_ERR)
                dx[j] = step
                f[:, j] = (self.error_rate(dx) - self.error_rate(-dx)) / (2.0 * step)
        return f


ROWS = {"position": ekf.DR, "velocity": ekf.DV, "attitude": ekf.DTH}


@pytest.mark.parametrize("seed", range(4))
def test_every_block_of_the_error_dynamics_is_the_jacobian_of_the_nonlinear_model(seed):
    """Breaks it catches (benchmarks/mutations.py): the gyro-bias column's sign, the
    misalignment columns' sign, the -[w]x attitude coupling's sign, the accelerometer-bias
    column's sign, the gravity gradient's 3 r r'/r^2 term dropped, the thrust-axis column's
    f_z dropped. The
    estimate carries biases and error matrices at 1e-4 to 1e-3, so the neglected products
    (E times a bias) are below 1e-3 of each block."""
    estimate = Estimate(seed)
    nav = estimate.nav()
    ekf.error_dynamics(nav, MOON_GM_M3PS2)
    numerical = estimate.numerical_f()
    for row_name, row in ROWS.items():
        for column_name, column in BLOCKS.items():
            width = WIDTH.get(column, 3)
            ours = nav["f"][row : row + 3, column : column + width]
            expected = numerical[row : row + 3, column : column + width]
            scale = max(np.abs(expected).max(), np.abs(ours).max())
            assert np.allclose(ours, expected, rtol=0.0, atol=max(1e-3 * scale, 1e-12)), (
                f"d {row_name} / d {column_name}"
            )
