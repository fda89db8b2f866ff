"""Powered-descent guidance against its closed form, the time-to-go selection, and a guidance
law of one's own flown through the law registry by our flight software."""

import math

import numpy as np
import pytest

from gnc.guidance import laws
from gnc.guidance import powered_descent as pd
from sims import api
from sims.scenarios import scenario

G = (0.0, 0.0, -1.62)


def fly_law(k, r, v, r_f, v_f, a_f, t_go, dt=0.01, stop_s=0.05):
    """Integrate r'' = a_cmd (the law's total acceleration) with RK4, re-evaluating the law
    every step, until t_go falls to stop_s; returns r, v and the last command."""
    r, v = np.array(r, float), np.array(v, float)
    t = t_go

    def acc(r_, v_, t_):
        return np.array(pd.acceleration(k, tuple(r_), tuple(v_), r_f, v_f, a_f, t_))

    while t - dt >= stop_s - 1e-12:
        a1 = acc(r, v, t)
        a2 = acc(r + 0.5 * dt * v, v + 0.5 * dt * a1, t - 0.5 * dt)
        a3 = acc(r + 0.5 * dt * v + 0.25 * dt * dt * a1, v + 0.5 * dt * a2, t - 0.5 * dt)
        a4 = acc(r + dt * v + 0.5 * dt * dt * a2, v + dt * a3, t - dt)
        r = r + dt * v + dt * dt / 6.0 * (a1 + a2 + a3)
        v = v + dt / 6.0 * (a1 + 2 * a2 + 2 * a3 + a4)
        t -= dt
    return r, v, acc(r, v, t), t


@pytest.mark.parametrize("law", ["e_guidance", "apollo"])
def test_law_reaches_its_target_state(law):
    k = laws.law(law).K
    r_f, v_f, a_f = (0.0, 0.0, 60.0), (0.0, 0.0, -1.5), (0.3, 0.0, 0.1)
    r, v, a, t_left = fly_law(k, (-1500.0, 200.0, 1200.0), (25.0, -3.0, -20.0), r_f, v_f, a_f, 60.0)
    # stopped t_left before the end: coast the last instant on the last command
    r_end, v_end = r + v * t_left + 0.5 * a * t_left**2, v + a * t_left
    assert np.linalg.norm(r_end - r_f) < 0.01
    assert np.linalg.norm(v_end - v_f) < 0.01
    if law == "apollo":  # the Apollo law also meets the final acceleration
        assert np.linalg.norm(a - a_f) < 0.05


def test_e_guidance_commands_are_the_zem_zev_law():
    """k = 6 is E-guidance: a = 6 ZEM / t^2 - 2 ZEV / t + g in total acceleration."""
    r, v, r_f, v_f, t = (1.0, 2.0, 300.0), (4.0, -1.0, -10.0), (0.0, 0.0, 50.0), (0, 0, -1.0), 30.0
    g = np.array(G)
    zem = np.array(r_f) - (np.array(r) + np.array(v) * t + 0.5 * g * t * t)
    zev = np.array(v_f) - (np.array(v) + g * t)
    u = np.array(pd.thrust_acceleration(6.0, r, v, r_f, v_f, (9.0, 9.0, 9.0), G, t))
    assert u == pytest.approx(6 * zem / t**2 - 2 * zev / t)


def compiled_law(name, **table):
    """(entry point, params bytes, a guidance record) of a law for a phase table."""
    spec = laws.law(name).Spec.model_validate({"law": name, **table})
    record = np.zeros(1, laws.GUIDANCE_DTYPE)[0]
    return laws.entry_point(name), laws.params_bytes(spec), record


def test_time_to_go_selection_uses_the_design_throttle():
    r, v = (-1500.0, 0.0, 1200.0), (25.0, 0.0, -20.0)
    target = ((0.0, 0.0, 60.0), (0.0, 0.0, -1.5))
    mass, thrust, isp, design = 480.0, 2500.0, 320.0, 0.45
    law = compiled_law(
        "e_guidance", position=["0 m", "0 m", "60 m"], velocity=["0 m/s"] * 3, throttle_design=0.45
    )
    vehicle = (mass, thrust, isp)
    t = laws.select_time_to_go(law, (r, v, G), target, vehicle, design, (6.0, 3000.0))
    peak = laws.peak_throttle(law, (r, v, G), target, t, vehicle)
    assert peak == pytest.approx(design, abs=0.01)
    # a shorter flight would ask for more than the design throttle
    assert laws.peak_throttle(law, (r, v, G), target, 0.95 * t, vehicle) > design


