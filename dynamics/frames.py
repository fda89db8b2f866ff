"""Reference frames of the descent and the transformations between them.

- MCI, Moon-centred inertial: axes aligned with the Moon-fixed frame at the scenario epoch
  (t = 0, powered-descent initiation), z along the spin axis. The truth state lives here.
- MCMF, Moon-centred Moon-fixed: rotates about z at the sidereal rate; terrain lives here.
- Site frame: East-North-Up at the landing site, origin on the terrain at the site; outputs
  (position, velocity, errors) are given here.
- Track coordinates: downrange and crossrange distances [m] along and across the great circle
  through the site in the approach direction (downrange < 0 before the site; crossrange > 0
  to the left, so downrange, crossrange, up is right-handed). The terrain maps are gridded
  in these coordinates, and open-loop thrust directions are given in the matching local
  (downrange, crossrange, up) axes at the lander.

The `[site]` section (`Site`: where the site is, the ground track through it, and the Sun
over it) is read here.
"""

import math
from typing import Annotated

import numpy as np
from numba import njit
from pydantic import Field, field_validator, model_validator

from dynamics import sun, vector
from dynamics.constants import MARE_NORMAL_ALBEDO_1064NM, MOON_MEAN_RADIUS_M
from dynamics.units import Angle, Latitude, Strict

SITE_DTYPE = np.dtype(
    [
        ("origin_mcmf_m", np.float64, (3,)),
        ("east", np.float64, (3,)),
        ("north", np.float64, (3,)),
        ("up", np.float64, (3,)),
        ("track_downrange", np.float64, (3,)),  # ground-track direction at the site
        ("track_left", np.float64, (3,)),
        ("map_radius_m", np.float64),  # radius the track coordinates are measured on
        ("highest_terrain_m", np.float64),  # terrain never rises above this over map_radius_m
        ("steepest_slope", np.float64),  # terrain gradient never exceeds this (dh/dx, unitless)
        ("albedo", np.float64),  # the surface's normal albedo at laser wavelengths (Lambertian)
        ("sun_mcmf", np.float64, (3,)),  # unit vector toward the Sun, held over the descent
    ],
    align=True,
)


def east_north_up(latitude_rad, longitude_rad):
    """Moon-fixed unit vectors (east, north, up) at a latitude and longitude."""
    clat, slat = math.cos(latitude_rad), math.sin(latitude_rad)
    clon, slon = math.cos(longitude_rad), math.sin(longitude_rad)
    up = np.array([clat * clon, clat * slon, slat])
    east = np.array([-slon, clon, 0.0])
    return east, np.cross(up, east), up


def make_site(
    latitude_rad,
    longitude_rad,
    azimuth_rad,
    site_height_m,
    map_radius_m,
    albedo=MARE_NORMAL_ALBEDO_1064NM,
    sun_mcmf=None,
):
    """Site record for a landing site at (latitude, longitude), approached on a ground track of
    the given azimuth (clockwise from north), with the terrain `site_height_m` above the map
    radius and of the given normal albedo, lit by the Sun along `sun_mcmf` (default: 10 deg
    up in the east, `dynamics.sun`).
    """
    east, north, up = east_north_up(latitude_rad, longitude_rad)
    downrange = math.cos(azimuth_rad) * north + math.sin(azimuth_rad) * east
    if sun_mcmf is None:
        sun_mcmf = sun.direction_from_horizon(
            east, north, up, sun.DEFAULT_ELEVATION_RAD, sun.DEFAULT_AZIMUTH_RAD
        )
    site = np.zeros(1, SITE_DTYPE)[0]
    site["origin_mcmf_m"] = (map_radius_m + site_height_m) * up
    site["east"], site["north"], site["up"] = east, north, up
    site["track_downrange"] = downrange
    site["track_left"] = np.cross(up, downrange)
    site["map_radius_m"] = map_radius_m
    site["albedo"] = albedo
    site["sun_mcmf"] = sun_mcmf
    return site


@njit(cache=True)
def mci_to_mcmf(r_mci, t_s, rotation_rate_radps):
    """Components in the Moon-fixed frame of an MCI vector at time t_s after the epoch."""
    a = rotation_rate_radps * t_s
    c, s = math.cos(a), math.sin(a)
    return (c * r_mci[0] + s * r_mci[1], -s * r_mci[0] + c * r_mci[1], r_mci[2])


