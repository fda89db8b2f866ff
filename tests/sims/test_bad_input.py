"""Bad input never reaches the model: every scenario, dispersion, argument and results folder a
user can get wrong gets one sentence and exit 2 (a fixed example for each way found wrong
before), and a property test mutates the bundled scenarios: every mutant is refused in one
sentence or flies to a named outcome without an exception."""

import copy
import math
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dynamics import touchdown
from sims import api, cli
from sims.campaigns import campaign
from sims.scenarios import scenario
from tests.sims.scenarios import CLOSED_LOOP_TEXT, UNDISPERSED_TEXT, closed_loop

ROOT = Path(__file__).resolve().parents[2]


def refused(tmp_path, capsys, text, name="bad.toml"):
    """The one-line error `descent validate` gives a scenario file's text (or bytes)."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descent: error: {path}: ") and err.count("\n") == 1, err
    return err


def edited(old, new):
    assert old in CLOSED_LOOP_TEXT, old
    return CLOSED_LOOP_TEXT.replace(old, new, 1)


BAD_FILES = {
    # item 1: encodings and nesting
    "random bytes": (bytes(range(256)) * 4, "not UTF-8 text"),
    "Latin-1": (CLOSED_LOOP_TEXT.replace("nominal", "nominål").encode("latin-1"), "not UTF-8"),
    "UTF-16": (CLOSED_LOOP_TEXT.encode("utf-16"), "not UTF-8 text"),
    "nested 1,000 deep": ("x = " + "[" * 1000 + "]" * 1000 + "\n", "nested too deeply"),
    # item 2: NaN and infinities
    "NaN angle": (
        edited('misalignment = "0.05 deg"', 'misalignment = "nan deg"'),
        "field 'vehicle.main_engine.misalignment' is invalid: 'nan deg' is not a finite value",
    ),
    "infinite positive field": (
        edited('max_thrust = "2500 N"', 'max_thrust = "inf N"'),
        "'inf N' is not a finite value",
    ),
    "NaN plain number": (
        edited("optics_transmission = 0.7", "optics_transmission = nan"),
        "field 'sensors.laser_rangefinder.optics_transmission' is invalid: input should be a "
        "finite",
    ),
    "NaN touchdown limit": (
        edited('vertical_speed = "2 m/s"', 'vertical_speed = "nan m/s"'),
        "field 'touchdown_limits.vertical_speed' is invalid",
    ),
    # item 3: physical consistency
    "zero inertia": (
        edited('dry_inertia = ["280 kg m2"', 'dry_inertia = ["0 kg m2"'),
        "field 'vehicle.dry_inertia' is invalid: ['0 kg m2', '290 kg m2', '260 kg m2']: every "
        "component must be greater than zero",
    ),
    "negative inertia": (
        edited('dry_inertia = ["280 kg m2"', 'dry_inertia = ["-280 kg m2"'),
        "every component must be greater than zero",
    ),
    "inertia breaking the triangle inequality": (
        edited('dry_inertia = ["280 kg m2"', 'dry_inertia = ["600 kg m2"'),
        "break the triangle inequality",
    ),
    "landing gear at infinity": (
        edited('["1.3 m", "0 m", "-0.9 m"]', '["inf m", "0 m", "-0.9 m"]'),
        "field 'vehicle.landing_gear.0' is invalid: 'inf m' is not a finite value",
    ),
    "landing gear a kilometre out": (
        edited('["1.3 m", "0 m", "-0.9 m"]', '["1 km", "0 m", "-0.9 m"]'),
        "every component must be within +-100 m",
    ),
    "infinite RCS thrust": (edited('thrust = "22 N"', 'thrust = "inf N"'), "not a finite value"),
    "NaN thruster position": (
        edited('position = ["1 m", "0 m", "0.8 m"]', 'position = ["nan m", "0 m", "0.8 m"]'),
        "field 'vehicle.rcs.thrusters.0.position' is invalid: 'nan m' is not a finite value",
    ),
    # item 4: sizes
    "1-mm terrain spacing": (
        edited('spacing = "5 m"', 'spacing = "1 mm"'),
        "field 'terrain' is invalid: the tiles have 3.6e+13 grid nodes (2.68e+05 GiB of heights)",
    ),
    "infinite crater density": (
        edited("crater_density = 0.15", "crater_density = inf"),
        "field 'terrain.tiles.2.crater_density' is invalid: input should be a finite number",
    ),
    "craters down to 1e-300 m": (
        edited('min_crater_diameter = "25 m"', 'min_crater_diameter = "1e-300 m"'),
        "a tile would hold about 1e606 craters",
    ),
    "a run of 1e30 s": (
        edited('max_time = "900 s"', 'max_time = "1e30 s"'),
        "max_time / time_step = 5e+31 truth steps",
    ),
    "a trace at 1 GHz": (
        edited('output_rate = "10 Hz"', 'output_rate = "1 GHz"'),
        "output_rate must not exceed the truth rate",
    ),
    "a 1-ns truth step": (
        edited('time_step = "20 ms"', 'time_step = "1 ns"'),
        "max_time / time_step = 9e+11 truth steps",
    ),
    # item 5: angles
    "infinite latitude": (
        edited('latitude = "60.5 deg"', 'latitude = "inf deg"'),
        "is not a finite value",
    ),
    "latitude beyond the pole": (
        edited('latitude = "60.5 deg"', 'latitude = "95 deg"'),
        "field 'site.latitude' is invalid: '95 deg' must be within -1.5708 to 1.5708 rad",
    ),
    "infinite azimuth": (
        edited('approach_azimuth = "0 deg"', 'approach_azimuth = "inf deg"'),
        "field 'site.approach_azimuth' is invalid",
    ),
    "an epoch that is not a date": (
        edited('approach_azimuth = "0 deg"', 'approach_azimuth = "0 deg"\nepoch = "tomorrow"'),
        "field 'site.epoch' is invalid: 'tomorrow' is not a UTC epoch (ISO 8601",
    ),
    "the Sun given twice": (
        edited(
            'approach_azimuth = "0 deg"',
            'approach_azimuth = "0 deg"\nepoch = "2025-06-06T00:00:00"\nsun_elevation = "5 deg"',
        ),
        "give the Sun by 'epoch' or by 'sun_elevation' and 'sun_azimuth'",
    ),
    "infinite downrange": (
        edited('downrange_to_site = "460 km"', 'downrange_to_site = "inf km"'),
        "field 'initial.descent_orbit.downrange_to_site' is invalid",
    ),
    # item 6: what `run` refuses, `validate` refuses
    "a rate that does not divide the truth rate": (
        edited('rate = "10 Hz"\nposition', 'rate = "7 Hz"\nposition'),
        "field 'sensors.laser_rangefinder.rate': 7 Hz must be the truth rate 50 Hz divided by",
    ),
    "a step longer than the run": (
        edited('time_step = "20 ms"', 'time_step = "1000 s"'),
        "time_step must not exceed max_time",
    ),
    # item 7: the name becomes a folder
    "a name climbing out of results/": (
        edited('name = "nominal"', 'name = "../../x"'),
        "field 'meta.name' is invalid: '../../x' must be 1 to 100 letters",
    ),
    "an empty name": (edited('name = "nominal"', 'name = ""'), "field 'meta.name' is invalid"),
    "a NUL in the name": (edited('name = "nominal"', 'name = "a\\u0000b"'), "'meta.name'"),
    # item 8: no lax coercion
    "a number written as a string": (
        edited("optics_transmission = 0.7", 'optics_transmission = "15"'),
        "field 'sensors.laser_rangefinder.optics_transmission' is invalid: input should be a valid "
        "number",
    ),
    "a boolean in a direction": (
        edited("beam = [-0.7071067812, 0.0, -0.7071067812]", "beam = [true, 0, 0]"),
        "field 'sensors.laser_rangefinder.beam.0' is invalid: input should be a valid number",
    ),
    "NaN in a direction": (
        edited("beam = [-0.7071067812, 0.0, -0.7071067812]", "beam = [nan, 0, 0]"),
        "field 'sensors.laser_rangefinder.beam.0' is invalid: input should be a finite number",
    ),
    "infinity in a direction": (
        edited("beam = [-0.7071067812, 0.0, -0.7071067812]", "beam = [inf, 0, 0]"),
        "input should be a finite number",
    ),
    # issue 26, defects found by reading:
    # control characters in a key are escaped, the sentence one line
    "a key with a line separator": (
        edited('[sensors.imu]\nrate = "50 Hz"', '[sensors.imu]\n"rate\u2028x" = 1\nrate = "50 Hz"'),
        "field 'sensors.imu.rate\\u2028x' is not a known field",
    ),
    "a key with a carriage return and a vertical tab": (
        edited(
            '[sensors.imu]\nrate = "50 Hz"', '[sensors.imu]\n"a\\r\\u000bb" = 1\nrate = "50 Hz"'
        ),
        "field 'sensors.imu.a\\r\\x0bb' is not a known field",
    ),
    # the trace's size from its record (208 bytes, not the 184 it had when the check was
    # written): 5.5 million records at 100 Hz are 1.07 GiB, above the 1-GiB cap
    "a trace over 1 GiB by its record's size": (
        edited(
            'time_step = "20 ms"\nmax_time = "900 s"\noutput_rate = "10 Hz"',
            'time_step = "10 ms"\nmax_time = "55000 s"\noutput_rate = "100 Hz"',
        ),
        "field 'simulation' is invalid: max_time x output_rate needs a 1.07 GiB trace",
    ),
    # item 10: a dispersion needs its scale
    "a dispersion without a scale": (
        edited(
            '"initial.attitude_offset" = { distribution = "norm", scale = "0.33 deg" }',
            '"initial.attitude_offset" = { distribution = "norm" }',
        ),
        "dispersions: 'initial.attitude_offset': norm needs a 'scale'",
    ),
}


def test_a_direction_whose_sum_of_squares_overflows_is_still_its_direction():
    """[0, 1e300, 0] squared overflows: it used to become the zero vector and validate (a
    thruster pushing nowhere); it is +y."""
    d = closed_loop()
    d["sensors"]["laser_rangefinder"]["beam"] = [0.0, 1e300, 0.0]
    d["vehicle"]["rcs"]["thrusters"][0]["direction"] = [-1e200, 0.0, 1e200]
    sc = scenario.parse(d, "<dict>")
    assert sc.sensors.channels["laser_rangefinder"].beam == (0.0, 1.0, 0.0)
    assert sc.vehicle.rcs.thrusters[0].direction == pytest.approx((-(0.5**0.5), 0.0, 0.5**0.5))


@pytest.mark.parametrize("case", BAD_FILES)
def test_each_bad_scenario_seen_before_is_one_sentence(case, tmp_path, capsys):
    text, expected = BAD_FILES[case]
    err = refused(tmp_path, capsys, text)
    assert expected in err, err


@pytest.mark.parametrize(
    ("dispersion", "expected"),
    [
        (
            {"vehicle.dry_mass": {"distribution": "norm", "scale": "1000 kg"}},
            "dispersions: run 3: field 'vehicle.dry_mass' is invalid: -1592.2062204064136 must "
            "be greater than zero (drawn: vehicle.dry_mass = -1592.21; truncate",
        ),
        (
            {
                "vehicle.main_engine.throttle_min": {
                    "distribution": "uniform",
                    "loc": 0.1,
                    "scale": 2.0,
                }
            },
            "dispersions: run 0: field 'vehicle.main_engine.throttle_min' is invalid: input "
            "should be less than or equal to 1 (drawn: vehicle.main_engine.throttle_min = 1.82",
        ),
        (
            {
                "vehicle.propellant_mass": {
                    "distribution": "uniform",
                    "loc": "600 kg",
                    "scale": "100 kg",
                }
            },
            "field 'vehicle' is invalid: propellant_mass must not exceed propellant_capacity",
        ),
    ],
)
def test_a_campaign_whose_draws_break_a_constraint_stops_before_any_run(
    dispersion, expected, tmp_path, capsys
):
    """Item 9: the run index, the field, the value and the constraint, in one sentence, and
    nothing written."""
    path = tmp_path / "dispersed.toml"
    lines = "\n".join(
        f'"{k}" = {{ {", ".join(f"{a} = {v!r}" for a, v in spec.items())} }}'.replace("'", '"')
        for k, spec in dispersion.items()
    )
    path.write_text(UNDISPERSED_TEXT + "\n[dispersions]\n" + lines + "\n")
    out = tmp_path / "campaign"
    assert cli.main(["mc", str(path), "--runs", "50", "--seed", "1", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
    assert not out.exists()


def test_the_burn_time_stops_at_flame_out():
    """Item 15: with 250 kg of propellant the engine flames out before touchdown; the burn time
    is the time it burned, not the time it was commanded."""
    s = api.run(
        closed_loop(
            vehicle=tomllib.loads(CLOSED_LOOP_TEXT)["vehicle"] | {"propellant_mass": "250 kg"}
        )
    ).summary
    assert s["flameout_time_s"] is not None
    assert s["burn_time_s"] <= s["flameout_time_s"] + 0.02


def test_written_files_follow_the_umask(tmp_path):
    """Item 16: results files are not 0600."""
    old = os.umask(0o022)
    try:
        out = tmp_path / "run"
        api.run(closed_loop(simulation={"time_step": "20 ms", "max_time": "1 s"})).write(out)
    finally:
        os.umask(old)
    for name in ("summary.json", "trajectory.parquet"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644


def test_a_closed_pipe_ends_quietly():
    """Item 17: `descent run nominal | head -1` is not a traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sims.cli", "run", "nominal", "--out", os.devnull + "-x"],
        cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == cli.EXIT_BROKEN_PIPE and "Traceback" not in err


