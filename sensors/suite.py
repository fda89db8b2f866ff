"""The lander's sensor suite: the one place that lists which sensors fly and holds their
per-run state. The run loop samples each at its own rate; their random streams are derived
from the run seed in the order of `STREAMS` (append new ones at the end so existing streams
stay the same)."""

import numpy as np
from numba import njit

from sensors import imu, random_stream
from sensors.laser_rangefinder import RANGEFINDER_DTYPE
from sensors.star_tracker import STAR_TRACKER_DTYPE

STREAMS = ("imu", "star_tracker", "laser_rangefinder", "navigation_initial_error")
# The sensors draw in compiled code from `random_stream` states, rows of the run state's
# `streams` in this order; the PDI navigation error is drawn in Python.
IMU_STREAM, STAR_TRACKER_STREAM, RANGEFINDER_STREAM = range(3)
N_SENSOR_STREAMS = 3

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
        ("streams", np.uint64, (N_SENSOR_STREAMS, 4)),  # the sensors' random streams
    ],
    align=True,
)


def stream_seed(run_seed, name):
    """The SeedSequence of one of a run's streams: the child of the run's SeedSequence at the
    stream's place in `STREAMS` (what `run_seed.spawn` would give, without spawn's state)."""
    return np.random.SeedSequence(
        run_seed.entropy, spawn_key=(*run_seed.spawn_key, STREAMS.index(name))
    )


def sensor_streams(run_seed):
    """(N_SENSOR_STREAMS, 4) compiled random-stream states of a run's sensors."""
    return random_stream.seeded_states(
        [stream_seed(run_seed, name) for name in STREAMS[:N_SENSOR_STREAMS]]
    )


@njit(cache=True)
def init(suite, state):
    """Draw the IMU's fixed errors for this run."""
    imu.init_triad(suite.imu.accelerometer, state.accelerometer, state.streams[IMU_STREAM])
    imu.init_triad(suite.imu.gyro, state.gyro, state.streams[IMU_STREAM])


@njit(cache=True, inline="always")
def accumulate(state, dv_body, dtheta_body, dt_s):
    """Add a truth step's body increments to those awaiting the next IMU sample."""
    for i in range(3):
        state.dv_body_mps[i] += dv_body[i]
        state.dtheta_body_rad[i] += dtheta_body[i]
    state.interval_s += dt_s


@njit(cache=True, inline="always")
def imu_sample(suite, state, stream, dv_out, dtheta_out):
    """Measured IMU increments over the accumulated interval (returned in the out arrays);
    resets the accumulation and returns the interval [s]."""
    interval = state.interval_s
    imu.measure_triad(
        suite.imu.accelerometer, state.accelerometer, state.dv_body_mps, interval, stream, dv_out
    )
    imu.measure_triad(
        suite.imu.gyro, state.gyro, state.dtheta_body_rad, interval, stream, dtheta_out
    )
    for i in range(3):
        state.dv_body_mps[i] = 0.0
        state.dtheta_body_rad[i] = 0.0
    state.interval_s = 0.0
    return interval
