"""Digital elevation model over the ground track and the site: height, surface normal, ray casting.

The map is a stack of regular grids ("tiles") in track coordinates (see `dynamics.frames`),
heights in metres above the map radius. Coarse tiles cover the ground track, fine ones the
site; a lookup uses the finest tile containing the point (tiles are stored coarsest first),
and points outside every tile lie on the datum (height 0). Heights are bilinear between nodes.
A hazard field (boulders, fresh craters: `dynamics.hazards`) also keeps a pyramid of height
bounds (`height_bounds`), the highest terrain over its cells, over blocks of 2 x 2 of them,
4 x 4, ..., up to the whole field, by which a ray skips the space above the ground there
instead of marching through it in the short steps its steep flanks allow (`ray_cast`).
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dynamics import frames, vector

MAX_BOUND_LEVELS = 32  # a hazard field's pyramid of height bounds: up to 2^31 cells across

TILE_DTYPE = np.dtype(
    [
        ("downrange_min_m", np.float64),
        ("crossrange_min_m", np.float64),
        ("spacing_m", np.float64),
        ("per_metre", np.float64),  # 1 / spacing: grid steps per metre
        ("n_downrange", np.int64),
        ("n_crossrange", np.int64),
        ("offset", np.int64),  # index of node (0, 0) in the flat heights array
        ("crater_density", np.float64),  # the tile's craters, times the equilibrium density
        ("crater_min_diameter_m", np.float64),  # the population the tile adds: diameters from
        ("crater_max_diameter_m", np.float64),  # min to max (both 0: no craters of its own)
        # a hazard field (`dynamics.hazards`): boulders and fresh craters finer than a footpad
        # span, where the lander's pads, not the slope beneath its centre, set how it rests
        ("hazard_field", np.bool_),
        # a hazard field's height bounds' levels (`height_bounds`; 0 on other tiles): level
        # l holds, for blocks of 2^l x 2^l cells (row by row), the highest terrain over each,
        # from the heights array's element bound_offsets[l] (after every tile's heights)
        ("bound_levels", np.int64),
        ("bound_offsets", np.int64, (MAX_BOUND_LEVELS,)),
    ],
    align=True,
)


# Extents (1 sigma) of the Gaussian regions for which an onboard map knows how much of its
# relief no plane over them explains and their samples do not show
# (`OnboardMap.unseen_relief_m2`): 1 m to 4 km.
REGION_SIGMAS_M = 2.0 ** (np.arange(25) / 2)


class TruthTerrain(NamedTuple):
    """The true surface: what sensors see and the lander touches (site datum, tiles, heights)."""

    site: np.void
    tiles: np.ndarray
    heights: np.ndarray


class OnboardMap(NamedTuple):
    """The flight software's terrain model: its site datum, its map tiles and their heights;
    the error it assumes for those heights, 1 sigma [m] and the distance over which it stays
    correlated [m]; and statistics of the relief it holds: for a region of each extent of
    REGION_SIGMAS_M the variance no plane over it explains and its samples do not show [m^2]
    (`plane_over_region` measures the rest where it is), and its correlation length
    along a track [m] (`dynamics.craters.relief_statistics`). A distinct type from
    `TruthTerrain`: compiled code that reads `height_error_m` cannot be handed the truth."""

    site: np.void
    tiles: np.ndarray
    heights: np.ndarray
    height_error_m: float
    error_correlation_m: float
    unseen_relief_m2: np.ndarray
    relief_correlation_m: float


def steepest_slope(grids):
    """Bound on the gradient of the bilinear surface of the grids: within a cell each slope
    component lies between those of the cell's edges."""
    steepest = 0.0
    for grid in grids:
        spacing, h = grid[2], grid[3]
        sx = np.abs(np.diff(h, axis=0)).max(initial=0.0) / spacing
        sy = np.abs(np.diff(h, axis=1)).max(initial=0.0) / spacing
        steepest = max(steepest, math.hypot(sx, sy))
    return steepest


