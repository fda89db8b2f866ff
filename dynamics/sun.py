"""Where the Sun is, seen from the landing site: a unit vector in the Moon-fixed frame, from an
epoch or from an elevation and azimuth given directly.

From an epoch: the Sun's position relative to the Moon's centre from astropy's built-in
ephemeris (no download; arcsecond-class for the Sun, far below what lighting needs), in ICRF
axes, turned into the Moon-fixed frame by the IAU rotation model of the Moon (Archinal et al.
2011, "Report of the IAU Working Group on Cartographic Coordinates and Rotational Elements:
2009", Celest. Mech. Dyn. Astron. 109, 101-135, Table 2, with its 13 periodic terms): the
frame is the mean-Earth/polar-axis one to within the ~0.01 deg that separates it from the
principal-axis frame. Over a descent of minutes the Sun moves 0.5 deg an hour in that frame:
the scenario's direction is held.
"""

import math

import numpy as np

# Archinal et al. (2011), Table 2, Moon: E_k = E0_k + RATE_k d [deg], d days (TDB) from J2000.
_E0_DEG = np.array(
    [125.045, 250.089, 260.008, 176.625, 357.529, 311.589, 134.963, 276.617, 34.226, 15.134,
     119.743, 239.961, 25.053]
)  # fmt: skip
_E_RATE_DEG = np.array(
    [-0.0529921, -0.1059842, 13.0120009, 13.3407154, 0.9856003, 26.4057084, 13.0649930,
     0.3287146, 1.7484877, -0.1589763, 0.0036096, 0.1643573, 12.9590088]
)  # fmt: skip
_RA_SIN_DEG = np.array(
    [-3.8787, -0.1204, 0.0700, -0.0172, 0.0, 0.0072, 0.0, 0.0, 0.0, -0.0052, 0.0, 0.0, 0.0043]
)  # fmt: skip
_DEC_COS_DEG = np.array(
    [1.5419, 0.0239, -0.0278, 0.0068, 0.0, -0.0029, 0.0009, 0.0, 0.0, 0.0008, 0.0, 0.0, -0.0009]
)  # fmt: skip
_W_SIN_DEG = np.array(
    [3.5610, 0.1208, -0.0642, 0.0158, 0.0252, -0.0066, -0.0047, -0.0046, 0.0028, 0.0052, 0.0040,
     0.0019, -0.0044]
)  # fmt: skip

DEFAULT_ELEVATION_RAD = math.radians(10.0)  # a typical landing's: long shadows, lit slopes
DEFAULT_AZIMUTH_RAD = math.radians(90.0)  # from the east: local morning


def moon_fixed_rotation(epoch):
    """Matrix turning ICRF components into Moon-fixed ones at an astropy Time:
    Rz(W) Rx(90 deg - delta0) Rz(90 deg + alpha0) (the IAU convention)."""
    d = epoch.tdb.jd - 2451545.0
    t = d / 36525.0
    e = np.radians(_E0_DEG + _E_RATE_DEG * d)
    alpha0 = math.radians(269.9949 + 0.0031 * t + _RA_SIN_DEG @ np.sin(e))
    delta0 = math.radians(66.5392 + 0.0130 * t + _DEC_COS_DEG @ np.cos(e))
    w = math.radians(38.3213 + 13.17635815 * d - 1.4e-12 * d * d + _W_SIN_DEG @ np.sin(e))
    return _rz(w) @ _rx(math.pi / 2 - delta0) @ _rz(math.pi / 2 + alpha0)


def direction_at_epoch(epoch_utc):
    """Unit vector from the Moon's centre to the Sun, Moon-fixed axes, at an ISO UTC epoch."""
    from astropy.coordinates import get_body_barycentric
    from astropy.time import Time

    epoch = Time(epoch_utc, scale="utc")
    with _builtin_ephemeris():
        sun = get_body_barycentric("sun", epoch) - get_body_barycentric("moon", epoch)
    icrf = np.array(sun.xyz.to_value("m"))
    return moon_fixed_rotation(epoch) @ (icrf / np.linalg.norm(icrf))


def direction_from_horizon(east, north, up, elevation_rad, azimuth_rad):
    """Unit vector toward a Sun at the given elevation and azimuth (clockwise from north) in the
    local axes of a site."""
    horizontal = math.cos(azimuth_rad) * north + math.sin(azimuth_rad) * east
    return math.cos(elevation_rad) * horizontal + math.sin(elevation_rad) * up


def elevation_rad(sun_mcmf, up):
    """Elevation [rad] of the Sun above the local horizontal of unit vector `up`."""
    return math.asin(max(-1.0, min(1.0, float(np.dot(sun_mcmf, up)))))


def _builtin_ephemeris():
    from astropy.coordinates import solar_system_ephemeris

    return solar_system_ephemeris.set("builtin")


def _rz(angle):
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])


def _rx(angle):
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]])