@njit(cache=True)
def mcmf_to_mci(r_mcmf, t_s, rotation_rate_radps):
    return mci_to_mcmf(r_mcmf, -t_s, rotation_rate_radps)


@njit(cache=True)
def mci_to_mcmf_quaternion(t_s, rotation_rate_radps):
    """q_mci_to_mcmf at t_s: a rotation of -omega t about z."""
    half = -0.5 * rotation_rate_radps * t_s
    return (math.cos(half), 0.0, 0.0, math.sin(half))


@njit(cache=True)
def surface_relative_velocity_mcmf(r_mci, v_mci, t_s, rotation_rate_radps):
    """Velocity relative to the rotating Moon, in Moon-fixed components [m/s]."""
    w = (0.0, 0.0, rotation_rate_radps)
    v_rel = vector.sub(v_mci, vector.cross(w, r_mci))
    return mci_to_mcmf(v_rel, t_s, rotation_rate_radps)


# Within 1e-2 rad of arc of the site (17 km) the arc functions of the track coordinates are
# summed as series (the first term left out is below 1e-22 relative): most terrain look-ups
# (rangefinder rays, probes, touchdown) are there, and the series cost a fraction of atan2/asin.
SERIES_LIMIT_RAD = 1e-2


@njit(cache=True, inline="always")
def _atan2(y, x):
    if x > 0.0 and abs(y) < SERIES_LIMIT_RAD * x:
        u = y / x
        u2 = u * u
        return u * (1.0 - u2 * (1.0 / 3.0 - u2 * (1.0 / 5.0 - u2 * (1.0 / 7.0 - u2 / 9.0))))
    return math.atan2(y, x)


@njit(cache=True, inline="always")
def _asin(x):
    if abs(x) < SERIES_LIMIT_RAD:
        x2 = x * x
        return x * (
            1.0 + x2 * (1.0 / 6.0 + x2 * (3.0 / 40.0 + x2 * (5.0 / 112.0 + x2 * 35.0 / 1152.0)))
        )
    return math.asin(max(-1.0, min(1.0, x)))


@njit(cache=True)
def track_coordinates(site, r_mcmf):
    """(downrange_m, crossrange_m, radius_m) of a Moon-fixed position."""
    r = vector.norm(r_mcmf)
    along = vector.dot(r_mcmf, vector.load(site.track_downrange, 0))
    radial = vector.dot(r_mcmf, vector.load(site.up, 0))
    left = vector.dot(r_mcmf, vector.load(site.track_left, 0))
    downrange = site.map_radius_m * _atan2(along, radial)
    crossrange = site.map_radius_m * _asin(left / r)
    return downrange, crossrange, r


@njit(cache=True)
def track_point(site, downrange_m, crossrange_m, radius_m):
    """The Moon-fixed position of track coordinates at a radius (`track_coordinates`
    inverted): the arc downrange along the site's track, then crossrange toward its left."""
    lam = downrange_m / site.map_radius_m
    phi = crossrange_m / site.map_radius_m
    c = radius_m * math.cos(phi)
    return vector.add(
        vector.add(
            vector.scale(vector.load(site.track_downrange, 0), c * math.sin(lam)),
            vector.scale(vector.load(site.up, 0), c * math.cos(lam)),
        ),
        vector.scale(vector.load(site.track_left, 0), radius_m * math.sin(phi)),
    )


@njit(cache=True)
def track_coordinates_gradient(site, r_mcmf):
    """Gradients of downrange and crossrange [m] (`track_coordinates`) with respect to a
    Moon-fixed position, MCMF components: d atan2(a, p) = (p grad a - a grad p) / (a^2 + p^2)
    and d asin(l / r) = (grad l / r - l r_vec / r^3) / sqrt(1 - (l / r)^2)."""
    d_site = vector.load(site.track_downrange, 0)
    up_site = vector.load(site.up, 0)
    left_site = vector.load(site.track_left, 0)
    along = vector.dot(r_mcmf, d_site)
    radial = vector.dot(r_mcmf, up_site)
    left = vector.dot(r_mcmf, left_site)
    r = vector.norm(r_mcmf)
    g_down = vector.scale(
        vector.sub(vector.scale(d_site, radial), vector.scale(up_site, along)),
        site.map_radius_m / (along * along + radial * radial),
    )
    g_cross = vector.scale(
        vector.sub(vector.scale(left_site, 1.0 / r), vector.scale(r_mcmf, left / r**3)),
        site.map_radius_m / math.sqrt(max(1.0 - (left / r) ** 2, 1e-12)),
    )
    return g_down, g_cross


