"""Terrain look-up and ray casting against analytic surfaces; crater statistics and shapes."""

import math

import numpy as np
import pytest
from numba import njit

from dynamics import craters, frames, terrain, vector
from dynamics.constants import MOON_MEAN_RADIUS_M

NO_TILES, NO_HEIGHTS = terrain.make_tiles([])


def flat_site(map_radius_m):
    """Site at latitude 0, longitude 0, track heading north: up = +x, downrange = +z,
    crossrange (left) = -y in MCMF."""
    return frames.make_site(0.0, 0.0, 0.0, 0.0, map_radius_m)


def local_to_mcmf(site, x, y, z):
    up, d, left = site["up"], site["track_downrange"], site["track_left"]
    return tuple((site["map_radius_m"] + z) * up + x * d + y * left)


def plane_terrain(a, b, c, half_width=1500.0, spacing=10.0):
    xs = np.arange(-half_width, half_width + spacing / 2, spacing)
    h = a * xs[:, None] + b * xs[None, :] + c
    return terrain.make_tiles([(-half_width, -half_width, spacing, h)])


def test_bilinear_heights_reproduce_a_plane_and_its_gradient():
    tiles, heights = plane_terrain(0.1, -0.05, 20.0)
    h, hx, hy = terrain.height_and_gradient(tiles, heights, 123.4, -56.7)
    assert h == pytest.approx(0.1 * 123.4 - 0.05 * -56.7 + 20.0, abs=1e-9)
    assert (hx, hy) == pytest.approx((0.1, -0.05), abs=1e-12)
    # outside every tile the terrain lies on the datum
    assert terrain.height_and_gradient(tiles, heights, 1600.0, 0.0) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("direction", [(0.3, -0.2, -1.0), (-0.6, 0.5, -0.4), (0.0, 0.0, -1.0)])
def test_ray_cast_hits_a_tilted_plane_at_the_analytic_range(direction):
    a, b, c = 0.15, -0.08, 12.0
    site = flat_site(1.0e10)  # a huge map radius makes the datum flat to < 1e-5 m over 1 km
    tiles, heights = plane_terrain(a, b, c)
    site["steepest_slope"] = math.hypot(a, b)
    site["highest_terrain_m"] = heights.max()
    x0, y0, h0 = -40.0, 30.0, 300.0
    d = np.array(direction) / np.linalg.norm(direction)
    expected = (a * x0 + b * y0 + c - h0) / (d[2] - a * d[0] - b * d[1])
    origin = local_to_mcmf(site, x0, y0, h0)
    d_mcmf = tuple(d[0] * site["track_downrange"] + d[1] * site["track_left"] + d[2] * site["up"])
    s = terrain.ray_cast(site, tiles, heights, origin, d_mcmf, 2000.0, 1.0)
    assert s == pytest.approx(expected, abs=2e-3)
    n = np.array(terrain.surface_normal(site, tiles, heights, origin))
    n_local = np.array([n @ site["track_downrange"], n @ site["track_left"], n @ site["up"]])
    assert n_local == pytest.approx(np.array([-a, -b, 1.0]) / math.sqrt(1 + a * a + b * b))
    assert terrain.slope_rad(site, tiles, heights, origin) == pytest.approx(
        math.atan(math.hypot(a, b)), abs=1e-7
    )


def test_ray_cast_finds_the_first_crossing_at_a_steep_narrow_ridge():
    """A 40-m ridge with 76-deg faces across a level plain: a shallow ray must stop on the
    ridge's near face (its march may not step over it), not on the plain beyond."""
    site = flat_site(1.0e10)
    spacing = 10.0
    xs = np.arange(-500.0, 500.0 + spacing / 2, spacing)
    h = np.where(np.abs(xs - 205.0) < 10.0, 40.0, 0.0)[:, None] * np.ones(len(xs))[None, :]
    grids = [(-500.0, -500.0, spacing, h)]
    tiles, heights = terrain.make_tiles(grids)
    site["steepest_slope"] = terrain.steepest_slope(grids)
    site["highest_terrain_m"] = h.max()
    assert site["steepest_slope"] == pytest.approx(4.0)
    down = math.radians(20.0)
    origin = local_to_mcmf(site, 0.0, 0.0, 100.0)
    d = tuple(math.cos(down) * site["track_downrange"] - math.sin(down) * site["up"])
    # the near face rises as h = 4 (x - 190) between x = 190 and 200
    x_hit = (100.0 + 4.0 * 190.0) / (4.0 + math.tan(down))
    s = terrain.ray_cast(site, tiles, heights, origin, d, 2000.0, 1.0)
    assert s == pytest.approx(x_hit / math.cos(down), abs=2e-3)


