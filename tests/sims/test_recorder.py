"""Recorders: each signal is what its name says (against independent computations from the
truth state, the flight software's own telemetry and state), the update log is the flight
software's own gating, the runs and the rate asked for are the ones recorded, and recording
changes nothing else."""

import json
import math

import numpy as np
import pyarrow.parquet as pq
import pytest
from scipy.spatial.transform import Rotation
from scipy.stats import chi2

from dynamics.truth import X_MASS, X_Q, X_R, X_V, X_W
from gnc.interface import flight_log
from sims import api, cli
from sims.campaigns import campaign, results_folder
from sims.run import recorder
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop, high_gate_start, short_closed_loop

EVERYTHING = ["truth.*", "nav.*", "cmd.*", "act.*", "fsw.guidance.t_go_s", "fsw.phase"]
EVERYTHING += ["fsw.landing_now", "fsw.guidance.u_mps2[2]"]


def fly(d, seeds, record=None):
    """A batch of the scenario dict d (from the nominal high gate) over seeds, executed."""
    if record is not None:
        d = {**d, "record": record}
    sc = scenario.load(d)
    b = api.prepare(sc, initial_orbit=high_gate_start(sc), seeds=seeds)
    api.execute(b)
    return b


@pytest.fixture(scope="module")
def recorded():
    b = fly(short_closed_loop(), [3], {"signals": EVERYTHING, "rate": "10 Hz", "runs": "all"})
    return b, api.result_of(b).recording.to_pandas(), api.result_of(b).updates.to_pandas()


def site_of(b):
    return b.models[0].terrain.site, float(b.models[0].gravity.params["rotation_rate_radps"])


def rz(angle):
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def test_truth_signals_are_the_final_truth_state(recorded):
    b, rec, _ = recorded
    site, omega = site_of(b)
    last = rec.iloc[-1]
    t = last["t_s"]
    assert t == pytest.approx(b.trace[0, b.summary[0]["n_trace"] - 1]["t_s"], abs=1e-12)
    x = b.x[0]
    to_mcmf = rz(-omega * t)  # the Moon-fixed frame turns by omega t from MCI
    r = to_mcmf @ x[X_R : X_R + 3]
    v = to_mcmf @ (x[X_V : X_V + 3] - np.cross([0.0, 0.0, omega], x[X_R : X_R + 3]))
    enu = np.array([site["east"], site["north"], site["up"]])
    expected_p = enu @ (r - site["origin_mcmf_m"])
    expected_v = enu @ v
    for j, axis in enumerate(("east", "north", "up")):
        assert last[f"truth.{axis}_m"] == pytest.approx(expected_p[j], abs=1e-6)
        assert last[f"truth.v_{axis}_mps"] == pytest.approx(expected_v[j], abs=1e-9)
    assert last["truth.mass_kg"] == x[X_MASS]
    q = x[X_Q : X_Q + 4]
    assert [last[f"truth.q_{c}"] for c in "wxyz"] == list(q)
    body_z = Rotation.from_quat([*q[1:], q[0]]).apply([0.0, 0.0, 1.0])
    tilt = math.degrees(math.acos(body_z @ x[X_R : X_R + 3] / np.linalg.norm(x[X_R : X_R + 3])))
    assert last["truth.tilt_deg"] == pytest.approx(tilt, abs=1e-9)
    assert last["truth.w_z_dps"] == pytest.approx(math.degrees(x[X_W + 2]), abs=1e-12)
    assert last["truth.altitude_m"] < 3.0  # at touchdown: the centre of mass above the pads


def test_navigation_errors_and_sigmas_are_the_telemetrys_in_site_axes(recorded):
    b, rec, _ = recorded
    site, omega = site_of(b)
    last, tel, x = rec.iloc[-1], b.io["telemetry"], b.x[0]
    # the site's axes as MCI vectors at t: errors and sigmas are taken along them
    axes = np.array([site["east"], site["north"], site["up"]]) @ rz(-omega * last["t_s"])
    p = tel["covariance"]
    e_r = tel["r_mci_m"] - x[X_R : X_R + 3]
    e_v = tel["v_mci_mps"] - x[X_V : X_V + 3]
    for j, axis in enumerate(("east", "north", "up")):
        assert last[f"nav.error_{axis}_m"] == pytest.approx(axes[j] @ e_r, abs=1e-9)
        assert last[f"nav.error_v_{axis}_mps"] == pytest.approx(axes[j] @ e_v, abs=1e-12)
        sigma_r = math.sqrt(axes[j] @ p[0:3, 0:3] @ axes[j])
        sigma_v = math.sqrt(axes[j] @ p[3:6, 3:6] @ axes[j])
        assert last[f"nav.sigma_{axis}_m"] == pytest.approx(sigma_r, rel=1e-9)
        assert last[f"nav.sigma_v_{axis}_mps"] == pytest.approx(sigma_v, rel=1e-9)
    q_est, q_true = tel["q_body_to_mci"], x[X_Q : X_Q + 4]
    dq = Rotation.from_quat([*q_est[1:], q_est[0]]).inv() * Rotation.from_quat(
        [*q_true[1:], q_true[0]]
    )
    for j, axis in enumerate("xyz"):
        assert last[f"nav.error_att_{axis}_rad"] == pytest.approx(dq.as_rotvec()[j], abs=1e-12)
        assert last[f"nav.sigma_att_{axis}_rad"] == pytest.approx(math.sqrt(p[6 + j, 6 + j]))
    assert last["nav.phase"] == flight_log.PHASES[tel["phase"]]


