"""Main engine and RCS against the rocket equation, the first-order lag and impulse bookkeeping."""

import math

import numpy as np
import pytest

from dynamics import propulsion, truth
from dynamics.constants import STANDARD_GRAVITY_MPS2 as G0
from dynamics.gravity import GravityField
from dynamics.views import record
from tests.conftest import NO_HARMONICS, engine_record, gravity_record, mass_record

NO_GRAVITY = gravity_record(gm=0.0)
THRUST, ISP, M0, M_DRY = 2500.0, 320.0, 700.0, 340.0
MDOT = THRUST / (ISP * G0)


def burn(duration_s, dt_s=0.01, throttle0=1.0, engine=None):
    x = truth.make_state((1.0e6, 0, 0), (0, 0, 0), (1, 0, 0, 0), (0, 0, 0), M0, throttle0)
    n = round(duration_s / dt_s)
    truth.propagate(
        x,
        0.0,
        dt_s,
        n,
        GravityField(NO_GRAVITY, NO_HARMONICS, NO_HARMONICS),
        mass_record(dry_kg=M_DRY),
        engine if engine is not None else engine_record(THRUST, ISP),
        1.0,
    )
    return x


def test_constant_thrust_delta_v_follows_the_rocket_equation():
    t = 300.0
    x = burn(t)
    m1 = M0 - MDOT * t
    assert x[truth.X_MASS] == pytest.approx(m1, rel=1e-12)
    dv = np.linalg.norm(x[3:6])
    assert dv == pytest.approx(ISP * G0 * math.log(M0 / m1), rel=1e-10)
    # thrust along body +z with identity attitude pushes along MCI +z only
    assert np.allclose(x[3:5], 0.0, atol=1e-12)


def test_engine_flames_out_when_the_propellant_is_gone():
    burn_time = (M0 - M_DRY) / MDOT
    x = burn(burn_time + 20.0)
    assert x[truth.X_MASS] == M_DRY
    dv_max = ISP * G0 * math.log(M0 / M_DRY)
    # the last step before flame-out is integrated with thrust on: at most one step of it
    assert abs(np.linalg.norm(x[3:6]) - dv_max) < (THRUST / M_DRY) * 0.01
    # and after flame-out the lander coasts: its velocity no longer changes
    x2 = burn(burn_time + 30.0)
    assert np.allclose(x2[3:6], x[3:6], rtol=0, atol=1e-12)


def test_throttle_follows_a_first_order_lag():
    tau = 0.25
    x = burn(0.5, dt_s=0.001, throttle0=0.0, engine=engine_record(THRUST, ISP, tau=tau))
    assert x[truth.X_THROTTLE] == pytest.approx(1.0 - math.exp(-0.5 / tau), abs=1e-12)


def test_throttle_command_is_clipped_to_the_engine_range():
    e = engine_record()
    assert propulsion.throttle_setpoint(e, 0.0) == 0.0
    assert propulsion.throttle_setpoint(e, 0.05) == 0.2
    assert propulsion.throttle_setpoint(e, 1.7) == 1.0


def test_misaligned_offset_engine_spins_the_lander_at_the_analytic_rate():
    tilt, arm = math.radians(0.5), 1.2  # thrust tilted toward +x, applied 1.2 m below the CoM
    engine = engine_record(
        THRUST, ISP, position=(0.0, 0.0, -arm), direction=(math.sin(tilt), 0.0, math.cos(tilt))
    )
    t = 2.0
    x = burn(t, dt_s=0.001, engine=engine)
    # torque = r x F = (0, 0, -arm) x (F sin, 0, F cos) = (0, -arm F sin, 0)
    i_yy = 320.0
    assert x[truth.X_W + 1] == pytest.approx(-arm * THRUST * math.sin(tilt) * t / i_yy, rel=1e-9)
    assert abs(x[truth.X_W]) < 1e-15 and abs(x[truth.X_W + 2]) < 1e-15


def rcs_impulse(on_time_s, min_on_time_s, dt_s=0.01, period_s=0.1):
    th = np.zeros(1, propulsion.THRUSTER_DTYPE)
    th[0] = ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0), 22.0, 220.0, min_on_time_s)
    impulse = np.zeros(3)
    torque_impulse = np.zeros(3)
    propellant = 0.0
    for k in range(round(period_s / dt_s)):
        f, tq, mdot = propulsion.rcs_force_torque(
            th, np.array([on_time_s]), 0.0, k * dt_s, dt_s, np.zeros(3)
        )
        impulse += np.array(f) * dt_s
        torque_impulse += np.array(tq) * dt_s
        propellant += mdot * dt_s
    return impulse, torque_impulse, propellant


@pytest.mark.parametrize("on_time", [0.013, 0.0371, 0.1])
def test_rcs_pulse_delivers_exactly_its_impulse(on_time):
    impulse, torque_impulse, propellant = rcs_impulse(on_time, 0.01)
    assert impulse == pytest.approx([0.0, 22.0 * on_time, 0.0], abs=1e-12)
    # thruster at +x pushing +y: torque about +z of 1 m * 22 N
    assert torque_impulse == pytest.approx([0.0, 0.0, 22.0 * on_time], abs=1e-12)
    assert propellant == pytest.approx(22.0 * on_time / (220.0 * G0), rel=1e-12)


def test_rcs_pulse_below_the_minimum_on_time_gives_nothing():
    impulse, _, propellant = rcs_impulse(0.009, 0.01)
    assert np.all(impulse == 0.0) and propellant == 0.0


def test_mass_properties_follow_the_propellant():
    from dynamics import mass_properties

    mp = record(
        mass_properties.MASS_DTYPE,
        dry_mass_kg=300.0,
        dry_com_m=(0.0, 0.0, 1.0),
        dry_inertia_kgm2=np.diag([10.0, 10.0, 10.0]),
        propellant_capacity_kg=200.0,
        propellant_com_m=(0.0, 0.0, 0.0),
        propellant_inertia_full_kgm2=np.diag([4.0, 4.0, 6.0]),
    )
    com, inertia, inv = np.zeros(3), np.zeros((3, 3)), np.zeros((3, 3))
    mass_properties.evaluate(mp, 400.0, com, inertia, inv)
    assert com == pytest.approx([0.0, 0.0, 0.75])  # (300*1 + 100*0) / 400
    # parallel axis: 300*0.25^2 + 100*0.75^2 about x; half-full tank adds half its inertia
    assert inertia[0, 0] == pytest.approx(10.0 + 2.0 + 300 * 0.0625 + 100 * 0.5625)
    assert inertia[2, 2] == pytest.approx(10.0 + 3.0)
    assert inertia @ inv == pytest.approx(np.eye(3))