def test_arguments_get_consistent_sentences(capsys):
    """Item 18."""
    for runs in ("0", "-3"):
        with pytest.raises(SystemExit) as exc:
            cli.main(["mc", "nominal", "--runs", runs, "--out", "x"])
        assert exc.value.code == 2
        assert "expected a number >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.startswith("descent 0.")
    assert cli.main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    starts = {len(line) - len(line.split(maxsplit=1)[1]) for line in lines}
    assert len(starts) == 1  # descriptions in one column
    assert cli.main(["mc", "nominal", "--runs", "2", "--out", "x", "--scheduler", "a:1"]) == 2
    assert "--scheduler ADDR is for --executor dask" in capsys.readouterr().err


def test_an_unreachable_scheduler_is_one_sentence_and_leaves_nothing(tmp_path, capsys, monkeypatch):
    """Item 13: refused before the folder is made, so the same --out works on retry."""
    monkeypatch.setattr(campaign, "SCHEDULER_TIMEOUT_S", 1.0)
    out = tmp_path / "c"
    args = ["mc", "nominal", "--runs", "2", "--out", str(out), "--executor", "dask"]
    assert cli.main([*args, "--scheduler", "tcp://127.0.0.1:9"]) == 2
    assert "no Dask scheduler answered within 1 s" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize("damage", ["truncated", "missing"])
