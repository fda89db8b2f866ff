"""Whole runs through the compiled loop against analytic and known outcomes."""

import math

import numpy as np
import pytest

from dynamics import terrain_section
from dynamics.constants import MOON_GM_M3PS2 as GM
from dynamics.constants import MOON_MEAN_RADIUS_M as R
from sims import api
from sims.run import packing
from sims.scenarios import scenario
from tests.sims.scenarios import Orbit, free_fall, variant


def drop(sc_dict, height_m):
    """Run sc_dict from rest with the CoM height_m above the datum at the site."""
    sc = scenario.load(sc_dict)
    site, _, _ = terrain_section.truth_terrain(sc.site, sc.terrain)
    r0 = (R + height_m) * site["up"]
    return api.run(sc, initial_orbit=Orbit(r0, np.zeros(3))), sc


def com_height_above_pads(sc):
    v = sc.vehicle
    m = v.dry_mass + v.propellant_mass
    com_z = (v.dry_mass * v.dry_com[2] + v.propellant_mass * v.propellant_com[2]) / m
    return com_z - v.landing_gear[0][2]


@pytest.mark.parametrize("step", ["1 ms", "20 ms", "50 ms"])
def test_free_fall_touchdown_speed_matches_energy_conservation(step):
    """The contact instant is located within the step: whatever the step, the touchdown speed
    is the energy-conservation one (detected at the end of the step it would be up to g dt
    faster: 0.08 m/s at 50 ms)."""
    result, sc = drop(free_fall(step), 100.0)
    td = result.summary["touchdown"]
    r_contact = R + com_height_above_pads(sc)
    expected = math.sqrt(2 * GM * (1 / r_contact - 1 / (R + 100.0)))
    g = GM / R**2
    assert td["descent_rate_mps"] == pytest.approx(expected, abs=1e-4)
    assert td["horizontal_speed_mps"] < 1e-9 and td["tilt_deg"] < 1e-6
    assert result.outcome == "crashed"  # ~18 m/s, far beyond the 3 m/s hard limit
    assert result.summary["propellant_used_kg"] == 0.0
    fall_time = result.summary["end_time_s"]
    assert fall_time == pytest.approx(
        math.sqrt(2 * (100.0 - com_height_above_pads(sc)) / g), rel=2e-4
    )


def test_harmonic_table_with_only_j2_flies_like_the_closed_form_j2():
    j2 = free_fall()
    j2["moon"] = {"gravity": "j2", "rotation": False}
    table = free_fall()
    table["moon"] = {
        "gravity": "harmonics",
        "rotation": False,
        "harmonics": [{"n": 2, "m": 0, "c": -9.0880835e-5}],
    }
    a, _ = drop(j2, 50.0)
    b, _ = drop(table, 50.0)
    ta, tb = a.summary["touchdown"], b.summary["touchdown"]
    assert ta["descent_rate_mps"] == pytest.approx(tb["descent_rate_mps"], rel=1e-12)


def test_elements_initial_state_is_the_one_the_model_starts_from():
    from dynamics import orbit

    el = {
        "semi_major_axis": "1795 km",
        "eccentricity": 0.02,
        "inclination": "80 deg",
        "raan": "10 deg",
        "argument_of_periapsis": "20 deg",
        "true_anomaly": "30 deg",
    }
    sc = scenario.load(variant(initial={"elements": el}))
    m = packing.build(sc)
    r, v = orbit.state_from_elements(1_795_000.0, 0.02, *np.radians([80.0, 10.0, 20.0, 30.0]), GM)
    assert m.x0[0:3] == pytest.approx(r, rel=1e-12) and m.x0[3:6] == pytest.approx(v, rel=1e-12)


def test_open_loop_profile_lands_softly_on_target_with_propellant_left():
    result = api.run("nominal_open_loop")
    s = result.summary
    assert s["outcome"] == "landed"
    td = s["touchdown"]
    assert td["descent_rate_mps"] <= 2.0 and td["horizontal_speed_mps"] <= 0.5
    assert td["tilt_deg"] <= 10.0 and td["position_error_m"] < 50.0
    assert s["propellant_remaining_kg"] > 20.0
    # the braking burn starts at PDI: ~15 km up, ~1.69 km/s (facts file)
    first = result.trajectory.slice(0, 1).to_pylist()[0]
    assert first["altitude_m"] == pytest.approx(15_000.0, abs=1.0)
    assert math.hypot(first["horizontal_speed_mps"], first["vertical_speed_mps"]) == (
        pytest.approx(1690.0, abs=10.0)
    )


