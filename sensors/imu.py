"""Inertial measurement unit: accelerometer and gyro triads reporting delta-v and delta-angle.

Error model per triad (all drawn from the IMU's own random stream): a turn-on bias drawn
once; bias instability as a random walk of the bias; white noise (velocity / angle random
walk); scale-factor error and axis misalignment drawn once; saturation of the sensed rate;
quantisation of the increments with the remainder carried to the next sample (so it does not
bias the sum). The sensor sits at the centre of mass (lever-arm effects neglected). The run
loop accumulates the true body increments of each truth step and samples the IMU at its rate.

The `[sensors.imu]` section (`Imu`) is packed here (`pack`); each triad's error specifications
are dispersed per field (`ACCELEROMETER_DISPERSIBLE`, `GYRO_DISPERSIBLE`, read back from the
triad's packed record).
"""

import math

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion, vector
from dynamics.units import (
    AccelerationRandomWalk,
    AngleRandomWalk,
    AngularRateRandomWalk,
    Dispersible,
    NonNegativeAcceleration,
    NonNegativeAngle,
    NonNegativeAngularRate,
    Number,
    PositiveAngularRate,
    PositiveFrequency,
    Strict,
    VelocityRandomWalk,
    quantity,
    steps_per_sample,
)
from dynamics.views import record
from sensors import random_stream

TRIAD_DTYPE = np.dtype(
    [
        ("bias_sigma", np.float64),  # turn-on bias, 1 sigma [m/s^2 or rad/s]
        ("bias_walk", np.float64),  # bias instability as random walk [unit/s/sqrt(s)]
        ("noise_density", np.float64),  # VRW [m/s/sqrt(s)] or ARW [rad/sqrt(s)]
        ("scale_factor_sigma", np.float64),  # 1 sigma, fraction
        ("misalignment_sigma_rad", np.float64),  # 1 sigma per axis pair
        ("quantum", np.float64),  # increment LSB [m/s or rad]; 0 = none
        ("saturation", np.float64),  # largest sensed rate [m/s^2 or rad/s]
    ],
    align=True,
)

IMU_DTYPE = np.dtype(
    [("accelerometer", TRIAD_DTYPE), ("gyro", TRIAD_DTYPE), ("every_steps", np.int64)],
    align=True,
)

# Per-run state of one triad: its drawn errors, the current bias and the quantisation remainder.
TRIAD_STATE_DTYPE = np.dtype(
    [
        ("bias", np.float64, (3,)),
        ("matrix", np.float64, (3, 3)),  # (I + scale factor + misalignment)
        ("remainder", np.float64, (3,)),
        ("noise_scale", np.float64),  # 1 nominal (a fault may raise it)
    ],
    align=True,
)

IMU_STATE_DTYPE = np.dtype(
    [
        ("accelerometer", TRIAD_STATE_DTYPE),
        ("gyro", TRIAD_STATE_DTYPE),
        ("dv_body_mps", np.float64, (3,)),  # true increments since the last sample
        ("dtheta_body_rad", np.float64, (3,)),
        ("interval_s", np.float64),
        ("stream", np.uint64, (4,)),  # the IMU's random stream
    ],
    align=True,
)


@njit(cache=True)
def init_triad(spec, state, stream):
    """Draw the triad's turn-on bias, scale factors and misalignment."""
    state.noise_scale = 1.0
    for i in range(3):
        state.bias[i] = spec.bias_sigma * random_stream.standard_normal(stream)
        state.remainder[i] = 0.0
        for j in range(3):
            draw = random_stream.standard_normal(stream)
            if i == j:
                state.matrix[i, j] = 1.0 + spec.scale_factor_sigma * draw
            else:
                state.matrix[i, j] = spec.misalignment_sigma_rad * draw


@njit(cache=True, inline="always")
def measure_triad(spec, state, true_increment, interval_s, stream, out):
    """Measured increment over interval_s for a true body-frame increment, into out."""
    root_interval = math.sqrt(interval_s)
    for i in range(3):
        state.bias[i] += spec.bias_walk * root_interval * random_stream.standard_normal(stream)
    limit = spec.saturation * interval_s
    m = state.matrix
    for i in range(3):
        x = m[i, 0] * true_increment[0] + m[i, 1] * true_increment[1] + m[i, 2] * true_increment[2]
        x += state.bias[i] * interval_s
        x += (
            state.noise_scale
            * spec.noise_density
            * root_interval
            * random_stream.standard_normal(stream)
        )
        x = min(max(x, -limit), limit)
        if spec.quantum > 0.0:
            total = x + state.remainder[i]
            x = math.floor(total / spec.quantum + 0.5) * spec.quantum
            state.remainder[i] = total - x
        out[i] = x


