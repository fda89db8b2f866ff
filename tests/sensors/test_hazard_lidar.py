"""The hazard lidar's safety map (`sensors.hazard_lidar`): a plane's slope comes out within the
bound its range noise sets, a boulder is flagged, the site recommended over a field of known
hazards is safe in the truth, and a footprint or cell that cannot work is one sentence."""

import math

import numpy as np
import pytest

from dynamics import hazards, terrain, terrain_section, touchdown
from sensors import bus, hazard_lidar
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop, on_a_hazard_field, upright_pose

SENSOR = {
    "kind": "hazard_lidar",
    "rate": "0.5 Hz",
    "boresight": [0, 0, -1],
    "field_of_view": "30 deg",
    "pixels": 128,
    "min_range": "50 m",
    "max_range": "70 m",
    "cell": "0.3 m",
    "footprint_diameter": "4 m",
    "max_slope": "8 deg",
    "leg_clearance": "0.25 m",
    "laser_power": "1 kW",
    "receiver_aperture": "50 mm",
    "optics_transmission": 0.7,
    "sensitivity": "5 nW",
    "noise": "0.03 m",
    "noise_at_threshold": "1 m",
    "ray_step": "0.05 m",
}
SPEC = hazard_lidar.pack(hazard_lidar.Spec.model_validate(SENSOR))
CELL = 0.3
RADIUS = 2.0


def disc_cells(centre):
    """Offsets (x, y) [m] of the grid cells within the footprint of a site at a cell centre."""
    reach = int(RADIUS / CELL) + 1
    k = np.arange(-reach, reach + 1) * CELL
    x, y = np.meshgrid(k, k, indexing="ij")
    inside = x**2 + y**2 <= RADIUS**2
    return x[inside], y[inside]


def test_a_planes_slope_within_the_bound_its_noise_sets():
    """A plane tilted 5 deg, heights with 3-cm noise: over 400 noise draws the fitted tilt's
    rms error is the least-squares bound sigma / sqrt(sum (x - mean)^2) (times d tilt / d b =
    cos^2 of the tilt), within 10 %; each error within 4.5 of it; the roughness seen is the
    noise's largest deviation, not a hazard; the margin keeps 3 sigma of slope and height."""
    tilt = math.radians(5.0)
    sigma = 0.03
    x, _ = disc_cells(0)
    bound = sigma / math.sqrt(np.sum((x - x.mean()) ** 2)) * math.cos(tilt) ** 2
    n = 41
    i, _ = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    plane = math.tan(tilt) * (i - 20) * CELL
    rng = np.random.default_rng(0)
    errors, rough = [], []
    for _ in range(400):
        grid = plane + sigma * rng.standard_normal((n, n))
        seen, fitted, roughness, _ = hazard_lidar.site_plane(grid, CELL, (20.0, 20.0), RADIUS)
        assert seen == 1.0
        errors.append(fitted - tilt)
        rough.append(roughness)
    errors = np.array(errors)
    assert np.sqrt(np.mean(errors**2)) == pytest.approx(bound, rel=0.1)
    assert np.abs(errors).max() < 4.5 * bound
    assert max(rough) < 5 * sigma  # 140 cells: their largest of 140 normal deviations
    spread = np.sum((x - x.mean()) ** 2)
    margin = hazard_lidar.margin(SPEC, tilt, max(rough), spread, sigma)
    assert margin > 0.0  # 5 deg under an 8-deg limit: safe
    # the margin keeps three sigma of the slope: a site two sigma under the limit is not safe,
    # four under is
    limit, slope_sigma = math.radians(8.0), sigma / math.sqrt(spread)
    assert hazard_lidar.margin(SPEC, limit - 2 * slope_sigma, 0.0, spread, sigma) < 0.0
    assert hazard_lidar.margin(SPEC, limit - 4 * slope_sigma, 0.0, spread, sigma) > 0.0


def test_the_elevation_map_keeps_each_cells_highest_point():
    """Returns from a rock's top and from the ground beside it in one cell: the cell holds the
    top (what a leg or the body meets); cells without a return are unknown (NaN); the grid
    spans the points from the lowest corner, cell centres half a cell in."""
    points = np.array(
        [
            [0.05, 0.05, -60.0],  # ground, cell (0, 0)
            [0.20, 0.10, -59.6],  # a rock's top, the same cell
            [0.25, 0.02, -59.9],  # its flank, the same cell
            [0.95, 0.65, -60.0],  # ground, cell (3, 2)
            [np.nan, np.nan, np.nan],  # a dropout
        ]
    )
    grid, x0, y0 = hazard_lidar.elevation_map(points, 0.3)
    assert grid.shape == (4, 3) and (x0, y0) == pytest.approx((0.2, 0.17))
    assert grid[0, 0] == -59.6 and grid[3, 2] == -60.0
    assert np.isnan(grid).sum() == 10