def test_a_20_ms_truth_step_flies_the_verification_profile_as_a_5_ms_one():
    """The bundled closed-loop scenarios integrate the truth at 20 ms: on the open-loop
    verification profile (same thrust schedule, same terrain) the touchdown state at 20 ms
    agrees with a 5-ms reference far inside any landing dispersion."""

    def touchdown(step):
        sc = variant(simulation={"time_step": step, "max_time": "900 s", "output_rate": "1 Hz"})
        return api.run(sc).summary

    fine, coarse = touchdown("5 ms"), touchdown("20 ms")
    a, b = fine["touchdown"], coarse["touchdown"]
    assert fine["outcome"] == coarse["outcome"] == "landed"
    assert abs(a["descent_rate_mps"] - b["descent_rate_mps"]) < 1e-3
    assert abs(a["horizontal_speed_mps"] - b["horizontal_speed_mps"]) < 2e-3
    assert abs(a["position_error_m"] - b["position_error_m"]) < 0.2
    assert abs(a["time_s"] - b["time_s"]) < 0.2
    assert abs(fine["propellant_used_kg"] - coarse["propellant_used_kg"]) < 0.05


def test_same_scenario_and_seed_give_bit_identical_results():
    a = api.run(free_fall("10 ms"), seed=3)
    b = api.run(free_fall("10 ms"), seed=3)
    assert a.summary == b.summary
    assert a.trajectory.to_pandas().equals(b.trajectory.to_pandas())  # NaN-aware, bit for bit


def rcs_step(step_rad):
    """Engine off, RCS attitude hold (wn 1 rad/s, zeta 0.8), commanded thrust direction
    stepping by step_rad at t = 1 s."""
    sc = free_fall("10 ms")
    sc["control"] = {"attitude_natural_frequency": "1 rad/s", "attitude_damping_ratio": 0.8}
    sc["open_loop"] = {
        "attitude": "rcs",
        "schedule": [
            {"t": "0 s", "throttle": 0.0, "direction": [0, 0, 1]},
            {"t": "1 s", "throttle": 0.0, "direction": [0, 0, 1]},
            {
                "t": "1.01 s",
                "throttle": 0.0,
                "direction": [math.sin(step_rad), 0, math.cos(step_rad)],
            },
        ],
    }
    return sc


def test_rcs_attitude_hold_slews_to_a_new_thrust_direction_and_settles():
    """A 20 deg step in commanded thrust direction, engine off: the PD law and the pulse-
    modulated thrusters bring the tilt to 20 deg and the rates back to near zero."""
    sc = rcs_step(math.radians(20.0))
    result, _ = drop(sc, 1500.0)
    trace = result.trajectory.to_pandas().set_index("t_s")
    assert trace.loc[:1.0, "tilt_deg"].max() < 0.1
    settled = trace.loc[20.0:30.0]
    assert (settled["tilt_deg"] - 20.0).abs().max() < 0.5
    rates = np.hypot(np.hypot(settled["wx_dps"], settled["wy_dps"]), settled["wz_dps"])
    assert rates.max() < 0.3
    assert result.summary["propellant_used_kg"] > 0.0  # the thrusters did the work


def test_placed_crater_rim_is_in_the_terrain():
    """A 20 km crater with a 3 km deep bowl placed 30 km before the site: its floor, rim and
    ejecta blanket are where the profile puts them, and the site 3 radii away is untouched."""
    from dynamics import terrain

    sc = scenario.load(
        variant(
            terrain={
                "seed": 1,
                "max_crater_diameter": "1 km",
                "tiles": [
                    {
                        "downrange": ["-60 km", "5 km"],
                        "crossrange": ["-15 km", "15 km"],
                        "spacing": "100 m",
                        "min_crater_diameter": "1 km",
                        "crater_density": 0.0,
                    }
                ],
                "features": [
                    {
                        "kind": "crater",
                        "downrange": "-30 km",
                        "diameter": "20 km",
                        "depth": "3 km",
                        "rim_height": "400 m",
                    }
                ],
            }
        )
    )
    _, tiles, heights = terrain_section.truth_terrain(sc.site, sc.terrain)
    assert terrain.height_and_gradient(tiles, heights, -30_000.0, 0.0)[0] == pytest.approx(-2600)
    assert terrain.height_and_gradient(tiles, heights, -20_000.0, 0.0)[0] == pytest.approx(400)
    tail = 3.0**-3
    ejecta = 400 * (2.5**-3 - tail) / (1 - tail)  # 25 km from the centre: 2.5 radii
    assert terrain.height_and_gradient(tiles, heights, -5_000.0, 0.0)[0] == pytest.approx(ejecta)
    assert terrain.height_and_gradient(tiles, heights, 0.0, 0.0)[0] == 0.0


