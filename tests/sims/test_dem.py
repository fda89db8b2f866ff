"""Terrain from a DEM file (dynamics/dem.py): a NumPy grid in track coordinates and a GeoTIFF in a
lunar map projection give a tile the heights they hold; craters below the DEM's resolution are
added when asked; a DEM that does not cover its tile is one sentence."""

import math

import numpy as np
import pytest

from dynamics import dem, frames, terrain, terrain_section
from dynamics.constants import MOON_MEAN_RADIUS_M
from sims import cli
from sims.scenarios import scenario
from tests.sims.scenarios import UNDISPERSED_TEXT, closed_loop

TILE = {
    "downrange": ["-4 km", "4 km"],
    "crossrange": ["-3 km", "3 km"],
    "spacing": "50 m",
    "min_crater_diameter": "20 m",
    "crater_density": 0.5,
}


def with_tiles(*tiles):
    d = closed_loop()
    d["terrain"]["tiles"] = list(tiles)
    return scenario.load(d)


def tile_heights(sc):
    """The truth tile's heights and its node coordinates."""
    _, tiles, heights = terrain_section.truth_terrain(sc.site, sc.terrain)
    t = tiles[-1]
    x = t["downrange_min_m"] + t["spacing_m"] * np.arange(t["n_downrange"])
    y = t["crossrange_min_m"] + t["spacing_m"] * np.arange(t["n_crossrange"])
    h = terrain.tile_grids(tiles, heights)[-1][3]
    return np.meshgrid(x, y, indexing="ij"), h


def plane_npz(path, slope_x=0.01, slope_y=-0.02, offset=50.0, cell=20.0):
    xs = np.arange(-5000.0, 5000.0 + cell / 2, cell)
    ys = np.arange(-4000.0, 4000.0 + cell / 2, cell)
    x, y = np.meshgrid(xs, ys, indexing="ij")
    np.savez(
        path,
        heights=offset + slope_x * x + slope_y * y,
        downrange_min=-5000.0,
        crossrange_min=-4000.0,
        spacing=cell,
    )
    return path


def test_a_numpy_grid_gives_the_tile_its_heights(tmp_path):
    """A plane sampled every 20 m, read onto a 50-m tile: the plane at every node (bilinear
    interpolation is exact on a plane)."""
    path = plane_npz(tmp_path / "plane.npz")
    (x, y), h = tile_heights(with_tiles(TILE | {"dem": str(path)}))
    np.testing.assert_allclose(h, 50.0 + 0.01 * x - 0.02 * y, atol=1e-9)


def test_track_coordinates_go_to_latitude_and_longitude_and_back():
    site = frames.make_site(math.radians(60.5), math.radians(-4.6), 0.3, 0.0, MOON_MEAN_RADIUS_M)
    x = np.array([-40e3, 0.0, 3e3, 12e3])
    y = np.array([2e3, -5e3, 0.0, 9e3])
    lon, lat = np.radians(dem.lon_lat_deg(site, x, y))
    for k in range(4):
        p = MOON_MEAN_RADIUS_M * np.array(
            [np.cos(lat[k]) * np.cos(lon[k]), np.cos(lat[k]) * np.sin(lon[k]), np.sin(lat[k])]
        )
        back = frames.track_coordinates(site, p)
        assert back[:2] == pytest.approx((x[k], y[k]), abs=1e-6)


LAT_TS, LON_0, R = 60.5, -4.6, MOON_MEAN_RADIUS_M  # the nominal site's parallel and meridian
Y_SITE = R * math.radians(LAT_TS)


def write_geotiff(path, hole=False):
    """An equirectangular GeoTIFF of the Moon's mean sphere, standard parallel at the site,
    18 km square at 30 m, heights a plane in its projected metres (with a no-data hole at the
    site if asked)."""
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    cell, west, north, n = 30.0, -9000.0, Y_SITE + 9000.0, 600
    gx, gy = np.meshgrid(west + cell * (np.arange(n) + 0.5), north - cell * (np.arange(n) + 0.5))
    band = 100.0 + 0.02 * gx - 0.01 * (gy - Y_SITE)  # rows run south
    if hole:
        band[295:305, 295:305] = -9999.0
    crs = f"+proj=eqc +lat_ts={LAT_TS} +lon_0={LON_0} +R={R} +units=m +no_defs"
    profile = {"driver": "GTiff", "width": n, "height": n, "count": 1, "dtype": "float64"}
    with rasterio.open(
        path,
        "w",
        **profile,
        crs=crs,
        transform=from_origin(west, north, cell, cell),
        nodata=-9999.0,
    ) as ds:
        ds.write(band, 1)
    return path


