"""Navigation Doppler lidar (sensor kind 'doppler_lidar', NASA NDL class): along each of its
beams (1 to 4; NDL has 3) the surface-relative line-of-sight velocity and the range to the
terrain.

Values: the line-of-sight velocity of each beam [m/s], positive toward where the beam points
(closing on the ground), then the range of each beam [m]; NaN for a beam without a return, so
the filter updates with the beams that have one (dimension 2 to 2 n). A beam returns when its
link budget clears the receiver's sensitivity (`sensors.lidar_return`: a coherent receiver's
sensitivity is picowatts, hence kilometres from watts of laser), and not at grazing incidence.
Velocity noise white, of one sigma per beam; range noise and footprint as the rangefinder's.

The filter's model of a velocity: u = b_mcmf . (v_rel + w x a), d u / d v_mci = R' b_mcmf,
d u / d theta = b_body x v_body (the sensor's velocity in body axes), d u / d r_mci =
w_moon x R' b_mcmf (the frame's rotation in v_rel); of a range, `lidar_return.model_range`.
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion, terrain, vector
from dynamics.units import Direction, NonNegativeAngle, PositiveSpeed
from sensors import bus, lidar_return, terrain_range
from sensors.channel_spec import ChannelSpec

NAME = "doppler_lidar"
MAX_BEAMS = 4
DIMENSION = 2 * MAX_BEAMS


class Spec(ChannelSpec, lidar_return.Link):
    kind: Literal["doppler_lidar"]
    beams: tuple[Direction, ...] = Field(min_length=1, max_length=MAX_BEAMS)  # body axes
    velocity_noise: PositiveSpeed  # 1 sigma per beam
    max_incidence: NonNegativeAngle = math.radians(80.0)  # no return at grazing incidence


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("n_beams", np.int64),
        ("beams_body", np.float64, (MAX_BEAMS, 3)),
        ("velocity_noise_mps", np.float64),
        ("min_cos_incidence", np.float64),
        *lidar_return.LINK_FIELDS,
    ],
    align=True,
)

DISPERSIBLE = {"velocity_noise": ("m/s", "velocity_noise_mps"), **lidar_return.LINK_DISPERSIBLE}


def UNIT(spec, element):
    """SI unit of a value: m/s for the velocities, m for the ranges (None for all of them)."""
    if element is None:
        return None
    return "m/s" if element < len(spec.beams) else "m"


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["n_beams"] = len(spec.beams)
    record["beams_body"][: len(spec.beams)] = spec.beams
    record["velocity_noise_mps"] = spec.velocity_noise
    record["min_cos_incidence"] = math.cos(spec.max_incidence)
    lidar_return.pack_link(spec, record)
    return record


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    n = spec.n_beams
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    velocity = bus.sensor_velocity_mcmf(pose, position)
    out.m = 2 * n
    out.valid = False
    for i in range(n):
        b = vector.load(spec.beams_body[i], 0)
        rho, signal = lidar_return.footprint_return(spec, pose, t, position, b, state.performance)
        beam = bus.body_to_mcmf(pose, b)
        if rho >= 0.0:
            hit = vector.add(origin, vector.scale(beam, rho))
            normal = terrain.surface_normal(t.site, t.tiles, t.heights, hit)
            if -vector.dot(normal, beam) < spec.min_cos_incidence:
                rho = -1.0
        if rho < 0.0:
            out.y[i] = out.y[n + i] = np.nan
            continue
        out.valid = True
        noise = spec.velocity_noise_mps
        bus.put_value(out, i, vector.dot(velocity, beam), noise, noise, state.stream)
        sigma = lidar_return.range_sigma_m(spec, signal)
        bus.put_value(out, n + i, rho, sigma, sigma, state.stream)


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    n = spec.n_beams
    position = vector.load(spec.position_body_m, 0)
    velocity = bus.sensor_velocity_mcmf(pose, position)
    q = pose.q_body_to_mcmf
    v_body = quaternion.rotate_inverse((q[0], q[1], q[2], q[3]), velocity)
    moon_rate = (0.0, 0.0, pose.rotation_rate_radps)
    k = 0
    for i in range(n):
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
        terrain_range.clear_row(out, k)
        out.noise_cov[k, k] = spec.velocity_noise_mps**2
        k += 1
    for i in range(n):
        b = vector.load(spec.beams_body[i], 0)
        if lidar_return.model_range(
            spec, pose, onboard_map, (position, b), measurement, n + i, out, k
        ):
            k += 1
    out.m = k
    out.usable = k > 0