def make_tiles(grids):
    """(tiles, heights) from a coarsest-first list of (downrange_min, crossrange_min, spacing,
    heights[n_downrange, n_crossrange][, (crater density, smallest and largest diameter [m])
    [, hazard field]]) grids (no crater population, not a hazard field, if not given). The
    heights array holds every tile's heights, then a hazard field's height bounds."""
    tiles = np.zeros(len(grids), TILE_DTYPE)
    parts, offset = [], 0
    for k, (x0, y0, spacing, h, *more) in enumerate(grids):
        density, d_min, d_max = more[0] if more else (0.0, 0.0, 0.0)
        tiles[k]["downrange_min_m"], tiles[k]["crossrange_min_m"] = x0, y0
        tiles[k]["spacing_m"], tiles[k]["per_metre"] = spacing, 1 / spacing
        tiles[k]["n_downrange"], tiles[k]["n_crossrange"] = h.shape
        tiles[k]["offset"] = offset
        tiles[k]["crater_density"] = density
        tiles[k]["crater_min_diameter_m"], tiles[k]["crater_max_diameter_m"] = d_min, d_max
        tiles[k]["hazard_field"] = len(more) > 1 and more[1]
        parts.append(h.ravel())
        offset += h.size
    for k, grid in enumerate(grids):
        if tiles[k]["hazard_field"]:
            if k != len(grids) - 1:
                raise ValueError("a hazard field must be the finest tile, listed last")
            levels = height_bounds(grid[3])
            tiles[k]["bound_levels"] = len(levels)
            for level, bounds in enumerate(levels):
                tiles[k]["bound_offsets"][level] = offset
                parts.append(bounds.ravel())
                offset += bounds.size
    return tiles, np.concatenate(parts) if parts else np.zeros(0)


def height_bounds(h):
    """The pyramid of height bounds of a grid's heights h (the finest tile: nothing overlies
    it): level 0 the highest terrain over each cell (its bilinear surface's highest point is
    a node), level l + 1 over blocks of 2 x 2 of level l's (the last block of an odd row or
    column alone), up to one block."""
    levels = [np.maximum(np.maximum(h[:-1, :-1], h[1:, :-1]), np.maximum(h[:-1, 1:], h[1:, 1:]))]
    while levels[-1].shape != (1, 1):
        m = levels[-1]
        padded = np.full((m.shape[0] + m.shape[0] % 2, m.shape[1] + m.shape[1] % 2), -np.inf)
        padded[: m.shape[0], : m.shape[1]] = m
        levels.append(
            np.maximum(
                np.maximum(padded[0::2, 0::2], padded[1::2, 0::2]),
                np.maximum(padded[0::2, 1::2], padded[1::2, 1::2]),
            )
        )
    return levels


def tile_grids(tiles, heights):
    """The (downrange_min, crossrange_min, spacing, heights) grids of tiles, as `make_tiles`
    took them (views of heights)."""
    return [
        (
            t["downrange_min_m"],
            t["crossrange_min_m"],
            t["spacing_m"],
            heights[t["offset"] : t["offset"] + t["n_downrange"] * t["n_crossrange"]].reshape(
                t["n_downrange"], t["n_crossrange"]
            ),
        )
        for t in tiles
    ]


@njit(cache=True)
def heights_on_grid(tiles, heights, downrange_m, crossrange_m):
    """Terrain heights [m] at the nodes of a grid (downrange_m x crossrange_m node
    coordinates)."""
    out = np.empty((downrange_m.shape[0], crossrange_m.shape[0]))
    for i in range(downrange_m.shape[0]):
        for j in range(crossrange_m.shape[0]):
            out[i, j] = height_and_gradient(tiles, heights, downrange_m[i], crossrange_m[j])[0]
    return out


@njit(cache=True, inline="always")
def _cell(tiles, downrange_m, crossrange_m):
    """(k, i, j, fu, fv): the finest tile holding a point (-1 off every tile), the cell the
    point lies in and its fractions across it."""
    for k in range(tiles.shape[0] - 1, -1, -1):
        t = tiles[k]
        u = (downrange_m - t.downrange_min_m) * t.per_metre
        v = (crossrange_m - t.crossrange_min_m) * t.per_metre
        if u < 0.0 or v < 0.0 or u > t.n_downrange - 1 or v > t.n_crossrange - 1:
            continue
        i = min(int(u), t.n_downrange - 2)
        j = min(int(v), t.n_crossrange - 2)
        return k, i, j, u - i, v - j
    return -1, 0, 0, 0.0, 0.0


