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
- Placed features: craters of any shape, including a flat floor (large complex craters have
  one, walled by terraces: the wall here rises from the floor's edge to the rim as the bowl
  would), and scarps, straight or curved cliffs (a crater rim seen at the lander's scale).
"""

import functools
import math
from typing import NamedTuple

import numpy as np
import scipy
from numba import njit
from scipy import special

from dynamics import compile_cache, plugins
from dynamics.terrain import GAUSS_HERMITE_NODES, GAUSS_HERMITE_WEIGHTS, REGION_SIGMAS_M

CRATER_DTYPE = np.dtype(
    [
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("diameter_m", np.float64),
        ("depth_m", np.float64),  # rim crest to floor
        ("rim_height_m", np.float64),  # above the surrounding surface
        ("floor_fraction", np.float64),  # flat floor's diameter / the rim's (0: a bowl)
    ],
    align=True,
)

SCARP_DTYPE = np.dtype(
    [
        ("downrange_m", np.float64),  # a point at the middle of the cliff face
        ("crossrange_m", np.float64),
        ("azimuth_rad", np.float64),  # the way down, from the downrange axis toward crossrange
        ("height_m", np.float64),  # top to foot
        ("width_m", np.float64),  # horizontal run of the face
        ("radius_m", np.float64),  # of a curved cliff, its centre on the low side (0: straight)
    ],
    align=True,
)

TRASK_EQUILIBRIUM_K_PER_M2 = 10.0**-1.1  # N(>=D) = K D^-2, D in m
PIKE_DEPTH_RATIO = 0.196
PIKE_RIM_RATIO = 0.036
EJECTA_EXTENT_RADII = 3.0
DEGRADATION_RANGE = (0.2, 1.0)


@njit(cache=True)
def expected_count(area_m2, d_min_m, d_max_m, density_scale=1.0):
    """Expected number of craters with d_min <= D < d_max in an area, equilibrium density."""
    return density_scale * TRASK_EQUILIBRIUM_K_PER_M2 * area_m2 * (d_min_m**-2 - d_max_m**-2)


@njit(cache=True)
def craters_in_view(tiles, downrange_m, crossrange_m, area_m2, d_smallest_m):
    """Expected number of craters of diameter d_smallest or more in an area around a point:
    the populations of every tile holding the point (each tile adds its own diameter
    range: `dynamics.terrain_section.Terrain.populations`), none off every tile."""
    n = 0.0
    for k in range(tiles.shape[0]):
        t = tiles[k]
        u = (downrange_m - t.downrange_min_m) * t.per_metre
        v = (crossrange_m - t.crossrange_min_m) * t.per_metre
        inside = 0.0 <= u <= t.n_downrange - 1 and 0.0 <= v <= t.n_crossrange - 1
        d_min = max(t.crater_min_diameter_m, d_smallest_m)
        if inside and t.crater_density > 0.0 and d_min < t.crater_max_diameter_m:
            n += expected_count(area_m2, d_min, t.crater_max_diameter_m, t.crater_density)
    return n


def sample_population(
    rng,
    downrange_m,
    crossrange_m,
    d_min_m,
    d_max_m,
    density_scale=1.0,
    degradation=DEGRADATION_RANGE,
):
    """Craters with diameters in [d_min, d_max) scattered uniformly over a rectangle.

    downrange_m and crossrange_m are (min, max) bounds; the count is Poisson with the
    equilibrium mean, diameters follow the D^-2 cumulative law (inverse-CDF sampling), depth
    and rim are Pike's times a factor uniform over the degradation range ((1, 1): fresh).
    """
    area = (downrange_m[1] - downrange_m[0]) * (crossrange_m[1] - crossrange_m[0])
    n = rng.poisson(expected_count(area, d_min_m, d_max_m, density_scale))
    u = rng.random(n)
    a, b = d_min_m**-2, d_max_m**-2
    diameter = (a - u * (a - b)) ** -0.5
    softened = rng.uniform(*degradation, n)
    craters = np.zeros(n, CRATER_DTYPE)
    craters["downrange_m"] = rng.uniform(*downrange_m, n)
    craters["crossrange_m"] = rng.uniform(*crossrange_m, n)
    craters["diameter_m"] = diameter
    craters["depth_m"] = PIKE_DEPTH_RATIO * diameter * softened
    craters["rim_height_m"] = PIKE_RIM_RATIO * diameter * softened
    return craters


@njit(cache=True)
def profile_m(rho, depth_m, rim_height_m, floor_fraction=0.0):
    """Height [m] of a crater at rho = distance / radius, relative to the surrounding surface;
    with a flat floor out to rho = floor_fraction, the bowl's wall between it and the rim."""
    if rho < floor_fraction:
        return rim_height_m - depth_m
    if rho < 1.0:
        t = (rho - floor_fraction) / (1.0 - floor_fraction)
        return rim_height_m - depth_m * (1.0 - t * t)
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
                heights[i, j] += profile_m(rho, c.depth_m, c.rim_height_m, c.floor_fraction)


@njit(cache=True)
def scarp_height_m(s, scarp):
    """Height [m] of a scarp at signed distance s [m] across it (positive toward its foot),
    relative to its top: a cubic smooth step over the face's width (steepest at the middle,
    1.5 height / width)."""
    u = min(max(s / scarp.width_m + 0.5, 0.0), 1.0)
    return -scarp.height_m * u * u * (3.0 - 2.0 * u)


@njit(cache=True)
def scarp_distance_m(scarp, downrange_m, crossrange_m):
    """Signed distance [m] of a point across a scarp, positive toward its foot: along the
    azimuth for a straight one; for a curved one, in from the circle of its radius."""
    dx = downrange_m - scarp.downrange_m
    dy = crossrange_m - scarp.crossrange_m
    ax, ay = math.cos(scarp.azimuth_rad), math.sin(scarp.azimuth_rad)
    if scarp.radius_m <= 0.0:
        return dx * ax + dy * ay
    cx, cy = scarp.radius_m * ax, scarp.radius_m * ay  # the centre, from the reference point
    return scarp.radius_m - math.hypot(dx - cx, dy - cy)


@njit(cache=True)
def render_scarps(heights, downrange_min_m, crossrange_min_m, spacing_m, scarps):
    """Add scarps to a grid of heights, in place."""
    nx, ny = heights.shape
    for c in scarps:
        for i in range(nx):
            x = downrange_min_m + i * spacing_m
            for j in range(ny):
                s = scarp_distance_m(c, x, crossrange_min_m + j * spacing_m)
                heights[i, j] += scarp_height_m(s, c)


class ReliefStatistics(NamedTuple):
    """Statistics of the relief of crater populations: its rms height [m], its correlation
    length along a track [m]; for a Gaussian region of each extent of
    `dynamics.terrain.REGION_SIGMAS_M`, the variance [m^2] a plane over it leaves of the relief,
    and the part of that the 25 samples of `dynamics.terrain.plane_over_region` do not show."""

    rms_m: float
    correlation_m: float
    unexplained_m2: np.ndarray
    unseen_m2: np.ndarray


@functools.cache
def relief_statistics(populations):
    """`ReliefStatistics` of crater populations, a tuple of (density_scale, d_min_m, d_max_m).

    The craters are a Poisson field of shapes, so by Campbell's theorem the power spectrum of
    their summed heights is the intensity-weighted one of a single crater:
    S(k) = integral n(D) E[a^2] |F_D(k)|^2 dD, with n(D) = 2 K s D^-3 the differential
    equilibrium density, a the degradation factor and F_D(k) = D^3 G(k D) the Fourier
    transform of a crater of diameter D (the profile scales with D; G is a unit crater's
    Hankel transform). Their mean is integral n(D) E[a] D^3 V_1 dD (V_1: a unit crater's net
    volume); the rms is sqrt(variance + mean^2).

    The variance is integral S d^2k / (2 pi)^2. The correlation length is the integral of
    the correlation along a track, one way, for an isotropic field integral S dk / (2 pi var):
    samples of the relief every ds along a track (ds small against it) hold as much
    information on a slowly varying quantity as independent ones every 2 length / ds samples,
    bowls and rims included. Over a region N(0, s^2 I) about an estimate, the residual of the
    best plane at the true point (the region's mean and mean gradient, by Stein's lemma)
    passes each wavenumber with |H(k)|^2 = 1 - exp(-s^2 k^2) (1 + s^2 k^2) on average over the
    true point's offset: the variance left is integral S |H|^2 d^2k / (2 pi)^2. Of that, the
    25 samples of the region's Gauss-Hermite rule show (about their own plane) the part a wave
    leaves of their weighted mean square, `_sampled_transfer`; the rest is unseen.
    """
    sigmas = REGION_SIGMAS_M
    populations = [p for p in populations if p[0] > 0.0 and p[2] > p[1]]
    if not populations:
        return ReliefStatistics(0.0, 0.0, np.zeros_like(sigmas), np.zeros_like(sigmas))
    a, b = DEGRADATION_RANGE
    mean_a, mean_square_a = (a + b) / 2, (a * a + a * b + b * b) / 3
    q, transform, volume = _unit_crater_transform()
    smallest, largest = min(p[1] for p in populations), max(p[2] for p in populations)
    k = np.geomspace(1e-3 / largest, q[-1] / smallest, 1500)
    spectrum, mean = np.zeros_like(k), 0.0
    for density_scale, d_min, d_max in populations:
        diameters = np.geomspace(d_min, d_max, 300)
        intensity = 2.0 * TRASK_EQUILIBRIUM_K_PER_M2 * density_scale
        mean += intensity * mean_a * volume * (d_max - d_min)
        g2 = np.interp(k[:, None] * diameters[None, :], q, transform**2, right=0.0)
        spectrum += intensity * mean_square_a * np.trapezoid(diameters**3 * g2, diameters, axis=1)

    variance = np.trapezoid(spectrum * k, k) / (2 * math.pi)
    length = np.trapezoid(spectrum, k) / (2 * math.pi) / variance
    unexplained, sampled = np.zeros_like(sigmas), np.zeros_like(sigmas)
    scaled, transfer = _sampled_transfer()
    for i, s in enumerate(sigmas):
        u = (s * k) ** 2
        unexplained[i] = np.trapezoid(spectrum * (-np.expm1(-u) - u * np.exp(-u)) * k, k)
        sampled[i] = np.trapezoid(spectrum * np.interp(s * k, scaled, transfer) * k, k)
    unexplained /= 2 * math.pi
    sampled /= 2 * math.pi
    unseen = np.maximum(unexplained - sampled, 0.0)
    for table in (unexplained, unseen):
        table.flags.writeable = False
    return ReliefStatistics(math.sqrt(variance + mean * mean), float(length), unexplained, unseen)


@functools.cache
def _sampled_transfer():
    """(k sigma, T): the share of a random-phase wave's variance (wavenumber k, direction
    uniform) that the 5 x 5 Gauss-Hermite samples of a region of extent sigma leave about
    their fitted plane: T = 1 - C0^2 - |Cs|^2 - |Ct|^2, with C0, Cs, Ct the rule's weighted
    sums of exp(i k.x) times 1, s and t (the mean and the slopes it takes out)."""
    nodes = np.array(GAUSS_HERMITE_NODES)
    w = np.outer(GAUSS_HERMITE_WEIGHTS, GAUSS_HERMITE_WEIGHTS)
    s, t = np.meshgrid(nodes, nodes, indexing="ij")
    scaled = np.linspace(0.0, 40.0, 801)
    angles = np.linspace(0.0, math.pi, 64, endpoint=False)
    phase = scaled[:, None, None, None] * (
        np.cos(angles)[None, :, None, None] * s + np.sin(angles)[None, :, None, None] * t
    )
    c0 = np.sum(w * np.cos(phase), axis=(2, 3))
    cs = np.sum(w * s * np.sin(phase), axis=(2, 3))
    ct = np.sum(w * t * np.sin(phase), axis=(2, 3))
    return scaled, np.mean(1.0 - c0**2 - cs**2 - ct**2, axis=1)


@functools.cache
def _unit_crater_transform():
    """(q [rad per diameter], G(q) [m^3 per m^3], V_1): the Hankel transform
    G(q) = 2 pi integral g(r) J0(q r) r dr of a fresh crater of unit diameter, and its net
    volume V_1 = G(0). Computed once (0.3 s) and kept beside the compiled code."""

    def compute():
        r = np.linspace(0.0, EJECTA_EXTENT_RADII * 0.5, 6001)
        g = _profiles(r / 0.5)
        q = np.concatenate([[0.0], np.geomspace(1e-3, 2e3, 3000)])
        return q, np.array([2 * math.pi * np.trapezoid(g * special.j0(x * r) * r, r) for x in q])

    key = f"{plugins.file_digest(__file__)} numpy {np.__version__} scipy {scipy.__version__}"
    q, transform = compile_cache.kept_arrays("unit_crater_transform", key, compute)
    return q, transform, float(transform[0])


@njit(cache=True)
def _profiles(rho):
    """Heights of a fresh crater of unit diameter at distances rho (in radii)."""
    out = np.empty_like(rho)
    for i in range(rho.shape[0]):
        out[i] = profile_m(rho[i], PIKE_DEPTH_RATIO, PIKE_RIM_RATIO)
    return out
