"""Touchdown: contact of the landing gear (or anything else) with the terrain, the state at
contact in the local frame, and the outcome class with limits set in the scenario. The slope
judged is the ground's beneath the centre of mass, or, on a hazard field (boulders and fresh
craters finer than the gear, `dynamics.hazards`), the plane the lander comes to rest on over
its footpads: a pad on a rock tilts it.

Defaults in the scenarios come from the Chandrayaan-3 specification (vertical <= 2 m/s,
horizontal <= 0.5 m/s, hard limits 3 and 1 m/s) and a 10 deg tilt, see
shared/reference/lunar-landing-facts.md ("Touchdown limits in use").

The `[touchdown_limits]` section (`Limits`, packed by `pack_limits`) and the `[vehicle]`
section's landing gear and contact probes (`LandingGear`) live here.
"""

import math
from typing import NamedTuple

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


class Resting(NamedTuple):
    """How the lander comes to rest (`ground_slope`): the slope it rests on [rad], the pad
    most out of line with the others' ground (-1 off a hazard field), where that pad stood
    (track coordinates [m], NaN off a field) and the ground's roughness under it [m] (NaN)."""

    slope_rad: float
    pad: int
    pad_downrange_m: float
    pad_crossrange_m: float
    roughness_m: float


@njit(cache=True)
def body_point_mcmf(r_mcmf, q_body_to_mcmf, com_m, point_m):
    """Moon-fixed position of a body-fixed point (body axes, from the body origin) of a lander
    whose centre of mass is at r_mcmf."""
    arm = vector.sub(vector.load(point_m, 0), vector.load(com_m, 0))
    return vector.add(r_mcmf, quaternion.rotate(q_body_to_mcmf, arm))


@njit(cache=True)
def point_altitude(site, tiles, heights, r_mcmf, q_body_to_mcmf, com_m, point_m):
    """Height [m] above the terrain of a body-fixed point (body axes, from the body origin)
    of a lander whose centre of mass is at r_mcmf."""
    p = body_point_mcmf(r_mcmf, q_body_to_mcmf, com_m, point_m)
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
def contact_state(surface, r_mcmf, v_rel_mcmf, q_body_to_mcmf, w_body_radps, gear):
    """(vertical speed down, horizontal speed [m/s], tilt [rad], body rate [rad/s], distance
    from the site [m]) of the lander at contact, in the local frame beneath it, and how it
    comes to rest (`Resting`, `ground_slope`). surface: (site, tiles, heights); gear: (centre
    of mass, footpads: body axes [m])."""
    site = surface[0]
    up = vector.unit(r_mcmf)
    v_down = -vector.dot(v_rel_mcmf, up)
    v_h = vector.norm(vector.add(v_rel_mcmf, vector.scale(up, v_down)))
    body_z = quaternion.rotate(q_body_to_mcmf, (0.0, 0.0, 1.0))
    tilt = math.acos(max(-1.0, min(1.0, vector.dot(body_z, up))))
    resting = ground_slope(surface, r_mcmf, q_body_to_mcmf, gear)
    x, y, _ = frames.track_coordinates(site, r_mcmf)
    return v_down, v_h, tilt, vector.norm(w_body_radps), math.hypot(x, y), resting


@njit(cache=True)
def ground_slope(surface, r_mcmf, q_body_to_mcmf, gear):
    """How the lander comes to rest on the ground (`Resting`). On a hazard field
    (`dynamics.hazards`: boulders and fresh craters finer than the gear) it rests on its
    footpads: the tilt of their support plane (`support_tilt`), the pad whose ground is most
    out of line (`odd_pad`: the one on a rock or in a hole) and where it stood, and the
    ground's roughness within the pads' reach (`footprint_plane`); elsewhere the slope beneath
    the centre of mass, pad -1 and NaN."""
    site, tiles, heights = surface
    com, pads = gear
    x, y, _ = frames.track_coordinates(site, r_mcmf)
    k = terrain.finest_tile(tiles, x, y)
    if k < 0 or not tiles[k].hazard_field:
        return Resting(terrain.slope_rad(site, tiles, heights, r_mcmf), -1, np.nan, np.nan, np.nan)
    n = pads.shape[0]
    ground = np.empty((n, 3))
    for i in range(n):
        p = body_point_mcmf(r_mcmf, q_body_to_mcmf, com, pads[i])
        px, py, _ = frames.track_coordinates(site, p)
        ground[i, 0], ground[i, 1] = px - x, py - y
        ground[i, 2] = terrain.height_and_gradient(tiles, heights, px, py)[0]
    reach = 0.0
    for i in range(n):
        reach = max(reach, math.hypot(ground[i, 0], ground[i, 1]))
    _, roughness = footprint_plane(tiles, heights, (x, y), reach, tiles[k].spacing_m)
    pad = odd_pad(ground)
    return Resting(support_tilt(ground), pad, x + ground[pad, 0], y + ground[pad, 1], roughness)