@njit(cache=True)
def local_track_axes(site, r_mcmf):
    """Unit (downrange, crossrange, up) axes at a Moon-fixed position, in MCMF components."""
    up = vector.unit(r_mcmf)
    along = vector.dot(r_mcmf, vector.load(site.track_downrange, 0))
    radial = vector.dot(r_mcmf, vector.load(site.up, 0))
    # the site's track direction turned by the arc lam = atan2(along, radial), scaled by
    # hypot(along, radial): cos(lam) d_site - sin(lam) up_site (only its direction is used)
    d = vector.sub(
        vector.scale(vector.load(site.track_downrange, 0), radial),
        vector.scale(vector.load(site.up, 0), along),
    )
    left = vector.unit(vector.cross(up, d))
    downrange = vector.cross(left, up)
    return downrange, left, up


@njit(cache=True)
def to_site_enu(site, v_mcmf):
    """Components of a Moon-fixed vector along the site's East, North, Up axes."""
    return (
        vector.dot(v_mcmf, vector.load(site.east, 0)),
        vector.dot(v_mcmf, vector.load(site.north, 0)),
        vector.dot(v_mcmf, vector.load(site.up, 0)),
    )


@njit(cache=True)
def site_position_enu(site, r_mcmf):
    """Position relative to the site origin, in site ENU components [m]."""
    return to_site_enu(site, vector.sub(r_mcmf, vector.load(site.origin_mcmf_m, 0)))


class Site(Strict):
    """The landing site, and where the Sun stands over it: from the epoch of the landing (UTC,
    ISO 8601) or given directly (elevation, azimuth clockwise from north); by default 10 deg
    in the east, a morning landing (`dynamics.sun`)."""

    latitude: Latitude  # within +-90 deg
    longitude: Angle
    approach_azimuth: Angle  # heading of the ground track at the site, clockwise from north
    epoch: str | None = None
    sun_elevation: Annotated[Angle, Field(ge=-math.pi / 2, le=math.pi / 2)] | None = None
    sun_azimuth: Angle | None = None

    @field_validator("epoch")
    @classmethod
    def _an_epoch(cls, value):
        from astropy.time import Time

        if value is None:
            return value
        try:
            Time(value, scale="utc")
        except ValueError:
            raise ValueError(
                f"{value!r} is not a UTC epoch (ISO 8601, e.g. '1969-07-20T20:17:40')"
            ) from None
        return value

    @model_validator(mode="after")
    def _one_sun(self):
        if self.epoch is not None and (self.sun_elevation, self.sun_azimuth) != (None, None):
            raise ValueError("give the Sun by 'epoch' or by 'sun_elevation' and 'sun_azimuth'")
        return self

    def on_datum(self, albedo=MARE_NORMAL_ALBEDO_1064NM, sun_mcmf=None):
        """Its site record on the mean-radius datum (`make_site`): the geometry of the track
        coordinates, with the ground's albedo and the Sun given (the terrain sets its
        height)."""
        return make_site(
            self.latitude,
            self.longitude,
            self.approach_azimuth,
            0.0,
            MOON_MEAN_RADIUS_M,
            albedo,
            sun_mcmf,
        )


def sun_direction(site_spec):
    """Moon-fixed unit vector toward the Sun of a `[site]` section (`dynamics.sun`)."""
    if site_spec.epoch is not None:
        return sun.direction_at_epoch(site_spec.epoch)
    east, north, up = east_north_up(site_spec.latitude, site_spec.longitude)
    elevation, azimuth = site_spec.sun_elevation, site_spec.sun_azimuth
    return sun.direction_from_horizon(
        east,
        north,
        up,
        sun.DEFAULT_ELEVATION_RAD if elevation is None else elevation,
        sun.DEFAULT_AZIMUTH_RAD if azimuth is None else azimuth,
    )
