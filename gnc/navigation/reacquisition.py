"""Re-acquisition of a lost horizontal position by terrain correlation.

When the gates find the horizontal position lost (`gating`), adding back the PDI variance
lets the filter start over, but from where it is: over mare a wrong start locks again. The
flight software keeps the ground points of its recent ranges (where each measured range puts
the ground, relative to the estimate then) and, at a loss, slides them over the onboard map
as TERCOM slides a radar-altimeter profile (Golden 1980, "Terrain contour matching
(TERCOM): a cruise missile guidance aid", Proc. SPIE 238): on a grid of horizontal offsets
at the map's finest spacing, out to SEARCH_SIGMAS sigmas of the PDI knowledge, the offset
whose points lie best on the map (least variance of their heights above it: the mean, an
altitude error, removed). It counts when it beats staying put by more than chance would
(the reduction in squared residuals, over the best fit's variance per point, above the
chi-square(2) 99.9 % point). Its covariance is that of the offsets that fit as well to within
that margin, as if they were a Gaussian's 99.9 % region: a lone minimum gives about a grid
cell; an alias (the beams' parallel tracks across the track, a second crater field) widens
it to take both. The filter takes it as a horizontal position measurement (`correct`).
Not modelled: the points' errors are correlated along each beam's track (the map's), which
the chance margin takes as independent: a false match can be claimed tighter than it is.

The points stay in the estimate's frame as it is corrected: each keeps the path the lander
had travelled by its own reckoning (`filter.integrate`: corrections not counted) and its
offset from the estimate then; at the search the estimate now, less the path travelled
since, is where the lander was by today's estimate.
"""

import math

import numpy as np
from numba import njit

from dynamics import frames, terrain, vector
from gnc.navigation import filter as ekf

HISTORY = 512  # ground points kept (~13 s of four beams at 10 Hz)
SEARCH_POINTS = 128  # at most this many of them correlated
SEARCH_SIGMAS = 3.0
SIGNIFICANT = 13.8  # chi-square(2) 99.9 %: a 2-D offset's fit beating no offset by chance
GOLDEN = 0.6180339887498949  # (sqrt 5 - 1) / 2: the most irrational stride

POINT_DTYPE = np.dtype(
    [
        ("t_s", np.float64),
        ("travelled_mci_m", np.float64, (3,)),  # filter.NAV_DTYPE's, when measured
        ("ground_offset_mcmf_m", np.float64, (3,)),  # from the estimate to the ground
    ],
    align=True,
)

HISTORY_DTYPE = np.dtype(
    [
        ("points", POINT_DTYPE, (HISTORY,)),
        ("count", np.int64),  # ever remembered (the ring's next slot: count % HISTORY)
        # working storage of a search: the points' track coordinates [m] and radius [m]
        ("x", np.float64, (SEARCH_POINTS,)),
        ("y", np.float64, (SEARCH_POINTS,)),
        ("radius", np.float64, (SEARCH_POINTS,)),
    ],
    align=True,
)


@njit(cache=True)
def remember(history, nav, model, t_s):
    """Keep the ground points of a measurement model's range rows (`bus.MODEL_DTYPE`: the
    rows with one), measured at t_s and delivered now (the path travelled is now's: a range
    delivered late would be off by the velocity times its latency; ranges have none)."""
    for k in range(model.m):
        if not math.isfinite(model.ground_offset_mcmf_m[k, 0]):
            continue
        p = history.points[history.count % HISTORY]
        p.t_s = t_s
        for i in range(3):
            p.travelled_mci_m[i] = nav.travelled_mci_m[i]
            p.ground_offset_mcmf_m[i] = model.ground_offset_mcmf_m[k, i]
        history.count += 1


@njit(cache=True)
def _load(history, nav, site, omega):
    """Fill the working storage with the kept points' track coordinates by the present
    estimate; returns how many."""
    n = min(history.count, HISTORY)
    used = min(n, SEARCH_POINTS)
    for k in range(used):
        # all of them, or a golden-ratio sample of them: an even stride would alias with the
        # rows a cycle brings (four beams, every fourth point: one beam's)
        j = k if used == n else int((k * GOLDEN) % 1.0 * n)
        p = history.points[(history.count - n + j) % HISTORY]
        then = vector.sub(
            vector.load(nav.r_mci_m, 0),
            vector.sub(vector.load(nav.travelled_mci_m, 0), vector.load(p.travelled_mci_m, 0)),
        )
        ground = vector.add(
            frames.mci_to_mcmf(then, p.t_s, omega), vector.load(p.ground_offset_mcmf_m, 0)
        )
        x, y, radius = frames.track_coordinates(site, ground)
        history.x[k], history.y[k], history.radius[k] = x, y, radius
    return used