@njit(cache=True)
def footprint_plane(tiles, heights, centre, radius_m, step_m):
    """(tilt [rad], roughness [m]) of the ground over a disc (centre: track coordinates [m]),
    sampled every step_m: the tilt of the plane fitted to it by least squares, and the ground's
    largest distance from that plane (a rock standing out of it, or a hole in it, as the
    lander's body and legs meet them)."""
    n = int(radius_m / step_m)
    points = np.empty(((2 * n + 1) ** 2, 3))
    count = 0
    for i in range(-n, n + 1):
        for j in range(-n, n + 1):
            x, y = i * step_m, j * step_m
            if x * x + y * y <= radius_m * radius_m:
                z = terrain.height_and_gradient(tiles, heights, centre[0] + x, centre[1] + y)[0]
                points[count, 0], points[count, 1], points[count, 2] = x, y, z
                count += 1
    tilt, roughness, _ = terrain.plane_fit(points[:count])
    return tilt, roughness


@njit(cache=True)
def support_tilt(ground):
    """Tilt [rad] of the plane a lander rests on, from its pads' ground points (n x 3: horizontal
    coordinates from the centre of mass, and height [m]): a plane through three pads that no
    other pad's ground rises above, over the centre of mass (the upper convex hull's facet
    there); where the centre of mass lies on an edge shared by two, the steeper (the side it
    falls to)."""
    n = ground.shape[0]
    steepest = -1.0
    for a in range(n):
        for b in range(a + 1, n):
            for c in range(b + 1, n):
                ok, gx, gy = _plane_over_centre(ground, a, b, c)
                if ok:
                    steepest = max(steepest, math.atan(math.hypot(gx, gy)))
    return steepest if steepest >= 0.0 else math.pi / 2  # over no facet: it falls


@njit(cache=True)
def _plane_over_centre(ground, a, b, c):
    """(whether, dh/dx, dh/dy): the plane through pads a, b, c holds every pad's ground at or
    below it and has the centre of mass (the origin) over its triangle."""
    x1, y1 = ground[b, 0] - ground[a, 0], ground[b, 1] - ground[a, 1]
    x2, y2 = ground[c, 0] - ground[a, 0], ground[c, 1] - ground[a, 1]
    det = x1 * y2 - x2 * y1
    if abs(det) < 1e-9:
        return False, 0.0, 0.0
    h1, h2 = ground[b, 2] - ground[a, 2], ground[c, 2] - ground[a, 2]
    gx = (h1 * y2 - h2 * y1) / det
    gy = (x1 * h2 - x2 * h1) / det
    # the origin in barycentric coordinates of the triangle
    u = (-ground[a, 0] * y2 + ground[a, 1] * x2) / det
    v = (-x1 * ground[a, 1] + y1 * ground[a, 0]) / det
    if u < -1e-9 or v < -1e-9 or u + v > 1.0 + 1e-9:
        return False, 0.0, 0.0
    for i in range(ground.shape[0]):
        plane = (
            ground[a, 2] + gx * (ground[i, 0] - ground[a, 0]) + gy * (ground[i, 1] - ground[a, 1])
        )
        if ground[i, 2] > plane + 1e-6:
            return False, 0.0, 0.0
    return True, gx, gy


@njit(cache=True)
def odd_pad(ground):
    """Index of the pad whose ground lies farthest (either way) from the median of all pads'
    ground heights (n x 3): the one on a rock or in a hole while the others stand level
    (a plane fitted to four pads would share one pad's step among all four)."""
    heights = ground[:, 2]
    return int(np.argmax(np.abs(heights - _median(heights))))


@njit(cache=True)
def _median(values):
    """np.median of a few values (the middle one of them sorted, or the mean of the middle
    two), by insertion sort: np.median's selection algorithm takes 1.6 s to compile."""
    s = values.copy()
    n = s.shape[0]
    if n == 0:
        return np.nan
    for i in range(1, n):
        v, j = s[i], i
        while j > 0 and s[j - 1] > v:
            s[j] = s[j - 1]
            j -= 1
        s[j] = v
    half = n >> 1
    return (s[half - 1] + s[half]) / 2 if n % 2 == 0 else s[half]


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
