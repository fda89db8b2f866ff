"""Laser rangefinder (sensor kind 'laser_rangefinder'): slant range along a body-fixed beam from
the sensor to the terrain.

No return beyond the maximum valid range, or when the beam misses the ground: the sample is
invalid. Valid ranges carry white noise with a constant and a range-proportional part. The
maximum range is that of the link budget at nominal received power; a degraded channel
(performance factor p < 1 on the received power, e.g. a weaker laser) reaches sqrt(p) of it,
since an extended Lambertian target returns power falling as 1 / range^2.

The filter's model is honest about its map (statistical linearisation, as SITAN's
terrain-aided navigation: Hostetler & Andreas 1983, IEEE TAC 28(3)). It casts the beam on the
onboard map from the estimated pose; where the foot may be (the position covariance, slid
along the beam onto level ground) it fits the plane of the map's heights, and predicts the
range to that plane (normal n, along d, from a sensor at lever arm a from the centre of mass):
d rho / d r = -n / (n.d), d rho / d theta = (n_body x (rho b + a)) / (n.d).
So ranging over sloped terrain gives horizontal information, but only the slope the map holds
over the whole region the lander may be in. To the sensor's noise the variance adds, over
(n.d)^2, the map's own height error (the craters it leaves out) and the relief the plane
leaves, both as the terrain's statistics expect (`dynamics.craters.relief_statistics`), each
times 2 L / ds: samples every ds along the ground inside a correlation length L share their
error, and carry the information of independent ones every 2 L. The relief's L is its whole
correlation length, a bound (shorter ones measured overconfident over the nominal terrain).
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import frames, quaternion, terrain, vector
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
    hit = vector.add(origin, vector.scale(d, rho))
    x, y, _ = frames.track_coordinates(m.site, hit)
    down, left, up = frames.local_track_axes(m.site, hit)
    # where the beam may meet the ground: the hit point moves with the lander's position
    # error, slid along the beam back onto a level surface (J = I - d up' / (up.d))
    slide = 1.0 / vector.dot(up, d)
    a_down = bus.gradient_to_mci(
        pose, vector.sub(down, vector.scale(up, vector.dot(d, down) * slide))
    )
    a_left = bus.gradient_to_mci(
        pose, vector.sub(left, vector.scale(up, vector.dot(d, left) * slide))
    )
    cov = pose.position_cov_mci_m2
    c_xx = _quadratic(cov, a_down, a_down)
    c_xy = _quadratic(cov, a_down, a_left)
    c_yy = _quadratic(cov, a_left, a_left)
    mean, hx, hy = terrain.plane_over_region(m.tiles, m.heights, x, y, c_xx, c_xy, c_yy)
    # the region's largest 1-sigma extent: the relief a plane leaves grows with it
    extent = math.sqrt(0.5 * (c_xx + c_yy) + math.sqrt(0.25 * (c_xx - c_yy) ** 2 + c_xy * c_xy))
    residual = terrain.unexplained_relief(m, extent)
    n = vector.unit(vector.sub(up, vector.add(vector.scale(down, hx), vector.scale(left, hy))))
    nd = vector.dot(n, d)
    if nd > -1e-3:  # grazing or from below: no usable geometry
        return
    h_hit, _, _ = terrain.height_and_gradient(m.tiles, m.heights, x, y)
    rho += (mean - h_hit) / nd  # to the region's mean surface
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
    # the map's error and what the plane leaves out (the map's relief) stay correlated along
    # the hit point's track: n samples in a correlation length carry the information of
    # independent ones every 2 lengths, so each counts with that many times its variance;
    # the hit point moves with the lander and the turning beam
    w = bus.body_to_mcmf(pose, vector.load(pose.w_body_radps, 0))
    v_beam = vector.add(vector.load(pose.v_mcmf_mps, 0), vector.scale(vector.cross(w, d), rho))
    v_hit = vector.sub(v_beam, vector.scale(d, vector.dot(up, v_beam) * slide))
    moved = vector.norm(v_hit) * measurement.period_s + 1e-9
    correlated = (
        max(1.0, 2.0 * m.error_correlation_m / moved) * m.height_error_m**2
        + max(1.0, 2.0 * m.relief_correlation_m / moved) * residual
    )
    sigma = spec.noise_m + spec.noise_fraction * rho
    out.noise_cov[0, 0] = sigma * sigma + correlated / (nd * nd)


@njit(cache=True)
def _quadratic(matrix, a, b):
    """a' M b for a 3 x 3 matrix."""
    acc = 0.0
    for i in range(3):
        for j in range(3):
            acc += a[i] * matrix[i, j] * b[j]
    return acc