def test_flight_software_fields_are_its_state(recorded):
    b, rec, _ = recorded
    last, state = rec.iloc[-1], b.fsw_state[0]
    assert last["fsw.guidance.t_go_s"] == state["guidance"]["t_go_s"]
    assert last["fsw.guidance.u_mps2[2]"] == state["guidance"]["u_mps2"][2]
    assert last["fsw.phase"] == state["phase"]
    assert last["fsw.landing_now"] == float(state["landing_now"])
    assert last["nav.phase"] == flight_log.PHASES[int(last["fsw.phase"])]


def test_the_rate_is_kept_and_the_end_recorded(recorded):
    _, rec, _ = recorded
    t = rec["t_s"].to_numpy()
    assert t[0] == 0.0 and np.allclose(np.diff(t[:-1]), 0.1, atol=1e-9)
    assert 0.0 < t[-1] - t[-2] <= 0.1 + 1e-9


def test_the_update_log_is_the_flight_softwares_gating(recorded):
    b, _, updates = recorded
    names = [c.name for c in b.models[0].channels]
    nis = b.fsw_state[0]["nis"]
    assert len(updates) > 100
    for (channel, phase), rows in updates.groupby(["channel", "phase"]):
        counted = nis[names.index(channel), flight_log.PHASES.index(phase)]
        assert len(rows) == counted["count"]
        assert rows["dimension"].sum() == counted["dof"]
        assert rows["nis"].sum() == pytest.approx(counted["sum"], rel=1e-12)
    ranges = updates[updates["dimension"] == 1]
    assert len(ranges) > 50
    for _, row in ranges.iterrows():
        y, s = row["innovation"][0], row["innovation_variance"][0]
        assert row["nis"] == pytest.approx(y * y / s, rel=1e-9)


def test_a_latching_gate_logs_its_rejections_and_then_nothing():
    """ispace M1: the rangefinder's ranges over the rim fail the legacy gate (NIS above 9, a
    test ratio above 1) and the channel is latched off: it reports nothing after."""
    result = api.run(
        scenario.parse_text(
            scenario.read_text("ispace_m1")[1],
            "ispace_m1",
            {"signals": ["nav.phase"], "rate": "1 Hz"},
        ),
        seed=0,
    )
    rangefinder = result.updates.to_pandas().query("channel == 'laser_rangefinder'")
    assert (rangefinder["dimension"] == 1).all()
    threshold = 9.0  # the scenario's gate
    assert np.allclose(rangefinder["test_ratio"], rangefinder["nis"] / threshold, rtol=1e-12)
    admitted = rangefinder["verdict"] == "accepted"
    assert (rangefinder.loc[admitted, "test_ratio"] <= 1.0).all()
    assert (rangefinder.loc[~admitted, "test_ratio"] > 1.0).all()
    assert rangefinder["verdict"].iloc[-1] == "latched"
    latched = [e for e in result.summary["events"] if e["event"] == "sensor_latched_off"]
    assert latched and rangefinder["t_s"].iloc[-1] <= latched[0]["t_s"]
    assert (rangefinder["verdict"] == "latched").sum() == 1


