"""A laser's return from the terrain, shared by the kinds that range with a laser (the laser
rangefinder, the Doppler lidar): the link budget that decides whether there is a return, the
footprint the range is a statistic of, and the noise the signal leaves.

Link budget (the lidar equation for an extended Lambertian target filling the beam, no
atmosphere): received peak power P_r = P_t T rho_n cos(i) A_r / (pi R^2), with P_t the peak
laser power, T the optics' transmission (both ways), rho_n the surface's normal albedo, i the
incidence angle, A_r the receiver's aperture area and R the range. A return is detected when
P_r reaches the receiver's sensitivity P_min; so the longest range is
R_max = sqrt(P_t T rho_n cos(i) A_r / (pi P_min)): halving the power, or the albedo, shortens
it by 1 / sqrt(2). A degraded channel (performance p on the received power) reaches sqrt(p)
of it. Range noise: a floor (clock, strong signal) and the timing jitter of the pulse edge,
which in an amplifier-noise-limited receiver falls as the signal amplitude, i.e. as P_r:
sigma = sqrt(noise^2 + (noise_at_threshold P_min / P_r)^2).

Footprint: a Gaussian beam of full divergence theta (at 1/e^2) lights an area of R theta
across. The return is the centroid of the received pulse: the power-weighted mean range over
the footprint, by the four-point cubature of the beam's Gaussian profile (rays theta / (2
sqrt 2) off the boresight along two axes: exact for the profile's moments to third order).
Over a cliff edge the range is between the two levels, as a real pulse's centroid is. A
footprint far inside one cell of the terrain grid is one ray (`footprint_return`).

The filter's model of the range over its map is `sensors.terrain_range.ray_range`; the
link budget adds the noise it expects for that range and incidence (`model_range`).
"""

import math

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import frames, terrain, vector
from dynamics.units import (
    NonNegativeAngle,
    NonNegativeLength,
    Number,
    PositiveLength,
    PositivePower,
    RayStep,
    Strict,
)
from sensors import bus, terrain_range

FOOTPRINT_RAYS = 4
# a footprint narrower than this fraction of the terrain grid's cell is one ray's return
FOOTPRINT_CELL_FRACTION = 0.5
SAME_RANGE_M = 0.01  # and whose rays' obliquity lengthens them by less than this
# where the footprint's other rays start marching: this fraction of the first one's range
# (rays milliradians apart cannot meet terrain much nearer than their neighbour)
NEAR_START = 0.9


class Link(Strict):
    """A laser ranging channel's link budget, footprint and range noise."""

    laser_power: PositivePower  # peak
    receiver_aperture: PositiveLength  # diameter
    optics_transmission: Number = Field(gt=0.0, le=1.0)  # transmitter and receiver together
    sensitivity: PositivePower  # smallest detectable peak return
    beam_divergence: NonNegativeAngle = 1e-3  # full angle at 1/e^2 intensity
    noise: NonNegativeLength  # 1 sigma floor
    noise_at_threshold: NonNegativeLength  # 1 sigma of the weakest detectable return
    ray_step: RayStep = 5.0  # smallest ray-marching step (finest terrain feature)


LINK_FIELDS = [
    ("laser_power_w", np.float64),
    ("receiver_aperture_m", np.float64),
    ("optics_transmission", np.float64),
    ("sensitivity_w", np.float64),
    ("beam_divergence_rad", np.float64),
    ("noise_m", np.float64),
    ("noise_at_threshold_m", np.float64),
    ("ray_step_m", np.float64),
]

LINK_DISPERSIBLE = {
    "laser_power": ("W", "laser_power_w"),
    "optics_transmission": ("", "optics_transmission"),
    "sensitivity": ("W", "sensitivity_w"),
    "noise": ("m", "noise_m"),
    "noise_at_threshold": ("m", "noise_at_threshold_m"),
}


def pack_link(spec, record):
    """Set a record's LINK_FIELDS from a spec with the `Link` fields."""
    record["laser_power_w"] = spec.laser_power
    record["receiver_aperture_m"] = spec.receiver_aperture
    record["optics_transmission"] = spec.optics_transmission
    record["sensitivity_w"] = spec.sensitivity
    record["beam_divergence_rad"] = spec.beam_divergence
    record["noise_m"] = spec.noise
    record["noise_at_threshold_m"] = spec.noise_at_threshold
    record["ray_step_m"] = spec.ray_step


@njit(cache=True)
def link_area_m2(spec):
    """P_t T A_r / (pi P_min) [m^2]: times albedo and cos(incidence), the square of the
    longest range; divided by R^2, the received power over the threshold."""
    area = 0.25 * math.pi * spec.receiver_aperture_m**2
    return spec.laser_power_w * spec.optics_transmission * area / (math.pi * spec.sensitivity_w)


@njit(cache=True)
def max_range_m(spec, albedo):
    """Longest range [m] with a detectable return from a surface of that albedo, met at normal
    incidence (the reach of a ray cast: any other incidence returns less)."""
    return math.sqrt(link_area_m2(spec) * albedo)


@njit(cache=True)
def signal_over_threshold(spec, albedo, cos_incidence, range_m):
    """Received power over the receiver's sensitivity of a return from range_m [m] off a
    surface of that albedo and incidence."""
    return link_area_m2(spec) * albedo * cos_incidence / (range_m * range_m)


