"""Engine off around a point-mass Moon: the 6-DOF propagator must behave as a Kepler orbit."""

import numpy as np

from dynamics import orbit, truth
from dynamics.constants import MOON_GM_M3PS2
from dynamics.gravity import GravityField
from tests.conftest import NO_HARMONICS, engine_record, gravity_record, mass_record

GM = MOON_GM_M3PS2


def _coast(x, duration_s, n_steps, grav):
    truth.propagate(
        x,
        0.0,
        duration_s / n_steps,
        n_steps,
        GravityField(grav, NO_HARMONICS, NO_HARMONICS),
        mass_record(),
        engine_record(),
        0.0,
    )


def test_one_period_returns_to_start_and_conserves_energy_and_momentum():
    a = 1_838_000.0
    r0, v0 = orbit.state_from_elements(a, 0.02, 1.2, 0.3, 0.7, 0.1, GM)
    x = truth.make_state(r0, v0, (1, 0, 0, 0), (0, 0, 0), 700.0)
    _coast(x, orbit.period_s(a, GM), 8000, gravity_record())
    r1, v1 = x[0:3], x[3:6]
    assert np.linalg.norm(r1 - r0) < 1.0
    energy = lambda r, v: 0.5 * v @ v - GM / np.linalg.norm(r)  # noqa: E731
    assert abs(energy(r1, v1) / energy(r0, v0) - 1.0) < 1e-9
    h0, h1 = np.cross(r0, v0), np.cross(r1, v1)
    assert np.linalg.norm(h1 - h0) / np.linalg.norm(h0) < 1e-9


def test_propagator_matches_kepler_solution_mid_orbit():
    a = 1_790_000.0
    r0, v0 = orbit.state_from_elements(a, 0.03, 0.4, 1.0, 2.0, 0.5, GM)
    x = truth.make_state(r0, v0, (1, 0, 0, 0), (0, 0, 0), 700.0)
    _coast(x, 1234.5, 2469, gravity_record())
    r_kep, v_kep = orbit.propagate_kepler(r0, v0, 1234.5, GM)
    assert np.linalg.norm(x[0:3] - r_kep) < 0.05
    assert np.linalg.norm(x[3:6] - v_kep) < 1e-4


def test_j2_conserves_energy_and_polar_angular_momentum():
    """J2 is axisymmetric and static in MCI (rotation off): energy including the J2 potential
    and the z component of angular momentum are integrals of motion."""
    from dynamics.constants import MOON_GRAVITY_REFERENCE_RADIUS_M as R
    from dynamics.constants import MOON_J2 as J2

    def energy(r, v):
        rn = np.linalg.norm(r)
        p2 = 0.5 * (3 * (r[2] / rn) ** 2 - 1)
        return 0.5 * v @ v - GM / rn * (1 - J2 * (R / rn) ** 2 * p2)

    r0, v0 = orbit.state_from_elements(1_800_000.0, 0.01, 1.0, 0.2, 0.4, 0.0, GM)
    x = truth.make_state(r0, v0, (1, 0, 0, 0), (0, 0, 0), 700.0)
    _coast(x, 7000.0, 7000, gravity_record(j2=J2))
    assert abs(energy(x[0:3], x[3:6]) / energy(r0, v0) - 1) < 1e-9
    hz0, hz1 = np.cross(r0, v0)[2], np.cross(x[0:3], x[3:6])[2]
    assert abs(hz1 / hz0 - 1) < 1e-9
    # and J2 really acts: the orbit plane precesses, so h itself changes
    assert np.linalg.norm(np.cross(x[0:3], x[3:6]) - np.cross(r0, v0)) > 1e3
