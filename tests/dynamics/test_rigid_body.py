"""Torque-free rigid-body rotation: conservation laws and the analytic precession rate."""

import math

import numpy as np

from dynamics import quaternion, truth
from dynamics.gravity import GravityField
from tests.conftest import NO_HARMONICS, engine_record, gravity_record, mass_record

NO_GRAVITY = gravity_record(gm=0.0)


def spin(inertia, w0, duration_s, n_steps):
    x = truth.make_state((1.0e6, 0, 0), (0, 0, 0), (1, 0, 0, 0), w0, 340.0)
    truth.propagate(
        x,
        0.0,
        duration_s / n_steps,
        n_steps,
        GravityField(NO_GRAVITY, NO_HARMONICS, NO_HARMONICS),
        mass_record(dry_kg=340.0, inertia=inertia),
        engine_record(),
        0.0,
    )
    return x


def inertial_momentum(x, inertia):
    q = truth.quaternion_of(x)
    return np.array(quaternion.rotate(q, tuple(inertia @ x[10:13])))


def test_asymmetric_body_conserves_inertial_momentum_and_energy():
    inertia = np.diag([100.0, 200.0, 300.0])
    w0 = (0.3, 0.05, 0.2)  # near the unstable intermediate axis: a demanding tumble
    x0 = truth.make_state((1.0e6, 0, 0), (0, 0, 0), (1, 0, 0, 0), w0, 340.0)
    x = spin((100.0, 200.0, 300.0), w0, 60.0, 6000)
    h0, h1 = inertial_momentum(x0, inertia), inertial_momentum(x, inertia)
    assert np.linalg.norm(h1 - h0) / np.linalg.norm(h0) < 1e-9
    e0 = 0.5 * np.array(w0) @ inertia @ np.array(w0)
    e1 = 0.5 * x[10:13] @ inertia @ x[10:13]
    assert abs(e1 / e0 - 1) < 1e-9
    # the body really tumbled (the rates changed), so the test is not trivially met
    assert np.linalg.norm(x[10:13] - np.array(w0)) > 0.05


def test_axisymmetric_body_precesses_at_the_analytic_rate():
    it, ia = 200.0, 350.0
    wx0, wz = 0.05, 0.4
    t = 25.0
    x = spin((it, it, ia), (wx0, 0.0, wz), t, 5000)
    # body-frame precession of the transverse rate: Omega = (Ia - It) / It * wz
    omega = (ia - it) / it * wz
    assert np.allclose(
        x[10:13], [wx0 * math.cos(omega * t), wx0 * math.sin(omega * t), wz], atol=1e-10
    )
    # inertial precession: the body z axis cones about H at |H| / It
    h = np.array([it * wx0, 0.0, ia * wz])
    z_axis = np.array(quaternion.rotate(truth.quaternion_of(x), (0.0, 0.0, 1.0)))
    cone = math.acos(h[2] / np.linalg.norm(h))
    assert math.isclose(math.acos(z_axis @ h / np.linalg.norm(h)), cone, abs_tol=1e-9)
    phase = np.linalg.norm(h) / it * t
    h_unit = h / np.linalg.norm(h)
    z0 = np.array([0.0, 0.0, 1.0])
    expected = np.array(
        quaternion.rotate(quaternion.from_axis_angle(tuple(h_unit), phase), tuple(z0))
    )
    assert np.linalg.norm(z_axis - expected) < 1e-8


def test_quaternion_stays_unit_norm():
    x = spin((100.0, 200.0, 300.0), (1.0, 2.0, 3.0), 10.0, 1000)
    assert abs(np.linalg.norm(x[6:10]) - 1.0) < 1e-14
