"""What a new user meets first: the README's two commands in a virtual environment, a first
run that says it compiles, a campaign that reports progress in a log and says what an
interrupt kept, one sentence for a missing folder or bare arrays, and reference tables
generated from the code they describe."""

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np
import pytest

from dynamics import compile_cache
from faults import table as fault_table
from sims import api, cli
from sims.scenarios import reference
from tests.dynamics.test_compile_cache import _loop_index
from tests.sims.scenarios import closed_loop

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
SHORT = {"time_step": "10 ms", "max_time": "20 s", "output_rate": "1 Hz"}
DISPERSED = {"vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"}}


def quick_start_commands():
    """The indented command lines of the README's quick start."""
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.startswith("    ")]


def test_the_quick_start_is_two_commands_in_a_virtual_environment():
    commands = quick_start_commands()
    assert len(commands) == 2
    for command in commands:
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install -e ")
    assert commands[0].endswith(".venv/bin/descent run nominal --out results/nominal")
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert ci[-1] == commands[1]  # CI runs the README's test command


def test_the_reference_lists_every_fault_mode_from_the_families():
    text = reference.PATH.read_text()
    assert fault_table.modes_markdown() in text
    for family in fault_table.MODULES:
        for mode in family.MODES:
            assert f"| `{mode.name}` |" in text
            for parameter in (*mode.needs, *mode.may_take):
                assert f"| `{parameter}` |" in text


@pytest.mark.parametrize("command", ["report", "compare"])
def test_a_missing_campaign_folder_is_named(tmp_path, capsys, command):
    missing = tmp_path / "no_such_campaign"
    argv = [command, str(missing)] + ([str(missing)] if command == "compare" else [])
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert f"{missing}: no such campaign folder" in err and "--out" not in err


def test_bare_arrays_as_an_initial_orbit_are_one_sentence():
    r, v = np.array([1.75e6, 0.0, 0.0]), np.array([0.0, 1690.0, 0.0])
    with pytest.raises(TypeError) as caught:
        api.run("nominal", initial_orbit=(r, v))
    message = str(caught.value)
    assert message.startswith("initial_orbit: expected an object with astropy Quantity .r")
    assert "got tuple" in message and "\n" not in message


def test_a_cold_cache_is_announced_and_its_compile_timed(tmp_path, monkeypatch):
    """With the run loop not in the cache the command says it compiles, then, when its
    machine code appears, how long it took; with it there, nothing is said."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(compile_cache, "TICK_S", 0.05)
    stream = io.StringIO()
    with compile_cache.announce(stream):
        time.sleep(0.2)
        _loop_index(tmp_path, compile_cache.dependency_digest(compile_cache.LOOP_FILE))
        time.sleep(0.3)
    said = stream.getvalue()
    assert said.startswith("descent: compiling the simulator, once")
    assert "descent: compiled in 0 s" in said
    quiet = io.StringIO()
    with compile_cache.announce(quiet):
        pass
    assert quiet.getvalue() == ""


def test_a_campaign_in_a_log_reports_its_progress(tmp_path, capsys):
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(closed_loop(simulation=SHORT, dispersions=DISPERSED)))
    argv = ["mc", str(path), "--runs", "10", "--out", str(tmp_path / "c"), "--batch", "1"]
    assert cli.main([*argv, "--workers", "1"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if " of 10 runs (" in line]
    # a line for every tenth of the runs (and every 10 s): here every run
    assert [line.split(" of ")[0] for line in lines] == [f"descent: {k}" for k in range(1, 11)]
    assert lines[-1].startswith("descent: 10 of 10 runs (100%), ")


def test_an_interrupted_campaign_says_what_it_kept_and_how_to_resume(tmp_path):
    path = tmp_path / "scenario.json"
    sc = closed_loop(
        simulation={"time_step": "10 ms", "max_time": "300 s", "output_rate": "1 Hz"},
        dispersions=DISPERSED,
    )
    path.write_text(json.dumps(sc))
    out = tmp_path / "c"
    # enough runs (~15 ms each) that the last ones are still to fly when the third is kept
    argv = ["mc", str(path), "--runs", "400", "--out", str(out), "--batch", "1"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sims.cli", *argv, "--workers", "2"],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ,
    )
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.parquet"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    kept = len(list((out / "parts").glob("runs-*.parquet")))
    assert 3 <= kept < 400, "the campaign was not interrupted mid-way"
    assert (
        f"descent: interrupted; {kept} of 400 runs kept in {out}; finish the others with "
        f"'descent mc --resume {out}'"
    ) in err
    assert "Traceback" not in err