def test_ray_cast_hits_the_bare_moon_sphere_at_the_analytic_range():
    site = flat_site(MOON_MEAN_RADIUS_M)
    origin = np.array(local_to_mcmf(site, -5000.0, 0.0, 15_000.0))
    d = vector.unit(tuple(-site["up"] + 0.8 * site["track_downrange"] + 0.1 * site["track_left"]))
    od = origin @ np.array(d)
    expected = -od - math.sqrt(od * od - (origin @ origin - MOON_MEAN_RADIUS_M**2))
    s = terrain.ray_cast(site, NO_TILES, NO_HEIGHTS, tuple(origin), d, 100_000.0, 5.0)
    assert s == pytest.approx(expected, abs=2e-3)


def test_ray_cast_reports_no_return_beyond_max_range_or_above_the_horizon():
    site = flat_site(MOON_MEAN_RADIUS_M)
    origin = local_to_mcmf(site, 0.0, 0.0, 15_000.0)
    down = tuple(-site["up"])
    assert terrain.ray_cast(site, NO_TILES, NO_HEIGHTS, origin, down, 10_000.0, 5.0) == -1.0
    level = tuple(site["track_downrange"])
    assert terrain.ray_cast(site, NO_TILES, NO_HEIGHTS, origin, level, 1.0e6, 5.0) == -1.0


def test_crater_profile_floor_rim_and_ejecta():
    depth, rim = 19.6, 3.6
    assert craters.profile_m(0.0, depth, rim) == pytest.approx(rim - depth)
    assert craters.profile_m(1.0 - 1e-12, depth, rim) == pytest.approx(rim)
    assert craters.profile_m(1.0, depth, rim) == pytest.approx(rim)  # continuous at the rim
    assert craters.profile_m(2.0, depth, rim) < rim / 8.0 + 1e-12
    assert craters.profile_m(3.0, depth, rim) == 0.0


def test_crater_population_follows_the_equilibrium_size_frequency_law():
    rng = np.random.default_rng(7)
    d_min, d_max = 10.0, 1000.0
    pop = craters.sample_population(rng, (0.0, 4000.0), (0.0, 4000.0), d_min, d_max)
    mean = craters.expected_count(16e6, d_min, d_max)
    assert abs(len(pop) - mean) < 4 * math.sqrt(mean)  # Poisson count, 4 sigma
    # cumulative N(>=D) ~ D^-2: a quarter of the craters are at least twice the minimum size
    p = (20.0**-2 - d_max**-2) / (d_min**-2 - d_max**-2)
    frac = np.mean(pop["diameter_m"] >= 20.0)
    assert abs(frac - p) < 4 * math.sqrt(p * (1 - p) / len(pop))
    ratio = pop["depth_m"] / pop["diameter_m"]
    assert ratio.min() >= 0.2 * 0.196 - 1e-12 and ratio.max() <= 0.196 + 1e-12


def test_rendered_crater_has_its_depth_at_the_centre():
    crater = np.zeros(1, craters.CRATER_DTYPE)
    crater[0] = (0.0, 0.0, 100.0, 19.6, 3.6, 0.0)
    h = np.zeros((81, 81))
    craters.render(h, -200.0, -200.0, 5.0, crater, 0.0)
    assert h[40, 40] == pytest.approx(3.6 - 19.6)
    assert h[40, 50] == pytest.approx(3.6)  # on the rim, 50 m from the centre
    assert h[0, 0] == 0.0


# A Gaussian region's covariance in (downrange, crossrange): elongated and tilted.
REGION = (60.0**2, 0.5 * 60.0 * 30.0, 30.0**2)


