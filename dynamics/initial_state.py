"""The state the descent starts from (the `[initial]` section): at PDI, periapsis of a descent
orbit whose ground track runs through the site; from classical elements; or relative to the
site (a later start, the high gate, say); then offset along the local (downrange, crossrange,
up) axes and in attitude, which is how campaigns disperse it (`DISPERSIBLE`, read back from
the packed run's PDI state).
"""

import math

import numpy as np
from pydantic import Field, model_validator

from dynamics import frames, orbit, quaternion
from dynamics.constants import MOON_GM_M3PS2, MOON_MEAN_RADIUS_M, MOON_ROTATION_RATE_RADPS
from dynamics.units import (
    Angle,
    Dispersible,
    Length,
    LengthVector,
    Number,
    PositiveLength,
    SpeedVector,
    Strict,
    vector,
)

AngleVector = vector("rad", "0.5 deg")


class DescentOrbit(Strict):
    """PDI at periapsis of a descent orbit whose ground track runs through the site."""

    periapsis_altitude: PositiveLength
    apoapsis_altitude: PositiveLength
    downrange_to_site: PositiveLength
    crossrange: Length = 0.0  # PDI offset to the left of the track through the site

    @model_validator(mode="after")
    def _apoapsis_above_periapsis(self):
        if self.apoapsis_altitude < self.periapsis_altitude:
            raise ValueError("apoapsis_altitude must not be below periapsis_altitude")
        return self


class Elements(Strict):
    """Classical elements of the PDI state, Moon-centred inertial frame at the epoch."""

    semi_major_axis: PositiveLength
    eccentricity: Number = Field(ge=0.0, lt=1.0)
    inclination: Angle
    raan: Angle
    argument_of_periapsis: Angle
    true_anomaly: Angle


class SiteRelative(Strict):
    """A state given relative to the landing site: the position (downrange, crossrange along
    the ground, height above the site), the surface-relative velocity along the local
    (downrange, crossrange, up) axes there. A descent that starts later than PDI (at the high
    gate, say)."""

    position: LengthVector
    velocity: SpeedVector


class Initial(Strict):
    descent_orbit: DescentOrbit | None = None
    elements: Elements | None = None
    site_relative: SiteRelative | None = None
    # Offsets from that state, mostly for dispersing it: position and velocity along the
    # local (downrange, crossrange, up) axes at PDI, attitude as a rotation vector in body axes.
    position_offset: LengthVector = (0.0, 0.0, 0.0)
    velocity_offset: SpeedVector = (0.0, 0.0, 0.0)
    attitude_offset: AngleVector = (0.0, 0.0, 0.0)

    @model_validator(mode="after")
    def _exactly_one(self):
        given = (self.descent_orbit, self.elements, self.site_relative)
        if sum(g is not None for g in given) != 1:
            raise ValueError("give exactly one of 'descent_orbit', 'elements' or 'site_relative'")
        return self


def pdi_axes(site, r_mci):
    """3x3 matrix whose columns are the local (downrange, crossrange, up) axes at the PDI
    position, in MCI (= MCMF at t = 0)."""
    return np.array(frames.local_track_axes(site, tuple(np.asarray(r_mci, float)))).T


def over_the_ground(site, downrange_m, crossrange_m):
    """Unit vector (MCMF) from the Moon's centre to the point downrange_m along the site's
    ground track and crossrange_m to its left, along the datum sphere."""
    theta = downrange_m / MOON_MEAN_RADIUS_M
    phi = crossrange_m / MOON_MEAN_RADIUS_M
    up, along, left = site["up"], site["track_downrange"], site["track_left"]
    position = math.cos(phi) * (math.cos(theta) * up + math.sin(theta) * along)
    return position + math.sin(phi) * left


def site_relative_state(state, site, omega):
    """(r_mci, v_mci) at t = 0 of a state given relative to the site (`SiteRelative`), the
    Moon turning at omega [rad/s]."""
    downrange, crossrange, height = state.position
    up = over_the_ground(site, downrange, crossrange)
    r = (np.linalg.norm(site["origin_mcmf_m"]) + height) * up
    axes = pdi_axes(site, r)  # MCI = MCMF at t = 0
    return r, axes @ np.asarray(state.velocity) + np.cross([0.0, 0.0, omega], r)


def pdi_state(initial, site, rotating):
    """(r_mci, v_mci) at PDI of an `[initial]` section, before its offsets (MCI = MCMF at
    t = 0); rotating: whether the Moon turns (`[moon] rotation`)."""
    if initial.elements is not None:
        el = initial.elements
        return orbit.state_from_elements(
            el.semi_major_axis,
            el.eccentricity,
            el.inclination,
            el.raan,
            el.argument_of_periapsis,
            el.true_anomaly,
            MOON_GM_M3PS2,
        )
    if initial.site_relative is not None:
        omega = MOON_ROTATION_RATE_RADPS if rotating else 0.0
        return site_relative_state(initial.site_relative, site, omega)
    d = initial.descent_orbit
    position = over_the_ground(site, -d.downrange_to_site, d.crossrange)
    left = site["track_left"]
    direction = np.cross(left, position)
    return orbit.descent_orbit_pdi_state(
        MOON_MEAN_RADIUS_M + d.periapsis_altitude,
        MOON_MEAN_RADIUS_M + d.apoapsis_altitude,
        position / np.linalg.norm(position),
        direction / np.linalg.norm(direction),
        MOON_GM_M3PS2,
    )


def _offsets(m):
    """(position, velocity) of the packed run's PDI state relative to its orbit's, in the
    local (downrange, crossrange, up) axes."""
    axes = pdi_axes(m.terrain.site, m.pdi_orbit_mci[0:3])
    return axes.T @ (m.x0[0:3] - m.pdi_orbit_mci[0:3]), axes.T @ (m.x0[3:6] - m.pdi_orbit_mci[3:6])


def _attitude_offset(m):
    q = quaternion.multiply(quaternion.conjugate(tuple(m.pdi_attitude_base)), tuple(m.x0[6:10]))
    return quaternion.to_rotation_vector(q)


def _pdi_track(m):
    omega = m.gravity.params["rotation_rate_radps"]
    r_mcmf = frames.mci_to_mcmf(tuple(m.pdi_orbit_mci[0:3]), 0.0, omega)
    return frames.track_coordinates(m.terrain.site, r_mcmf)


def _floats(values):
    return tuple(float(v) for v in values)


# Read back from the packed run: its PDI state (`m.x0`), the orbit's state it was offset from
# (`m.pdi_orbit_mci`), its attitude before the offset (`m.pdi_attitude_base`) and the site.
DISPERSIBLE = {
    "descent_orbit.periapsis_altitude": Dispersible(
        "m",
        lambda m: float(np.linalg.norm(m.pdi_orbit_mci[0:3]) - m.terrain.site["map_radius_m"]),
    ),
    "descent_orbit.downrange_to_site": Dispersible("m", lambda m: -_pdi_track(m)[0]),
    "descent_orbit.crossrange": Dispersible("m", lambda m: _pdi_track(m)[1]),
    "position_offset": Dispersible("m", lambda m: _floats(_offsets(m)[0])),
    "velocity_offset": Dispersible("m/s", lambda m: _floats(_offsets(m)[1])),
    "attitude_offset": Dispersible("rad", _attitude_offset),
}
