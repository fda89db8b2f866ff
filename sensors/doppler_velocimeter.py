"""Doppler velocimeter (sensor kind 'doppler_velocimeter'): the surface-relative velocity of the
sensor along each of its beams (1 to 4), a beam giving a value only when it meets the terrain
within the maximum range.

Values: line-of-sight velocity per beam [m/s], positive toward where the beam points (closing
on the ground), NaN for a beam without a return: the filter updates with the beams that have
one (dimension 1 to n). White noise of one sigma per beam. A degraded channel (performance p
on the received power) reaches sqrt(p) of its range, as for the laser rangefinder.

This is the simple kinematic model of the sensor bus; the physical Navigation Doppler Lidar
(ranges, link budget) is its own kind. The filter's model: u = b_mcmf . (v_rel + w x a),
d u / d v_mci = R' b_mcmf, d u / d theta = b_body x v_body (the sensor's velocity in body
axes), d u / d r_mci = w_moon x R' b_mcmf (the frame's rotation in v_rel).
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion, terrain, vector
from dynamics.units import Direction, NonNegativeAngle, PositiveLength, PositiveSpeed, RayStep
from sensors import bus, random_stream
from sensors.channel_spec import ChannelSpec

NAME = "doppler_velocimeter"
MAX_BEAMS = 4
DIMENSION = MAX_BEAMS
UNIT = "m/s"


class Spec(ChannelSpec):
    kind: Literal["doppler_velocimeter"]
    beams: tuple[Direction, ...] = Field(min_length=1, max_length=MAX_BEAMS)  # body axes
    noise: PositiveSpeed  # 1 sigma per beam
    max_range: PositiveLength
    ray_step: RayStep = 5.0
    max_incidence: NonNegativeAngle = math.radians(80.0)  # no return at grazing incidence


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("n_beams", np.int64),
        ("beams_body", np.float64, (MAX_BEAMS, 3)),
        ("noise_mps", np.float64),
        ("max_range_m", np.float64),
        ("ray_step_m", np.float64),
        ("min_cos_incidence", np.float64),
    ],
    align=True,
)

DISPERSIBLE = {"noise": ("m/s", "noise_mps"), "max_range": ("m", "max_range_m")}


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["n_beams"] = len(spec.beams)
    record["beams_body"][: len(spec.beams)] = spec.beams
    record["noise_mps"] = spec.noise
    record["max_range_m"] = spec.max_range
    record["ray_step_m"] = spec.ray_step
    record["min_cos_incidence"] = math.cos(spec.max_incidence)
    return record


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    velocity = bus.sensor_velocity_mcmf(pose, position)
    reach = spec.max_range_m * math.sqrt(state.performance)
    out.m = spec.n_beams
    out.valid = False
    for i in range(spec.n_beams):
        beam = bus.body_to_mcmf(pose, vector.load(spec.beams_body[i], 0))
        rho = terrain.ray_cast(t.site, t.tiles, t.heights, origin, beam, reach, spec.ray_step_m)
        hit = rho >= 0.0
        if hit:
            n = terrain.surface_normal(
                t.site, t.tiles, t.heights, vector.add(origin, vector.scale(beam, rho))
            )
            hit = -vector.dot(n, beam) >= spec.min_cos_incidence
        if not hit:
            out.y[i] = np.nan
            continue
        error = spec.noise_mps * random_stream.standard_normal(state.stream)
        out.valid = True
        out.y[i] = vector.dot(velocity, beam) + error
        out.sigma[i] = spec.noise_mps
        out.noise[i] = error


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    position = vector.load(spec.position_body_m, 0)
    velocity = bus.sensor_velocity_mcmf(pose, position)
    q = pose.q_body_to_mcmf
    v_body = quaternion.rotate_inverse((q[0], q[1], q[2], q[3]), velocity)
    moon_rate = (0.0, 0.0, pose.rotation_rate_radps)
    k = 0
    for i in range(spec.n_beams):
        if not math.isfinite(measurement.y[i]):
            continue
        b = vector.load(spec.beams_body[i], 0)
        beam = bus.body_to_mcmf(pose, b)
        j_v = bus.gradient_to_mci(pose, beam)
        j_r = vector.cross(moon_rate, j_v)
        j_theta = vector.cross(b, v_body)
        out.innovation[k] = measurement.y[i] - vector.dot(velocity, beam)
        for j in range(3):
            out.j_position[k, j] = j_r[j]
            out.j_velocity[k, j] = j_v[j]
            out.j_attitude[k, j] = j_theta[j]
        k += 1
    out.m = k
    out.usable = k > 0
    for i in range(k):
        for j in range(k):
            out.noise_cov[i, j] = spec.noise_mps**2 if i == j else 0.0