def test_plane_over_a_region_of_a_plane_is_that_plane():
    tiles, heights = plane_terrain(0.1, -0.05, 20.0)
    mean, hx, hy, _ = terrain.plane_over_region(tiles, heights, 123.4, -56.7, *REGION)
    assert mean == pytest.approx(0.1 * 123.4 - 0.05 * -56.7 + 20.0, abs=1e-9)
    assert (hx, hy) == pytest.approx((0.1, -0.05), abs=1e-12)


def test_plane_over_a_region_of_a_bowl_is_its_expected_height_and_mean_slope():
    """h = a (x^2 + y^2) over a region N(m, C): mean height a (|m|^2 + tr C) and mean gradient
    2 a m, exactly (the 5-point rule integrates polynomials to degree 9)."""
    a, spacing = 1e-3, 2.0
    xs = np.arange(-1000.0, 1000.0 + spacing / 2, spacing)
    h = a * (xs[:, None] ** 2 + xs[None, :] ** 2)
    tiles, heights = terrain.make_tiles([(-1000.0, -1000.0, spacing, h)])
    m = (100.0, -40.0)
    mean, hx, hy, _ = terrain.plane_over_region(tiles, heights, *m, *REGION)
    # bilinear interpolation adds a spacing^2 / 4 on average over a cell's area (x and y)
    expected = a * (m[0] ** 2 + m[1] ** 2 + REGION[0] + REGION[2] + spacing**2 / 3)
    assert mean == pytest.approx(expected, rel=1e-3)
    assert (hx, hy) == pytest.approx((2 * a * m[0], 2 * a * m[1]), rel=1e-3)


def test_a_small_region_gives_the_local_slope():
    tiles, heights = plane_terrain(0.1, -0.05, 20.0)
    _, hx, hy, _ = terrain.plane_over_region(tiles, heights, 0.0, 0.0, 0.0, 0.0, 0.0)
    assert (hx, hy) == pytest.approx((0.1, -0.05), abs=1e-12)


RELIEF_POPULATION = (0.6, 20.0, 80.0)  # density scale, diameters [m]


@pytest.fixture(scope="module")
def crater_field():
    """A 6 x 6 km field of 20-80 m craters rendered at 1 m, and its expected statistics."""
    rng = np.random.default_rng(11)
    scale, d_min, d_max = RELIEF_POPULATION
    margin = craters.EJECTA_EXTENT_RADII * d_max / 2
    pop = craters.sample_population(
        rng, (-margin, 6000.0 + margin), (-margin, 6000.0 + margin), d_min, d_max, scale
    )
    h = np.zeros((6001, 6001))
    craters.render(h, 0.0, 0.0, 1.0, pop, 0.0)
    return h, craters.relief_statistics((RELIEF_POPULATION,))


def test_relief_statistics_match_a_rendered_crater_field(crater_field):
    """Campbell's theorem on the Poisson field of craters against the field itself: the rms
    height, and the correlation along a track (the integral of the autocorrelation of rows,
    by FFT), within the scatter of one 6 km field (~4 % and ~10 %)."""
    h, stats = crater_field
    assert np.sqrt(np.mean(h**2)) == pytest.approx(stats.rms_m, rel=0.06)
    rows = h - h.mean()
    spectrum = np.abs(np.fft.rfft(rows, 2 * rows.shape[1], axis=1)) ** 2
    autocorrelation = np.fft.irfft(spectrum, axis=1).sum(axis=0)[: rows.shape[1]]
    autocorrelation /= autocorrelation[0]
    # the integral out to the ejecta's end (twice 1.5 diameters of the largest crater)
    length = np.trapezoid(autocorrelation[: int(3 * RELIEF_POPULATION[2])])
    assert length == pytest.approx(stats.correlation_m, rel=0.15)


@pytest.mark.parametrize("sigma_m", [8.0, 32.0, 128.0])
def test_unexplained_relief_is_what_a_plane_over_a_region_leaves(crater_field, sigma_m):
    """Least-squares planes over 400 Gaussian regions of the field, each weighted by the region
    and evaluated where the truth may be: their mean residual variance against the table."""
    h, stats = crater_field
    rng = np.random.default_rng(3)
    residuals = []
    for _ in range(400):
        centre = rng.uniform(600.0, 5400.0, 2)
        offset = rng.normal(0.0, sigma_m, (800, 2))
        x, y = (centre + offset).T
        z = h[np.round(x).astype(int), np.round(y).astype(int)]
        design = np.column_stack([np.ones_like(x), offset])
        fit, *_ = np.linalg.lstsq(design, z, rcond=None)
        residuals.append(np.mean((z - design @ fit) ** 2))
    k = round(2 * math.log2(sigma_m))
    assert terrain.REGION_SIGMAS_M[k] == sigma_m
    assert np.mean(residuals) == pytest.approx(stats.unexplained_m2[k], rel=0.15)


