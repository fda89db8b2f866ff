"""The `[terrain]` section: tiles of procedural craters or of a DEM's heights, placed craters,
cliffs and boulders, a hazard field (`[terrain.hazards]`: boulders and fresh craters on a fine
tile, `dynamics.hazards`), and what they make: the truth's tiles (generated once per process
for a terrain and site; the hazard field last, finest) and the flight software's onboard map,
which holds only the tiles no finer than its resolution and the features marked on it (never
the hazard field, never a boulder). Not dispersible: every run of a batch flies one terrain.
"""

import functools
import math
from typing import Annotated, ClassVar, Literal

import numpy as np
from pydantic import Field, model_validator

from dynamics import craters, dem, frames, hazards, terrain
from dynamics.constants import MARE_NORMAL_ALBEDO_1064NM, MOON_MEAN_RADIUS_M
from dynamics.hazards import Hazards
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.units import (
    Angle,
    Count,
    Flag,
    Length,
    NonNegativeLength,
    Number,
    PositiveLength,
    Strict,
)

# What one run may ask of the machine; beyond these a scenario is refused before anything is
# allocated (one sentence with the figure).
MAX_TERRAIN_NODES = 50_000_000  # 400 MB of terrain heights
MAX_CRATERS = 2_000_000  # expected craters generated over the tiles


class TerrainTile(Strict):
    """A grid of the terrain in track coordinates: procedural craters (`crater_density` times
    the equilibrium density, from `min_crater_diameter` up), or the heights of a DEM file
    (`dynamics.dem`: a path, relative to the scenario file), with the procedural craters too
    small for the DEM (under two of its cells) added if `dem_craters`. `crater_density` also
    tells the onboard map's error model what craters a DEM tile holds."""

    downrange: tuple[Length, Length]
    crossrange: tuple[Length, Length]
    spacing: PositiveLength
    min_crater_diameter: PositiveLength
    crater_density: Number = Field(default=1.0, ge=0.0)  # times the equilibrium density
    dem: str | None = None
    dem_craters: Flag = False

    @property
    def nodes(self):
        """(n_downrange, n_crossrange): the tile's grid nodes."""
        return tuple(
            round((hi - lo) / self.spacing) + 1 for lo, hi in (self.downrange, self.crossrange)
        )

    @model_validator(mode="after")
    def _ordered(self):
        for name, (lo, hi) in (("downrange", self.downrange), ("crossrange", self.crossrange)):
            if hi - lo < 2 * self.spacing:
                raise ValueError(f"{name} must span at least two grid spacings, low to high")
        if self.dem_craters and self.dem is None:
            raise ValueError("dem_craters adds craters to a DEM: give the tile a 'dem'")
        return self


class CraterFeature(Strict):
    kind: Literal["crater"]
    downrange: Length
    crossrange: Length = 0.0
    diameter: PositiveLength
    depth: PositiveLength  # rim crest to floor
    rim_height: Length = 0.0
    floor_diameter: NonNegativeLength = 0.0  # a flat floor (0: a bowl)
    on_map: Flag = True  # false: in the truth only, a feature the onboard map does not know

    @model_validator(mode="after")
    def _floor_inside(self):
        if self.floor_diameter >= self.diameter:
            raise ValueError("floor_diameter must be smaller than the diameter")
        return self


class ScarpFeature(Strict):
    """A cliff across the terrain: from its top the ground falls by `height` over `width`
    toward `azimuth` (from the downrange axis toward crossrange); straight, or curved with its
    centre `radius` away on the low side (a crater rim: the centre is the crater's)."""

    kind: Literal["scarp"]
    downrange: Length  # a point at the middle of the face
    crossrange: Length = 0.0
    azimuth: Angle = 0.0
    height: PositiveLength
    width: PositiveLength
    radius: NonNegativeLength = 0.0
    on_map: Flag = True  # false: in the truth only, a cliff the onboard map does not know


class BoulderFeature(Strict):
    """A boulder placed by hand on the hazard field (`[terrain.hazards]`): in the truth only,
    as every boulder (half an ellipsoid of its diameter and height)."""

    kind: Literal["boulder"]
    downrange: Length
    crossrange: Length = 0.0
    diameter: PositiveLength
    height: PositiveLength
    on_map: ClassVar[bool] = False  # never: no map holds boulders