def test_resume_refiles_runs_whose_traces_are_lost(damage, tmp_path):
    """Item 12: a runs part is the commit of its batch and says how many trace rows it has; a
    batch whose traces part is truncated or missing is flown again, so the campaign keeps
    every trace it promised (the first runs' and every failure's)."""
    d = closed_loop(
        simulation={"time_step": "20 ms", "max_time": "20 s", "output_rate": "1 Hz"},
        dispersions={"vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"}},
    )
    out = tmp_path / "c"
    campaign.run(d, runs=6, seed=4, workers=1, out=out, batch_size=2, traces_first=6)
    whole = pq.read_table(out / "traces.parquet")
    part = out / "parts" / "traces-000000002.parquet"
    if damage == "truncated":
        part.write_bytes(part.read_bytes()[:100])
    else:
        part.unlink()
    (out / "runs.parquet").unlink()
    campaign.resume(out, workers=1)
    again = pq.read_table(out / "traces.parquet")
    assert again.num_rows == whole.num_rows and again.equals(whole)


# --- the property: mutants of the bundled scenarios

LEAF_VALUES = [
    math.nan,
    math.inf,
    -math.inf,
    -1,
    0,
    0.0,
    1e30,
    1e-300,
    -1e30,
    "nan m",
    "inf deg",
    "-inf s",
    "-5 kg",
    "1e30 m",
    "1e-300 m",
    "0 s",
    "15",
    "abc",
    "3 parsecs",
    True,
    [],
    {},
    [1, 2],
    ["1 m", "2 m", "3 m", "4 m"],
    None,
]


