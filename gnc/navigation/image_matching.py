"""Image-based terrain-relative navigation from real images, the flight software's half: a
camera image (`sensors.camera_render`) matched against the onboard map gives the camera's
horizontal position, or no fix with its reason (issue 14; `sims.images.trn_calibration` fits the
campaign model `sensors.image_navigation` to it, `sims.images.in_the_loop` flies it).

1. The reference (`ortho_image`): the onboard map rendered on a grid of track coordinates
   around where the camera is believed to look, seen from straight above under a given Sun:
   McEwen's lunar-Lambert law at the map surface's normal, the map's own cast shadows, no
   albedo pattern (the map holds heights only). Lit by the Sun of the image (the flight
   software knows it from its ephemeris) it matches far better than an ortho-image under
   the Sun of the orbit that made the map (measured by `descent calibrate-trn
   --map-sun-elevation`: benchmarks/README.md); the calibration and the in-the-loop mode
   light it so.
2. The image projected onto the same grid with the estimated pose (`orthorectify`): each
   node's point on the map surface through the pinhole into the image, sampled bilinearly.
   The grid is kept inside the image's footprint (GRID_SHARE of it) so every node is seen.
3. Registration: scikit-image's `phase_cross_correlation` (Guizar-Sicairos, Thurman & Fienup
   2008, Opt. Lett. 33(2): the cross-correlation peak refined by an upsampled DFT around
   it) on the zero-mean, contrast-normalised pair gives the shift of the projected image
   against the reference, in grid cells: minus the estimate's horizontal error (the
   projection from a pose off by e puts the ground e further along). Chosen over OpenCV
   (a large binary for one function) and a hand-written FFT correlation (the subpixel
   refinement is the part worth not rewriting); SciPy alone lacks the refinement.
4. The fix: the estimated camera position's track coordinates corrected by that shift. No
   fix when the image is too dark (mean radiance factor below `min_brightness`), too
   featureless (the relative contrast of the image or of the reference below
   `min_contrast`), or the match poor (the registration's normalised RMS error above
   `max_error`).
"""

import numpy as np
from numba import njit
from skimage.registration import phase_cross_correlation

from dynamics import frames, terrain, vector
from sensors import camera_render

GRID_SHARE = 0.6  # of the footprint's width the grid covers (its margin absorbs the error)
UPSAMPLE = 20  # subpixel refinement: a twentieth of a cell
# the pipeline's thresholds (see `match`): mean radiance factor, relative contrast, and the
# registration's normalised RMS error
LIMITS = {"min_brightness": 0.005, "min_contrast": 0.01, "max_error": 0.95}


@njit(cache=True)
def ortho_image(site, tiles, heights, scene, downrange_m, crossrange_m, cell_m, out):
    """Fill out (n x n) with the map's brightness seen from above under the scene's Sun:
    node (i, j) at track coordinates (downrange_m + i cell_m, crossrange_m + j cell_m)."""
    n = out.shape[0]
    for i in range(n):
        for j in range(n):
            x, y = downrange_m + i * cell_m, crossrange_m + j * cell_m
            h, _, _ = terrain.height_and_gradient(tiles, heights, x, y)
            point = frames.track_point(site, x, y, site.map_radius_m + h)
            normal = terrain.surface_normal(site, tiles, heights, point)
            mu0 = camera_render.sunlit_cosine(site, tiles, heights, scene, point, normal)
            mu = vector.dot(normal, vector.unit(point))
            out[i, j] = camera_render.lunar_lambert(scene.albedo, scene.lunar_l, mu0, mu)