def test_placed_scarp_and_flat_floored_crater_are_in_the_terrain():
    """A 3-km scarp across the track 45 km before the site (ispace M1's crater rim at this
    scale), falling toward the site over 6 km, and an 8-km crater with a 4-km flat floor 20 km
    before it: the plain above the scarp, the floor below it, the crater's floor and rim."""
    from dynamics import terrain

    tile = {
        "downrange": ["-60 km", "5 km"],
        "crossrange": ["-15 km", "15 km"],
        "spacing": "100 m",
        "min_crater_diameter": "1 km",
        "crater_density": 0.0,
    }
    features = [
        {"kind": "scarp", "downrange": "-45 km", "height": "3 km", "width": "6 km"},
        {
            "kind": "crater",
            "downrange": "-20 km",
            "diameter": "8 km",
            "depth": "1 km",
            "floor_diameter": "4 km",
        },
    ]
    terrain_spec = {"seed": 1, "max_crater_diameter": "1 km", "tiles": [tile]}
    sc = scenario.load(variant(terrain=terrain_spec | {"features": features}))
    _, tiles, heights = terrain_section.truth_terrain(sc.site, sc.terrain)

    def h(x):
        return terrain.height_and_gradient(tiles, heights, x, 0.0)[0]

    assert h(-55_000.0) == 0.0 and h(-45_000.0) == pytest.approx(-1500.0)
    assert h(-30_000.0) == pytest.approx(-3000.0) and h(0.0) == pytest.approx(-3000.0)
    assert h(-20_000.0) == pytest.approx(-4000.0) and h(-21_900.0) == pytest.approx(-4000.0)
    assert h(-16_000.0) == pytest.approx(-3000.0)  # the rim, at the surrounding floor
    bad = features[1] | {"floor_diameter": "8 km"}
    with pytest.raises(scenario.ScenarioError, match="floor_diameter must be smaller"):
        scenario.load(variant(terrain=terrain_spec | {"features": [bad]}))


def test_runaway_spin_is_recorded_as_diverged_not_raised():
    """A 10 deg engine misalignment overpowers the 44 N m of RCS: the lander spins up, and the
    run ends as 'diverged' with its reason instead of raising."""
    sc = variant(
        simulation={"time_step": "10 ms", "max_time": "100 s", "max_body_rate": "30 deg/s"}
    )
    sc["vehicle"]["main_engine"]["misalignment"] = "10 deg"
    sc["open_loop"]["attitude"] = "rcs"
    result = api.run(sc)
    assert result.outcome == "diverged"
    assert result.summary["diverged_reason"] == "body rate runaway"
    assert result.summary["end_time_s"] < 30.0


def test_attitude_step_response_settles_in_its_designed_time():
    """PD gains for wn = 1 rad/s, zeta = 0.8 settle a small step to within 5 % in about
    3 / (zeta wn) = 3.75 s; through pulse-width-modulated thrusters at 10 Hz with a minimum
    impulse bit the response must be inside the 5 % band from 3.75 s + one period on."""
    sc = rcs_step(math.radians(4.0))
    result, _ = drop(sc, 1000.0)
    trace = result.trajectory.to_pandas().set_index("t_s")
    tilt = trace["tilt_deg"]
    settle = 1.0 + 3.0 / 0.8 + 0.1
    assert (tilt.loc[settle:15.0] - 4.0).abs().max() < 0.05 * 4.0
    # and it is a real transient, not already there: halfway through, not yet settled
    assert abs(tilt.loc[1.0 + 1.0] - 4.0) > 0.05 * 4.0


def test_a_feature_off_the_map_is_in_the_truth_only():
    """A 500-m scarp 5 km before the site marked `on_map = false`: the truth terrain falls by
    500 m across it, the flight software's map does not, and elsewhere the two agree."""
    from dynamics import terrain
    from tests.sims.scenarios import closed_loop

    d = closed_loop()
    cliff = {"kind": "scarp", "downrange": "-5 km", "height": "500 m", "width": "1 km"}
    d["terrain"]["features"] = [cliff | {"on_map": False}]
    m = packing.build(scenario.load(d))

    def heights(surface, x):
        return terrain.height_and_gradient(surface.tiles, surface.heights, x, 1000.0)[0]

    # 15 km out both are the 25-m tile, above the cliff: the same heights
    assert heights(m.onboard_map, -15_000.0) == heights(m.terrain, -15_000.0)
    # 2 km out the truth is 500 m lower, give or take the small craters of its 5-m tile
    assert heights(m.terrain, -2_000.0) - heights(m.onboard_map, -2_000.0) == pytest.approx(
        -500.0, abs=10.0
    )
