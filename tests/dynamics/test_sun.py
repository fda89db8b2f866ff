"""The Sun over a landing site from an epoch (dynamics/sun.py): published sun elevations of
landings, and the direction given by elevation and azimuth."""

import math

import numpy as np
import pytest

from dynamics import frames, sun
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop


@pytest.mark.parametrize(
    ("epoch", "latitude_deg", "longitude_deg", "elevation_deg"),
    [
        # Apollo 11 Mission Report (NASA MSC-00171, 1969): landed 20:17:40 UTC at 0.674 N,
        # 23.473 E, sun elevation 10.8 deg
        ("1969-07-20T20:17:40", 0.67408, 23.47297, 10.8),
        # Apollo 12 Mission Report (NASA MSC-01855, 1970): landed 06:54:35 UTC at 3.012 S,
        # 23.422 W, sun elevation 5.1 deg
        ("1969-11-19T06:54:35", -3.01239, -23.42157, 5.1),
    ],
)
def test_sun_elevation_at_apollo_landings(epoch, latitude_deg, longitude_deg, elevation_deg):
    """The ephemeris and the IAU rotation of the Moon put the Sun where the crews saw it (the
    reports give a tenth of a degree)."""
    _, _, up = frames.east_north_up(math.radians(latitude_deg), math.radians(longitude_deg))
    elevation = math.degrees(sun.elevation_rad(sun.direction_at_epoch(epoch), up))
    assert elevation == pytest.approx(elevation_deg, abs=0.15)


def test_a_scenario_gives_the_sun_by_epoch_or_by_elevation_and_azimuth():
    """By elevation and azimuth: that elevation, and from that side (east at 90 deg); by
    default 10 deg in the east; by epoch: the ephemeris's."""
    base = closed_loop()
    site = base["site"]
    lat, lon = math.radians(60.5), math.radians(-4.6)
    east, _, up = frames.east_north_up(lat, lon)
    west = {**site, "sun_elevation": "25 deg", "sun_azimuth": "270 deg"}
    given = scenario.parse({**base, "site": west}, "t")
    direction = frames.sun_direction(given.site)
    assert math.degrees(sun.elevation_rad(direction, up)) == pytest.approx(25.0)
    assert np.dot(direction, east) == pytest.approx(-math.cos(math.radians(25.0)))
    default = frames.sun_direction(scenario.parse(base, "t").site)
    assert math.degrees(sun.elevation_rad(default, up)) == pytest.approx(10.0)
    assert np.dot(default, east) > 0.9
    dated = scenario.parse({**base, "site": {**site, "epoch": "2025-06-06T00:00:00"}}, "t")
    assert frames.sun_direction(dated.site) == pytest.approx(
        sun.direction_at_epoch("2025-06-06T00:00:00")
    )