Feature = Annotated[CraterFeature | ScarpFeature | BoulderFeature, Field(discriminator="kind")]


class Terrain(Strict):
    seed: Count = Field(ge=0)
    base_height: Length = 0.0  # mean terrain height above the 1737.4 km datum
    albedo: Number = Field(default=MARE_NORMAL_ALBEDO_1064NM, gt=0.0, le=1.0)  # normal, at 1064 nm
    max_crater_diameter: PositiveLength
    tiles: tuple[TerrainTile, ...] = Field(default=(), max_length=16)  # coarsest first
    features: tuple[Feature, ...] = Field(default=(), max_length=10_000)
    hazards: Hazards | None = None  # boulders and fresh craters, the truth's only

    @model_validator(mode="after")
    def _coarsest_first(self):
        spacings = [t.spacing for t in self.tiles]
        if spacings != sorted(spacings, reverse=True):
            raise ValueError("tiles must be listed coarsest first (decreasing spacing)")
        if self.hazards is not None and spacings and self.hazards.spacing >= spacings[-1]:
            raise ValueError(
                f"hazards.spacing ({self.hazards.spacing:g} m) must be finer than every tile's"
                f" ({spacings[-1]:g} m)"
            )
        return self

    @model_validator(mode="after")
    def _boulders_on_the_field(self):
        """A placed boulder lies on the hazard field: the only grid fine enough to hold it."""
        field = self.hazards
        for k, f in enumerate(self.features):
            if f.kind != "boulder":
                continue
            if field is None:
                raise ValueError(
                    f"features.{k}: a boulder lies on the hazard field: give the terrain a"
                    " [terrain.hazards] section around it"
                )
            inside = (
                field.downrange[0] <= f.downrange <= field.downrange[1]
                and field.crossrange[0] <= f.crossrange <= field.crossrange[1]
            )
            if not inside:
                raise ValueError(f"features.{k}: the boulder lies off the hazard field")
            if f.diameter < 2.0 * field.spacing:
                raise ValueError(
                    f"features.{k}: a boulder {f.diameter:g} m wide is under two grid spacings"
                    f" of the hazard field ({2 * field.spacing:g} m): it would not be rendered"
                )
        return self

    @property
    def populations(self):
        """(density scale, smallest diameter, largest diameter) of each tile's crater
        population: a tile adds the craters from its smallest diameter up to its coarser
        neighbour's (the largest: max_crater_diameter); none if its smallest is larger."""
        upper, out = self.max_crater_diameter, []
        for tile in self.tiles:
            smallest = min(tile.min_crater_diameter, upper)  # none, if above the coarser's
            out.append((tile.crater_density, smallest, upper))
            upper = smallest
        return out

    @model_validator(mode="after")
    def _fits_in_memory(self):
        """Grid nodes and expected craters (as `truth_terrain` makes them), in logarithms: a
        tiny spacing or crater diameter must not overflow the estimate."""
        nodes, log_craters = 0.0, []
        for tile, (density, d_min, d_max) in zip(self.tiles, self.populations, strict=True):
            nx = (tile.downrange[1] - tile.downrange[0]) / tile.spacing + 1
            ny = (tile.crossrange[1] - tile.crossrange[0]) / tile.spacing + 1
            nodes += nx * ny
            margin = craters.EJECTA_EXTENT_RADII * d_max / 2
            area = (tile.downrange[1] - tile.downrange[0] + 2 * margin) * (
                tile.crossrange[1] - tile.crossrange[0] + 2 * margin
            )
            if density > 0.0 and d_min < d_max:
                log_craters.append(
                    math.log10(density * craters.TRASK_EQUILIBRIUM_K_PER_M2 * area)
                    - 2.0 * math.log10(d_min)
                )
        if self.hazards is not None:
            nodes += math.prod(self.hazards.nodes)
        if nodes > MAX_TERRAIN_NODES:
            raise ValueError(
                f"the tiles have {nodes:.3g} grid nodes ({nodes * 8 / 2**30:.3g} GiB of heights):"
                f" at most {MAX_TERRAIN_NODES:.0e} (widen 'spacing' or shrink the tiles)"
            )
        if log_craters and max(log_craters) > math.log10(MAX_CRATERS):
            raise ValueError(
                f"a tile would hold about 1e{max(log_craters):.0f} craters: at most "
                f"{MAX_CRATERS:.0e} (raise 'min_crater_diameter' or lower 'crater_density')"
            )
        return self