@njit(cache=True)
def orthorectify(surface, image, camera, grid, out):
    """Fill out (n x n) with the image sampled where each grid node (grid: x0, y0, cell [m],
    as in `ortho_image`) on the map surface (site, tiles, heights) projects through the
    camera's pinhole (origin, axes, tan of half its field of view: the estimated pose);
    nodes outside the image get NaN."""
    site, tiles, heights = surface
    origin, axes, tan_half_fov = camera
    x0, y0, cell_m = grid
    n, pixels = out.shape[0], image.shape[0]
    for i in range(n):
        for j in range(n):
            x, y = x0 + i * cell_m, y0 + j * cell_m
            h, _, _ = terrain.height_and_gradient(tiles, heights, x, y)
            ray = vector.sub(frames.track_point(site, x, y, site.map_radius_m + h), origin)
            col, row = camera_render.image_position(axes, tan_half_fov, pixels, ray)
            out[i, j] = np.nan
            if not (0.0 <= row <= pixels - 1.0 and 0.0 <= col <= pixels - 1.0):
                continue  # behind the camera (NaN) or outside the image
            r0, c0 = min(int(row), pixels - 2), min(int(col), pixels - 2)
            fr, fc = row - r0, col - c0
            out[i, j] = (1.0 - fr) * ((1.0 - fc) * image[r0, c0] + fc * image[r0, c0 + 1]) + fr * (
                (1.0 - fc) * image[r0 + 1, c0] + fc * image[r0 + 1, c0 + 1]
            )


def grid_cell_m(onboard_map, altitude_m, ifov_rad):
    """The grid cell [m] to match on from an altitude with pixels of an angular size: the
    onboard map's finest spacing (at least 5 m), or two ground sample distances when those
    are coarser."""
    finest = max(float(onboard_map.tiles["spacing_m"].min(initial=5.0)), 5.0)
    return max(finest, 2.0 * altitude_m * ifov_rad)


def _normalised(a):
    return (a - a.mean()) / a.std()


def match(onboard_map, map_scene, image, origin, axes, tan_half_fov, cell_m, limits):
    """Position fix from one image: (fix, reason). fix is (downrange, crossrange) [m] of the
    camera, its 1-sigma [m] per axis (the registration's error times the cell, no less than
    a tenth of a cell) and the shift found [cells], or None with the reason ('too dark',
    'too little texture', 'poor match'). origin and axes are the estimated camera position
    and axes (Moon-fixed); limits a dict of min_brightness, min_contrast, max_error."""
    m = onboard_map
    if image.mean() < limits["min_brightness"]:
        return None, "too dark"
    boresight = axes[:, 2]
    looked_at = terrain.ray_cast(
        m.site, m.tiles, m.heights, tuple(origin), tuple(boresight), 1e6, 5.0
    )
    if looked_at <= 0.0:
        return None, "no ground in view"
    ground = origin + looked_at * boresight
    centre_x, centre_y, _ = frames.track_coordinates(m.site, tuple(ground))
    width = GRID_SHARE * 2.0 * looked_at * tan_half_fov
    n = max(16, int(width / cell_m))
    x0, y0 = centre_x - 0.5 * n * cell_m, centre_y - 0.5 * n * cell_m
    reference, projected = np.zeros((n, n)), np.zeros((n, n))
    ortho_image(m.site, m.tiles, m.heights, map_scene, x0, y0, cell_m, reference)
    surface = (m.site, m.tiles, m.heights)
    orthorectify(surface, image, (tuple(origin), axes, tan_half_fov), (x0, y0, cell_m), projected)
    if np.isnan(projected).any():
        return None, "no ground in view"
    contrast = min(
        reference.std() / max(reference.mean(), 1e-12),
        projected.std() / max(projected.mean(), 1e-12),
    )
    if contrast < limits["min_contrast"]:
        return None, "too little texture"
    shift, error, _ = phase_cross_correlation(
        _normalised(reference), _normalised(projected), upsample_factor=UPSAMPLE, normalization=None
    )
    if error > limits["max_error"]:
        return None, "poor match"
    camera_x, camera_y, _ = frames.track_coordinates(m.site, tuple(origin))
    sigma = max(error, 2.0 / UPSAMPLE) * cell_m
    return (camera_x + shift[0] * cell_m, camera_y + shift[1] * cell_m, sigma, tuple(shift)), None
