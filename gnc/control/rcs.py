"""Torque demand to RCS pulses: per-axis thruster groups and pulse-width modulation.

Each thruster is assigned, once, to the body axis and sign its torque mostly acts about
(thrusters mounted as couples then give nearly pure torques). Every control period the
angular impulse demanded about each axis, torque * period, is delivered by firing that
axis's group for on-time = impulse / group torque, clipped to the period. An impulse too small
for the minimum pulse is not dropped but carried to the next period until it adds up to one
(so the minimum impulse bit costs pulse frequency instead of a dead band that lets the
attitude drift); impulse beyond a full period is dropped (no wind-up).
"""

import numpy as np
from numba import njit


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