def test_a_boulder_is_flagged_and_avoided():
    """A 0.5-m boulder (1 m wide) on level ground: the site over it has that roughness and no
    margin; the site recommended keeps the whole footprint off it and is the nearest such to
    the aim."""
    n = 101
    grid = np.zeros((n, n))
    boulder = np.zeros(1, hazards.BOULDER_DTYPE)
    boulder[0] = (50 * CELL, 50 * CELL, 1.0, 0.5)
    hazards.render_boulders(grid, 0.0, 0.0, CELL, boulder)
    _, tilt, rough, spread = hazard_lidar.site_plane(grid, CELL, (50.0, 50.0), RADIUS)
    assert rough > 0.4
    assert hazard_lidar.margin(SPEC, tilt, rough, spread, 0.03) < 0.0
    aim = (50 * CELL, 50 * CELL)
    sites = hazard_lidar.judge_sites(SPEC, grid, (0.0, 0.0), 0.03)
    x, y, margin, _, _, safe = hazard_lidar.recommend(SPEC, sites, aim)
    gap = math.hypot(x - aim[0], y - aim[1])
    assert margin > 0.0 and 0.0 < safe < 1.0
    assert RADIUS + 0.5 - 1e-9 <= gap <= RADIUS + 0.5 + 2 * 0.5  # off it, by at most a site step


def safe_in_the_truth(truth, boulders, x, y):
    """Whether the nominal lander set down at (x, y), at any of 12 headings, rests on the true
    ground within the touchdown slope limit (12 deg, its pads' support plane) with no boulder
    under its body taller than the body's clearance (0.9 m above the pads)."""
    for heading in np.radians(np.arange(0, 90, 7.5)):
        ground = []
        for k in range(4):
            a = heading + k * math.pi / 2
            px, py = 1.3 * math.cos(a), 1.3 * math.sin(a)
            h = terrain.height_and_gradient(truth.tiles, truth.heights, x + px, y + py)[0]
            ground.append((px, py, h))
        if touchdown.support_tilt(np.array(ground)) > math.radians(12.0):
            return False
    gap = np.hypot(boulders["downrange_m"] - x, boulders["crossrange_m"] - y)
    return not np.any(boulders["height_m"][gap < 1.3] > 0.9)


def test_the_site_recommended_over_a_boulder_field_is_safe_in_the_truth():
    """A field with a rock abundance of 12 % (boulders of 0.3 m and more) and fresh craters:
    from 60 m over ten points the site recommended, placed by the image's own geometry, is
    safe in the truth (the support plane of the pads, the boulders drawn); straight over a
    placed 1.5-m boulder it is off the boulder."""
    sc = on_a_hazard_field("30 m", "0.1 m", boulder_density=0.007, fresh_crater_density=1.0)
    assert sc.terrain.hazards.rock_abundance == pytest.approx(0.12, abs=0.01)
    state = np.zeros(1, bus.CHANNEL_STATE_DTYPE)[0]
    state["stream"] = (1, 2, 3, 4)
    state["performance"] = 1.0
    out = np.zeros(1, bus.SAMPLE_DTYPE)[0]
    truth = terrain_section.truth_terrain(sc.site, sc.terrain)
    boulders, _ = hazards.field(sc.terrain)
    rng = np.random.default_rng(5)
    for x, y in rng.uniform(-8.0, 8.0, (10, 2)):
        hazard_lidar.sample(SPEC, upright_pose(truth.site, x, y, 60.0), truth, state, out)
        assert out["valid"] and out["y"][6] > 0.99  # every pixel returns at 60 m
        site = (x + out["y"][0], y + out["y"][1])
        assert out["y"][2] > 0.0 and safe_in_the_truth(truth, boulders, *site), (x, y, site)
    rock = {"kind": "boulder", "downrange": "0 m", "diameter": "1.5 m", "height": "0.75 m"}
    placed = on_a_hazard_field("30 m", "0.1 m", [rock])
    truth = terrain_section.truth_terrain(placed.site, placed.terrain)
    hazard_lidar.sample(SPEC, upright_pose(truth.site, 0.0, 0.0, 60.0), truth, state, out)
    # off it by the footprint's radius and the boulder's, to within a cell (the map's grain)
    assert math.hypot(out["y"][0], out["y"][1]) >= RADIUS + 0.75 - CELL
    assert out["y"][5] > 0.9  # the rest of the level ground is safe


def test_a_footprint_wider_than_the_view_or_a_cell_finer_than_a_pixel_is_one_sentence():
    sensors = dict(closed_loop()["sensors"])
    for fields, words in (
        ({"footprint_diameter": "30 m"}, "footprint_diameter (30 m) must be smaller than the"),
        ({"cell": "0.1 m"}, "cell (0.1 m) must be at least a pixel's width"),
    ):
        bad = {**sensors, "hazard_lidar": {**SENSOR, **fields}}
        with pytest.raises(scenario.ScenarioError) as err:
            scenario.parse(closed_loop(sensors=bad), "lidar.toml")
        message = str(err.value)
        assert "sensors.hazard_lidar" in message and words in message, message
        assert message.count("\n") == 0