@njit(cache=True)
def range_sigma_m(spec, signal_over_threshold):
    """1-sigma range noise [m] of a return with received power that many times the threshold."""
    jitter = spec.noise_at_threshold_m / signal_over_threshold
    return math.sqrt(spec.noise_m**2 + jitter * jitter)


@njit(cache=True)
def _ray_return(spec, t, origin, d, start, reach, reflectance):
    """(range [m], received power over the threshold) along one ray from `start` metres out,
    or (-1, 0) when it meets no ground within reach."""
    begin = vector.add(origin, vector.scale(d, start))
    if start > 0.0 and terrain.altitude(t.site, t.tiles, t.heights, begin) <= 0.0:
        begin, start = origin, 0.0
    rho = terrain.ray_cast(t.site, t.tiles, t.heights, begin, d, reach - start, spec.ray_step_m)
    if rho < 0.0 or rho + start <= 0.0:  # no return, or the sensor at the ground
        return -1.0, 0.0
    rho += start
    hit = vector.add(origin, vector.scale(d, rho))
    cos_incidence = max(
        -vector.dot(terrain.surface_normal(t.site, t.tiles, t.heights, hit), d), 0.0
    )
    return rho, signal_over_threshold(spec, reflectance, cos_incidence, rho)


@njit(cache=True)
def footprint_return(spec, pose, terrain_truth, position_body, beam_body, performance):
    """(range [m], received power over the threshold) of a beam's return from the true terrain,
    or (-1, 0) when nothing detectable comes back. The central ray first: when the footprint
    (range x divergence) spans under half a cell of the terrain grid it lands on, the ground
    under it is one bilinear patch, over which the four rays' centroid differs from the central
    ray's range only in second order (the bilinear term cancels on rays in symmetric pairs;
    what is left is the rays' own obliquity, range x offset^2 / 2: 0.6 mm at 10 km for a
    1-mrad beam), and when that is under SAME_RANGE_M the central ray is the return. When the
    central ray meets nothing within reach, its neighbours (a fraction of the divergence
    away) are taken to meet nothing either."""
    t = terrain_truth
    origin = bus.sensor_position_mcmf(pose, position_body)
    reflectance = t.site.albedo * performance  # both scale the received power
    reach = max_range_m(spec, reflectance)
    centre = bus.body_to_mcmf(pose, beam_body)
    rho, ratio = _ray_return(spec, t, origin, centre, 0.0, reach, reflectance)
    if rho < 0.0:  # nothing within reach along the boresight: nor along its neighbours
        return -1.0, 0.0
    off = math.tan(0.5 * spec.beam_divergence_rad / math.sqrt(2.0))
    if 0.5 * rho * off * off < SAME_RANGE_M:
        x, y, _ = frames.track_coordinates(t.site, vector.add(origin, vector.scale(centre, rho)))
        k = terrain.finest_tile(t.tiles, x, y)
        cell = t.tiles[k].spacing_m if k >= 0 else math.inf
        if rho * spec.beam_divergence_rad < FOOTPRINT_CELL_FRACTION * cell:
            return (rho, ratio) if ratio >= 1.0 else (-1.0, 0.0)
    p1, p2 = vector.perpendiculars(beam_body)
    power = weighted = 0.0
    start = NEAR_START * rho
    for k in range(FOOTPRINT_RAYS):
        side = p1 if k < 2 else p2
        sign = 1.0 if k % 2 == 0 else -1.0
        d = bus.body_to_mcmf(
            pose, vector.unit(vector.add(beam_body, vector.scale(side, sign * off)))
        )
        rho, ratio = _ray_return(spec, t, origin, d, start, reach, reflectance)
        if rho > 0.0:
            start = NEAR_START * rho
            power += ratio / FOOTPRINT_RAYS
            weighted += ratio / FOOTPRINT_RAYS * rho
    if power < 1.0:
        return -1.0, 0.0
    return weighted / power, power


@njit(cache=True)
def model_range(spec, pose, onboard_map, beam, measurement, element, out, row):
    """The filter's model of a laser range (value `element` of the measurement, along the
    beam: its position and direction, body axes) in row `row` of a model record:
    `terrain_range.ray_range` over the map, plus the noise the link budget leads it to expect
    at that range and incidence (nominal performance, the map's albedo), or the sensor's own
    report from the return's strength where that is larger (the ground darker or steeper than
    the map's plane: the noise is the signal's). False, the row left alone, when there is no
    value or the map gives no usable geometry."""
    y = measurement.y[element]
    if not math.isfinite(y):
        return False
    m = onboard_map
    reach = max_range_m(spec, m.site.albedo)
    usable, rho, cos_incidence, _ = terrain_range.ray_range(
        pose, m, beam, (reach, spec.ray_step_m), (y, measurement.period_s), out, row
    )
    if usable:
        signal = signal_over_threshold(spec, m.site.albedo, cos_incidence, rho)
        sigma = range_sigma_m(spec, max(signal, 1.0))
        reported = measurement.sigma[element]  # from the return's strength, where it is weaker
        if math.isfinite(reported) and reported > sigma:
            sigma = reported
        out.noise_cov[row, row] += sigma * sigma
    return usable
