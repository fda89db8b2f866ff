"""Digital elevation model over the ground track and the site: height, surface normal, ray casting.

The map is a stack of regular grids ("tiles") in track coordinates (see `dynamics.frames`),
heights in metres above the map radius. Coarse tiles cover the ground track, fine ones the
site; a lookup uses the finest tile containing the point (tiles are stored coarsest first),
and points outside every tile lie on the datum (height 0). Heights are bilinear between nodes.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dynamics import frames, vector

TILE_DTYPE = np.dtype(
    [
        ("downrange_min_m", np.float64),
        ("crossrange_min_m", np.float64),
        ("spacing_m", np.float64),
        ("per_metre", np.float64),  # 1 / spacing: grid steps per metre
        ("n_downrange", np.int64),
        ("n_crossrange", np.int64),
        ("offset", np.int64),  # index of node (0, 0) in the flat heights array
    ],
    align=True,
)


class TruthTerrain(NamedTuple):
    """The true surface: what sensors see and the lander touches (site datum, tiles, heights)."""

    site: np.void
    tiles: np.ndarray
    heights: np.ndarray


class OnboardMap(NamedTuple):
    """The flight software's terrain model: its site datum, its map tiles and their heights, and
    the 1-sigma error it assumes for those heights [m]. A distinct type from `TruthTerrain`:
    compiled code that reads `height_error_m` cannot be handed the truth."""

    site: np.void
    tiles: np.ndarray
    heights: np.ndarray
    height_error_m: float


def steepest_slope(grids):
    """Bound on the gradient of the bilinear surface of the grids: within a cell each slope
    component lies between those of the cell's edges."""
    steepest = 0.0
    for _, _, spacing, h in grids:
        sx = np.abs(np.diff(h, axis=0)).max(initial=0.0) / spacing
        sy = np.abs(np.diff(h, axis=1)).max(initial=0.0) / spacing
        steepest = max(steepest, math.hypot(sx, sy))
    return steepest


def make_tiles(grids):
    """(tiles, heights) from a coarsest-first list of (downrange_min, crossrange_min, spacing,
    heights[n_downrange, n_crossrange]) grids."""
    tiles = np.zeros(len(grids), TILE_DTYPE)
    offset = 0
    for k, (x0, y0, spacing, h) in enumerate(grids):
        tiles[k] = (x0, y0, spacing, 1.0 / spacing, h.shape[0], h.shape[1], offset)
        offset += h.size
    flat = np.concatenate([g[3].ravel() for g in grids]) if grids else np.zeros(0)
    return tiles, flat


@njit(cache=True)
def height_and_gradient(tiles, heights, downrange_m, crossrange_m):
    """Terrain height [m] above the map radius, and its slopes dh/d(downrange), dh/d(crossrange)."""
    for k in range(tiles.shape[0] - 1, -1, -1):
        t = tiles[k]
        u = (downrange_m - t.downrange_min_m) * t.per_metre
        v = (crossrange_m - t.crossrange_min_m) * t.per_metre
        if u < 0.0 or v < 0.0 or u > t.n_downrange - 1 or v > t.n_crossrange - 1:
            continue
        i = min(int(u), t.n_downrange - 2)
        j = min(int(v), t.n_crossrange - 2)
        fu, fv = u - i, v - j
        base = t.offset + i * t.n_crossrange + j
        h00 = heights[base]
        h01 = heights[base + 1]
        h10 = heights[base + t.n_crossrange]
        h11 = heights[base + t.n_crossrange + 1]
        h = (1 - fu) * ((1 - fv) * h00 + fv * h01) + fu * ((1 - fv) * h10 + fv * h11)
        dh_du = (1 - fv) * (h10 - h00) + fv * (h11 - h01)
        dh_dv = (1 - fu) * (h01 - h00) + fu * (h11 - h10)
        return h, dh_du * t.per_metre, dh_dv * t.per_metre
    return 0.0, 0.0, 0.0


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


@njit(cache=True)
def ray_cast(site, tiles, heights, origin_mcmf, direction_mcmf, max_range_m, min_step_m):
    """Range [m] along a unit direction from origin to the first terrain intersection, or -1.

    Marches in steps that cannot pass through the terrain: the height above it changes along
    the ray by at most sqrt(1 + slope^2) per metre for terrain no steeper than
    site.steepest_slope, so a step of height / sqrt(1 + slope^2) stays above it (never less
    than min_step_m, which should be below the finest feature width). Then it closes in on
    the crossing by regula falsi (Illinois variant: it keeps the bracket and converges even
    where the bilinear surface bends) to 0.1 mm of height or a 1-mm bracket. A ray whose
    closest approach to the Moon's centre within its range stays above the highest terrain
    misses without a look-up.
    """
    along = min(max(-vector.dot(origin_mcmf, direction_mcmf), 0.0), max_range_m)
    closest = vector.norm(vector.add(origin_mcmf, vector.scale(direction_mcmf, along)))
    if closest > site.map_radius_m + site.highest_terrain_m:
        return -1.0
    s_prev = 0.0
    h_prev = altitude(site, tiles, heights, origin_mcmf)
    if h_prev <= 0.0:
        return 0.0
    safe = 1.0 / math.sqrt(1.0 + site.steepest_slope * site.steepest_slope)
    while s_prev < max_range_m:
        s = min(s_prev + max(safe * h_prev, min_step_m), max_range_m)
        h = altitude(site, tiles, heights, vector.add(origin_mcmf, vector.scale(direction_mcmf, s)))
        if h <= 0.0:
            return _crossing(
                site, tiles, heights, origin_mcmf, direction_mcmf, s_prev, h_prev, s, h
            )
        s_prev, h_prev = s, h
    return -1.0


@njit(cache=True)
def _crossing(site, tiles, heights, origin, direction, lo, h_lo, hi, h_hi):
    """Range of the terrain crossing between lo (above, h_lo > 0) and hi (h_hi <= 0)."""
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
