"""Attitude pointing and quaternion-error feedback.

The commanded attitude puts the body +z axis (the main engine's thrust axis) along a desired
thrust direction and the body +y axis as close as possible to a reference direction (the
local crossrange axis), which fixes the roll about the thrust axis.
"""

import math

import numpy as np
from numba import njit

from dynamics import quaternion, vector

ATTITUDE_GAINS_DTYPE = np.dtype(
    [("kp_nmprad", np.float64, (3,)), ("kd_nmsprad", np.float64, (3,))], align=True
)


def pd_gains(inertia_diag_kgm2, natural_frequency_radps, damping_ratio):
    """Per-axis PD gains giving a second-order response of the given natural frequency and
    damping on each principal axis: kp = I wn^2, kd = 2 zeta wn I. Settling time (2 %)
    is about 4 / (zeta wn)."""
    inertia = np.asarray(inertia_diag_kgm2, dtype=float)
    gains = np.zeros(1, ATTITUDE_GAINS_DTYPE)[0]
    gains["kp_nmprad"] = inertia * natural_frequency_radps**2
    gains["kd_nmsprad"] = 2.0 * damping_ratio * natural_frequency_radps * inertia
    return gains


@njit(cache=True)
def pointing_quaternion(thrust_direction, y_reference):
    """q_body_to_frame with body +z along thrust_direction and body +y toward y_reference,
    both given in the same frame (need not be unit or orthogonal)."""
    z = vector.unit(thrust_direction)
    y = vector.unit(vector.sub(y_reference, vector.scale(z, vector.dot(y_reference, z))))
    x = vector.cross(y, z)
    return quaternion.from_axes(x, y, z)


@njit(cache=True)
def error_angles(q_body, q_command):
    """Small-angle rotation vector [rad] from the commanded to the current attitude, body axes."""
    e = quaternion.multiply(quaternion.conjugate(q_command), q_body)
    sign = 1.0 if e[0] >= 0.0 else -1.0
    # 2*asin(|e_vec|) keeps large errors monotone; the axis is e_vec/|e_vec|.
    s = math.sqrt(e[1] * e[1] + e[2] * e[2] + e[3] * e[3])
    if s < 1e-12:
        return (2.0 * sign * e[1], 2.0 * sign * e[2], 2.0 * sign * e[3])
    k = sign * 2.0 * math.asin(min(1.0, s)) / s
    return (k * e[1], k * e[2], k * e[3])


@njit(cache=True)
def torque_command(gains, q_body, w_body_radps, q_command):
    """PD torque demand [N m] that drives the attitude to q_command with zero body rates."""
    err = error_angles(q_body, q_command)
    return (
        -gains.kp_nmprad[0] * err[0] - gains.kd_nmsprad[0] * w_body_radps[0],
        -gains.kp_nmprad[1] * err[1] - gains.kd_nmsprad[1] * w_body_radps[1],
        -gains.kp_nmprad[2] * err[2] - gains.kd_nmsprad[2] * w_body_radps[2],
    )


@njit(cache=True)
def limit_rotation(previous, desired, max_angle_rad):
    """Unit vector turned from previous toward desired by at most max_angle_rad (both unit)."""
    c = max(-1.0, min(1.0, vector.dot(previous, desired)))
    angle = math.acos(c)
    if angle <= max_angle_rad:
        return desired
    axis = vector.cross(previous, desired)
    if vector.norm(axis) < 1e-12:  # opposite directions: turn about any perpendicular
        axis = vector.cross(previous, (1.0, 0.0, 0.0))
        if vector.norm(axis) < 1e-6:
            axis = vector.cross(previous, (0.0, 1.0, 0.0))
    return quaternion.rotate(quaternion.from_axis_angle(axis, max_angle_rad), previous)
