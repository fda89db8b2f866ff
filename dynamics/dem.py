"""Terrain heights from a digital elevation model file, sampled onto a terrain tile's grid.

Two formats, told by the file's suffix:
- `.npz`, a grid in the site's track coordinates (`dynamics.frames`): arrays `heights`
  [n_downrange, n_crossrange] (metres above the 1737.4-km mean radius), and scalars
  `downrange_min`, `crossrange_min`, `spacing` (metres);
- `.tif` / `.tiff`, a GeoTIFF (read with rasterio, the `dem` extra): band 1 in metres above
  the mean radius (LOLA's convention), located by its coordinate reference system on the
  Moon, e.g. an equirectangular or polar stereographic projection of the 1737.4-km sphere.
  Each tile node's track coordinates become a latitude and longitude on the Moon (Moon-fixed
  frame) and then the raster's coordinates.

Heights between DEM samples are bilinear. A tile must lie inside the DEM (with no no-data
sample under it): a DEM that does not cover its tile is refused in one sentence, when the
scenario is read. A file is read once per process.
"""

import functools
import math
from pathlib import Path

import numpy as np

MOON_GEOGRAPHIC = "+proj=longlat +R=1737400 +no_defs"  # latitude, longitude on the mean sphere


class DemError(ValueError):
    """A DEM that cannot give a tile its heights; the message is one sentence."""


@functools.lru_cache(maxsize=8)
def tile_heights(site_spec, tile):
    """(heights [n_downrange, n_crossrange] at the nodes of a scenario's terrain tile from
    its `dem`, read-only; the DEM's own cell [m]). Computed once per process: the scenario's
    check (every node, so that `validate` refuses what a run would) and the terrain's build
    share it. site_spec gives the track coordinates' geometry."""
    site = site_spec.on_datum()
    xs = tile.downrange[0] + tile.spacing * np.arange(tile.nodes[0])
    ys = tile.crossrange[0] + tile.spacing * np.arange(tile.nodes[1])
    x, y = np.meshgrid(xs, ys, indexing="ij")
    h, cell = heights_at(tile.dem, site, x.ravel(), y.ravel())
    h = h.reshape(tile.nodes)
    h.flags.writeable = False
    return h, cell


def heights_at(path, site, downrange_m, crossrange_m):
    """(heights [m] at points in the site's track coordinates, the DEM's own cell [m])."""
    if Path(path).suffix == ".npz":
        grid, x0, y0, cell = _npz(path)
        return _bilinear(path, grid, (downrange_m - x0) / cell, (crossrange_m - y0) / cell), cell
    band, to_pixel, cell = _geotiff(path)
    columns, rows = to_pixel(*lon_lat_deg(site, downrange_m, crossrange_m))
    # pixel centres are at half-integer raster coordinates
    h = _bilinear(path, band, rows - 0.5, columns - 0.5)
    if np.isnan(h).any():
        raise DemError(f"{path}: no-data samples under the tile")
    return h, cell


def lon_lat_deg(site, downrange_m, crossrange_m):
    """Longitude and latitude [deg] on the Moon of points in the site's track coordinates:
    the site's up turned toward its downrange axis by downrange / R, then toward its left
    by crossrange / R (the inverse of `frames.track_coordinates`)."""
    r = site["map_radius_m"]
    a, c = np.asarray(downrange_m) / r, np.asarray(crossrange_m) / r
    up, down, left = (np.asarray(site[k]) for k in ("up", "track_downrange", "track_left"))
    p = np.cos(c)[:, None] * (np.cos(a)[:, None] * up + np.sin(a)[:, None] * down)
    p += np.sin(c)[:, None] * left
    return np.degrees(np.arctan2(p[:, 1], p[:, 0])), np.degrees(np.arcsin(p[:, 2]))


@functools.lru_cache(maxsize=4)
def _npz(path):
    try:
        with np.load(path) as f:
            grid = np.asarray(f["heights"], float)
            x0, y0, cell = (float(f[k]) for k in ("downrange_min", "crossrange_min", "spacing"))
    except (OSError, ValueError) as exc:
        raise DemError(f"{path}: not a readable .npz DEM ({exc})") from None
    except KeyError as exc:
        raise DemError(
            f"{path}: a .npz DEM holds heights, downrange_min, crossrange_min and spacing "
            f"(no {exc})"
        ) from None
    if grid.ndim != 2 or min(grid.shape) < 2 or not cell > 0.0 or not np.isfinite(grid).all():
        raise DemError(f"{path}: heights must be a finite 2-D grid with a positive spacing")
    return grid, x0, y0, cell


@functools.lru_cache(maxsize=4)
def _geotiff(path):
    try:
        import rasterio
        from rasterio.crs import CRS
        from rasterio.warp import transform
    except ImportError:
        raise DemError(
            f"{path}: reading a GeoTIFF needs rasterio (pip install -e '.[dem]')"
        ) from None
    try:
        with rasterio.open(path) as ds:
            band = ds.read(1).astype(float)
            crs, affine, nodata = ds.crs, ds.transform, ds.nodata
    except (OSError, rasterio.errors.RasterioError) as exc:
        raise DemError(f"{path}: not a readable GeoTIFF ({exc})") from None
    if crs is None:
        raise DemError(f"{path}: the GeoTIFF has no coordinate reference system")
    if nodata is not None:
        band[band == nodata] = np.nan  # any node next to one has no height
    inverse = ~affine

    def to_pixel(lon, lat):
        """(column, row) raster coordinates of points on the Moon."""
        x, y = (np.asarray(c) for c in transform(CRS.from_proj4(MOON_GEOGRAPHIC), crs, lon, lat))
        return inverse.a * x + inverse.b * y + inverse.c, inverse.d * x + inverse.e * y + inverse.f

    return band, to_pixel, math.hypot(affine.a, affine.b)


def _bilinear(path, grid, u, v):
    """Bilinear heights of a grid at fractional indices (u along axis 0, v along axis 1)."""
    n, m = grid.shape
    if u.min() < -1e-9 or v.min() < -1e-9 or u.max() > n - 1 + 1e-9 or v.max() > m - 1 + 1e-9:
        raise DemError(f"{path}: does not cover the tile (the tile reaches beyond its grid)")
    i = np.clip(np.floor(u).astype(int), 0, n - 2)
    j = np.clip(np.floor(v).astype(int), 0, m - 2)
    fu, fv = u - i, v - j
    return (1 - fu) * ((1 - fv) * grid[i, j] + fv * grid[i, j + 1]) + fu * (
        (1 - fv) * grid[i + 1, j] + fv * grid[i + 1, j + 1]
    )
