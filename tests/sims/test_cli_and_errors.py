"""The `descent` command: runs write their files; bad input gets one sentence and exit 2."""

import json
import subprocess
import sys

import pyarrow.parquet as pq
import pytest

from sims import cli
from sims.scenarios import scenario
from tests.sims.scenarios import NOMINAL_TEXT, closed_loop

BAD_EDITS = {
    "missing field": (
        ('dry_mass = "340 kg"\n', ""),
        "field 'vehicle.dry_mass' is missing",
    ),
    "wrong dimension": (
        ('periapsis_altitude = "15 km"', 'periapsis_altitude = "15 kg"'),
        "field 'initial.descent_orbit.periapsis_altitude' is invalid: '15 kg' has units of mass; "
        "expected a length",
    ),
    "negative mass": (
        ('dry_mass = "340 kg"', 'dry_mass = "-340 kg"'),
        "field 'vehicle.dry_mass' is invalid: '-340 kg' must be greater than zero",
    ),
    "unknown key": (
        ('dry_mass = "340 kg"', 'dry_mas = "340 kg"'),
        "field 'vehicle.dry_mas' is not a known field (did you mean 'dry_mass'?)",
    ),
    "number without unit": (
        ('max_thrust = "2500 N"', "max_thrust = 2500"),
        "field 'vehicle.main_engine.max_thrust' is invalid: got 2500; expected a force",
    ),
    "not TOML": (("[meta]", "[meta"), "not valid TOML"),
    "out-of-order schedule": (
        ('t = "377.3892566 s"', 't = "1 s"'),
        "schedule times must increase strictly",
    ),
}


def write_bad(tmp_path, edit):
    old, new = edit
    assert old in NOMINAL_TEXT
    path = tmp_path / "bad.toml"
    path.write_text(NOMINAL_TEXT.replace(old, new, 1))
    return path


@pytest.mark.parametrize("kind", BAD_EDITS)
def test_bad_scenario_is_one_sentence_naming_file_and_field(kind, tmp_path, capsys):
    edit, expected = BAD_EDITS[kind]
    path = write_bad(tmp_path, edit)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descent: error: {path}: ")
    assert expected in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_run_with_a_bad_scenario_writes_nothing(tmp_path, capsys):
    path = write_bad(tmp_path, BAD_EDITS["negative mass"][0])
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out)]) == 2
    assert not out.exists()


def test_unknown_scenario_name_lists_the_bundled_ones(capsys):
    assert cli.main(["validate", "nomnal"]) == 2
    err = capsys.readouterr().err
    names = ", ".join(scenario.bundled_names())
    assert f"nomnal: no such file, and no bundled scenario of that name ({names})." in err
    listed = names.split(", ")
    assert listed == sorted(listed) and {"apollo11", "nominal", "ispace_m1"} <= set(listed)


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "taken"
    blocker.write_text("keep me")
    assert cli.main(["run", "nominal_open_loop", "--out", str(blocker)]) == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert blocker.read_text() == "keep me"


def test_bad_seed_argument_exits_2(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "nominal", "--seed", "-4"])
    assert exc.value.code == 2
    assert "expected a number >= 0" in capsys.readouterr().err


def test_installed_command_reports_without_traceback(tmp_path):
    path = write_bad(tmp_path, BAD_EDITS["wrong dimension"][0])
    proc = subprocess.run(
        [sys.executable, "-m", "sims.cli", "validate", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "has units of mass" in proc.stderr


def test_scenarios_lists_nominal(capsys):
    assert cli.main(["scenarios"]) == 0
    assert "\nnominal " in capsys.readouterr().out


def test_run_writes_summary_and_trajectory(tmp_path, capsys):
    out = tmp_path / "nominal"
    assert cli.main(["run", "nominal", "--seed", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "nominal (seed 5): landed" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["outcome"] == "landed" and summary["seed"] == 5
    assert set(summary["touchdown"]) >= {
        "descent_rate_mps",
        "horizontal_speed_mps",
        "tilt_deg",
        "body_rate_dps",
        "slope_deg",
        "position_error_m",
        "time_s",
    }
    assert summary["propellant_used_kg"] + summary["propellant_remaining_kg"] == pytest.approx(360)
    table = pq.read_table(out / "trajectory.parquet")
    assert set(table.column_names) >= {
        "t_s",
        "altitude_m",
        "mass_kg",
        "throttle",
        "x_east_m",
        "y_north_m",
        "z_up_m",
        "vx_east_mps",
        "vy_north_mps",
        "vz_up_mps",
    }
    t = table.column("t_s").to_numpy()
    # the trace ends with the step in which contact happened (20 ms in the nominal)
    assert t[0] == 0.0 and 0.0 <= t[-1] - summary["touchdown"]["time_s"] <= 0.02 + 1e-9
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []  # no temp files left


def test_a_field_an_earlier_version_had_says_why_it_is_gone():
    d = closed_loop()
    d["navigation"]["map_height_error"] = "5 m"
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.load(d)
    assert str(exc.value) == (
        "<dict>: field 'navigation.map_height_error' is not a known field: the onboard map's "
        "error is now derived from the terrain's crater statistics (remove it)."
    )


def test_a_laser_field_an_earlier_version_had_says_why_it_is_gone_whatever_the_channel():
    d = closed_loop()
    d["sensors"]["down_laser"] = dict(d["sensors"]["laser_rangefinder"], max_range="3 km")
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.load(d)
    assert str(exc.value) == (
        "<dict>: field 'sensors.down_laser.max_range' is not a known field: a laser's reach "
        "now follows its link budget (laser_power, receiver_aperture, optics_transmission, "
        "sensitivity: sensors/README.md; remove it)."
    )
