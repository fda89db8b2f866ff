"""Hazard-detection lidar (sensor kind 'hazard_lidar'): a flash lidar's range image of the
ground, and its onboard processing into a safety map and the site it recommends, as ALHAT's
hazard detection system and Chang'e-3/4's laser 3-D imager did (the lander images the ground
below it in a hover near 100 m and moves to the safest spot near its aim).

The image: `pixels` x `pixels` returns over a square field of view about the boresight, each
a laser range with the link budget of `sensors.lidar_return` (no return below the receiver's
sensitivity or off the ground: a dropout; its noise from the signal). The processing, part of
the kind as image navigation's matching is:
- each return becomes a point relative to the sensor in its local level axes (downrange,
  crossrange, up: the attitude the lander's own star tracker gives it to arcseconds, so the
  true attitude here); the points fill a local elevation map of `cell`-wide cells, each the
  highest point in it (a rock's top, not its flank);
- at candidate sites every `site_spacing` over the map, a plane fitted by least squares to
  the cells within the lander's footprint (`footprint_diameter`): its tilt is the site's
  slope; the highest cell above the plane its roughness (what a leg or the body meets), the
  lowest below it counted too (a hole a pad drops into). A site with under MIN_KNOWN of its
  footprint's cells seen is not judged: unknown is not safe;
- the safety margin of a site: the smaller of 1 - (slope + 3 sigma_slope) / max_slope and
  1 - (roughness + 3 sigma_h) / leg_clearance, with sigma_h the largest range noise of the
  image's returns and sigma_slope = sigma_h / sqrt(sum of the cells' squared distances from
  their centroid) (the least-squares slope's 1 sigma, per axis); safe above 0;
- the recommended site: the safe one of highest margin less its distance from the aim point
  (the boresight's ground point, the image's centre) over `distance_scale` (a site that far
  farther must be one whole margin safer), as ALHAT's HDS ranked them.

Its values, when the image was taken (within `min_range` to `max_range` along the boresight):
0-1 the recommended site from the point beneath the lander's centre of mass (downrange,
crossrange [m], local level axes: the flight software adds its estimate of that point; NaN
when no site is safe), 2 its margin (the best margin seen when none is safe), 3 its slope
[rad], 4 its roughness [m], 5 the fraction of judged sites that are safe, 6 the fraction of
pixels with a return. The filter does not use them (`predict`: not usable); a flight
software's hazard avoidance does (`gnc.fdir.hazard_avoidance`).
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from dynamics import frames, terrain, vector
from dynamics.units import (
    Count,
    Direction,
    PositiveLength,
    quantity,
)
from sensors import bus, lidar_return, random_stream
from sensors.channel_spec import ChannelSpec

NAME = "hazard_lidar"
DIMENSION = 7
RECOMMENDS_SITES = True  # its values are a site and its safety (`gnc.fdir.hazard_avoidance`)
VALUES = (
    "site_downrange",
    "site_crossrange",
    "margin",
    "slope",
    "roughness",
    "safe_fraction",
    "return_fraction",
)
UNITS = ("m", "m", "", "rad", "m", "", "")

FieldOfView = quantity("rad", "30 deg", positive=True, high=math.radians(120.0))
SlopeLimit = quantity("rad", "10 deg", positive=True, high=math.radians(45.0))
MIN_KNOWN = 0.8  # of a site's footprint cells seen, to judge it
SIGMAS = 3.0  # the margin keeps this many sigma of the slope and height noise


class Spec(ChannelSpec, lidar_return.Link):
    kind: Literal["hazard_lidar"]
    boresight: Direction  # body axes
    field_of_view: FieldOfView  # full angle across the square image
    pixels: Count = Field(ge=16, le=512)  # across the image
    min_range: PositiveLength  # along the boresight, where it images
    max_range: PositiveLength
    cell: PositiveLength  # of the elevation map
    footprint_diameter: PositiveLength  # the lander's: its pads' circle and pads
    max_slope: SlopeLimit  # of a safe site (the touchdown limit's, less what it tilts after)
    leg_clearance: PositiveLength  # roughness a safe site stays under
    site_spacing: PositiveLength = 0.5  # between candidate sites
    distance_scale: PositiveLength = 20.0  # distance from the aim worth one whole margin

    @model_validator(mode="after")
    def _footprint_in_view(self):
        width = 2.0 * self.min_range * math.tan(0.5 * self.field_of_view)
        if self.footprint_diameter >= width:
            raise ValueError(
                f"footprint_diameter ({self.footprint_diameter:g} m) must be smaller than the "
                f"field of view's width at min_range ({width:.3g} m): no site would fit in an "
                "image"
            )
        pixel = self.max_range * self.field_of_view / self.pixels
        if self.cell < pixel:
            raise ValueError(
                f"cell ({self.cell:g} m) must be at least a pixel's width on the ground at "
                f"max_range ({pixel:.3g} m): cells would go unseen"
            )
        if self.max_range <= self.min_range:
            raise ValueError("max_range must be larger than min_range")
        return self


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("boresight_body", np.float64, (3,)),
        ("tan_half_fov", np.float64),
        ("pixels", np.int64),
        ("min_range_m", np.float64),
        ("max_range_m", np.float64),
        ("cell_m", np.float64),
        ("footprint_radius_m", np.float64),
        ("max_slope_rad", np.float64),
        ("leg_clearance_m", np.float64),
        ("site_spacing_m", np.float64),
        ("distance_scale_m", np.float64),
        *lidar_return.LINK_FIELDS,
    ],
    align=True,
)

DISPERSIBLE = lidar_return.LINK_DISPERSIBLE


def UNIT(spec, element):
    """SI unit of a value (`UNITS`; None for all of them: they differ)."""
    return None if element is None else UNITS[element]


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["boresight_body"] = spec.boresight
    record["tan_half_fov"] = math.tan(0.5 * spec.field_of_view)
    record["pixels"] = spec.pixels
    record["min_range_m"] = spec.min_range
    record["max_range_m"] = spec.max_range
    record["cell_m"] = spec.cell
    record["footprint_radius_m"] = 0.5 * spec.footprint_diameter
    record["max_slope_rad"] = spec.max_slope
    record["leg_clearance_m"] = spec.leg_clearance
    record["site_spacing_m"] = spec.site_spacing
    record["distance_scale_m"] = spec.distance_scale
    lidar_return.pack_link(spec, record)
    return record


@njit(cache=True)
def range_image(spec, pose, terrain_truth, state):
    """(points, largest range noise [m]) of one image: each pixel's return as a point from the
    sensor in its local level axes (downrange, crossrange, up [m]; NaN for a dropout), its
    measured range with the noise its signal leaves."""
    position = vector.load(spec.position_body_m, 0)
    boresight = vector.load(spec.boresight_body, 0)
    p1, p2 = vector.perpendiculars(boresight)
    origin = bus.sensor_position_mcmf(pose, position)
    down, left, up = frames.local_track_axes(terrain_truth.site, origin)
    n = spec.pixels
    step = 2.0 * spec.tan_half_fov / n
    points = np.full((n * n, 3), np.nan)
    sigma_max = 0.0
    for i in range(n):
        for j in range(n):
            a, b = (i + 0.5) * step - spec.tan_half_fov, (j + 0.5) * step - spec.tan_half_fov
            off = vector.add(vector.scale(p1, a), vector.scale(p2, b))
            d_body = vector.unit(vector.add(boresight, off))
            rho, signal = lidar_return.footprint_return(
                spec, pose, terrain_truth, position, d_body, state.performance
            )
            if rho < 0.0:
                continue
            sigma = lidar_return.range_sigma_m(spec, signal)
            sigma_max = max(sigma_max, sigma)
            measured = rho + sigma * random_stream.standard_normal(state.stream)
            d = vector.scale(bus.body_to_mcmf(pose, d_body), measured)
            k = i * n + j
            points[k, 0] = vector.dot(d, down)
            points[k, 1] = vector.dot(d, left)
            points[k, 2] = vector.dot(d, up)
    return points, sigma_max


@njit(cache=True)
def elevation_map(points, cell_m):
    """(heights, downrange and crossrange of cell (0, 0)'s centre [m]): a grid of cell_m cells
    over the points' extent, each the highest point in it (NaN: no point)."""
    x_lo = y_lo = math.inf
    x_hi = y_hi = -math.inf
    for k in range(points.shape[0]):
        if math.isnan(points[k, 0]):
            continue
        x_lo, x_hi = min(x_lo, points[k, 0]), max(x_hi, points[k, 0])
        y_lo, y_hi = min(y_lo, points[k, 1]), max(y_hi, points[k, 1])
    if x_lo > x_hi:
        return np.full((0, 0), np.nan), 0.0, 0.0
    nx = int((x_hi - x_lo) / cell_m) + 1
    ny = int((y_hi - y_lo) / cell_m) + 1
    grid = np.full((nx, ny), np.nan)
    for k in range(points.shape[0]):
        if math.isnan(points[k, 0]):
            continue
        i = min(int((points[k, 0] - x_lo) / cell_m), nx - 1)
        j = min(int((points[k, 1] - y_lo) / cell_m), ny - 1)
        z = points[k, 2]
        if math.isnan(grid[i, j]) or z > grid[i, j]:
            grid[i, j] = z
    return grid, x_lo + 0.5 * cell_m, y_lo + 0.5 * cell_m


@njit(cache=True)
def site_plane(grid, cell_m, centre, radius_m):
    """(cells seen, tilt [rad], roughness [m], spread [m^2]) of the plane fitted by least
    squares to the grid's cells within radius_m of a cell-index centre (ci, cj), a float pair
    (`dynamics.terrain.plane_fit`: roughness the largest distance of a cell from the plane,
    above it or below; spread what bounds the slope's noise). Cells seen: the fraction of the
    footprint's cells that hold a point; under three, all zero."""
    ci, cj = centre
    reach = int(radius_m / cell_m) + 1
    i0, j0 = round(ci), round(cj)
    points = np.empty(((2 * reach + 1) ** 2, 3))
    n = seen = 0
    for i in range(max(i0 - reach, 0), min(i0 + reach + 1, grid.shape[0])):
        for j in range(max(j0 - reach, 0), min(j0 + reach + 1, grid.shape[1])):
            x, y = (i - ci) * cell_m, (j - cj) * cell_m
            if x * x + y * y > radius_m * radius_m:
                continue
            n += 1
            if not math.isnan(grid[i, j]):
                points[seen, 0], points[seen, 1], points[seen, 2] = x, y, grid[i, j]
                seen += 1
    if seen < 3:
        return 0.0, 0.0, 0.0, 0.0
    tilt, rough, spread = terrain.plane_fit(points[:seen])
    return seen / n, tilt, rough, spread


@njit(cache=True)
def margin(spec, tilt_rad, rough_m, spread_m2, sigma_h_m):
    """Safety margin of a site (the module's): positive is safe."""
    sigma_slope = sigma_h_m / math.sqrt(max(spread_m2, 1e-12))
    by_slope = 1.0 - (tilt_rad + SIGMAS * sigma_slope) / spec.max_slope_rad
    by_roughness = 1.0 - (rough_m + SIGMAS * sigma_h_m) / spec.leg_clearance_m
    return min(by_slope, by_roughness)


@njit(cache=True)
def judge_sites(spec, grid, origin_xy, sigma_h_m):
    """The safety map of an elevation map whose cell (0, 0) is at origin_xy: the candidate
    sites every site_spacing with MIN_KNOWN of their footprint seen, as rows of (downrange,
    crossrange [m], margin, slope [rad], roughness [m])."""
    cell = spec.cell_m
    radius = spec.footprint_radius_m
    step = spec.site_spacing_m / cell
    edge = radius / cell
    rows = max(int((grid.shape[0] - 1 - 2 * edge) / step) + 1, 0)
    cols = max(int((grid.shape[1] - 1 - 2 * edge) / step) + 1, 0)
    sites = np.empty((rows * cols, 5))
    n = 0
    for a in range(rows):
        ci = edge + a * step
        for b in range(cols):
            cj = edge + b * step
            seen, tilt, rough, spread = site_plane(grid, cell, (ci, cj), radius)
            if seen >= MIN_KNOWN:
                sites[n, 0] = origin_xy[0] + ci * cell
                sites[n, 1] = origin_xy[1] + cj * cell
                sites[n, 2] = margin(spec, tilt, rough, spread, sigma_h_m)
                sites[n, 3] = tilt
                sites[n, 4] = rough
                n += 1
    return sites[:n]


@njit(cache=True)
def recommend(spec, sites, aim_xy):
    """(site downrange, crossrange [m], margin, slope [rad], roughness [m], safe fraction) of
    the best safe site of a safety map (`judge_sites`), scored by margin less its distance
    from aim_xy over the distance scale; NaN position when none is safe (the best margin
    judged then, -inf if no site could be judged)."""
    best = -1
    best_score = -np.inf
    safe = 0
    least = -np.inf
    for k in range(sites.shape[0]):
        m = sites[k, 2]
        if m <= 0.0:
            least = max(least, m)
            continue
        safe += 1
        score = m - math.hypot(sites[k, 0] - aim_xy[0], sites[k, 1] - aim_xy[1]) / (
            spec.distance_scale_m
        )
        if score > best_score:
            best_score, best = score, k
    fraction = safe / sites.shape[0] if sites.shape[0] else 0.0
    if best < 0:
        return np.nan, np.nan, least, np.nan, np.nan, fraction
    s = sites[best]
    return s[0], s[1], s[2], s[3], s[4], fraction


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    t = terrain_truth
    out.m = DIMENSION
    out.valid = False
    for i in range(DIMENSION):
        out.y[i] = np.nan
        out.sigma[i] = np.nan
        out.noise[i] = 0.0
    position = vector.load(spec.position_body_m, 0)
    rho, _ = lidar_return.footprint_return(
        spec, pose, t, position, vector.load(spec.boresight_body, 0), state.performance
    )
    if not spec.min_range_m <= rho <= spec.max_range_m:
        return
    points, sigma_h = range_image(spec, pose, t, state)
    returns = 0
    for k in range(points.shape[0]):
        returns += not math.isnan(points[k, 0])
    grid, x0, y0 = elevation_map(points, spec.cell_m)
    # the aim (the boresight's ground point) and the sites, from the sensor ...
    origin = bus.sensor_position_mcmf(pose, position)
    down, left, _ = frames.local_track_axes(t.site, origin)
    b = vector.scale(bus.body_to_mcmf(pose, vector.load(spec.boresight_body, 0)), rho)
    sites = judge_sites(spec, grid, (x0, y0), sigma_h)
    site = recommend(spec, sites, (vector.dot(b, down), vector.dot(b, left)))
    # ... then from the point beneath the centre of mass
    arm = vector.sub(origin, vector.load(pose.r_mcmf_m, 0))
    out.valid = True
    out.y[0] = site[0] + vector.dot(arm, down)
    out.y[1] = site[1] + vector.dot(arm, left)
    for i in range(2, 6):
        out.y[i] = site[i]
    out.y[6] = returns / points.shape[0]
    out.sigma[0] = out.sigma[1] = 0.5 * spec.cell_m  # where in its cell the site is
    out.sigma[4] = sigma_h  # the heights' (the rest are judgements, not measurements)


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    out.m = DIMENSION
    out.usable = False  # a site, not a navigation measurement
