"""Touchdown: contact of the landing gear (or anything else) with the terrain, the state at
contact in the local frame, and the outcome class with limits set in the scenario.

Defaults in the scenarios come from the Chandrayaan-3 specification (vertical <= 2 m/s,
horizontal <= 0.5 m/s, hard limits 3 and 1 m/s) and a 10 deg tilt, see
shared/reference/lunar-landing-facts.md ("Touchdown limits in use").
"""

import math

import numpy as np
from numba import njit

from dynamics import frames, quaternion, terrain, vector

OUTCOMES = (
    "landed",
    "hard_landing",
    "tipped_over",
    "crashed",
    "fuel_exhausted",
    "timeout",
    "diverged",
)
LANDED, HARD_LANDING, TIPPED_OVER, CRASHED, FUEL_EXHAUSTED, TIMEOUT, DIVERGED = range(7)

LIMITS_DTYPE = np.dtype(
    [
        ("vertical_speed_mps", np.float64),
        ("vertical_speed_hard_mps", np.float64),
        ("horizontal_speed_mps", np.float64),
        ("horizontal_speed_hard_mps", np.float64),
        ("tilt_rad", np.float64),
        ("slope_rad", np.float64),
        ("body_rate_radps", np.float64),
    ],
    align=True,
)


@njit(cache=True)
def classify(
    limits,
    vertical_mps,
    horizontal_mps,
    tilt_rad,
    slope_rad,
    rate_radps,
    gear_contact,
    propellant_exhausted,
):
    """Outcome code of a contact. Speeds are magnitudes (vertical positive downward).

    Contact by anything but the landing gear, or beyond the hard speed limits, is a crash
    (classed fuel_exhausted when the propellant had run out before it); otherwise too much
    tilt, slope or body rate tips the lander over; beyond the soft speed limits is a hard
    landing.
    """
    beyond_hard = (
        vertical_mps > limits.vertical_speed_hard_mps
        or horizontal_mps > limits.horizontal_speed_hard_mps
    )
    if not gear_contact or beyond_hard:
        return FUEL_EXHAUSTED if propellant_exhausted else CRASHED
    if (
        tilt_rad > limits.tilt_rad
        or slope_rad > limits.slope_rad
        or rate_radps > limits.body_rate_radps
    ):
        return TIPPED_OVER
    if vertical_mps > limits.vertical_speed_mps or horizontal_mps > limits.horizontal_speed_mps:
        return HARD_LANDING
    return LANDED


@njit(cache=True)
def point_altitude(site, tiles, heights, r_mcmf, q_body_to_mcmf, com_m, point_m):
    """Height [m] above the terrain of a body-fixed point (body axes, from the body origin)
    of a lander whose centre of mass is at r_mcmf."""
    arm = vector.sub(vector.load(point_m, 0), vector.load(com_m, 0))
    p = vector.add(r_mcmf, quaternion.rotate(q_body_to_mcmf, arm))
    return terrain.altitude(site, tiles, heights, p)


@njit(cache=True)
def first_contact(site, tiles, heights, r_mcmf, q_body_to_mcmf, com_m, contact_points_m):
    """Index of the lowest contact point at or below the terrain, or -1 if none touches."""
    lowest, index = 0.0, -1
    for i in range(contact_points_m.shape[0]):
        h = point_altitude(site, tiles, heights, r_mcmf, q_body_to_mcmf, com_m, contact_points_m[i])
        if h <= lowest:
            lowest, index = h, i
    return index


@njit(cache=True)
def contact_fraction(height_before_m, height_after_m):
    """Fraction of a step at which a point that went from height_before (above the terrain)
    to height_after (at or below it) touched, interpolating its height linearly."""
    if height_before_m <= 0.0:
        return 0.0
    return height_before_m / (height_before_m - height_after_m)


@njit(cache=True)
def contact_state(site, tiles, heights, r_mcmf, v_rel_mcmf, q_body_to_mcmf, w_body_radps):
    """(vertical speed down, horizontal speed [m/s], tilt, slope [rad], body rate [rad/s],
    distance from the site [m]) of the lander at contact, in the local frame beneath it."""
    up = vector.unit(r_mcmf)
    v_down = -vector.dot(v_rel_mcmf, up)
    v_h = vector.norm(vector.add(v_rel_mcmf, vector.scale(up, v_down)))
    body_z = quaternion.rotate(q_body_to_mcmf, (0.0, 0.0, 1.0))
    tilt = math.acos(max(-1.0, min(1.0, vector.dot(body_z, up))))
    slope = terrain.slope_rad(site, tiles, heights, r_mcmf)
    x, y, _ = frames.track_coordinates(site, r_mcmf)
    return v_down, v_h, tilt, slope, vector.norm(w_body_radps), math.hypot(x, y)