def test_the_selected_time_to_go_flies_at_the_design_throttle_in_closed_form():
    """The expectation computed without the module: E-guidance's flight to a free final
    acceleration is the minimum-energy one, its thrust acceleration linear in time,
    u(tau) = c0 + c1 tau with c0, c1 from the final position and velocity; the mass falls by
    the rocket equation. Over the flight to the hand-over (90 % of t_go) its throttle peaks at
    the design throttle to 2 % (the module predicts it in 24 steps), and a flight 5 % shorter
    would need 5 % more. Break it catches: the peak taken without the mass burnt."""
    r, v = np.array([-1500.0, 0.0, 1200.0]), np.array([25.0, 0.0, -20.0])
    r_f, v_f, g = np.array([0.0, 0.0, 60.0]), np.array([0.0, 0.0, -1.5]), np.array(G)
    mass, thrust, isp, design = 480.0, 2500.0, 320.0, 0.45
    law = compiled_law(
        "e_guidance", position=["0 m", "0 m", "60 m"], velocity=["0 m/s"] * 3, throttle_design=0.45
    )
    t = laws.select_time_to_go(
        law,
        (tuple(r), tuple(v), G),
        (tuple(r_f), tuple(v_f)),
        (mass, thrust, isp),
        design,
        (6.0, 3000.0),
    )

    def peak(t_go):
        a = np.array([[t_go, t_go**2 / 2], [t_go**2 / 2, t_go**3 / 6]])
        rhs = np.stack([v_f - v - g * t_go, r_f - r - v * t_go - g * t_go**2 / 2])
        c0, c1 = np.linalg.solve(a, rhs)
        tau = np.linspace(0.0, 0.9 * t_go, 20_001)
        u = np.linalg.norm(c0 + c1 * tau[:, None], axis=1)
        burnt = np.concatenate(([0.0], np.cumsum((u[1:] + u[:-1]) / 2 * np.diff(tau))))
        return np.max(u * mass * np.exp(-burnt / (isp * 9.80665)) / thrust)

    assert peak(t) == pytest.approx(design, rel=0.02)
    assert peak(0.95 * t) > 1.05 * design


def test_terminal_descent_and_tilt_limit():
    a = pd.terminal_acceleration((2.0, -1.0, -3.0), 1.0, 1.0 / 3.0, 0.5)
    assert a == pytest.approx((-2.0 / 3.0, 1.0 / 3.0, 1.0))
    u = pd.limit_tilt((3.0, 4.0, 1.62), math.radians(10.0))
    assert u[2] == 1.62
    assert math.degrees(math.atan2(math.hypot(u[0], u[1]), u[2])) == pytest.approx(10.0)
    assert u[0] / u[1] == pytest.approx(0.75)  # direction kept


@pytest.mark.parametrize("law", ["e_guidance", "apollo"])
def test_a_held_position_is_not_chased_and_the_velocity_is_still_met(law):
    """Holding: the horizontal command is the constant deceleration (v_f - v) / t_go whatever
    the estimated position, so a navigation update that moves the estimate by 20 m five
    seconds before the end changes nothing (unheld, k 20 m / 25 s^2 of acceleration: ~5 m/s^2
    for E-guidance, a 70-degree tilt)."""
    k = laws.law(law).K
    r, v = (-30.0, 4.0, 80.0), (6.0, -1.0, -3.0)
    r_f, v_f, a_f = (0.0, 0.0, 60.0), (0.0, 0.0, -1.5), (0.0, 0.0, 0.0)
    t_go = 5.0
    held = pd.holding_position(k, r, v, r_f, v_f, a_f, t_go)
    a = pd.acceleration(k, r, v, held, v_f, a_f, t_go)
    assert a[:2] == pytest.approx(((v_f[0] - v[0]) / t_go, (v_f[1] - v[1]) / t_go), rel=1e-12)
    assert held[2] == r_f[2]
    moved = (r[0] + 20.0, r[1], r[2])  # the estimate jumps 20 m downrange
    a_moved = pd.acceleration(
        k, moved, v, pd.holding_position(k, moved, v, r_f, v_f, a_f, t_go), v_f, a_f, t_go
    )
    assert a_moved[:2] == pytest.approx(a[:2], abs=1e-12)
    unheld = (
        pd.acceleration(k, moved, v, r_f, v_f, a_f, t_go)[0]
        - pd.acceleration(k, r, v, r_f, v_f, a_f, t_go)[0]
    )
    assert unheld == pytest.approx(-k * 20.0 / t_go**2)


def test_a_law_of_ones_own_replaces_our_braking_law_and_lands_the_nominal():
    """The tests' ZEM/ZEV law (tests/gnc/zem_zev_law.py: a = 6 ZEM/t_go^2 - 2 ZEV/t_go, the
    same law as E-guidance, written out) flies the nominal's braking through the registry,
    with our navigation, approach and control: seeds 0-9 land, as with E-guidance, and the
    two commands agree to rounding."""
    entry, params, record = compiled_law(
        "e_guidance", position=["0 m", "0 m", "60 m"], velocity=["0 m/s"] * 3, throttle_design=0.8
    )
    laws.register("tests.gnc.zem_zev_law")
    mine = compiled_law(
        "zem_zev", position=["0 m", "0 m", "60 m"], velocity=["0 m/s"] * 3, throttle_design=0.8
    )
    state = ((-9000.0, 40.0, 6000.0), (900.0, -2.0, -60.0), G)
    target = ((0.0, 0.0, 60.0), (5.0, 0.0, -1.0))
    ours = laws.command((entry, params, record), state, target, 120.0, False)
    theirs = laws.command(mine, state, target, 120.0, False)
    assert theirs == pytest.approx(ours, rel=1e-12, abs=1e-12)
    d = scenario.read_data("nominal")[1]
    d["flight_software"]["braking"] |= {"module": "tests.gnc.zem_zev_law"}
    del d["flight_software"]["braking"]["law"]
    results = api.run_seeds(d, range(10))
    assert [r.outcome for r in results] == ["landed"] * 10