@njit(cache=True, inline="always")
def _surface_in(tiles, heights, cell):
    """Height [m] and slopes of the bilinear surface at a point of a cell (`_cell`)."""
    k, i, j, fu, fv = cell
    if k < 0:
        return 0.0, 0.0, 0.0
    t = tiles[k]
    base = t.offset + i * t.n_crossrange + j
    h00 = heights[base]
    h01 = heights[base + 1]
    h10 = heights[base + t.n_crossrange]
    h11 = heights[base + t.n_crossrange + 1]
    h = (1 - fu) * ((1 - fv) * h00 + fv * h01) + fu * ((1 - fv) * h10 + fv * h11)
    dh_du = (1 - fv) * (h10 - h00) + fv * (h11 - h01)
    dh_dv = (1 - fu) * (h01 - h00) + fu * (h11 - h10)
    return h, dh_du * t.per_metre, dh_dv * t.per_metre


@njit(cache=True)
def finest_tile(tiles, downrange_m, crossrange_m):
    """Index of the finest tile holding a point (the one its height comes from), or -1 off
    every tile."""
    return _cell(tiles, downrange_m, crossrange_m)[0]


@njit(cache=True)
def height_and_gradient(tiles, heights, downrange_m, crossrange_m):
    """Terrain height [m] above the map radius, and its slopes dh/d(downrange), dh/d(crossrange)."""
    return _surface_in(tiles, heights, _cell(tiles, downrange_m, crossrange_m))


@njit(cache=True)
def highest(tiles, heights, downrange_m, crossrange_m, step_m):
    """Highest terrain height [m] sampled every step_m over the rectangle of track
    coordinates downrange_m x crossrange_m ((min, max) each)."""
    top = -math.inf
    x = downrange_m[0]
    while x <= downrange_m[1]:
        y = crossrange_m[0]
        while y <= crossrange_m[1]:
            top = max(top, height_and_gradient(tiles, heights, x, y)[0])
            y += step_m
        x += step_m
    return top


# Probabilists' Gauss-Hermite rule of five nodes: E[g(s)] for s ~ N(0, 1), exact for g a
# polynomial of degree up to 9 (numpy.polynomial.hermite_e.hermegauss(5), weights normalised).
GAUSS_HERMITE_NODES = (
    -2.856970013872806,
    -1.355626179974266,
    0.0,
    1.355626179974266,
    2.856970013872806,
)
GAUSS_HERMITE_WEIGHTS = (
    0.0112574113277207,
    0.2220759220056126,
    0.5333333333333333,
    0.2220759220056126,
    0.0112574113277207,
)
SMALLEST_REGION_M = 0.5  # floor on the 1-sigma extent of a region (well below any map spacing)


