"""Image-based terrain-relative navigation (sensor kind 'image_navigation'): a camera image
matched against the onboard map gives the camera's horizontal position in the map, as track
coordinates (downrange, crossrange) [m], seconds after the image was taken.

A statistical model of the matching pipeline (what tests/sensors/test_image_navigation.py and
the issue's public figures pin down):
- error: per axis sqrt(noise^2 + (match_error GSD)^2), the ground sample distance
  GSD = slant range x IFOV / cos(off-nadir) (IFOV = field of view / pixels): a registration
  good to a fraction of a pixel, and a floor from the map itself. Mars 2020's map-relative
  localisation achieved ~5 m from 4 km with 6-12 m maps; SLIM's <= 10 m at 50 m is the floor;
- a fix exists only when the image can match: the camera between min_altitude and
  max_altitude above the terrain, its boresight within max_off_nadir of the vertical and on
  the ground, the Sun at least min_sun_elevation above the horizon there (the site's Sun,
  `dynamics.sun`), the body rate smearing less than max_blur pixels over the exposure, and
  enough texture: at least min_craters craters expected in the image's footprint (a square
  of side 2 rho tan(FOV/2) at the slant range rho, stretched by 1 / cos(off-nadir)) that the
  match can use, those of the onboard map (smallest_mapped_crater and up: a few of its
  cells) that span CRATER_PIXELS pixels or more, from the crater populations of the terrain
  tiles under the boresight (`dynamics.craters.craters_in_view`); a featureless plain, or
  ground off every tile, gives no fix;
- a false match (with false_match_probability per fix) is off by false_match_error per axis
  (1 sigma), with the covariance of a good one: the pipeline does not know; the gate must
  reject it;
- latency: the channel's `latency` (the image's processing); the fix carries the image's time
  and the flight software updates back to it (`gnc.navigation.updates`).
The map is the frame of the landing target, so a tie error of the map to the Moon's frame
moves the target with it and is not modelled. Attitude from the same match is not produced.

The filter's model: the track coordinates of the camera at the estimated pose of the image
time, d y / d r = the coordinates' gradient, d y / d theta = arm x (gradient in body axes)
for the camera's lever arm from the centre of mass, noise the reported covariance.
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import craters, frames, quaternion, terrain, vector
from dynamics.units import (
    Count,
    Direction,
    NonNegativeAngle,
    NonNegativeLength,
    Number,
    PositiveLength,
    PositiveTime,
    quantity,
)
from sensors import bus, random_stream
from sensors.channel_spec import ChannelSpec

NAME = "image_navigation"
DIMENSION = 2
UNIT = "m"

FieldOfView = quantity("rad", "40 deg", positive=True, high=math.radians(170.0))
ElevationAngle = quantity("rad", "5 deg", low=-math.pi / 2, high=math.pi / 2)


class Spec(ChannelSpec):
    kind: Literal["image_navigation"]
    boresight: Direction  # body axes
    field_of_view: FieldOfView  # full angle across the image
    pixels: Count = Field(ge=16)  # across the image
    exposure: PositiveTime
    match_error: Number = Field(gt=0.0)  # registration error, pixels (1 sigma per axis)
    noise: NonNegativeLength  # floor of the fix's error, 1 sigma per axis
    min_altitude: NonNegativeLength
    max_altitude: PositiveLength
    max_off_nadir: NonNegativeAngle = math.radians(60.0)
    min_sun_elevation: ElevationAngle = math.radians(2.0)
    max_blur: Number = Field(default=1.0, gt=0.0)  # pixels of smear over the exposure
    min_craters: Number = Field(default=2.0, ge=0.0)  # expected usable craters in view
    smallest_mapped_crater: PositiveLength = 100.0  # the onboard map's: ~4 cells of 25 m
    false_match_probability: Number = Field(default=0.0, ge=0.0, lt=1.0)
    false_match_error: NonNegativeLength = 100.0  # 1 sigma per axis


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("boresight_body", np.float64, (3,)),
        ("ifov_rad", np.float64),  # field of view / pixels
        ("tan_half_fov", np.float64),
        ("exposure_s", np.float64),
        ("match_error_px", np.float64),
        ("noise_m", np.float64),
        ("min_altitude_m", np.float64),
        ("max_altitude_m", np.float64),
        ("min_cos_off_nadir", np.float64),
        ("min_sin_sun_elevation", np.float64),
        ("max_blur_px", np.float64),
        ("min_craters", np.float64),
        ("smallest_mapped_crater_m", np.float64),
        ("false_match_probability", np.float64),
        ("false_match_error_m", np.float64),
    ],
    align=True,
)

DISPERSIBLE = {
    "noise": ("m", "noise_m"),
    "match_error": ("", "match_error_px"),
    "false_match_probability": ("", "false_match_probability"),
    "false_match_error": ("m", "false_match_error_m"),
}

RAY_STEP_M = 5.0  # ray-marching step floor toward the boresight's ground point
CRATER_PIXELS = 4.0  # across, for a crater to count as texture in the image


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["boresight_body"] = spec.boresight
    record["ifov_rad"] = spec.field_of_view / spec.pixels
    record["tan_half_fov"] = math.tan(spec.field_of_view / 2)
    record["exposure_s"] = spec.exposure
    record["match_error_px"] = spec.match_error
    record["noise_m"] = spec.noise
    record["min_altitude_m"] = spec.min_altitude
    record["max_altitude_m"] = spec.max_altitude
    record["min_cos_off_nadir"] = math.cos(spec.max_off_nadir)
    record["min_sin_sun_elevation"] = math.sin(spec.min_sun_elevation)
    record["max_blur_px"] = spec.max_blur
    record["min_craters"] = spec.min_craters
    record["smallest_mapped_crater_m"] = spec.smallest_mapped_crater
    record["false_match_probability"] = spec.false_match_probability
    record["false_match_error_m"] = spec.false_match_error
    return record


@njit(cache=True)
def fix_sigma_m(spec, slant_range_m, cos_off_nadir):
    """1-sigma error per axis [m] of a good match from a slant range along a boresight at an
    angle off the vertical."""
    gsd = slant_range_m * spec.ifov_rad / cos_off_nadir
    return math.hypot(spec.noise_m, spec.match_error_px * gsd)


@njit(cache=True)
def usable_craters(spec, tiles, downrange_m, crossrange_m, slant_range_m, cos_off_nadir):
    """Expected craters the match can use in the footprint of an image looking at the ground
    point (downrange, crossrange) from a slant range, off the vertical (see the module)."""
    area = (2.0 * slant_range_m * spec.tan_half_fov) ** 2 / cos_off_nadir
    smallest = max(spec.smallest_mapped_crater_m, CRATER_PIXELS * slant_range_m * spec.ifov_rad)
    return craters.craters_in_view(tiles, downrange_m, crossrange_m, area, smallest)


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    out.m = 2
    out.valid = False
    out.y[0] = out.y[1] = np.nan
    position = vector.load(spec.position_body_m, 0)
    origin = bus.sensor_position_mcmf(pose, position)
    height = terrain.altitude(t.site, t.tiles, t.heights, origin)
    if not spec.min_altitude_m <= height <= spec.max_altitude_m:
        return
    b = bus.body_to_mcmf(pose, vector.load(spec.boresight_body, 0))
    cos_off = -vector.dot(b, vector.unit(origin))
    if cos_off < spec.min_cos_off_nadir or cos_off <= 0.0:
        return
    blur = vector.norm(vector.load(pose.w_body_radps, 0)) * spec.exposure_s / spec.ifov_rad
    if blur > spec.max_blur_px:
        return
    reach = 2.0 * (height + t.site.highest_terrain_m) / cos_off
    rho = terrain.ray_cast(t.site, t.tiles, t.heights, origin, b, reach, RAY_STEP_M)
    if rho <= 0.0:
        return
    ground = vector.add(origin, vector.scale(b, rho))
    if vector.dot(vector.load(t.site.sun_mcmf, 0), vector.unit(ground)) < (
        spec.min_sin_sun_elevation
    ):
        return
    x_g, y_g, _ = frames.track_coordinates(t.site, ground)
    if usable_craters(spec, t.tiles, x_g, y_g, rho, cos_off) < spec.min_craters:
        return
    sigma = fix_sigma_m(spec, rho, cos_off)
    spread = sigma
    if random_stream.uniform(state.stream) < spec.false_match_probability:
        spread = spec.false_match_error_m
    x, y, _ = frames.track_coordinates(t.site, origin)
    out.valid = True
    bus.put_value(out, 0, x, sigma, spread, state.stream)
    bus.put_value(out, 1, y, sigma, spread, state.stream)


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    position = vector.load(spec.position_body_m, 0)
    camera = bus.sensor_position_mcmf(pose, position)
    x, y, _ = frames.track_coordinates(onboard_map.site, camera)
    gradients = frames.track_coordinates_gradient(onboard_map.site, camera)
    q = pose.q_body_to_mcmf
    arm = vector.sub(position, vector.load(pose.com_body_m, 0))
    out.m = 2
    out.usable = True
    for row, (predicted, g) in enumerate(((x, gradients[0]), (y, gradients[1]))):
        g_body = quaternion.rotate_inverse((q[0], q[1], q[2], q[3]), g)
        j_r = bus.gradient_to_mci(pose, g)
        j_theta = vector.cross(arm, g_body)
        out.innovation[row] = measurement.y[row] - predicted
        for j in range(3):
            out.j_position[row, j] = j_r[j]
            out.j_velocity[row, j] = 0.0
            out.j_attitude[row, j] = j_theta[j]
        out.noise_cov[row, 0] = out.noise_cov[row, 1] = 0.0
        out.noise_cov[row, row] = measurement.sigma[row] ** 2