def leaves(node, path=()):
    """Every leaf path of a scenario dict (into lists too)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if isinstance(value, dict | list) and value:
            yield from leaves(value, (*path, key))
        else:
            yield (*path, key)


FACTORS = [0.0, -1.0, 1e-9, 1e-3, 10.0, 1e3, 1e9, 1e30, 1e-30]


def rescaled(leaf, factor):
    """The leaf's number times factor, unit kept ("340 kg" -> "3.4e+11 kg"); else the leaf."""
    if isinstance(leaf, bool):
        return leaf
    if isinstance(leaf, int | float):
        return leaf * factor
    if isinstance(leaf, str):
        number, _, unit = leaf.partition(" ")
        try:
            return f"{float(number) * factor:g} {unit}".strip()
        except ValueError:
            return leaf
    return leaf


def mutate(d, path, action, value, factor):
    target = d
    for key in path[:-1]:
        target = target[key]
    key = path[-1]
    if action == "rescale":
        target[key] = rescaled(target[key], factor)
    elif action == "delete":
        del target[key]
    elif action == "unknown key" and isinstance(target, dict):
        target["not_a_field"] = copy.deepcopy(value)
    else:
        if value is None:
            return
        target[key] = copy.deepcopy(value)


@st.composite
def mutants(draw):
    name = draw(st.sampled_from(scenario.bundled_names()))
    d = scenario.read_data(name)[1]
    for _ in range(draw(st.integers(1, 3))):
        paths = list(leaves(d))
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["rescale", "rescale", "replace", "delete", "unknown key"]))
        mutate(d, path, action, draw(st.sampled_from(LEAF_VALUES)), draw(st.sampled_from(FACTORS)))
    return name, d


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(mutants())
def test_every_mutant_is_refused_in_one_sentence_or_flies_to_a_named_outcome(case):
    name, d = case
    try:
        sc = scenario.parse(d, f"<mutant of {name}>")
    except scenario.ScenarioError as exc:
        message = str(exc)
        assert message.startswith(f"<mutant of {name}>: ") and "\n" not in message
        return
    short = sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"max_time": 2.0})})
    result = api.run(short)
    assert result.summary["outcome"] in touchdown.OUTCOMES
    assert np.isfinite(result.summary["end_time_s"])
