"""The sensor bus: a kind defined in the tests is registered, named in a scenario and used by the
filter in a closed-loop run (in this process and through the command line), channels of
several kinds fly together, and streams are keyed by channel name."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from sensors import registry
from sims import api
from sims.scenarios import scenario
from tests.sims.scenarios import (
    closed_loop,
    full_suite,
    high_gate_start,
    replaced,
    short_closed_loop,
)

ROOT = Path(__file__).resolve().parents[2]
KIND = "tests.sensors.barometric_altimeter"
SHORT = {"time_step": "10 ms", "max_time": "30 s", "output_rate": "1 Hz"}


def with_altimeter(noise="2 m"):
    """The short closed loop from high gate with the rangefinder replaced by the altimeter."""
    sc = scenario.load(short_closed_loop())
    d = replaced(short_closed_loop(), simulation=SHORT)
    del d["sensors"]["laser_rangefinder"]
    d["sensors"]["baro"] = {
        "kind": "barometric_altimeter",
        "rate": "10 Hz",
        "noise": noise,
        "datum_radius": f"{np.linalg.norm(high_gate_site_origin(sc))} m",
        "gate": {"policy": "accept_all"},
    }
    return d


def high_gate_site_origin(sc):
    from dynamics import terrain_section

    site, _, _ = terrain_section.truth_terrain(sc.site, sc.terrain)
    return site["origin_mcmf_m"]


def vertical_errors(d, seeds):
    """|estimated - true| radial distance at the end of each run (one batch)."""
    sc = scenario.load(d)
    b = api.prepare(sc, seeds=seeds, initial_orbit=high_gate_start(sc))
    api.execute(b)
    est = np.linalg.norm(np.stack([f["nav"]["r_mci_m"] for f in b.fsw_state]), axis=1)
    return np.abs(est - np.linalg.norm(b.x[:, 0:3], axis=1)), b


def test_a_kind_from_outside_the_package_is_registered_and_used_by_the_filter():
    registry.register(KIND)
    seeds = list(range(6))
    with_it, b = vertical_errors(with_altimeter(), seeds)
    d = replaced(short_closed_loop(), simulation=SHORT)
    del d["sensors"]["laser_rangefinder"]
    without, _ = vertical_errors(d, seeds)
    # PDI vertical error is 100 m (1 sigma); a 2-m altimeter at 10 Hz brings it to meters
    assert np.sqrt(np.mean(with_it**2)) < 5.0 < 30.0 < np.sqrt(np.mean(without**2))
    assert (b.fsw_state["gates"]["accepted"][:, 1] > 250).all()  # 30 s at 10 Hz, all admitted
    acquired = [e for e in api.result_of(b, 0).summary["events"] if e["event"] == "sensor_acquired"]
    assert [e["sensor"] for e in acquired] == ["star_tracker", "baro"]


def test_registering_a_module_that_is_not_a_kind_says_what_it_lacks():
    with pytest.raises(registry.KindError, match="lacks NAME, Spec"):
        registry.register("tests.sims.scenarios")
    with pytest.raises(registry.KindError, match="cannot be imported"):
        registry.register("tests.no_such_module")


def test_the_command_line_takes_kinds_from_the_environment(tmp_path):
    """`descent run` with the kind declared in DESCENT_SENSOR_KINDS flies it (30 s from PDI,
    the altimeter acquired at the first cycle); without the declaration, one sentence."""
    toml = tmp_path / "altimeter.toml"
    toml.write_text(_to_toml(with_altimeter()))
    env = dict(os.environ, PYTHONPATH=str(ROOT), DESCENT_SENSOR_KINDS=KIND)
    out = tmp_path / "out"
    run = [sys.executable, "-m", "sims.cli", "run", str(toml), "--out", str(out)]
    assert subprocess.run(run, env=env, cwd=ROOT, capture_output=True).returncode == 0
    summary = json.loads((out / "summary.json").read_text())
    assert {"t_s": 0.0, "event": "sensor_acquired", "sensor": "baro"}.items() <= next(
        e for e in summary["events"] if e.get("sensor") == "baro"
    ).items()
    env.pop("DESCENT_SENSOR_KINDS")
    validate = [sys.executable, "-m", "sims.cli", "validate", str(toml)]
    refused = subprocess.run(validate, env=env, cwd=ROOT, capture_output=True, text=True)
    assert refused.returncode == 2
    assert "'barometric_altimeter' is not a registered sensor kind" in refused.stderr
    assert "DESCENT_SENSOR_KINDS" in refused.stderr and "Traceback" not in refused.stderr


def _to_toml(d, prefix=""):
    """A minimal TOML writer for the scenario dicts of these tests (tables, arrays, values)."""
    lines, tables = [], []
    for key, value in d.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{prefix}{key}]]")
                lines.append(_to_toml(item, f"{prefix}{key}."))
        else:
            lines.append(f"{key} = {json.dumps(value)}")
    out = "\n".join(lines)
    for key, value in tables:
        out += f"\n[{prefix}{key}]\n" + _to_toml(value, f"{prefix}{key}.")
    return out


def test_two_rangefinders_and_a_doppler_lidar_fly_together():
    """The nominal with the full suite: every channel reaches the filter in every run, and the
    Doppler lidar (one record of a velocity and a range per beam) brings the velocity
    knowledge at touchdown to millimetres per second, on the same seeds an order of magnitude
    below the nominal suite's, and the touchdown's horizontal speed to centimetres. The rest
    of the failures are terrain: 19 of 20 land."""
    seeds = range(8)
    results = api.run_seeds(full_suite(), seeds)
    channels = {"star_tracker", "laser_rangefinder", "nadir_rangefinder", "doppler_lidar"}
    for r in results:
        s = r.summary
        acquired = {e["sensor"] for e in s["events"] if e["event"] == "sensor_acquired"}
        assert acquired == channels
        assert s["navigation"]["final_velocity_error_mps"] < 0.02
    landed = [r.summary for r in results if r.outcome == "landed"]
    assert len(landed) >= 7
    assert all(s["touchdown"]["horizontal_speed_mps"] < 0.05 for s in landed)
    error = [r.summary["navigation"]["final_velocity_error_mps"] for r in results]
    without = [
        r.summary["navigation"]["final_velocity_error_mps"]
        for r in api.run_seeds(closed_loop(), seeds)
    ]
    assert np.median(error) < 0.1 * np.median(without)


def test_streams_are_keyed_by_channel_name():
    """Adding a channel leaves every other stream as it was: the star tracker's draws (and so
    the first minute of a run with no rangefinder return) are the same with and without a
    second rangefinder."""
    sim = {"time_step": "20 ms", "max_time": "20 s", "output_rate": "1 Hz"}
    base = api.prepare(full_suite(closed_loop(simulation=sim)), seeds=[3])
    d = full_suite(closed_loop(simulation=sim))
    del d["sensors"]["nadir_rangefinder"]
    fewer = api.prepare(d, seeds=[3])
    names = [c.name for c in base.models[0].channels]
    kept = [names.index(c.name) for c in fewer.models[0].channels]
    assert np.array_equal(
        base.states.channels["stream"][0, kept], fewer.states.channels["stream"][0]
    )
    assert np.array_equal(base.states.imu["stream"], fewer.states.imu["stream"])
    api.execute(base)
    api.execute(fewer)
    assert np.array_equal(base.x, fewer.x)  # 15 s at 15 km: no range sensor sees the ground


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        (
            {"kind": "lidar", "rate": "10 Hz"},
            "field 'sensors.extra' is invalid: kind 'lidar' is not a registered sensor kind",
        ),
        ({"rate": "10 Hz"}, "a sensor channel is a table with a 'kind'"),
        (
            {"kind": "laser_rangefinder", "rate": "10 Hz", "beam": [0, 0, -1], "noise": "1 m"},
            "field 'sensors.extra.laser_power' is missing",
        ),
        (
            {"kind": "star_tracker", "rate": "5 Hz", "noise": "1 m", "max_rate": "3 deg/s"},
            "field 'sensors.extra.noise' is invalid: '1 m' has units of length; expected an angle",
        ),
    ],
)
def test_a_bad_channel_is_one_sentence_naming_the_field(channel, expected):
    d = closed_loop()
    d["sensors"]["extra"] = channel
    with pytest.raises(scenario.ScenarioError, match=expected):
        scenario.load(d)


CACHED = """
import sys
from sensors import registry
from sims import api
from sims.run import loop
registry.register("tests.sensors.barometric_altimeter")
registry.entry_points("barometric_altimeter")
api.run("nominal", seed=0)
entries = next(m for n, m in sys.modules.items() if n.startswith("_sensor_kinds_entries_tests"))
print(entries.sample.cache_hits, entries.predict.cache_hits)
print(sum(loop.simulate_batch.stats.cache_hits.values()), len(loop.simulate_batch.signatures))
ours = next(m for n, m in sys.modules.items() if n.startswith("_flight_software_entries_gnc"))
print(ours.imu.cache_hits, ours.cycle.cache_hits)
"""


def test_a_registered_kind_and_the_loop_load_from_the_disk_cache_in_a_new_process():
    """The kind's entry points, our flight software's and the run loop are compiled once: a
    new process (after the tests above compiled them) loads them from Numba's disk cache, and
    the loop has one specialisation whatever kinds are registered."""
    registry.register(KIND)
    registry.entry_points("barometric_altimeter")  # compiled (or loaded) here first
    api.run("nominal", seed=0)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", CACHED], env=env, cwd=ROOT, capture_output=True, text=True
    )
    entries, loop, ours = out.stdout.split("\n")[:3]
    assert entries == "1 1" and loop == "1 1" and ours == "1 1", out.stderr
