"""A flight software of the user's own, in each form the interface takes (a compiled module, a
Python class, an FMU built from C), flies the bundled high-gate descent like the others, in
campaigns whatever the worker count, is told of a computer reset, and ends only its own run
when it fails, with the reason."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pyarrow.compute as pc
import pytest

from sims import api
from sims.campaigns import campaign
from tests.gnc import fmu_build, three_forms

SEEDS = range(10)


@pytest.fixture(scope="module")
def fmu_path(tmp_path_factory):
    return fmu_build.build(tmp_path_factory.mktemp("fmu") / "zem_zev.fmu")


def forms(fmu_path, **settings):
    return {
        "compiled module": three_forms.compiled(**settings),
        "Python class": three_forms.python_class(**settings),
        "FMU": three_forms.fmu(fmu_path, **settings),
    }


def test_the_three_forms_land_the_high_gate_descent_alike(fmu_path):
    """Seeds 0-9: each form lands at least 9, every seed with the same outcome and a touchdown
    within 1 m of the others'. ZEM/ZEV flies to the point above the site it aimed at, so a
    run lands as far from the target as its navigation is wrong at the end (its horizontal
    position is dead-reckoned from the 200-m handover), to within the few metres the vertical
    descent drifts while it nulls the velocity it has left (1 to 5 m in these runs)."""
    runs = {name: api.run_seeds(d, SEEDS) for name, d in forms(fmu_path).items()}
    for name, results in runs.items():
        landed = sum(r.outcome == "landed" for r in results)
        assert landed >= 9, name
        for r in results:
            navigation = r.summary["navigation"]
            miss = r.summary["touchdown"]["position_error_m"]
            assert abs(miss - navigation["final_position_error_m"]) < 10.0, name
            assert navigation["nees"]["end"]["position"] is None  # it reports no covariance
    reference = runs["compiled module"]
    for results in runs.values():
        for a, b in zip(reference, results, strict=True):
            assert a.outcome == b.outcome
            ta, tb = a.summary["touchdown"], b.summary["touchdown"]
            assert np.hypot(ta["east_m"] - tb["east_m"], ta["north_m"] - tb["north_m"]) < 1.0


def _table(d, workers):
    runs = campaign.run(d, runs=200, seed=3, workers=workers, batch_size=25)
    return runs.drop_columns(["wall_time_s"])


@pytest.mark.parametrize("form", ["compiled module", "FMU"])
def test_a_campaign_of_a_form_is_the_same_whatever_the_worker_count(fmu_path, form):
    d = forms(fmu_path)[form]
    one, two = _table(d, 1), _table(d, 2)
    assert one.equals(two)
    assert pc.sum(pc.equal(one.column("outcome"), "landed")).as_py() >= 190


SHIPPED = """
import pickle, sys
from sims.campaigns import campaign
plan = pickle.loads(sys.stdin.buffer.read())
runs = campaign.run_batch(plan, [0, 1])["runs"]
print(runs.column("touchdown_east_m").to_pylist())
"""


def test_a_module_is_shipped_with_the_campaign_to_a_process_that_cannot_import_it(tmp_path):
    """A worker started elsewhere (no `tests` on its path) flies the compiled module from the
    source the campaign's plan carries, and flies it as this process does."""
    plan = campaign.plan_for(three_forms.compiled(), runs=2, seed=5, traces_first=0)
    assert [name for name, _ in plan.flight_software] == ["tests.gnc.zem_zev"]
    here = campaign.run_batch(plan, [0, 1])["runs"]
    out = subprocess.run(
        [sys.executable, "-c", SHIPPED],
        input=pickle.dumps(plan),
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert json.loads(out.stdout) == here.column("touchdown_east_m").to_pylist()


RESET = {
    "name": "reset",
    "target": "flight_computer",
    "mode": "reset",
    "reboot_time": "0.2 s",
    "relight_delay": "0.2 s",
    "trigger": {"time": "20 s"},
}


@pytest.mark.parametrize("form", ["compiled module", "Python class", "FMU"])
def test_a_computer_reset_calls_each_forms_restart(fmu_path, form):
    """Told through its restart entry point: it says so (the event), and one that fails there
    ends its run at the restart with its reason; one that does not flies on to touchdown (its
    memory kept; the IMU data of the 0.2 s it missed, lost to its dead reckoning, leave it a
    velocity error it has no sensor to see, and it may touch down too fast across)."""
    told = forms(fmu_path)[form] | {"faults": [RESET]}
    result = api.run(told, seed=0)
    restarted = [e for e in result.summary["events"] if e["event"] == "computer_restarted"]
    assert [e["t_s"] for e in restarted] == [20.2]
    assert restarted[0]["offline_s"] == pytest.approx(0.2)
    assert result.summary["touchdown"] is not None
    failing = forms(fmu_path, fail_on_restart=True)[form] | {"faults": [RESET]}
    result = api.run(failing, seed=0)
    assert result.outcome == "diverged"
    assert "restart" in result.summary["diverged_reason"]
    assert "the test's fault: restarted" in result.summary["diverged_reason"] or form == (
        "compiled module"
    )


FAILURES = {
    "compiled module": "the flight software raised an exception in its cycle at t = 50.00 s",
    "Python class": "the flight software failed in its cycle at t = 50.00 s: ValueError: the "
    "test's fault: fail_at reached (",
    "FMU": "the flight software failed in its cycle at t = 50.00 s: fmi2DoStep: fmi2Error: the "
    "test's fault: fail_at reached",
}


@pytest.mark.parametrize("form", FAILURES)
def test_a_flight_software_that_fails_ends_its_run_diverged_with_why_and_the_campaign_goes_on(
    fmu_path, form
):
    """A compiled module that raises, a class that raises, an FMU that returns fmi2Error: the
    run ends diverged at that cycle with the reason (what the form can tell of it: the
    exception and where, the FMU's own log message); a campaign records every such run."""
    d = forms(fmu_path, fail_at=50.0)[form]
    result = api.run(d, seed=0)
    assert result.outcome == "diverged" and result.summary["end_time_s"] == 50.0
    assert result.summary["diverged_reason"].startswith(FAILURES[form])
    assert result.summary["cause"] == result.summary["diverged_reason"]
    runs = campaign.run(d, runs=3, seed=1, workers=1)
    assert runs.column("outcome").to_pylist() == ["diverged"] * 3
    assert all(c.startswith(FAILURES[form]) for c in runs.column("cause").to_pylist())


def test_a_non_finite_command_ends_the_run_diverged():
    result = api.run(three_forms.compiled(nan_at=30.0), seed=0)
    assert result.outcome == "diverged" and result.summary["end_time_s"] == 30.0
    assert result.summary["diverged_reason"] == "the flight software commanded a non-finite value"


def test_an_fmu_instantiable_once_per_process_is_refused_for_several_workers(tmp_path, capsys):
    path = fmu_build.build(tmp_path / "once.fmu", single_instance=True)
    scenario_file = tmp_path / "once.toml"
    d = three_forms.fmu(path)
    scenario_file.write_text(json.dumps(d))  # a dict is read as JSON by campaign.run too
    with pytest.raises(campaign.CampaignError, match="can be instantiated only once per process"):
        campaign.run(d, runs=4, workers=2, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert campaign.run(d, runs=2, workers=1).num_rows == 2


def test_resume_refuses_a_flight_software_whose_source_changed(tmp_path, monkeypatch):
    """The module's source is part of the campaign's code identity."""
    source = (fmu_build.Path(__file__).with_name("examples") / "descend.py").read_text()
    (tmp_path / "my_descend.py").write_text(source.replace('"descend"', '"my_descend"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    d = three_forms.compiled() | {"flight_software": {"module": "my_descend"}}
    out = tmp_path / "campaign"
    campaign.run(d, runs=2, workers=1, out=out)
    (tmp_path / "my_descend.py").write_text(
        source.replace('"descend"', '"my_descend"') + "\n# tuned\n"
    )
    with pytest.raises(campaign.CampaignError, match="the code changed"):
        campaign.resume(out, workers=1)


def test_without_an_estimate_the_navigation_figures_are_absent_and_the_report_says_so(
    fmu_path, tmp_path
):
    """The FMU mapped without its telemetry reports no estimate: its runs have no navigation
    errors and no NEES (null, not zero), and the report says why."""
    from sims.analysis import report

    d = three_forms.fmu(fmu_path)
    outputs = d["flight_software"]["outputs"]
    d["flight_software"]["outputs"] = {
        k: v for k, v in outputs.items() if k in ("throttle", "engine_on") or k.startswith("q_c")
    }
    runs = campaign.run(d, runs=3, seed=2, workers=1, out=tmp_path / "c")
    for column in ("nav_position_error_m", "max_altitude_error_m", "nees_position_end"):
        assert runs.column(column).null_count == 3
    text = report.build(tmp_path / "c")
    assert "reports no navigation estimate: its errors and their consistency (NEES) are " in text
    assert "absent, not zero" in text
