"""Radar altimeter (sensor kind 'radar_altimeter'): the distance to the nearest surface inside
a wide beam, the leading edge of the radar's return.

The truth: over a cone of half-angle beamwidth / 2 about the boresight, the shortest range to
the terrain (the first echo), sampled by rays: the boresight, six on the cone's edge, and the
direction in the cone nearest the local vertical. Over level ground that last one reads the
altitude whatever the attitude within the beam (or, tilted beyond it, the range along the
edge nearest the vertical); over craters the nearest rim in the beam when a ray meets it.
No return beyond max_altitude (the radar's range gate) or when no ray meets the
ground. Noise 1 sigma sqrt(noise^2 + (relative_noise D)^2): a floor and a share of the
distance (radar altimeters state accuracy as "x m or y % of altitude").

The filter's model over its map: the range along the direction in the beam nearest the
vertical (`sensors.terrain_range.ray_range`: the map's plane over where the lander may be, and
its variance), plus the radar's noise. The perpendicular distance to a sloped plane would be
shorter still, but a slope the map holds over a region does not extend to where its
perpendicular foot lies; the truth's first echo comes from where its rays land, so the model
ranges where they do. Measured (mean position NEES at touchdown, 12 runs of the nominal with
this radar for the rangefinder): 2.7 with a 20-km range gate, 2.6 with 8 km; with
perpendicular distances 40. Not modelled: which of its rays gives the first echo (a ring ray
on a rim): hidden under 0.5 % noise, it shows with a radar 50 times quieter (NEES 23).
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion, terrain, vector
from dynamics.units import (
    Direction,
    NonNegativeLength,
    Number,
    PositiveLength,
    RayStep,
    quantity,
)
from sensors import bus, terrain_range
from sensors.channel_spec import ChannelSpec

NAME = "radar_altimeter"
DIMENSION = 1
UNIT = "m"
MEASURES_ALTITUDE = True  # its value is a distance to the ground (`sims.analysis.failure_class`)

Beamwidth = quantity("rad", "30 deg", positive=True, high=math.radians(120.0))
RING_RAYS = 6


class Spec(ChannelSpec):
    kind: Literal["radar_altimeter"]
    boresight: Direction  # body axes
    beamwidth: Beamwidth  # full angle of the cone it ranges over
    max_altitude: PositiveLength  # no return from farther (the range gate)
    noise: NonNegativeLength  # 1 sigma floor
    relative_noise: Number = Field(ge=0.0, lt=1.0)  # 1 sigma share of the distance
    ray_step: RayStep = 5.0


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("boresight_body", np.float64, (3,)),
        ("half_beam_rad", np.float64),
        ("max_altitude_m", np.float64),
        ("noise_m", np.float64),
        ("relative_noise", np.float64),
        ("ray_step_m", np.float64),
    ],
    align=True,
)

DISPERSIBLE = {"noise": ("m", "noise_m"), "relative_noise": ("", "relative_noise")}


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["boresight_body"] = spec.boresight
    record["half_beam_rad"] = 0.5 * spec.beamwidth
    record["max_altitude_m"] = spec.max_altitude
    record["noise_m"] = spec.noise
    record["relative_noise"] = spec.relative_noise
    record["ray_step_m"] = spec.ray_step
    return record


@njit(cache=True)
def sigma_m(spec, distance_m):
    """1-sigma noise [m] of a reading at a distance."""
    return math.hypot(spec.noise_m, spec.relative_noise * distance_m)


@njit(cache=True)
def toward(b, target, half_angle):
    """The unit vector in the cone of half_angle about unit b nearest unit target: target
    itself when inside, else b turned toward it by half_angle."""
    c = vector.dot(b, target)
    if c >= math.cos(half_angle):
        return target
    side = vector.sub(target, vector.scale(b, c))
    if vector.norm(side) < 1e-12:  # straight behind: any edge
        side = vector.perpendiculars(b)[0]
    side = vector.unit(side)
    return vector.add(
        vector.scale(b, math.cos(half_angle)), vector.scale(side, math.sin(half_angle))
    )


@njit(cache=True)
def _reach_m(spec, site):
    """How far [m] a ray of the beam may meet the terrain within the range gate."""
    return (spec.max_altitude_m + site.highest_terrain_m) / math.cos(min(spec.half_beam_rad, 1.4))


@njit(cache=True)
def _down_body(pose, origin):
    """The local downward vertical at origin (MCMF), in body axes."""
    q = pose.q_body_to_mcmf
    return quaternion.rotate_inverse(
        (q[0], q[1], q[2], q[3]), vector.scale(vector.unit(origin), -1.0)
    )


@njit(cache=True)
def _nearest_vertical(spec, pose, origin):
    """The direction in the beam (body axes) nearest the local downward vertical."""
    down = _down_body(pose, origin)
    return toward(vector.load(spec.boresight_body, 0), down, spec.half_beam_rad)


@njit(cache=True)
def _ray(spec, pose, t, origin, d_body, reach):
    """Range [m] to the terrain along one ray of the beam, or inf when it meets no ground."""
    d = bus.body_to_mcmf(pose, d_body)
    rho = terrain.ray_cast(t.site, t.tiles, t.heights, origin, d, reach, spec.ray_step_m)
    return rho if rho > 0.0 else math.inf


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    b = vector.load(spec.boresight_body, 0)
    half = spec.half_beam_rad
    reach = _reach_m(spec, t.site)
    # the ray nearest the vertical first: the others need only march as far as it reached
    nearest = _ray(spec, pose, t, origin, _nearest_vertical(spec, pose, origin), reach)
    nearest = min(nearest, _ray(spec, pose, t, origin, b, min(reach, nearest)))
    p1, p2 = vector.perpendiculars(b)
    for k in range(RING_RAYS):
        a = 2.0 * math.pi * k / RING_RAYS
        side = vector.add(vector.scale(p1, math.cos(a)), vector.scale(p2, math.sin(a)))
        ring = vector.add(vector.scale(b, math.cos(half)), vector.scale(side, math.sin(half)))
        nearest = min(nearest, _ray(spec, pose, t, origin, ring, min(reach, nearest)))
    out.m = 1
    if not nearest <= spec.max_altitude_m:
        out.valid = False
        out.y[0] = np.nan
        return
    sigma = sigma_m(spec, nearest)
    out.valid = True
    bus.put_value(out, 0, nearest, sigma, sigma, state.stream)


@njit(cache=True)
def _direction_follows_the_vertical(spec, pose, origin, down, direction, rho, normal, out):
    """Add to the Jacobians of row 0 what the ranging direction (body axes, the beam's nearest
    to `down`, the vertical in body axes) does. `ray_range` takes a direction fixed in the
    body; this one is the beam's nearest to the vertical: inside the
    beam the vertical itself, fixed in space whatever the attitude, at the beam's edge turning
    with the vertical's component across the boresight. With D that direction's derivative by
    the vertical in body axes (I inside, sin(half beam) / |side| times the projector across
    both the boresight and the side toward the vertical at the edge) and the map plane's
    normal n (body n_b), a turn of the vertical by dv changes the range by
    -rho n_b . D dv / (n . d); the vertical turns by -dtheta x v with the attitude and by
    (I - u u') dr / |r| with the position (the lever arm's own turning of it, |arm| / |r|,
    left out). Over level ground both vanish (n_b along v)."""
    q = pose.q_body_to_mcmf
    q = (q[0], q[1], q[2], q[3])
    up = vector.unit(origin)
    b = vector.load(spec.boresight_body, 0)
    n_b = quaternion.rotate_inverse(q, normal)
    c = vector.dot(b, down)
    if c >= math.cos(spec.half_beam_rad):
        dn = n_b  # D' n_b, D = I
    else:
        side = vector.sub(down, vector.scale(b, c))
        length = vector.norm(side)
        if length < 1e-12:  # straight behind the boresight: the edge is any
            return
        across = vector.unit(side)
        dn = vector.sub(
            n_b,
            vector.add(
                vector.scale(b, vector.dot(b, n_b)), vector.scale(across, vector.dot(across, n_b))
            ),
        )
        dn = vector.scale(dn, math.sin(spec.half_beam_rad) / length)
    k = rho / vector.dot(n_b, direction)
    turn = vector.cross(down, dn)
    moved = quaternion.rotate(q, dn)
    moved = vector.sub(moved, vector.scale(up, vector.dot(up, moved)))
    g = bus.gradient_to_mci(pose, vector.scale(moved, k / vector.norm(origin)))
    for i in range(3):
        out.j_attitude[0, i] += k * turn[i]
        out.j_position[0, i] += g[i]


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    out.m = 1
    out.usable = False
    y = measurement.y[0]
    if not math.isfinite(y):
        return
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    down = _down_body(pose, origin)
    direction = toward(vector.load(spec.boresight_body, 0), down, spec.half_beam_rad)
    reach = _reach_m(spec, onboard_map.site)
    usable, distance, _, normal = terrain_range.ray_range(
        pose,
        onboard_map,
        (position, direction),
        (reach, spec.ray_step_m),
        (y, measurement.period_s),
        out,
        0,
    )
    if usable:
        _direction_follows_the_vertical(spec, pose, origin, down, direction, distance, normal, out)
        out.noise_cov[0, 0] += sigma_m(spec, distance) ** 2
        out.usable = True