def check_dems(site_spec, terrain_spec):
    """ValueError naming the first tile whose DEM does not give it its heights."""
    for k, tile in enumerate(terrain_spec.tiles):
        if tile.dem is None:
            continue
        try:
            dem.tile_heights(site_spec, tile)
        except dem.DemError as exc:
            raise ValueError(f"field 'terrain.tiles.{k}.dem': {exc}") from None


@functools.lru_cache(maxsize=4)
def truth_terrain(site_spec, terrain_spec):
    """TruthTerrain of a site and terrain; generated once per process and cached."""
    site = site_spec.on_datum(terrain_spec.albedo, frames.sun_direction(site_spec))
    grids = render_tiles(site_spec, terrain_spec, len(terrain_spec.tiles), on_map_only=False)
    tiles, heights = terrain.make_tiles(grids)
    if terrain_spec.hazards is not None:
        grids.append(hazard_grid(terrain_spec, tiles, heights))
        tiles, heights = terrain.make_tiles(grids)
    site_height, _, _ = terrain.height_and_gradient(tiles, heights, 0.0, 0.0)
    site["origin_mcmf_m"] = (MOON_MEAN_RADIUS_M + site_height) * site["up"]
    site["highest_terrain_m"] = max(float(heights.max(initial=0.0)), 0.0)
    site["steepest_slope"] = terrain.steepest_slope(grids)
    return TruthTerrain(site, tiles, heights)


@functools.lru_cache(maxsize=4)
def steepest_off_the_field(site_spec, terrain_spec):
    """The steepest slope of the truth's tiles but its hazard field (the last): what bounds a
    ray's step over a map that holds no boulders. Once per process, as the truth."""
    tiles, heights = truth_terrain(site_spec, terrain_spec)[1:]
    return terrain.steepest_slope(terrain.tile_grids(tiles[:-1], heights))


def hazard_grid(terrain_spec, tiles, heights):
    """The hazard field's grid (`render_tiles`' form, marked a hazard field): the ground of
    the tiles (tiles, heights) beneath, with the boulders and fresh craters."""
    boulders, fresh = hazards.field(terrain_spec)
    x0, y0, spacing, h = hazards.render(
        terrain_spec.hazards,
        lambda x, y: terrain.heights_on_grid(tiles, heights, x, y),
        boulders,
        fresh,
    )
    return x0, y0, spacing, h, (0.0, 0.0, 0.0), True


@functools.lru_cache(maxsize=4)
def crater_field(terrain_spec):
    """Every tile's crater population, drawn from the terrain's seed (one stream per tile)."""
    seeds = np.random.SeedSequence(terrain_spec.seed).spawn(len(terrain_spec.tiles))
    populations = []
    for tile, seed, (density, d_min, d_max) in zip(
        terrain_spec.tiles, seeds, terrain_spec.populations, strict=True
    ):
        margin = craters.EJECTA_EXTENT_RADII * d_max / 2
        populations.append(
            craters.sample_population(
                np.random.default_rng(seed),
                (tile.downrange[0] - margin, tile.downrange[1] + margin),
                (tile.crossrange[0] - margin, tile.crossrange[1] + margin),
                d_min,
                d_max,
                density,
            )
        )
    return np.concatenate([*populations, np.zeros(0, craters.CRATER_DTYPE)])