@njit(cache=True, inline="always")
def true_increments(q0, q1, v0_mci, v1_mci, g0_mci, g1_mci, dt_s):
    """True delta-angle and delta-v [rad, m/s] in body axes over a truth step: the body
    rotation from q0 to q1, and the velocity change less gravity's (trapezoidal) share,
    resolved at the mid-step attitude."""
    dtheta = quaternion.to_rotation_vector(quaternion.multiply(quaternion.conjugate(q0), q1))
    dv_mci = vector.sub(
        vector.sub(v1_mci, v0_mci), vector.scale(vector.add(g0_mci, g1_mci), 0.5 * dt_s)
    )
    q_mid = quaternion.multiply(q0, quaternion.from_rotation_vector(vector.scale(dtheta, 0.5)))
    return quaternion.rotate_inverse(q_mid, dv_mci), dtheta


@njit(cache=True)
def init(spec, state):
    """Draw the IMU's fixed errors for this run."""
    init_triad(spec.accelerometer, state.accelerometer, state.stream)
    init_triad(spec.gyro, state.gyro, state.stream)


@njit(cache=True, inline="always")
def accumulate(state, dv_body, dtheta_body, dt_s):
    """Add a truth step's body increments to those awaiting the next IMU sample."""
    for i in range(3):
        state.dv_body_mps[i] += dv_body[i]
        state.dtheta_body_rad[i] += dtheta_body[i]
    state.interval_s += dt_s


@njit(cache=True, inline="always")
def sample(spec, state, dv_out, dtheta_out):
    """Measured IMU increments over the accumulated interval (returned in the out arrays);
    resets the accumulation and returns the interval [s]."""
    interval = state.interval_s
    measure_triad(
        spec.accelerometer, state.accelerometer, state.dv_body_mps, interval, state.stream, dv_out
    )
    measure_triad(spec.gyro, state.gyro, state.dtheta_body_rad, interval, state.stream, dtheta_out)
    for i in range(3):
        state.dv_body_mps[i] = 0.0
        state.dtheta_body_rad[i] = 0.0
    state.interval_s = 0.0
    return interval


class Accelerometer(Strict):
    bias: NonNegativeAcceleration
    bias_instability: AccelerationRandomWalk
    noise_density: VelocityRandomWalk
    scale_factor: Number = Field(ge=0.0, le=0.1)  # 1 sigma, fraction (100 ppm = 1e-4)
    misalignment: NonNegativeAngle
    quantum: quantity("m/s", "0.0001 m/s", non_negative=True)
    saturation: quantity("m/s2", "150 m/s2", positive=True)


class Gyro(Strict):
    bias: NonNegativeAngularRate
    bias_instability: AngularRateRandomWalk
    noise_density: AngleRandomWalk
    scale_factor: Number = Field(ge=0.0, le=0.1)
    misalignment: NonNegativeAngle
    quantum: NonNegativeAngle
    saturation: PositiveAngularRate


class Imu(Strict):
    rate: PositiveFrequency
    accelerometer: Accelerometer
    gyro: Gyro


PACKED = {  # a triad's section field: its TRIAD_DTYPE field
    "bias": "bias_sigma",
    "bias_instability": "bias_walk",
    "noise_density": "noise_density",
    "scale_factor": "scale_factor_sigma",
    "misalignment": "misalignment_sigma_rad",
    "quantum": "quantum",
    "saturation": "saturation",
}


def pack(imu, time_step_s):
    """IMU_DTYPE record of a `[sensors.imu]` section: its error specifications and its
    sampling period in truth steps."""
    out = np.zeros(1, IMU_DTYPE)[0]
    for name in ("accelerometer", "gyro"):
        triad = getattr(imu, name)
        out[name] = record(
            TRIAD_DTYPE, **{packed: getattr(triad, field) for field, packed in PACKED.items()}
        )
    out["every_steps"] = steps_per_sample(imu.rate, time_step_s, "sensors.imu.rate")
    return out


def _dispersible(units):
    return {field: Dispersible(units[field], packed) for field, packed in PACKED.items()}


# each read back from the triad's TRIAD_DTYPE record
ACCELEROMETER_DISPERSIBLE = _dispersible(
    {
        "bias": "m/s2",
        "bias_instability": "m/s2/sqrt(s)",
        "noise_density": "m/s/sqrt(s)",
        "scale_factor": "",
        "misalignment": "rad",
        "quantum": "m/s",
        "saturation": "m/s2",
    }
)
GYRO_DISPERSIBLE = _dispersible(
    {
        "bias": "rad/s",
        "bias_instability": "rad/s/sqrt(s)",
        "noise_density": "rad/sqrt(s)",
        "scale_factor": "",
        "misalignment": "rad",
        "quantum": "rad",
        "saturation": "rad/s",
    }
)
