"""Quaternion algebra, frame transformations and the two-body orbit helpers."""

import math

import astropy.units as u
import numpy as np
import pytest

from dynamics import frames, orbit, quaternion
from dynamics.constants import MOON_GM_M3PS2 as GM
from dynamics.constants import MOON_MEAN_RADIUS_M as R


def test_quaternion_rotation_matches_the_rotation_matrix():
    q = quaternion.from_axis_angle((1.0, 2.0, 3.0), 0.7)
    axis = np.array([1.0, 2.0, 3.0]) / math.sqrt(14.0)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rot = np.eye(3) + math.sin(0.7) * k + (1 - math.cos(0.7)) * k @ k  # Rodrigues
    v = (0.3, -1.1, 2.0)
    assert quaternion.rotate(q, v) == pytest.approx(rot @ v)
    assert quaternion.rotate_inverse(q, quaternion.rotate(q, v)) == pytest.approx(v)
    x, y, z = (tuple(rot[:, i]) for i in range(3))
    assert quaternion.angle_between(quaternion.from_axes(x, y, z), q) < 1e-7


def test_track_coordinates_and_local_axes():
    site = frames.make_site(math.radians(60.5), math.radians(-4.6), math.radians(30.0), 0.0, R)
    assert frames.track_coordinates(site, tuple(R * site["up"]))[:2] == pytest.approx(
        (0, 0), abs=1e-6
    )
    # 10 km back along the track and 2 km to the left, 15 km up
    a, b = -10_000.0 / R, 2_000.0 / R
    p = math.cos(b) * (math.cos(a) * site["up"] + math.sin(a) * site["track_downrange"])
    p = (R + 15_000.0) * (p + math.sin(b) * site["track_left"])
    x, y, radius = frames.track_coordinates(site, tuple(p))
    assert (x, y, radius) == pytest.approx((-10_000.0, 2_000.0, R + 15_000.0))
    d, left, up = (np.array(v) for v in frames.local_track_axes(site, tuple(p)))
    assert np.array([d, left, up]) @ np.array([d, left, up]).T == pytest.approx(np.eye(3))
    assert np.cross(d, left) == pytest.approx(up)
    # the local downrange axis at the site is the track direction (azimuth 30 deg from north)
    d0 = np.array(frames.local_track_axes(site, tuple(R * site["up"]))[0])
    az = math.atan2(d0 @ site["east"], d0 @ site["north"])
    assert math.degrees(az) == pytest.approx(30.0)


def test_track_coordinates_near_the_site_equal_the_arc_functions():
    """Near the site the arcs are summed as series: they must agree with atan2 and asin to
    well below a millimetre, on both sides of where the series takes over (17 km)."""
    site = frames.make_site(0.4, -0.3, 0.5, 0.0, R)
    axes = np.array([site["track_downrange"], site["track_left"], site["up"]])
    rng = np.random.default_rng(3)
    for arc in np.concatenate([np.geomspace(1e-7, 0.3, 200), [0.00999999, 0.01, 0.01000001]]):
        direction = rng.normal(size=2)
        along, left = arc * direction / np.linalg.norm(direction)
        local = np.array([math.sin(along), math.sin(left), math.cos(along) * math.cos(left)])
        radius = R + rng.uniform(0.0, 20e3)
        p = radius * (local / np.linalg.norm(local)) @ axes
        x, y, r = frames.track_coordinates(site, tuple(p))
        expected_x = R * math.atan2(p @ axes[0], p @ axes[2])
        expected_y = R * math.asin(p @ axes[1] / np.linalg.norm(p))
        assert abs(x - expected_x) < 1e-9 and abs(y - expected_y) < 1e-9
        assert r == pytest.approx(radius, rel=1e-15)


def test_moon_rotation_transform_and_surface_relative_velocity():
    omega = 2.66e-6
    r = (R, 0.0, 0.0)
    v = (0.0, omega * R, 0.0)  # co-rotating with the surface at the equator
    assert frames.surface_relative_velocity_mcmf(r, v, 1000.0, omega) == pytest.approx(
        (0, 0, 0), abs=1e-12
    )
    t = 0.5 * math.pi / omega  # a quarter turn later, inertial +y is Moon-fixed -x
    assert frames.mci_to_mcmf((0.0, 1.0, 0.0), t, omega) == pytest.approx((1.0, 0.0, 0.0))


def test_elements_round_trip_and_kepler_period():
    el = (1_850_000.0, 0.05, 1.1, 0.4, 2.2, 1.3)
    r, v = orbit.state_from_elements(*el, GM)
    assert orbit.elements_from_state(r, v, GM) == pytest.approx(el, rel=1e-10)
    r1, v1 = orbit.propagate_kepler(r, v, orbit.period_s(el[0], GM), GM)
    assert np.linalg.norm(r1 - r) < 1e-3 and np.linalg.norm(v1 - v) < 1e-6


def test_descent_orbit_gives_the_vis_viva_pdi_speed():
    r, v = orbit.descent_orbit_pdi_state(R + 15_000.0, R + 100_000.0, (1, 0, 0), (0, 1, 0), GM)
    a = R + 57_500.0
    assert np.linalg.norm(v) == pytest.approx(math.sqrt(GM * (2 / (R + 15_000.0) - 1 / a)))
    assert 1680.0 < np.linalg.norm(v) < 1700.0  # facts file: PDI at ~1.69 km/s
    assert orbit.elements_from_state(r, v, GM)[1] == pytest.approx(85_000.0 / (2 * a))


def test_poliastro_style_orbit_is_accepted():
    class Orbit:  # anything with astropy .r and .v, like poliastro's or hapsira's Orbit
        r = [1752.4, 0.0, 0.0] * u.km
        v = [0.0, 1.692, 0.0] * u.km / u.s

    r, v = orbit.state_from_orbit(Orbit())
    assert r == pytest.approx([1_752_400.0, 0, 0]) and v == pytest.approx([0, 1692.0, 0])
