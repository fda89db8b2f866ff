"""Laser rangefinder (sensor kind 'laser_rangefinder'): slant range along a body-fixed beam from
the sensor to the terrain.

No return beyond the maximum valid range, or when the beam misses the ground: the sample is
invalid. Valid ranges carry white noise with a constant and a range-proportional part. The
maximum range is that of the link budget at nominal received power; a degraded channel
(performance factor p < 1 on the received power, e.g. a weaker laser) reaches sqrt(p) of it,
since an extended Lambertian target returns power falling as 1 / range^2.

The filter predicts the range by casting the same beam on its onboard map from its estimated
pose; for a locally planar surface with upward normal n hit at range rho along d from a
sensor at lever arm a from the centre of mass:
d rho / d r = -n / (n.d), d rho / d theta = (n_body x (rho b + a)) / (n.d),
and the map's height error adds (sigma_map / n.d)^2 to the noise variance.
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion, terrain, vector
from dynamics.units import Direction, NonNegativeLength, Number, PositiveLength, RayStep
from sensors import bus, random_stream
from sensors.channel_spec import ChannelSpec

NAME = "laser_rangefinder"
DIMENSION = 1
UNIT = "m"


class Spec(ChannelSpec):
    kind: Literal["laser_rangefinder"]
    beam: Direction  # body axes
    noise: NonNegativeLength  # 1 sigma, constant part
    noise_fraction: Number = Field(default=0.0, ge=0.0, le=1.0)  # 1 sigma, prop. to range
    max_range: PositiveLength
    ray_step: RayStep = 5.0  # smallest ray-marching step (finest terrain feature)


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("beam_body", np.float64, (3,)),  # unit beam direction in body axes
        ("noise_m", np.float64),
        ("noise_fraction", np.float64),
        ("max_range_m", np.float64),
        ("ray_step_m", np.float64),
    ],
    align=True,
)

DISPERSIBLE = {
    "noise": ("m", "noise_m"),
    "noise_fraction": ("", "noise_fraction"),
    "max_range": ("m", "max_range_m"),
}


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["beam_body"] = spec.beam
    record["noise_m"] = spec.noise
    record["noise_fraction"] = spec.noise_fraction
    record["max_range_m"] = spec.max_range
    record["ray_step_m"] = spec.ray_step
    return record


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    beam = bus.body_to_mcmf(pose, vector.load(spec.beam_body, 0))
    reach = spec.max_range_m * math.sqrt(state.performance)
    rho = terrain.ray_cast(t.site, t.tiles, t.heights, origin, beam, reach, spec.ray_step_m)
    out.m = 1
    if rho < 0.0:
        out.valid = False
        out.y[0] = np.nan
        return
    sigma = spec.noise_m + spec.noise_fraction * rho
    error = sigma * random_stream.standard_normal(state.stream)
    out.valid = True
    out.y[0] = rho + error
    out.sigma[0] = sigma
    out.noise[0] = error


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    m = onboard_map
    position = vector.load(spec.position_body_m, 0)
    b = vector.load(spec.beam_body, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    d = bus.body_to_mcmf(pose, b)
    rho = terrain.ray_cast(m.site, m.tiles, m.heights, origin, d, spec.max_range_m, spec.ray_step_m)
    out.usable = False
    if rho < 0.0:
        return
    n = terrain.surface_normal(m.site, m.tiles, m.heights, vector.add(origin, vector.scale(d, rho)))
    nd = vector.dot(n, d)
    if nd > -1e-3:  # grazing or from below: no usable geometry
        return
    q = pose.q_body_to_mcmf
    n_body = quaternion.rotate_inverse((q[0], q[1], q[2], q[3]), n)
    arm = vector.sub(position, vector.load(pose.com_body_m, 0))
    j_theta = vector.scale(vector.cross(n_body, vector.add(vector.scale(b, rho), arm)), 1.0 / nd)
    j_r = bus.gradient_to_mci(pose, vector.scale(n, -1.0 / nd))
    out.usable = True
    out.m = 1
    out.innovation[0] = measurement.y[0] - rho
    for i in range(3):
        out.j_position[0, i] = j_r[i]
        out.j_velocity[0, i] = 0.0
        out.j_attitude[0, i] = j_theta[i]
    sigma = spec.noise_m + spec.noise_fraction * rho
    out.noise_cov[0, 0] = sigma * sigma + (m.height_error_m / nd) ** 2