@njit(cache=True)
def plane_over_region(tiles, heights, downrange_m, crossrange_m, c_xx, c_xy, c_yy):
    """The terrain as a plane over a Gaussian region of a point's uncertain horizontal position
    (mean (downrange, crossrange), covariance [[c_xx, c_xy], [c_xy, c_yy]] in m^2): the
    regression of the height on the position weighted by that distribution (statistical
    linearisation, as in SITAN terrain-aided navigation: Hostetler & Andreas 1983, IEEE TAC
    28(3), 315-323). Where the region is small it is the local slope; where it covers many
    craters, their mean tilt. Returns (mean height [m], dh/d(downrange), dh/d(crossrange),
    the variance of the heights about the plane [m^2]), by a 5 x 5 Gauss-Hermite rule in the
    region's Cholesky coordinates (the mean gradient over the region, by Stein's lemma). That
    variance is this region's own (a large crater in it shows), but the 25 samples step over
    craters smaller than the region: the statistics' share is `unseen_relief`."""
    floor = SMALLEST_REGION_M * SMALLEST_REGION_M
    l11 = math.sqrt(c_xx + floor)
    l21 = c_xy / l11
    l22 = math.sqrt(max(c_yy + floor - l21 * l21, floor))
    mean = slope_s = slope_t = square = 0.0
    for i in range(5):
        s = GAUSS_HERMITE_NODES[i]
        for j in range(5):
            t = GAUSS_HERMITE_NODES[j]
            w = GAUSS_HERMITE_WEIGHTS[i] * GAUSS_HERMITE_WEIGHTS[j]
            h, _, _ = height_and_gradient(
                tiles, heights, downrange_m + l11 * s, crossrange_m + l21 * s + l22 * t
            )
            mean += w * h
            slope_s += w * h * s
            slope_t += w * h * t
            square += w * h * h
    # {1, s, t} are orthonormal under the rule: the regression coefficients are projections,
    # and what they leave is the rest of the mean square
    gradient_t = slope_t / l22
    gradient_s = (slope_s - l21 * gradient_t) / l11
    residual = max(square - mean * mean - slope_s * slope_s - slope_t * slope_t, 0.0)
    return mean, gradient_s, gradient_t, residual


@njit(cache=True)
def plane_fit(points):
    """The least-squares plane z = a + b x + c y through points (n x 3, n >= 3, not on one
    line): (tilt [rad], the points' largest vertical distance from it [m], the sum of their
    squared horizontal distances from their centroid along the axis where it is least [m^2],
    which bounds the slope's noise: sigma_z / sqrt of it), or (0, 0, 0) for points on a
    line."""
    n = points.shape[0]
    mx = my = mz = 0.0
    for k in range(n):
        mx += points[k, 0]
        my += points[k, 1]
        mz += points[k, 2]
    mx, my, mz = mx / n, my / n, mz / n
    cxx = cyy = cxy = cxz = cyz = 0.0
    for k in range(n):  # centred normal equations
        dx, dy, dz = points[k, 0] - mx, points[k, 1] - my, points[k, 2] - mz
        cxx += dx * dx
        cyy += dy * dy
        cxy += dx * dy
        cxz += dx * dz
        cyz += dy * dz
    det = cxx * cyy - cxy * cxy
    if det <= 0.0:
        return 0.0, 0.0, 0.0
    b = (cxz * cyy - cyz * cxy) / det
    c = (cyz * cxx - cxz * cxy) / det
    largest = 0.0
    for k in range(n):
        dz = points[k, 2] - mz - b * (points[k, 0] - mx) - c * (points[k, 1] - my)
        largest = max(largest, abs(dz))
    spread = 0.5 * (cxx + cyy) - math.sqrt(0.25 * (cxx - cyy) ** 2 + cxy * cxy)
    return math.atan(math.hypot(b, c)), largest, spread


@njit(cache=True)
def unseen_relief(onboard_map, sigma_m):
    """Variance [m^2] of the map's relief that a plane over a region of extent sigma_m leaves
    and the region's 25 samples do not show, as its statistics expect (interpolated in log
    extent, held beyond the table's ends)."""
    table = onboard_map.unseen_relief_m2
    u = math.log2(max(sigma_m, REGION_SIGMAS_M[0])) * 2.0  # REGION_SIGMAS_M[k] = 2^(k / 2)
    k = min(int(u), table.shape[0] - 2)
    f = min(u - k, 1.0)
    return (1.0 - f) * table[k] + f * table[k + 1]


@njit(cache=True)
def altitude(site, tiles, heights, r_mcmf):
    """Radial height [m] of a Moon-fixed point above the terrain beneath it."""
    x, y, radius = frames.track_coordinates(site, r_mcmf)
    h, _, _ = height_and_gradient(tiles, heights, x, y)
    return radius - site.map_radius_m - h


@njit(cache=True)
def altitude_at(surface, r_mci, t_s, rotation_rate_radps):
    """Radial height [m] above a surface (`TruthTerrain` or `OnboardMap`) of an inertial point
    at t_s [s], the Moon turning at rotation_rate_radps."""
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, rotation_rate_radps)
    return altitude(surface.site, surface.tiles, surface.heights, r_mcmf)