@pytest.mark.parametrize("sigma_m", [8.0, 32.0, 128.0])
def test_the_samples_of_a_region_show_what_the_statistics_say_they_see(crater_field, sigma_m):
    """`plane_over_region`'s own residual (its 25 Gauss-Hermite samples about their plane)
    averaged over 400 regions of the field: the relief a plane leaves less what the statistics
    say those samples miss (`unseen_m2`)."""
    h, stats = crater_field
    spacing = 1.0
    tiles, heights = terrain.make_tiles([(0.0, 0.0, spacing, h)])
    rng = np.random.default_rng(4)
    seen = [
        terrain.plane_over_region(
            tiles, heights, *rng.uniform(600.0, 5400.0, 2), sigma_m**2, 0.0, sigma_m**2
        )[3]
        for _ in range(400)
    ]
    k = round(2 * math.log2(sigma_m))
    assert np.mean(seen) == pytest.approx(stats.unexplained_m2[k] - stats.unseen_m2[k], rel=0.15)


def test_unseen_relief_interpolates_the_map_table():
    table = np.linspace(0.0, 24.0, terrain.REGION_SIGMAS_M.size)  # k at REGION_SIGMAS_M[k]
    onboard = terrain.OnboardMap(
        flat_site(MOON_MEAN_RADIUS_M), NO_TILES, NO_HEIGHTS, 0.0, 0.0, table, 0.0
    )
    assert terrain.unseen_relief(onboard, 8.0) == pytest.approx(6.0)  # 2^(6/2)
    assert terrain.unseen_relief(onboard, 8.0 * 2**0.25) == pytest.approx(6.5)
    assert terrain.unseen_relief(onboard, 0.1) == 0.0
    assert terrain.unseen_relief(onboard, 1e6) == 24.0


def scarp(**fields):
    record = np.zeros(1, craters.SCARP_DTYPE)[0]
    for name, value in fields.items():
        record[name] = value
    return record


def test_a_straight_scarp_falls_by_its_height_over_its_width():
    """A 3-km cliff over 6 km, falling toward +30 deg: flat on either side, half-way down at
    its middle, steepest there at 1.5 height / width (a cubic smooth step)."""
    c = scarp(
        downrange_m=1000.0,
        crossrange_m=-200.0,
        azimuth_rad=math.radians(30.0),
        height_m=3000.0,
        width_m=6000.0,
    )
    along = np.array([math.cos(c["azimuth_rad"]), math.sin(c["azimuth_rad"])])
    start = np.array([1000.0, -200.0])

    def height_at(s, sideways=0.0):
        x, y = start + s * along + sideways * np.array([-along[1], along[0]])
        return craters.scarp_height_m(craters.scarp_distance_m(c, x, y), c)

    assert height_at(-3000.0) == 0.0 and height_at(-9000.0) == 0.0
    assert height_at(3000.0) == -3000.0 and height_at(20000.0) == -3000.0
    assert height_at(0.0, sideways=12345.0) == pytest.approx(-1500.0)
    slope = (height_at(1.0) - height_at(-1.0)) / 2.0
    assert slope == pytest.approx(-1.5 * 3000.0 / 6000.0, rel=1e-6)


def test_a_curved_scarp_rings_its_centre():
    """Radius 40 km, centre 40 km down its azimuth: every point 40 km from the centre is
    half-way down; the centre and everything inside 37 km is at the foot."""
    c = scarp(azimuth_rad=0.0, height_m=2000.0, width_m=6000.0, radius_m=40000.0)
    for angle in np.radians([0.0, 70.0, 180.0, 250.0]):
        x, y = 40000.0 + 40000.0 * math.cos(angle), 40000.0 * math.sin(angle)
        assert craters.scarp_height_m(craters.scarp_distance_m(c, x, y), c) == pytest.approx(
            -1000.0
        )
    for x, y in ((40000.0, 0.0), (40000.0, 36000.0)):
        assert craters.scarp_height_m(craters.scarp_distance_m(c, x, y), c) == -2000.0


