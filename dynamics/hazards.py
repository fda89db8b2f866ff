"""Landing hazards below any map's resolution: boulders and fresh small craters, procedurally
placed from the terrain's seed over a fine tile of the truth (`[terrain.hazards]`), and
boulders placed by hand (`[[terrain.features]]` of kind "boulder"). The onboard map never
holds them: they are what a hazard-detection sensor has to see.

- Boulders, cumulative size-frequency a power law: N(>= D) = K D^-b boulders per m^2 (D in m),
  K the density of boulders of 1 m and more. Lunar counts are fitted so: Pajola et al. (2019,
  "Abundance and size-frequency distributions of boulders in Linne crater's ejecta (Moon)",
  Planet. Space Sci. 165, 99-109) fit b = 4.03 (+0.09 / -0.10) to 12,000 boulders of 4.4 m
  and more; Watkins et al. (2019, "Boulder distributions around young, small lunar impact
  craters and implications for regolith production rates and landing site safety", JGR
  Planets 124, doi:10.1029/2019JE005963) fit power laws around young small craters near
  landing sites. The fraction of the ground the boulders of the law cover (their rock
  abundance, what LRO Diviner maps: Bandfield et al. 2011, JGR 116, E00H02) is
  `rock_abundance`; a scenario beyond half the ground is refused.
- Boulder shape: half an ellipsoid, its height `height_ratio` times its diameter (0.5 in
  Golombek & Rapp 1997, "Size-frequency distributions of rocks on Mars and Earth analog
  sites", JGR 102(E2), 4117-4129, the hazard model of the Mars landers' site selection).
- Fresh craters: the equilibrium law of `dynamics.craters` scaled by a density, not degraded
  (Pike's fresh depth 0.196 D and rim 0.036 D): the steep walls an old softened crater no
  longer has.
"""

import functools
import math

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from dynamics import craters
from dynamics.units import Count, Length, Number, PositiveLength, Strict, quantity

BOULDER_DTYPE = np.dtype(
    [
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("diameter_m", np.float64),
        ("height_m", np.float64),
    ],
    align=True,
)

GOLOMBEK_RAPP_HEIGHT_RATIO = 0.5  # boulder height / diameter
MAX_ROCK_ABUNDANCE = 0.5  # of the ground covered by boulders: beyond, no lunar count supports
FRESH_CRATER_REACH_RADII = 1.5  # a fresh crater's bowl, rim and steep inner ejecta
MAX_BOULDERS = 2_000_000  # expected boulders over the field (memory, generation time)
HazardSpacing = quantity("m", "0.2 m", positive=True, high=1.0)


class Hazards(Strict):
    """`[terrain.hazards]`: a fine tile of the truth around the site holding boulders and fresh
    craters (the onboard map does not). Its ground is the finest tile beneath, at `spacing`;
    a boulder narrower than two spacings is not rendered (`min_boulder_diameter` at least)."""

    downrange: tuple[Length, Length]
    crossrange: tuple[Length, Length]
    spacing: HazardSpacing
    boulder_density: Number = Field(ge=0.0)  # K: boulders of 1 m and more per m^2
    boulder_exponent: Number = Field(gt=2.0, le=6.0)  # b of N(>= D) = K D^-b
    min_boulder_diameter: PositiveLength
    max_boulder_diameter: PositiveLength
    boulder_height_ratio: Number = Field(default=GOLOMBEK_RAPP_HEIGHT_RATIO, gt=0.0, le=1.0)
    fresh_crater_density: Number = Field(default=0.0, ge=0.0, le=10.0)  # times the equilibrium
    min_fresh_crater_diameter: PositiveLength = 2.0
    max_fresh_crater_diameter: PositiveLength = 20.0
    seed_offset: Count = Field(default=0, ge=0)  # another draw of the same law

    @property
    def nodes(self):
        """(n_downrange, n_crossrange): the field's grid nodes."""
        return tuple(
            round((hi - lo) / self.spacing) + 1 for lo, hi in (self.downrange, self.crossrange)
        )

    @property
    def area_m2(self):
        return (self.downrange[1] - self.downrange[0]) * (self.crossrange[1] - self.crossrange[0])

    @property
    def rock_abundance(self):
        """Fraction of the ground the boulders of the law cover (their discs, overlaps
        counted twice)."""
        return rock_abundance(
            self.boulder_density,
            self.boulder_exponent,
            self.min_boulder_diameter,
            self.max_boulder_diameter,
        )

    @model_validator(mode="after")
    def _in_range(self):
        for name, (lo, hi) in (("downrange", self.downrange), ("crossrange", self.crossrange)):
            if hi - lo < 2 * self.spacing:
                raise ValueError(f"{name} must span at least two grid spacings, low to high")
        if self.min_boulder_diameter < 2.0 * self.spacing:
            raise ValueError(
                f"min_boulder_diameter ({self.min_boulder_diameter:g} m) must be at least two "
                f"grid spacings ({2 * self.spacing:g} m): a narrower boulder is not rendered"
            )
        if self.max_boulder_diameter <= self.min_boulder_diameter:
            raise ValueError("max_boulder_diameter must be larger than min_boulder_diameter")
        if self.max_fresh_crater_diameter <= self.min_fresh_crater_diameter:
            raise ValueError(
                "max_fresh_crater_diameter must be larger than min_fresh_crater_diameter"
            )
        if self.rock_abundance > MAX_ROCK_ABUNDANCE:
            raise ValueError(
                f"boulder_density {self.boulder_density:g} per m2 with boulder_exponent "
                f"{self.boulder_exponent:g} covers {self.rock_abundance:.0%} of the ground with "
                f"boulders: at most {MAX_ROCK_ABUNDANCE:.0%} (lunar counts reach tens of percent "
                "on fresh ejecta)"
            )
        expected = expected_boulders(
            self.area_m2,
            self.boulder_density,
            self.boulder_exponent,
            self.min_boulder_diameter,
            self.max_boulder_diameter,
        )
        if expected > MAX_BOULDERS:
            raise ValueError(
                f"the field would hold about {expected:.2g} boulders: at most {MAX_BOULDERS:.0e}"
                " (raise 'min_boulder_diameter' or shrink the field)"
            )
        return self