def test_a_geotiff_in_a_lunar_projection_gives_the_tile_its_heights(tmp_path):
    """Each tile node gets the GeoTIFF's plane at its own projected coordinates (computed here
    from its latitude and longitude by the projection's formulas, x = R cos(lat_ts)
    (lon - lon0), y = R lat); a no-data hole under the tile is one sentence."""
    sc = with_tiles(TILE | {"dem": str(write_geotiff(tmp_path / "site.tif"))})
    (x, y), h = tile_heights(sc)
    site = frames.make_site(
        sc.site.latitude, sc.site.longitude, sc.site.approach_azimuth, 0.0, MOON_MEAN_RADIUS_M
    )
    lon, lat = dem.lon_lat_deg(site, x.ravel(), y.ravel())
    px = R * math.cos(math.radians(LAT_TS)) * np.radians(lon - LON_0)
    py = R * np.radians(lat)
    np.testing.assert_allclose(h.ravel(), 100.0 + 0.02 * px - 0.01 * (py - Y_SITE), atol=1e-6)
    holed = write_geotiff(tmp_path / "holed.tif", hole=True)
    with pytest.raises(scenario.ScenarioError, match="no-data samples under the tile"):
        with_tiles(TILE | {"dem": str(holed)})


def test_craters_below_the_dems_resolution_are_added_when_asked(tmp_path):
    """On a level 100-m DEM, `dem_craters` adds the terrain's craters from the tile's 20 m to
    under two DEM cells (200 m): relief appears, no deeper than such a crater's depth
    (0.196 of 200 m, Pike 1977) plus its rim."""
    path = plane_npz(tmp_path / "level.npz", slope_x=0.0, slope_y=0.0, offset=0.0, cell=100.0)
    _, bare = tile_heights(with_tiles(TILE | {"dem": str(path)}))
    _, cratered = tile_heights(with_tiles(TILE | {"dem": str(path), "dem_craters": True}))
    relief = cratered - bare
    assert np.abs(bare).max() == 0.0 and relief.std() > 0.1
    assert relief.min() > -0.196 * 200.0 and relief.max() < 0.036 * 200.0 * 1.5


def scenario_file(folder, tile):
    """The closed-loop nominal written to folder/dem.toml with one terrain tile."""
    lines = [f"{k} = {v!r}".replace("'", '"') for k, v in tile.items()]
    lines = [line.replace("= True", "= true") for line in lines]
    head, rest = UNDISPERSED_TEXT.split("[[terrain.tiles]]", 1)
    tail = rest[rest.index("[control]") :]
    path = folder / "dem.toml"
    path.write_text(head + "\n".join(["[[terrain.tiles]]", *lines]) + "\n\n" + tail)
    return path


@pytest.mark.parametrize(
    ("tile", "expected"),
    [
        ({"dem": "missing.npz"}, "field 'terrain.tiles.0.dem': "),
        ({"downrange": ["-6 km", "4 km"], "dem": "grid.npz"}, "does not cover the tile"),
        ({"dem_craters": True}, "dem_craters adds craters to a DEM: give the tile a 'dem'"),
    ],
)
def test_a_dem_that_cannot_serve_its_tile_is_one_sentence(tile, expected, tmp_path, capsys):
    plane_npz(tmp_path / "grid.npz")
    path = scenario_file(tmp_path, TILE | tile)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err


def test_a_relative_dem_is_found_beside_its_scenario(tmp_path):
    plane_npz(tmp_path / "grid.npz")
    sc = scenario.load(scenario_file(tmp_path, TILE | {"dem": "grid.npz"}))
    assert sc.terrain.tiles[0].dem == str(tmp_path / "grid.npz")