def render_tiles(site_spec, terrain_spec, n_tiles, on_map_only):
    """(downrange_min, crossrange_min, spacing, heights, crater population) of the first n_tiles
    tiles: the crater field or the DEM (with the craters below its resolution if asked), and
    the placed features (only those on the onboard map, if on_map_only)."""
    features = [f for f in terrain_spec.features if f.on_map or not on_map_only]
    placed = [f for f in features if f.kind == "crater"]
    bowls = np.zeros(len(placed), craters.CRATER_DTYPE)
    for k, f in enumerate(placed):
        floor = f.floor_diameter / f.diameter
        bowls[k] = (f.downrange, f.crossrange, f.diameter, f.depth, f.rim_height, floor)
    cliffs = [f for f in features if f.kind == "scarp"]
    scarps = np.zeros(len(cliffs), craters.SCARP_DTYPE)
    for k, f in enumerate(cliffs):
        scarps[k] = (f.downrange, f.crossrange, f.azimuth, f.height, f.width, f.radius)
    field = crater_field(terrain_spec)
    grids = []
    for tile, population in zip(
        terrain_spec.tiles[:n_tiles], terrain_spec.populations[:n_tiles], strict=False
    ):
        x0, y0 = tile.downrange[0], tile.crossrange[0]
        if tile.dem is None:
            h = np.full(tile.nodes, terrain_spec.base_height)
            craters.render(h, x0, y0, tile.spacing, field, tile.min_crater_diameter)
        else:
            heights, cell = dem.tile_heights(site_spec, tile)
            h = heights.copy()  # features are rendered into it
            if tile.dem_craters:
                small = field[field["diameter_m"] < 2.0 * cell]
                craters.render(h, x0, y0, tile.spacing, small, tile.min_crater_diameter)
        craters.render(h, x0, y0, tile.spacing, bowls, 0.0)
        craters.render_scarps(h, x0, y0, tile.spacing, scarps)
        grids.append((x0, y0, tile.spacing, h, population))
    return grids


@functools.lru_cache(maxsize=4)
def map_tiles(site_spec, terrain_spec, n_tiles):
    """(tiles, heights) of an onboard map of the first n_tiles tiles that lacks the features
    placed off the map (`on_map = false`)."""
    return terrain.make_tiles(render_tiles(site_spec, terrain_spec, n_tiles, on_map_only=True))


def onboard_map(site_spec, terrain_spec, truth, terrain_model, map_resolution_m):
    """The flight software's terrain (its `[navigation]` `terrain_model` and
    `map_resolution`): 'flat' is a sphere at the site's elevation; 'map' is the truth's tiles
    no finer than the map resolution (the craters of finer tiles are not on board). The error
    it assumes for its heights is the relief of the crater populations it leaves out, rms and
    correlation length (`dynamics.craters.relief_statistics`), and it knows how much of the
    relief it holds a plane over a region leaves: the flight software knows the site's crater
    statistics, not where the small craters are. Placed features are on the map unless
    marked `on_map = false`: its tiles are then rendered without them (a cliff the map does
    not know)."""
    site, tiles, heights = truth
    map_site = site.copy()
    if terrain_model == "flat":
        map_site["map_radius_m"] = float(np.linalg.norm(site["origin_mcmf_m"]))
        keep = 0
    else:
        keep = int(np.sum(tiles["spacing_m"] >= map_resolution_m - 1e-9))
    keep = min(keep, len(terrain_spec.tiles))  # never the hazard field
    map_tiles_, map_heights = tiles[:keep], heights
    if terrain_spec.hazards is not None:  # the ray casts' step: the map has no boulders
        map_site["steepest_slope"] = steepest_off_the_field(site_spec, terrain_spec)
    if keep and not all(f.on_map for f in terrain_spec.features if f.kind != "boulder"):
        map_tiles_, map_heights = map_tiles(site_spec, terrain_spec, keep)
        highest = max(map_site["highest_terrain_m"], float(map_heights.max(initial=0.0)))
        map_site["highest_terrain_m"] = highest  # the ray casts' early miss must hold for both
    populations = terrain_spec.populations
    left_out = craters.relief_statistics(tuple(populations[keep:]))
    held = craters.relief_statistics(tuple(populations[:keep]))
    return OnboardMap(
        map_site,
        map_tiles_,
        map_heights,
        left_out.rms_m,
        left_out.correlation_m,
        held.unseen_m2.copy(),  # writeable like every array the loop takes (one typing)
        held.correlation_m,
    )


def bare_map(truth):
    """The onboard map of a flight without flight software (open loop): the truth's tiles with
    no error model."""
    none = np.zeros_like(terrain.REGION_SIGMAS_M)
    return OnboardMap(*truth, 0.0, 0.0, none, 0.0)
