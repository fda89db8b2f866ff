"""Star tracker (sensor kind 'star_tracker'): the body attitude relative to the stars (MCI), with
noise, at its rate, and only while the body rates are below its tracking limit.

Values: the measured q_body_to_mci as a rotation vector [rad] (three numbers that a bias or a
stuck fault can act on); the error is a small rotation in body axes, white, of the same 1 sigma
about each axis. The filter's innovation is the small rotation from its attitude to the
measured one, in body axes: its Jacobian is the identity on the attitude error.
"""

from typing import Literal

import numpy as np
from numba import njit

from dynamics import quaternion, vector
from dynamics.units import NonNegativeAngle, PositiveAngularRate
from sensors import random_stream
from sensors.channel_spec import ChannelSpec

NAME = "star_tracker"
DIMENSION = 3
UNIT = "rad"


class Spec(ChannelSpec):
    kind: Literal["star_tracker"]
    noise: NonNegativeAngle  # 1 sigma about each body axis
    max_rate: PositiveAngularRate  # no solution above this body rate


SPEC_DTYPE = np.dtype(
    [("noise_rad", np.float64), ("max_rate_radps", np.float64)],
    align=True,
)

# Dispersible fields: scenario name -> (SI unit, packed field).
DISPERSIBLE = {"noise": ("rad", "noise_rad"), "max_rate": ("rad/s", "max_rate_radps")}


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["noise_rad"] = spec.noise
    record["max_rate_radps"] = spec.max_rate
    return record


@njit(cache=True)
def sample(spec, pose, terrain, state, out):
    out.m = 3
    if vector.norm(vector.load(pose.w_body_radps, 0)) > spec.max_rate_radps:
        out.valid = False
        for i in range(3):
            out.y[i] = np.nan
        return
    e = (
        spec.noise_rad * random_stream.standard_normal(state.stream),
        spec.noise_rad * random_stream.standard_normal(state.stream),
        spec.noise_rad * random_stream.standard_normal(state.stream),
    )
    q = pose.q_body_to_mci
    q_true = (q[0], q[1], q[2], q[3])
    y_true = quaternion.to_rotation_vector(q_true)
    y = quaternion.to_rotation_vector(
        quaternion.multiply(q_true, quaternion.from_rotation_vector(e))
    )
    out.valid = True
    for i in range(3):
        out.y[i] = y[i]
        out.sigma[i] = spec.noise_rad
        out.noise[i] = y[i] - y_true[i]


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    q = pose.q_body_to_mci
    q_measured = quaternion.from_rotation_vector(
        (measurement.y[0], measurement.y[1], measurement.y[2])
    )
    e = quaternion.multiply(quaternion.conjugate((q[0], q[1], q[2], q[3])), q_measured)
    sign = 1.0 if e[0] >= 0.0 else -1.0
    out.usable = True
    out.m = 3
    for i in range(3):
        out.innovation[i] = 2.0 * sign * e[i + 1]
        for j in range(3):
            out.j_position[i, j] = 0.0
            out.j_velocity[i, j] = 0.0
            out.j_attitude[i, j] = 1.0 if i == j else 0.0
            out.noise_cov[i, j] = spec.noise_rad**2 if i == j else 0.0
