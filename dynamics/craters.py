"""Seeded procedural crater fields rendered onto terrain tiles.

- Size-frequency: the lunar equilibrium distribution of Trask (1966, "Size and spatial
  distribution of craters estimated from the Ranger photographs", JPL TR 32-800):
  cumulative N(>= D) = 10^-1.1 * D^-2 craters per m^2 (D in m), scaled per tile.
- Shape of fresh simple craters, Pike (1977, "Size-dependence in the shape of fresh impact
  craters on the Moon", Impact and Explosion Cratering, 489-509): rim-to-floor depth
  0.196 D and rim height 0.036 D; a parabolic bowl inside the rim, and ejecta thinning as
  (r/R)^-3 outside it (McGetchin et al. 1973, EPSL 20, 226-236), tapered to zero at 3 R.
  Each crater is degraded by a uniform factor in [0.2, 1] on depth and rim, as equilibrium
  surfaces hold mostly old, softened craters.
"""

import numpy as np
from numba import njit

CRATER_DTYPE = np.dtype(
    [
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("diameter_m", np.float64),
        ("depth_m", np.float64),  # rim crest to floor
        ("rim_height_m", np.float64),  # above the surrounding surface
    ],
    align=True,
)

TRASK_EQUILIBRIUM_K_PER_M2 = 10.0**-1.1  # N(>=D) = K D^-2, D in m
PIKE_DEPTH_RATIO = 0.196
PIKE_RIM_RATIO = 0.036
EJECTA_EXTENT_RADII = 3.0
DEGRADATION_RANGE = (0.2, 1.0)


def expected_count(area_m2, d_min_m, d_max_m, density_scale=1.0):
    """Expected number of craters with d_min <= D < d_max in an area, equilibrium density."""
    return density_scale * TRASK_EQUILIBRIUM_K_PER_M2 * area_m2 * (d_min_m**-2 - d_max_m**-2)


def sample_population(rng, downrange_m, crossrange_m, d_min_m, d_max_m, density_scale=1.0):
    """Craters with diameters in [d_min, d_max) scattered uniformly over a rectangle.

    downrange_m and crossrange_m are (min, max) bounds; the count is Poisson with the
    equilibrium mean, diameters follow the D^-2 cumulative law (inverse-CDF sampling).
    """
    area = (downrange_m[1] - downrange_m[0]) * (crossrange_m[1] - crossrange_m[0])
    n = rng.poisson(expected_count(area, d_min_m, d_max_m, density_scale))
    u = rng.random(n)
    a, b = d_min_m**-2, d_max_m**-2
    diameter = (a - u * (a - b)) ** -0.5
    degradation = rng.uniform(*DEGRADATION_RANGE, n)
    craters = np.zeros(n, CRATER_DTYPE)
    craters["downrange_m"] = rng.uniform(*downrange_m, n)
    craters["crossrange_m"] = rng.uniform(*crossrange_m, n)
    craters["diameter_m"] = diameter
    craters["depth_m"] = PIKE_DEPTH_RATIO * diameter * degradation
    craters["rim_height_m"] = PIKE_RIM_RATIO * diameter * degradation
    return craters


@njit(cache=True)
def profile_m(rho, depth_m, rim_height_m):
    """Height [m] of a crater at rho = distance / radius, relative to the surrounding surface."""
    if rho < 1.0:
        return rim_height_m - depth_m * (1.0 - rho * rho)
    if rho < EJECTA_EXTENT_RADII:
        tail = EJECTA_EXTENT_RADII**-3
        return rim_height_m * (rho**-3 - tail) / (1.0 - tail)
    return 0.0


@njit(cache=True)
def render(heights, downrange_min_m, crossrange_min_m, spacing_m, craters, min_diameter_m):
    """Add every crater at least min_diameter_m wide to a grid of heights, in place."""
    nx, ny = heights.shape
    for c in craters:
        if c.diameter_m < min_diameter_m:
            continue
        radius = 0.5 * c.diameter_m
        reach = EJECTA_EXTENT_RADII * radius
        i0 = max(0, int((c.downrange_m - reach - downrange_min_m) / spacing_m))
        i1 = min(nx - 1, int((c.downrange_m + reach - downrange_min_m) / spacing_m) + 1)
        j0 = max(0, int((c.crossrange_m - reach - crossrange_min_m) / spacing_m))
        j1 = min(ny - 1, int((c.crossrange_m + reach - crossrange_min_m) / spacing_m) + 1)
        for i in range(i0, i1 + 1):
            dx = downrange_min_m + i * spacing_m - c.downrange_m
            for j in range(j0, j1 + 1):
                dy = crossrange_min_m + j * spacing_m - c.crossrange_m
                rho = np.sqrt(dx * dx + dy * dy) / radius
                heights[i, j] += profile_m(rho, c.depth_m, c.rim_height_m)
