"""The interface's attitude layer: pointing, the PD law and the RCS pulse modulation that turn
an attitude or torque command into thruster on-times. The simulator uses it for flight
software that commands a torque or an attitude (`contract.TORQUE`, `QUATERNION`; the PD law
then acts on the true attitude and rate: an ideal attitude determination) and for the
open-loop hold; our flight software flies the same laws on its own estimate.

Pointing: the commanded attitude puts the body +z axis (the main engine's thrust axis) along
a desired thrust direction and the body +y axis as close as possible to a reference
direction (the local crossrange axis), which fixes the roll about the thrust axis.

Pulses: torque demand to RCS on-times, per-axis thruster groups and pulse-width modulation.

Each thruster is assigned, once, to the body axis and sign its torque mostly acts about
(thrusters mounted as couples then give nearly pure torques). Every control period the
angular impulse demanded about each axis, torque * period, is delivered by firing that
axis's group for on-time = impulse / group torque, clipped to the period. An impulse too small
for the minimum pulse is not dropped but carried to the next period until it adds up to one
(so the minimum impulse bit costs pulse frequency instead of a dead band that lets the
attitude drift); impulse beyond a full period is dropped (no wind-up).
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


def torque_matrix(positions_m, directions, thrusts_n, com_m):
    """3 x N torque [N m] of each thruster firing alone, about com_m (body axes)."""
    arms = np.asarray(positions_m, float) - np.asarray(com_m, float)
    forces = np.asarray(directions, float) * np.asarray(thrusts_n, float)[:, None]
    return np.cross(arms, forces).T


def axis_groups(torques_nm):
    """(3, 2, N) 0/1 mask: thruster i belongs to axis k, sign s (0: +, 1: -) when its torque
    acts mostly about k with that sign (largest component, at least half its magnitude)."""
    n = torques_nm.shape[1]
    groups = np.zeros((3, 2, n), dtype=np.int8)
    for i in range(n):
        t = torques_nm[:, i]
        k = int(np.argmax(np.abs(t)))
        if abs(t[k]) >= 0.5 * np.linalg.norm(t) and abs(t[k]) > 0.0:
            groups[k, 0 if t[k] > 0 else 1, i] = 1
    return groups


@njit(cache=True)
def on_times(torque_demand_nm, torques_nm, groups, period_s, min_on_time_s, carried_nms, out_s):
    """On-time [s] of each thruster for this control period, into out_s; carried_nms holds
    the per-axis angular impulse [N m s] still owed from earlier periods (updated)."""
    out_s[:] = 0.0
    for k in range(3):
        impulse = torque_demand_nm[k] * period_s + carried_nms[k]
        carried_nms[k] = 0.0
        if impulse == 0.0:
            continue
        sign = 0 if impulse > 0.0 else 1
        group_torque = 0.0
        for i in range(torques_nm.shape[1]):
            if groups[k, sign, i]:
                group_torque += torques_nm[k, i]
        if group_torque == 0.0:
            continue
        t_on = abs(impulse / group_torque)
        if t_on < min_on_time_s:
            carried_nms[k] = impulse
            continue
        t_on = min(t_on, period_s)
        for i in range(torques_nm.shape[1]):
            if groups[k, sign, i]:
                out_s[i] = max(out_s[i], t_on)
