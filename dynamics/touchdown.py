"""Touchdown: contact of the landing gear (or anything else) with the terrain, the state at
contact in the local frame, and the outcome class with limits set in the scenario.

Defaults in the scenarios come from the Chandrayaan-3 specification (vertical <= 2 m/s,
horizontal <= 0.5 m/s, hard limits 3 and 1 m/s) and a 10 deg tilt, see
shared/reference/lunar-landing-facts.md ("Touchdown limits in use").

The `[touchdown_limits]` section (`Limits`, packed by `pack_limits`) and the `[vehicle]`
section's landing gear and contact probes (`LandingGear`) live here.
"""

import math

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import frames, quaternion, terrain, vector
from dynamics.units import (
    BODY_EXTENT_M,
    BodyVector,
    Dispersible,
    NonNegativeAngle,
    PositiveAngularRate,
    PositiveSpeed,
    Strict,
    quantity,
)
from dynamics.views import record

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


class Limits(Strict):
    """`[touchdown_limits]`. Defaults: Chandrayaan-3 specification and hard limits
    (lunar-landing-facts.md)."""

    vertical_speed: PositiveSpeed = 2.0
    vertical_speed_hard: PositiveSpeed = 3.0
    horizontal_speed: PositiveSpeed = 0.5
    horizontal_speed_hard: PositiveSpeed = 1.0
    tilt: NonNegativeAngle = 0.17453292519943295  # 10 deg
    slope: NonNegativeAngle = 0.20943951023931956  # 12 deg
    body_rate: PositiveAngularRate = 0.08726646259971647  # 5 deg/s


def pack_limits(limits):
    """LIMITS_DTYPE record of a `[touchdown_limits]` section."""
    return record(
        LIMITS_DTYPE,
        vertical_speed_mps=limits.vertical_speed,
        vertical_speed_hard_mps=limits.vertical_speed_hard,
        horizontal_speed_mps=limits.horizontal_speed,
        horizontal_speed_hard_mps=limits.horizontal_speed_hard,
        tilt_rad=limits.tilt,
        slope_rad=limits.slope,
        body_rate_radps=limits.body_rate,
    )


ProbeLength = quantity("m", "0.5 m", non_negative=True, high=BODY_EXTENT_M)


class LandingGear(Strict):
    """The vehicle's footpads and the contact probes that hang below them."""

    landing_gear: tuple[BodyVector, ...] = Field(min_length=3, max_length=32)  # footpad centres
    contact_probe_length: ProbeLength = 0.5  # probes hang this far below the footpads


# Read back from the packed run's run record (`m.run`), which the loop's contact check reads.
DISPERSIBLE = {
    "contact_probe_length": Dispersible("m", lambda m: float(m.run["probe_length_m"])),
}
