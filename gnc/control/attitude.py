"""Thrust-direction slewing: how fast our flight software turns its commanded thrust axis
(pointing and the PD law are the interface's attitude layer, `gnc.interface.attitude_layer`).
"""

import math

from numba import njit

from dynamics import quaternion, vector


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