def test_a_flat_floored_crater_has_its_floor_and_a_smooth_wall():
    depth, rim, floor = 500.0, 50.0, 0.6
    for rho in (0.0, 0.3, 0.599):
        assert craters.profile_m(rho, depth, rim, floor) == pytest.approx(rim - depth)
    # the wall leaves the floor level (no kink) and reaches the rim
    eps = 1e-9
    wall = (craters.profile_m(floor + eps, depth, rim, floor) - (rim - depth)) / eps
    assert abs(wall) < 1e-3 and craters.profile_m(1.0 - 1e-12, depth, rim, floor) == (
        pytest.approx(rim)
    )
    # without a floor it is the bowl
    assert craters.profile_m(0.5, depth, rim, 0.0) == pytest.approx(rim - depth * 0.75)


def test_the_highest_terrain_of_a_rectangle_is_its_highest_node():
    """A 10-m grid rising 1 m per 10 m downrange with a 50-m spike at (300 m, -200 m): the
    highest sample of the whole tile is the spike, of a rectangle short of it the ramp's top."""
    h = np.add.outer(np.arange(101) * 1.0, np.zeros(81))
    h[60, 30] = 150.0  # node (300 m, -200 m) of a tile starting at (-300 m, -500 m)
    tiles, heights = terrain.make_tiles([(-300.0, -500.0, 10.0, h)])
    assert terrain.highest(tiles, heights, (-300.0, 700.0), (-500.0, 300.0), 10.0) == 150.0
    assert terrain.highest(tiles, heights, (-300.0, 200.0), (-500.0, 300.0), 10.0) == 50.0


def stacked_grids(seed):
    """Four grids, coarsest first, none on another's nodes: 20 m over 1 km, 7 m within it,
    3.1 m across its edge and, last, a 1.3-m hazard field within it; random relief of a few
    metres, and spikes one node wide (40-60 m) inside the finer ones, which a ray must not
    step over."""
    rng = np.random.default_rng(seed)
    spec = ((-500.0, -500.0, 20.0, 51, 51), (-203.3, -151.1, 7.0, 72, 51))
    spec += ((470.3, -20.9, 3.1, 31, 21), (95.2, -40.7, 1.3, 66, 81))
    grids = []
    for k, (x0, y0, spacing, nx, ny) in enumerate(spec):
        h = rng.uniform(0.0, 4.0, (nx, ny))
        if k:
            for _ in range(6):
                h[rng.integers(1, nx - 1), rng.integers(1, ny - 1)] = rng.uniform(40.0, 60.0)
        grids.append((x0, y0, spacing, h))
    grids[-1] += ((0.0, 0.0, 0.0), True)
    return grids


