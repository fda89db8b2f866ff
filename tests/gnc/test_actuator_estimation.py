"""Actuator estimation (gnc/control/actuator_estimation.py): the thrust scale and the
disturbance torque per unit throttle it reads from the IMU, against what a rigid body with a
known torque and an engine of known thrust gives."""

import math

import numpy as np
import pytest

from gnc.control import actuator_estimation as est

PERIOD_S = 0.1
TIME_CONSTANT_S = 1.0
INERTIA = np.array([150.0, 140.0, 170.0])


def fresh():
    estimate = np.zeros(1, est.ESTIMATE_DTYPE)[0]
    est.reset(estimate)
    return estimate


def test_the_thrust_scale_follows_an_engine_lost_at_its_time_constant():
    """Half the believed thrust from one cycle on: after n cycles the estimate has moved
    1 - (1 - dt/T)^n of the way from 1 to 0.5 (a first-order filter), and gets there."""
    estimate = fresh()
    believed = 2.0  # m/s^2 at the commanded throttle
    torques = np.zeros((3, 1))
    for n in range(1, 51):
        est.record_commands(estimate, 0.8, 1000.0, 400.0, torques, np.zeros(1), PERIOD_S)
        est.update(estimate, 0.5 * believed, (0.0, 0.0, 0.0), INERTIA, PERIOD_S, TIME_CONSTANT_S)
        if n == 10:  # the first update only primes the rate history
            moved = 1.0 - (1.0 - PERIOD_S / TIME_CONSTANT_S) ** (n - 1)
            assert estimate["thrust_scale"] == pytest.approx(1.0 - 0.5 * moved, rel=1e-12)
    assert estimate["thrust_scale"] == pytest.approx(0.5, abs=0.005)


def test_no_thrust_scale_is_read_while_the_engine_gives_too_little():
    estimate = fresh()
    for _ in range(30):  # 0.2 m/s^2 believed: below MIN_THRUST_ACCEL_MPS2
        est.record_commands(estimate, 0.2, 400.0, 400.0, np.zeros((3, 1)), np.zeros(1), PERIOD_S)
        est.update(estimate, 0.0, (0.0, 0.0, 0.0), INERTIA, PERIOD_S, TIME_CONSTANT_S)
    assert estimate["thrust_scale"] == 1.0


def test_the_disturbance_of_an_engine_off_the_axis_is_its_thrust_times_its_arm():
    """A 500-N engine 0.3 m off the axis at throttle 0.8 turns a body of inertia I about x:
    dw/dt = (0.8 x 150 N m + RCS) / I. The estimate per unit throttle converges to 150 N m,
    whatever the RCS fights back with (known to the software)."""
    estimate = fresh()
    w = np.zeros(3)
    throttle, disturbance = 0.8, np.array([0.8 * 500.0 * 0.3, 0.0, 0.0])
    torques = np.diag([40.0, 40.0, 40.0])  # one thruster per axis
    on_time = np.array([0.05, 0.0, 0.0])  # about x only: w stays along x, no gyroscopic term
    for _ in range(80):
        est.record_commands(estimate, throttle, 1000.0, 400.0, torques, on_time, PERIOD_S)
        rcs = torques @ on_time / PERIOD_S
        w = w + (disturbance + rcs) / INERTIA * PERIOD_S
        est.update(estimate, 1.0, tuple(w), INERTIA, PERIOD_S, TIME_CONSTANT_S)
    per_throttle = estimate["torque_per_throttle_nm"]
    assert per_throttle[0] == pytest.approx(500.0 * 0.3, rel=1e-3)
    assert np.abs(per_throttle[1:]).max() < 1e-9
    assert np.allclose(est.disturbance_torque(estimate, 0.5), 0.5 * per_throttle)


def test_a_steady_spin_off_a_principal_axis_needs_the_gyroscopic_torque():
    """Constant body rate w about no principal axis: Euler's equation says a torque w x I w
    holds it there, and that is the disturbance read (no RCS firing)."""
    estimate = fresh()
    w = (0.1, 0.05, -0.08)
    for _ in range(200):
        est.record_commands(estimate, 1.0, 1000.0, 400.0, np.zeros((3, 1)), np.zeros(1), PERIOD_S)
        est.update(estimate, 2.5, w, INERTIA, PERIOD_S, TIME_CONSTANT_S)
    expected = np.cross(w, INERTIA * np.array(w))
    assert np.allclose(estimate["torque_per_throttle_nm"], expected, atol=1e-9)
    assert math.isclose(estimate["thrust_scale"], 1.0)