def test_errors_over_seeds_are_inside_the_sigmas_claimed():
    """The filter of the nominal claims no more than it knows
    (tests/sims/test_navigation_consistency): each recorded error over its recorded sigma,
    squared and averaged over N runs at mid-phase, stays below the 99.9 % point of
    chi-square(N)/N on every axis in every phase. (It may be below the band's lower edge: the
    filter is conservative along some axes, e.g. the vertical in the approach, 0.12.)"""
    seeds = list(range(40))
    label, text = scenario.read_text("nominal")
    sc = scenario.parse_text(text, label, {"signals": ["nav.*"], "rate": "1 Hz", "runs": "all"})
    b = api.prepare(sc, seeds=seeds)
    api.execute(b)
    rec = [api.result_of(b, k).recording.to_pandas() for k in range(len(seeds))]
    high = chi2.ppf(0.999, len(seeds)) / len(seeds)
    axes = [f"{a}_m" for a in ("east", "north", "up")]
    axes += [f"v_{a}_mps" for a in ("east", "north", "up")] + [f"att_{a}_rad" for a in "xyz"]
    for phase in ("braking", "approach", "terminal"):
        samples = []
        for r in rec:
            rows = r[r["nav.phase"] == phase]
            samples.append(rows.iloc[len(rows) // 2])
        for axis in axes:
            z2 = [(s[f"nav.error_{axis}"] / s[f"nav.sigma_{axis}"]) ** 2 for s in samples]
            assert np.mean(z2) < high, (phase, axis, np.mean(z2))


def test_recording_changes_nothing_else():
    d = short_closed_loop()
    plain = fly(d, [1, 2])
    with_recorder = fly(d, [1, 2], {"signals": EVERYTHING, "rate": "10 Hz", "runs": "all"})
    assert plain.summary.tobytes() == with_recorder.summary.tobytes()
    assert plain.trace.tobytes() == with_recorder.trace.tobytes()
    assert plain.events.tobytes() == with_recorder.events.tobytes()


SHORT = {"time_step": "10 ms", "max_time": "12 s", "output_rate": "1 Hz"}
FAULT = {
    "name": "blind",
    "target": "laser_rangefinder",
    "mode": "off",
    "trigger": {"time": "3 s"},
    "duration": "4 s",
}


def test_campaign_records_the_runs_asked_for_whatever_the_workers(tmp_path):
    d = closed_loop(
        simulation=SHORT,
        faults=[FAULT],
        dispersions={"vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"}},
    )
    record = {"signals": ["truth.altitude_m", "fault.*"], "rate": "2 Hz", "runs": [4], "first": 2}
    serial = campaign.run(d, runs=6, seed=7, workers=1, out=tmp_path / "a", record=record)
    campaign.run(d, runs=6, seed=7, workers=2, batch_size=1, out=tmp_path / "b", record=record)
    a = pq.read_table(tmp_path / "a" / "recordings.parquet")
    assert a.equals(pq.read_table(tmp_path / "b" / "recordings.parquet"))
    assert pq.read_table(tmp_path / "a" / "updates.parquet").equals(
        pq.read_table(tmp_path / "b" / "updates.parquet")
    )
    assert sorted(set(a.column("run").to_pylist())) == [0, 1, 4]
    assert serial.num_rows == 6
    rows = a.to_pandas().query("run == 4")
    assert np.allclose(rows["t_s"].iloc[:-1], np.arange(len(rows) - 1) * 0.5)
    # acting from 3 s for 4 s: over the steps that end in (3 s, 7 s]
    active = rows["fault.blind.active"] == 1.0
    assert rows.loc[active, "t_s"].tolist() == [3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]
    manifest = (tmp_path / "a" / "manifest.json").read_text()
    assert '"first": 2' in manifest


def test_a_lost_recordings_part_is_flown_again(tmp_path):
    d = closed_loop(simulation=SHORT)
    record = {"signals": ["truth.altitude_m"], "rate": "1 Hz", "runs": "all"}
    out = tmp_path / "c"
    campaign.run(d, runs=4, seed=1, workers=1, batch_size=2, out=out, record=record)
    whole = pq.read_table(out / "recordings.parquet")
    (out / "parts" / "recordings-000000002.parquet").unlink()
    assert results_folder.Results(out).done() == {0, 1}
    campaign.resume(out, workers=1)
    assert pq.read_table(out / "recordings.parquet").equals(whole)


def test_a_single_run_writes_what_it_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["run", "nominal", "--out", str(out), "--record", "nav.phase", "--record-rate", "1"]
    assert cli.main(argv) == 0
    assert "recording.parquet, updates.parquet in" in capsys.readouterr().out
    recording = pq.read_table(out / "recording.parquet").to_pandas()
    end = json.loads((out / "summary.json").read_text())["touchdown"]["time_s"]
    assert list(recording.columns) == ["run", "t_s", "nav.phase"]
    assert len(recording) == math.floor(end) + 2  # t = 0, each second, the end
    assert pq.read_table(out / "updates.parquet").num_rows > 1000


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--record", "nav.nothing"], "field 'record.signals': 'nav.nothing' matches no signal"),
        (["--record-rate", "25"], "field 'record.rate': 25 Hz is faster than the control rate"),
        (["--record-runs", "3,x"], "--record-runs 3,x: expected 'all', 'failures' or run"),
        (["--record", "fsw.*"], "'fsw.*' matches no signal; this flight software's form"),
    ],
)
def test_bad_recorder_options_are_one_sentence(tmp_path, capsys, argv, message):
    source = "nominal_open_loop" if argv[1] == "fsw.*" else "nominal"
    status = cli.main(["mc", source, "--runs", "2", "--out", str(tmp_path / "x"), *argv])
    err = capsys.readouterr().err
    assert status == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_the_readme_lists_every_built_in_signal():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert recorder.catalogue_markdown() in readme