@njit(cache=True)
def _misfit(history, n, onboard_map, dx, dy):
    """Sum of squared heights of the points, shifted by (dx, dy) [m] along the track axes,
    above the map, about their mean [m^2]."""
    m = onboard_map
    total = square = 0.0
    for i in range(n):
        h, _, _ = terrain.height_and_gradient(
            m.tiles, m.heights, history.x[i] + dx, history.y[i] + dy
        )
        e = history.radius[i] - m.site.map_radius_m - h
        total += e
        square += e * e
    return square - total * total / n


@njit(cache=True)
def search(history, nav, onboard_map, omega, sigma_m):
    """The horizontal offset (downrange, crossrange) [m] that puts the kept ground points best
    on the map within SEARCH_SIGMAS x sigma_m, and the covariance of where it lies [m^2]
    ((xx, xy, yy): of the grid offsets that fit as well to within the significance, a
    99.9 % region, as a Gaussian's; with the grid's own step^2 / 12); (0, 0) and no
    covariance (zeros) when none fits significantly better than none (or fewer than 8
    points are kept, or the map has no relief)."""
    m = onboard_map
    n = _load(history, nav, m.site, omega)
    if n < 8 or m.tiles.shape[0] == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    step = m.tiles[m.tiles.shape[0] - 1].spacing_m
    half = int(SEARCH_SIGMAS * sigma_m / step)
    stay = _misfit(history, n, m, 0.0, 0.0)
    best, best_dx, best_dy = stay, 0.0, 0.0
    for i in range(-half, half + 1):
        for j in range(-half, half + 1):
            misfit = _misfit(history, n, m, i * step, j * step)
            if misfit < best:
                best, best_dx, best_dy = misfit, i * step, j * step
    within = SIGNIFICANT * best / (n - 3)  # the misfit a chance offset adds, at 99.9 %
    if not stay - best > within:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    count = sxx = sxy = syy = 0.0
    for i in range(-half, half + 1):
        for j in range(-half, half + 1):
            dx, dy = i * step - best_dx, j * step - best_dy
            if _misfit(history, n, m, i * step, j * step) - best <= within:
                count += 1.0
                sxx += dx * dx
                sxy += dx * dy
                syy += dy * dy
    # a Gaussian's 99.9 % region in 2-D is the disc of radius^2 = SIGNIFICANT sigma^2, over
    # which the second moment per axis is radius^2 / 4
    scale = 4.0 / (SIGNIFICANT * count)
    quantum = step * step / 12.0
    return best_dx, best_dy, sxx * scale + quantum, sxy * scale, syy * scale + quantum


@njit(cache=True)
def correct(nav, work, site, t_s, omega, found):
    """Update the filter with a search's result `found` (dx, dy, cov xx, xy, yy): a horizontal
    position measurement along the track axes at its position (its ranges' horizontal
    information was forgotten with the position; their vertical, removed with the mean, is
    not in it). work: a `bus.MODEL_DTYPE` record for its arrays. False when nothing found."""
    dx, dy, cxx, cxy, cyy = found
    if cxx <= 0.0:
        return False
    r_mcmf = frames.mci_to_mcmf(vector.load(nav.r_mci_m, 0), t_s, omega)
    down, left, _ = frames.local_track_axes(site, r_mcmf)
    h, y, r = nav.h, work.innovation, work.noise_cov
    for k in range(2):
        axis = frames.mcmf_to_mci(down if k == 0 else left, t_s, omega)
        for j in range(h.shape[1]):
            h[k, j] = 0.0
        for i in range(3):
            h[k, ekf.DR + i] = axis[i]
    y[0], y[1] = dx, dy
    r[0, 0], r[0, 1], r[1, 0], r[1, 1] = cxx, cxy, cxy, cyy
    m = np.int64(2)  # not the literal 2: the gates' compiled update serves (one compilation)
    ekf.normalized_innovation_squared(nav, y, h, r, m)
    ekf.apply_update(nav, y, h, r, m)
    return True
