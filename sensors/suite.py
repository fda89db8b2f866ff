"""The lander's sensor suite: the one place that lists which sensors fly and holds their
per-run state. The run loop samples each at its own rate; their random streams are spawned
from the run seed in the order of `STREAMS` (append new ones at the end so existing streams
stay the same)."""

import numpy as np
from numba import njit

from sensors import imu
from sensors.laser_rangefinder import RANGEFINDER_DTYPE
from sensors.star_tracker import STAR_TRACKER_DTYPE

STREAMS = ("imu", "star_tracker", "laser_rangefinder", "navigation_initial_error")

SUITE_DTYPE = np.dtype(
    [
        ("imu", imu.IMU_DTYPE),
        ("star_tracker", STAR_TRACKER_DTYPE),
        ("rangefinder", RANGEFINDER_DTYPE),
        ("probe_length_m", np.float64),
    ],
    align=True,
)

SUITE_STATE_DTYPE = np.dtype(
    [
        ("accelerometer", imu.TRIAD_STATE_DTYPE),
        ("gyro", imu.TRIAD_STATE_DTYPE),
        ("dv_body_mps", np.float64, (3,)),  # true increments since the last IMU sample
        ("dtheta_body_rad", np.float64, (3,)),
        ("interval_s", np.float64),
    ],
    align=True,
)


@njit(cache=True)
def init(suite, state, imu_rng):
    """Draw the IMU's fixed errors for this run."""
    imu.init_triad(suite.imu.accelerometer, state.accelerometer, imu_rng)
    imu.init_triad(suite.imu.gyro, state.gyro, imu_rng)


@njit(cache=True)
def accumulate(state, dv_body, dtheta_body, dt_s):
    """Add a truth step's body increments to those awaiting the next IMU sample."""
    for i in range(3):
        state.dv_body_mps[i] += dv_body[i]
        state.dtheta_body_rad[i] += dtheta_body[i]
    state.interval_s += dt_s


@njit(cache=True)
def imu_sample(suite, state, rng, dv_out, dtheta_out):
    """Measured IMU increments over the accumulated interval (returned in the out arrays);
    resets the accumulation and returns the interval [s]."""
    interval = state.interval_s
    imu.measure_triad(
        suite.imu.accelerometer, state.accelerometer, state.dv_body_mps, interval, rng, dv_out
    )
    imu.measure_triad(suite.imu.gyro, state.gyro, state.dtheta_body_rad, interval, rng, dtheta_out)
    for i in range(3):
        state.dv_body_mps[i] = 0.0
        state.dtheta_body_rad[i] = 0.0
    state.interval_s = 0.0
    return interval