@njit(cache=True)
def surface_normal(site, tiles, heights, r_mcmf):
    """Unit upward normal of the terrain beneath a Moon-fixed point, MCMF components."""
    x, y, _ = frames.track_coordinates(site, r_mcmf)
    _, hx, hy = height_and_gradient(tiles, heights, x, y)
    d, left, up = frames.local_track_axes(site, r_mcmf)
    return vector.unit(vector.sub(up, vector.add(vector.scale(d, hx), vector.scale(left, hy))))


@njit(cache=True)
def slope_rad(site, tiles, heights, r_mcmf):
    """Angle [rad] between the terrain normal and the local vertical beneath a point."""
    n = surface_normal(site, tiles, heights, r_mcmf)
    return math.acos(min(1.0, vector.dot(n, vector.unit(r_mcmf))))


# Over a hazard field a ray's track coordinates move at the rates taken where the march
# looked them up, within RATE_MARGIN (1 + |rate|), for RATE_REACH_M: over 2.5 km the track
# axes turn by under 0.0015 rad and the coordinates' scale (map radius over the distance from
# the track's axis) changes by under 0.2 %, on any tile within 10 degrees of the track.
RATE_REACH_M = 2500.0
RATE_MARGIN = 0.01


@njit(cache=True)
def ray_cast(site, tiles, heights, origin_mcmf, direction_mcmf, max_range_m, min_step_m):
    """Range [m] along a unit direction from origin to the first terrain intersection, or -1.

    Marches in steps that cannot pass through the terrain: the height above it changes along
    the ray by at most sqrt(1 + slope^2) per metre for terrain no steeper than
    site.steepest_slope, so a step of height / sqrt(1 + slope^2) stays above it (never less
    than min_step_m, which should be below the finest feature width). Over a hazard field,
    whose boulders' flanks make that step short, the step may instead be as long as the ray
    stays inside a block of the field's cells whose highest terrain it is above
    (`height_bounds`): until it leaves the block or comes down to that height (a ray's height
    above the Moon's centre never falls below its tangent's). Then it closes in on the
    crossing by regula falsi (Illinois variant: it keeps the bracket and converges even where
    the bilinear surface bends) to 0.1 mm of height or a 1-mm bracket. A ray that starts
    farther above the highest terrain than its range, or whose closest approach to the Moon's
    centre within its range stays above it, misses without a look-up; any other starts its
    march where it enters the sphere of the highest terrain, and misses as soon as it leaves
    that sphere climbing (a shadow ray toward a low Sun).
    """
    ceiling = site.map_radius_m + site.highest_terrain_m
    if vector.norm(origin_mcmf) - ceiling > max_range_m:  # the terrain is out of reach
        return -1.0
    along = min(max(-vector.dot(origin_mcmf, direction_mcmf), 0.0), max_range_m)
    closest = vector.norm(vector.add(origin_mcmf, vector.scale(direction_mcmf, along)))
    if closest > ceiling:
        return -1.0
    # nothing to meet above the highest terrain: march from where the ray enters its sphere
    b = vector.dot(origin_mcmf, direction_mcmf)
    c = vector.dot(origin_mcmf, origin_mcmf) - ceiling * ceiling
    s_prev = 0.0
    if c > 0.0 and b < 0.0:  # outside it, heading in: the nearer root, in its stable form
        s_prev = c / (-b + math.sqrt(max(b * b - c, 0.0)))
    if s_prev > max_range_m:
        return -1.0
    start = vector.add(origin_mcmf, vector.scale(direction_mcmf, s_prev))
    h_prev, free = _clearance(site, tiles, heights, start, direction_mcmf)
    if h_prev <= 0.0:
        return s_prev
    safe = 1.0 / math.sqrt(1.0 + site.steepest_slope * site.steepest_slope)
    while s_prev < max_range_m:
        s = min(s_prev + max(safe * h_prev, free, min_step_m), max_range_m)
        point = vector.add(origin_mcmf, vector.scale(direction_mcmf, s))
        if vector.dot(point, direction_mcmf) > 0.0 and vector.norm(point) > ceiling:
            return -1.0  # above the highest terrain and climbing: nothing left to meet
        h, free = _clearance(site, tiles, heights, point, direction_mcmf)
        if h <= 0.0:
            bracket = (s_prev, h_prev, s, h)
            return _crossing((site, tiles, heights), origin_mcmf, direction_mcmf, bracket)
        s_prev, h_prev = s, h
    return -1.0