def test_a_hazard_fields_height_bounds_hold_its_terrain_over_every_block():
    """Every block of every level of the hazard field's bounds is at least every height looked
    up over it (on a lattice finer than its grid, spikes included) and each cell's bound is
    its highest node; the other tiles keep none."""
    grids = stacked_grids(3)
    tiles, heights = terrain.make_tiles(grids)
    assert list(tiles["bound_levels"][:-1]) == [0, 0, 0]
    t = tiles[-1]
    x0, y0, spacing, h = grids[-1][:4]
    step = 0.25
    xs = np.arange(x0, x0 + (h.shape[0] - 1) * spacing + 1e-9, step)
    ys = np.arange(y0, y0 + (h.shape[1] - 1) * spacing + 1e-9, step)
    lattice = terrain.heights_on_grid(tiles, heights, xs, ys)
    assert lattice.max() > 30.0  # the spikes show on the lattice
    cells = h.shape[0] - 1, h.shape[1] - 1
    assert t["bound_levels"] == 8  # 65 x 80 cells: blocks of 1, 2, ..., 128 cells
    for level in range(t["bound_levels"]):
        width = 2**level * spacing
        n_rows, n_cols = -(-cells[0] // 2**level), -(-cells[1] // 2**level)
        block = heights[t["bound_offsets"][level] :][: n_rows * n_cols].reshape(n_rows, n_cols)
        for bi in range(n_rows):
            rows = (xs >= x0 + bi * width) & (xs <= x0 + (bi + 1) * width)
            for bj in range(n_cols):
                columns = (ys >= y0 + bj * width) & (ys <= y0 + (bj + 1) * width)
                assert lattice[np.ix_(rows, columns)].max() <= block[bi, bj] + 1e-9
    nodes = np.maximum(np.maximum(h[:-1, :-1], h[1:, :-1]), np.maximum(h[:-1, 1:], h[1:, 1:]))
    assert np.array_equal(heights[t["bound_offsets"][0] :][: nodes.size], nodes.ravel())
    assert heights[t["bound_offsets"][7]] == h.max()


@njit
def _first_crossing(site, tiles, heights, origin, d, reach, step):
    """The range of a ray's first crossing of the terrain found by looking every `step`
    metres, then by bisection to 1e-6 m; -1 if none within reach."""
    s_prev = 0.0
    s = 0.0
    while s <= reach:
        p = (origin[0] + d[0] * s, origin[1] + d[1] * s, origin[2] + d[2] * s)
        if terrain.altitude(site, tiles, heights, p) <= 0.0:
            lo, hi = s_prev, s
            while hi - lo > 1e-6:
                mid = 0.5 * (lo + hi)
                p = (origin[0] + d[0] * mid, origin[1] + d[1] * mid, origin[2] + d[2] * mid)
                if terrain.altitude(site, tiles, heights, p) <= 0.0:
                    hi = mid
                else:
                    lo = mid
            return hi
        s_prev = s
        s += step
    return -1.0


@pytest.mark.parametrize("map_radius_m", [1.0e10, MOON_MEAN_RADIUS_M])
def test_ray_cast_meets_what_a_fine_march_meets_over_stacked_tiles(map_radius_m):
    """Rays over the stacked grids (spikes in the finer ones and the hazard field, a grid
    across the coarse one's edge), half from anywhere 30-600 m up, nadir to 75 deg off it,
    half through a spike's flank from 100-600 m away, 10-60 deg down: the range is the first
    crossing a 2-cm march finds, to 5 mm, and a ray that misses is missed by that march too.
    The smallest step is 1 cm: a longer one may pass a spike's tip."""
    grids = stacked_grids(5)
    tiles, heights = terrain.make_tiles(grids)
    site = flat_site(map_radius_m)
    site["steepest_slope"] = terrain.steepest_slope(grids)
    site["highest_terrain_m"] = max(g[3].max() for g in grids)
    spikes = [
        (x0 + i * spacing, y0 + j * spacing, h[i, j])
        for x0, y0, spacing, h, *_ in grids[1:]
        for i, j in zip(*np.nonzero(h > 30.0), strict=True)
    ]
    rng = np.random.default_rng(7)
    met = 0
    for k in range(240):
        azimuth = rng.uniform(0.0, 2 * math.pi)
        across = (
            math.cos(azimuth) * site["track_downrange"] + math.sin(azimuth) * site["track_left"]
        )
        if k % 2:
            x, y, top = spikes[rng.integers(len(spikes))]
            aim = np.array(local_to_mcmf(site, x, y, rng.uniform(0.3, 0.9) * top))
            aim += rng.uniform(-0.3, 0.3) * across
            up = aim / np.linalg.norm(aim)
            down = math.radians(rng.uniform(10.0, 60.0))
            d = math.cos(down) * across - math.sin(down) * up
            origin = aim - rng.uniform(100.0, 600.0) * d
        else:
            x, y = rng.uniform(-450.0, 520.0), rng.uniform(-300.0, 300.0)
            origin = np.array(local_to_mcmf(site, x, y, rng.uniform(30.0, 600.0)))
            up = origin / np.linalg.norm(origin)
            off = math.radians(rng.uniform(0.0, 75.0))
            d = -math.cos(off) * up + math.sin(off) * across
        d /= np.linalg.norm(d)
        reach = 1500.0
        expected = _first_crossing(site, tiles, heights, origin, d, reach, 0.02)
        s = terrain.ray_cast(site, tiles, heights, tuple(origin), tuple(d), reach, 0.01)
        if expected < 0.0:
            assert s == -1.0
        else:
            met += 1
            assert s == pytest.approx(expected, abs=5e-3)
    assert met > 200
