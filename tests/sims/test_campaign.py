"""Monte Carlo campaigns: identical results whatever the executor, resume after a kill,
stored dispersions equal to the drawn ones, replay of a single run, clear refusals."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pyarrow.parquet as pq
import pytest

from sims import cli
from sims.campaigns import campaign, dispersions
from sims.errors import CampaignError
from sims.scenarios import scenario
from tests.sims.scenarios import UNDISPERSED_TEXT, closed_loop

SHORT = {"time_step": "10 ms", "max_time": "20 s", "output_rate": "1 Hz"}
DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "20 N"},
    "vehicle.dry_com": {"distribution": "norm", "scale": "1 cm"},
}


def short_campaign():
    return closed_loop(simulation=SHORT, dispersions=DISPERSED)


def without_wall_time(table):
    return table.drop_columns(["wall_time_s"])


def test_serial_local_parallel_and_dask_give_identical_runs():
    sc = short_campaign()
    serial = campaign.run(sc, runs=6, seed=11, workers=1)
    parallel = campaign.run(sc, runs=6, seed=11, workers=2, batch_size=2)
    on_dask = campaign.run(sc, runs=6, seed=11, workers=2, executor="dask", batch_size=1)
    assert serial.num_rows == 6 and serial.column("run").to_pylist() == list(range(6))
    assert without_wall_time(serial).equals(without_wall_time(parallel))
    assert without_wall_time(serial).equals(without_wall_time(on_dask))


def test_stored_dispersions_are_the_drawn_values():
    sc_dict = short_campaign()
    runs = campaign.run(sc_dict, runs=3, seed=5, workers=1)
    sc = scenario.load(sc_dict)
    for row in runs.to_pylist():
        drawn = dispersions.sample(sc, 5, row["run"])
        assert row["vehicle.dry_mass"] == pytest.approx(drawn["vehicle.dry_mass"], rel=1e-12)
        assert row["vehicle.main_engine.max_thrust"] == pytest.approx(
            drawn["vehicle.main_engine.max_thrust"], rel=1e-12
        )
        for i in range(3):
            assert row[f"vehicle.dry_com[{i}]"] == pytest.approx(
                drawn["vehicle.dry_com"][i], abs=1e-12
            )


def test_killed_campaign_resumes_to_the_uninterrupted_result(tmp_path):
    sc_dict = closed_loop(
        simulation={"time_step": "10 ms", "max_time": "300 s", "output_rate": "1 Hz"},
        dispersions=DISPERSED,
    )
    path = tmp_path / "scenario.json"
    path.write_text(json.dumps(sc_dict))
    out = tmp_path / "campaign"
    runs = 40
    code = (
        "import json, sys; from sims.campaigns import campaign; "
        f"campaign.run(json.load(open({str(path)!r})), runs={runs}, seed=2, workers=1, "
        f"out={str(out)!r}, batch_size=1)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=os.getcwd())
    deadline = time.time() + 300
    while time.time() < deadline and len(list((out / "parts").glob("runs-*.parquet"))) < 4:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    kept = len(list((out / "parts").glob("runs-*.parquet")))
    assert 4 <= kept < runs, "the campaign was not interrupted mid-way"
    assert not (out / "runs.parquet").exists()
    resumed = campaign.resume(out, workers=1, batch_size=3)
    uninterrupted = campaign.run(sc_dict, runs=runs, seed=2, workers=1)
    assert without_wall_time(resumed).equals(without_wall_time(uninterrupted))
    assert without_wall_time(pq.read_table(out / "runs.parquet")).equals(
        without_wall_time(uninterrupted)
    )
    assert json.loads((out / "manifest.json").read_text())["finished"] is not None


def test_replay_of_one_run_matches_the_campaign(tmp_path):
    out = tmp_path / "c"
    runs = campaign.run(short_campaign(), runs=3, seed=4, workers=1, out=out)
    row = runs.to_pylist()[2]
    _, result = campaign.replay(out, 2)
    assert result.summary["outcome"] == row["outcome"]
    assert result.summary["propellant_used_kg"] == row["propellant_used_kg"]
    traces = pq.read_table(out / "traces.parquet").to_pandas()
    replayed = result.trajectory.to_pandas()
    # the campaign keeps one sample a second and the last
    ticks = replayed["t_s"] * campaign.TRACE_RATE_HZ
    whole_seconds = np.isclose(ticks, np.round(ticks))
    kept = replayed[whole_seconds | (replayed.index == len(replayed) - 1)]
    stored = traces[traces["run"] == 2].drop(columns="run").reset_index(drop=True)
    assert len(stored) > 10 and stored.equals(kept.reset_index(drop=True))
    assert traces["run"].is_monotonic_increasing


def test_replay_from_the_command_line_checks_the_scenario(tmp_path, capsys):
    path = tmp_path / "short.json"
    path.write_text(json.dumps(short_campaign()))
    out = tmp_path / "c"
    runs = campaign.run(str(path), runs=2, seed=4, workers=1, out=out)
    assert cli.main(["run", str(path), "--from-campaign", str(out), "--index", "1"]) == 0
    replayed = json.loads((out / "replay-1" / "summary.json").read_text())
    assert replayed["propellant_used_kg"] == runs.column("propellant_used_kg")[1].as_py()
    other = tmp_path / "other.json"
    other.write_text(json.dumps(closed_loop(simulation=SHORT)))
    assert cli.main(["run", str(other), "--from-campaign", str(out), "--index", "1"]) == 2
    assert "not the scenario the campaign" in capsys.readouterr().err


def test_resume_refuses_when_the_code_changed(tmp_path):
    out = tmp_path / "c"
    campaign.run(short_campaign(), runs=2, seed=1, workers=1, out=out)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["code_digest"] = "0" * 16
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CampaignError, match="the code changed"):
        campaign.resume(out)


def test_bad_dispersion_spec_is_refused_before_anything_is_written(tmp_path, capsys):
    bad = closed_loop(dispersions={"vehicle.dry_mass": {"distribution": "gauss", "scale": "3 kg"}})
    out = tmp_path / "never"
    with pytest.raises(scenario.ScenarioError, match="'gauss' is not a continuous"):
        campaign.run(bad, runs=2, out=out)
    assert not out.exists()
    # and from the command line: one sentence, exit 2, nothing written
    toml_path = tmp_path / "bad.toml"
    toml_path.write_text(
        UNDISPERSED_TEXT + '\n[dispersions]\n"vehicle.dry_mass" = { distribution = "gauss" }\n'
    )
    assert cli.main(["mc", str(toml_path), "--runs", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "'gauss' is not a continuous scipy.stats distribution" in err and not out.exists()


def test_unusable_results_folder_is_one_sentence(tmp_path, capsys):
    assert cli.main(["mc", "--resume", str(tmp_path)]) == 2
    assert f"{tmp_path}: no manifest.json; not a campaign folder" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text('{"runs": 3,')
    assert cli.main(["mc", "--resume", str(tmp_path)]) == 2
    assert "manifest.json: corrupt, not readable as JSON" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text('{"runs": 3}')
    assert cli.main(["mc", "--resume", str(tmp_path)]) == 2
    assert "manifest.json: corrupt, it lacks 'scenario', " in capsys.readouterr().err
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert cli.main(["mc", "nominal", "--runs", "2", "--out", str(other)]) == 2
    err = capsys.readouterr().err
    assert "folder is not empty and holds no campaign; choose another --out" in err
    assert "--resume" not in err