@njit(cache=True, inline="always")
def _clearance(site, tiles, heights, point, direction):
    """(height [m] of a ray's point above the terrain, and over a hazard field the distance
    [m] the ray can go from it and stay in a block of cells whose highest terrain it is
    above, else 0)."""
    x, y, radius = frames.track_coordinates(site, point)
    cell = _cell(tiles, x, y)
    z = radius - site.map_radius_m  # the point's height above the datum
    h = z - _surface_in(tiles, heights, cell)[0]
    k, i, j = cell[0], cell[1], cell[2]
    if k < 0 or h <= 0.0 or tiles[k].bound_levels == 0:
        return h, 0.0
    t = tiles[k]
    sink = vector.dot(point, direction) / radius  # d(height)/ds, its least over the step
    g_down, g_cross = frames.track_coordinates_gradient(site, point)
    vx, vy = vector.dot(g_down, direction), vector.dot(g_cross, direction)
    spread_x = RATE_MARGIN * (1.0 + abs(vx))
    spread_y = RATE_MARGIN * (1.0 + abs(vy))
    x_end = t.downrange_min_m + (t.n_downrange - 1) * t.spacing_m
    y_end = t.crossrange_min_m + (t.n_crossrange - 1) * t.spacing_m
    cols = t.n_crossrange - 1
    free = 0.0
    for level in range(t.bound_levels):
        width = (1 << level) * t.spacing_m
        bi, bj = i >> level, j >> level
        top = heights[t.bound_offsets[level] + bi * ((cols + (1 << level) - 1) >> level) + bj]
        if top >= z:
            break  # and every block above it is as high
        x0 = t.downrange_min_m + bi * width
        y0 = t.crossrange_min_m + bj * width
        go = math.inf if sink >= 0.0 else (z - top) / -sink
        go = min(go, _to_edges(x, x0, min(x0 + width, x_end), vx, spread_x))
        go = min(go, _to_edges(y, y0, min(y0 + width, y_end), vy, spread_y))
        free = max(free, go)
    return h, min(free, RATE_REACH_M)


@njit(cache=True, inline="always")
def _to_edges(coordinate, low, high, rate, spread):
    """Distance [m] along a ray before a coordinate moving at rate +- spread per metre may
    leave [low, high]."""
    go = math.inf
    if rate + spread > 0.0:
        go = (high - coordinate) / (rate + spread)
    if spread - rate > 0.0:
        go = min(go, (coordinate - low) / (spread - rate))
    return go


@njit(cache=True)
def _crossing(surface, origin, direction, bracket):
    """Range of the terrain (surface: site, tiles, heights) crossing between the ranges of the
    bracket (lo, h_lo, hi, h_hi): lo above (h_lo > 0), hi not (h_hi <= 0)."""
    site, tiles, heights = surface
    lo, h_lo, hi, h_hi = bracket
    moved = 0  # the end the last step moved: +1 lo, -1 hi (moving one twice halves the other)
    while hi - lo > 1e-3:
        s = (lo * h_hi - hi * h_lo) / (h_hi - h_lo)
        h = altitude(site, tiles, heights, vector.add(origin, vector.scale(direction, s)))
        if abs(h) < 1e-4:
            return s
        if h > 0.0:
            lo, h_lo = s, h
            if moved == 1:
                h_hi *= 0.5
            moved = 1
        else:
            hi, h_hi = s, h
            if moved == -1:
                h_lo *= 0.5
            moved = -1
    return 0.5 * (lo + hi)