def expected_boulders(area_m2, density, exponent, d_min_m, d_max_m):
    """Expected number of boulders with d_min <= D < d_max in an area."""
    return density * area_m2 * (d_min_m**-exponent - d_max_m**-exponent)


def rock_abundance(density, exponent, d_min_m, d_max_m):
    """Fraction of the ground covered by the discs of boulders d_min <= D < d_max of the law:
    the integral of (pi D^2 / 4) b K D^(-b-1) dD (b > 2)."""
    return (
        math.pi
        / 4.0
        * density
        * exponent
        / (exponent - 2.0)
        * (d_min_m ** (2.0 - exponent) - d_max_m ** (2.0 - exponent))
    )


def sample_boulders(rng, downrange_m, crossrange_m, law, height_ratio):
    """Boulders scattered uniformly over a rectangle ((min, max) bounds each): a Poisson count
    with the law's mean, diameters by the inverse of its cumulative distribution; law is
    (K [per m^2], b, smallest and largest diameter [m])."""
    density, exponent, d_min, d_max = law
    area = (downrange_m[1] - downrange_m[0]) * (crossrange_m[1] - crossrange_m[0])
    n = rng.poisson(expected_boulders(area, density, exponent, d_min, d_max))
    a, b = d_min**-exponent, d_max**-exponent
    diameter = (a - rng.random(n) * (a - b)) ** (-1.0 / exponent)
    boulders = np.zeros(n, BOULDER_DTYPE)
    boulders["downrange_m"] = rng.uniform(*downrange_m, n)
    boulders["crossrange_m"] = rng.uniform(*crossrange_m, n)
    boulders["diameter_m"] = diameter
    boulders["height_m"] = height_ratio * diameter
    return boulders


@njit(cache=True)
def boulder_height_m(boulder, dx_m, dy_m):
    """Height [m] of a boulder (half an ellipsoid) at a horizontal offset from its centre."""
    radius = 0.5 * boulder.diameter_m
    rho2 = (dx_m * dx_m + dy_m * dy_m) / (radius * radius)
    return boulder.height_m * math.sqrt(1.0 - rho2) if rho2 < 1.0 else 0.0


@njit(cache=True)
def render_boulders(heights, downrange_min_m, crossrange_min_m, spacing_m, boulders):
    """Put boulders on a grid of heights, in place: where two overlap the taller shows (one
    rests against the other, neither on top)."""
    nx, ny = heights.shape
    rocks = np.zeros((nx, ny))
    for b in boulders:
        radius = 0.5 * b.diameter_m
        i0 = max(0, math.floor((b.downrange_m - radius - downrange_min_m) / spacing_m))
        i1 = min(nx - 1, math.ceil((b.downrange_m + radius - downrange_min_m) / spacing_m))
        j0 = max(0, math.floor((b.crossrange_m - radius - crossrange_min_m) / spacing_m))
        j1 = min(ny - 1, math.ceil((b.crossrange_m + radius - crossrange_min_m) / spacing_m))
        for i in range(i0, i1 + 1):
            dx = downrange_min_m + i * spacing_m - b.downrange_m
            for j in range(j0, j1 + 1):
                dy = crossrange_min_m + j * spacing_m - b.crossrange_m
                rocks[i, j] = max(rocks[i, j], boulder_height_m(b, dx, dy))
    heights += rocks


