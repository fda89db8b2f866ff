"""Gravity models against their potentials, and the harmonic recursion against closed forms."""

import math

import numpy as np
import pytest

from dynamics import gravity
from dynamics.constants import MOON_GM_M3PS2 as GM
from dynamics.constants import MOON_GRAVITY_REFERENCE_RADIUS_M as R
from dynamics.constants import MOON_J2 as J2
from tests.conftest import gravity_record

POINTS = [
    (1_760_000.0, 20_000.0, 15_000.0),
    (300_000.0, -900_000.0, 1_500_000.0),
    (-1_200_000.0, 400_000.0, -1_300_000.0),
]


def j2_potential(r):
    rn = np.linalg.norm(r)
    return GM / rn * (1.0 - J2 * (R / rn) ** 2 * 0.5 * (3.0 * (r[2] / rn) ** 2 - 1.0))


def c22_potential(r, c22, s22):
    rn = np.linalg.norm(r)
    lon = math.atan2(r[1], r[0])
    cos_lat2 = (r[0] ** 2 + r[1] ** 2) / rn**2
    p22 = 3.0 * cos_lat2  # associated Legendre P22(sin lat), un-normalised
    return GM / rn * (R / rn) ** 2 * p22 * (c22 * math.cos(2 * lon) + s22 * math.sin(2 * lon))


def numerical_gradient(f, r, h=1.0):
    r = np.asarray(r, float)
    return np.array([(f(r + h * e) - f(r - h * e)) / (2 * h) for e in np.eye(3)])


@pytest.mark.parametrize("r", POINTS)
def test_j2_acceleration_is_gradient_of_j2_potential(r):
    a = np.array(gravity.point_mass_j2_acceleration(r, GM, R, J2))
    g = numerical_gradient(j2_potential, r)
    assert np.linalg.norm(a - g) / np.linalg.norm(g) < 1e-9
    # the J2 part alone is resolved too, not just the dominant point mass
    a_pm = np.array(gravity.point_mass_j2_acceleration(r, GM, R, 0.0))
    g_pm = numerical_gradient(lambda p: GM / np.linalg.norm(p), r)
    assert np.linalg.norm((a - a_pm) - (g - g_pm)) / np.linalg.norm(g - g_pm) < 1e-5


@pytest.mark.parametrize("r", POINTS)
def test_harmonic_recursion_with_only_j2_equals_closed_form(r):
    c, s = gravity.harmonic_table([(2, 0, -J2 / math.sqrt(5.0), 0.0)], 2)
    a = np.array(gravity.harmonic_acceleration(r, GM, R, c, s))
    expected = np.array(gravity.point_mass_j2_acceleration(r, GM, R, J2))
    assert np.linalg.norm(a - expected) / np.linalg.norm(expected) < 1e-13


@pytest.mark.parametrize("r", POINTS)
def test_tesseral_c22_s22_acceleration_is_gradient_of_its_potential(r):
    c22n, s22n = 3.4673e-5, 1.6e-8  # GL0660B-like normalised values
    c, s = gravity.harmonic_table([(2, 2, c22n, s22n)], 2)
    a = np.array(gravity.harmonic_acceleration(r, GM, R, c, s))
    a_pm = -GM * np.asarray(r) / np.linalg.norm(r) ** 3
    g = numerical_gradient(lambda p: c22_potential(p, c[2, 2], s[2, 2]), r)
    assert np.linalg.norm((a - a_pm) - g) / np.linalg.norm(g) < 1e-5


def test_unnormalise_matches_known_factor():
    # N_20 = sqrt(5); N_22 = sqrt(2 * 5 * 0! / 4!) = sqrt(5/12)
    assert gravity.unnormalise(2, 0, 1.0) == pytest.approx(math.sqrt(5.0))
    assert gravity.unnormalise(2, 2, 1.0) == pytest.approx(math.sqrt(5.0 / 12.0))


def test_tesseral_field_rotates_with_the_moon():
    """A harmonic field is fixed to the Moon: a quarter of a C22 period later in MCI the
    acceleration at the same inertial point equals the field at the rotated point."""
    c, s = gravity.harmonic_table([(2, 0, -J2 / math.sqrt(5.0), 0.0), (2, 2, 3.4673e-5, 0.0)], 2)
    omega = 2.66e-6
    g = gravity_record(degree=2, rotation=omega)
    t = 0.5 * math.pi / omega
    r = np.array(POINTS[0])
    a_t = np.array(gravity.acceleration_mci(g, c, s, r, t))
    r_fixed = np.array([r[1], -r[0], r[2]])  # MCMF components after +90 deg of rotation
    a_fixed = np.array(gravity.harmonic_acceleration(r_fixed, GM, R, c, s))
    assert np.allclose(a_t, [-a_fixed[1], a_fixed[0], a_fixed[2]], rtol=0, atol=1e-12)


def test_gravity_gradient_torque_on_symmetric_body_is_zero_and_matches_formula():
    r = (0.0, 1_000_000.0, 1_500_000.0)
    assert np.allclose(gravity.gradient_torque(r, np.diag([5.0, 5.0, 5.0]), GM), 0.0)
    inertia = np.diag([100.0, 200.0, 300.0])
    rn = np.linalg.norm(r)
    expected = 3 * GM / rn**5 * np.cross(r, inertia @ np.array(r))
    assert np.allclose(gravity.gradient_torque(r, inertia, GM), expected, rtol=1e-12)