@functools.lru_cache(maxsize=4)
def field(terrain_spec):
    """(boulders, fresh craters) of a terrain's hazard field, drawn from the terrain's seed
    (and the field's seed offset), with its placed boulders first; empty without a field."""
    placed = [f for f in terrain_spec.features if f.kind == "boulder"]
    boulders = np.zeros(len(placed), BOULDER_DTYPE)
    for k, f in enumerate(placed):
        boulders[k] = (f.downrange, f.crossrange, f.diameter, f.height)
    spec = terrain_spec.hazards
    if spec is None:
        return boulders, np.zeros(0, craters.CRATER_DTYPE)
    stream = np.random.SeedSequence([terrain_spec.seed, 0x4A2A, spec.seed_offset])
    boulder_seed, crater_seed = stream.spawn(2)
    margin = 0.5 * spec.max_boulder_diameter
    law = (
        spec.boulder_density,
        spec.boulder_exponent,
        spec.min_boulder_diameter,
        spec.max_boulder_diameter,
    )
    drawn = sample_boulders(
        np.random.default_rng(boulder_seed),
        (spec.downrange[0] - margin, spec.downrange[1] + margin),
        (spec.crossrange[0] - margin, spec.crossrange[1] + margin),
        law,
        spec.boulder_height_ratio,
    )
    reach = craters.EJECTA_EXTENT_RADII * spec.max_fresh_crater_diameter / 2
    fresh = craters.sample_population(
        np.random.default_rng(crater_seed),
        (spec.downrange[0] - reach, spec.downrange[1] + reach),
        (spec.crossrange[0] - reach, spec.crossrange[1] + reach),
        spec.min_fresh_crater_diameter,
        spec.max_fresh_crater_diameter,
        spec.fresh_crater_density,
        degradation=(1.0, 1.0),
    )
    return np.concatenate([boulders, drawn]), fresh


def render(spec, base_height, boulders, fresh):
    """(downrange_min, crossrange_min, spacing, heights) of the hazard field: base_height(x, y)
    (the finest tile beneath, on the field's nodes) with the fresh craters and boulders."""
    x0, y0 = spec.downrange[0], spec.crossrange[0]
    nx, ny = spec.nodes
    x = x0 + spec.spacing * np.arange(nx)
    y = y0 + spec.spacing * np.arange(ny)
    h = base_height(x, y)
    craters.render(h, x0, y0, spec.spacing, fresh, 0.0)
    render_boulders(h, x0, y0, spec.spacing, boulders)
    return x0, y0, spec.spacing, h


def feature_at(terrain_spec, downrange_m, crossrange_m, reach_m):
    """What hazard lies under a point (within reach_m of it, a footpad's radius): a dict naming
    the tallest boulder or, failing one, the fresh crater, with its size and place; None on
    bare ground."""
    boulders, fresh = field(terrain_spec)
    if boulders.size:
        gap = np.hypot(
            boulders["downrange_m"] - downrange_m, boulders["crossrange_m"] - crossrange_m
        )
        under = np.flatnonzero(gap < 0.5 * boulders["diameter_m"] + reach_m)
        if under.size:
            b = boulders[under[np.argmax(boulders["height_m"][under])]]
            return _described("boulder", b, height_m=float(b["height_m"]))
    if fresh.size:
        gap = np.hypot(fresh["downrange_m"] - downrange_m, fresh["crossrange_m"] - crossrange_m)
        inside = np.flatnonzero(gap < FRESH_CRATER_REACH_RADII * 0.5 * fresh["diameter_m"])
        if inside.size:
            c = fresh[inside[np.argmax(fresh["diameter_m"][inside])]]
            return _described("fresh crater", c, depth_m=float(c["depth_m"]))
    return None


def _described(feature, record, **size):
    return {
        "feature": feature,
        "diameter_m": float(record["diameter_m"]),
        **size,
        "downrange_m": float(record["downrange_m"]),
        "crossrange_m": float(record["crossrange_m"]),
    }
