"""Sweeps: an axis read in its field's units, one-at-a-time and full-factorial grids, a sweep
campaign whose runs fly their grid point's values (read back from the model), with the
statistics a point's runs give, its runs replayed bit for bit, and bad axes refused in one
sentence with nothing written."""

import json

import numpy as np
import pytest

from sims import cli
from sims.analysis import campaign_statistics
from sims.campaigns import campaign, sweeps
from sims.errors import CampaignError
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop

SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}
DISPERSED = {"vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"}}


@pytest.fixture(scope="module")
def sc():
    return scenario.parse(closed_loop(simulation=SHORT, dispersions=DISPERSED), "t")


def test_an_axis_is_read_in_its_fields_units(sc):
    assert sweeps.axis("vehicle.main_engine.max_thrust=2.3kN:2600N:4", sc).values == (
        2300.0,
        2400.0,
        2500.0,
        2600.0,
    )
    tilt = sweeps.axis("vehicle.main_engine.misalignment=0deg:1deg:3", sc).values
    np.testing.assert_allclose(tilt, np.radians([0.0, 0.5, 1.0]), rtol=1e-15)
    assert sweeps.axis("vehicle.main_engine.throttle_min=0.2:0.4:2", sc).values == (0.2, 0.4)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("vehicle.main_engine.max_thrust=2300N:2600N", "expected FIELD=START:STOP:N"),
        ("vehicle.dry_mas=1kg:2kg:3", "vehicle.dry_mas is not a field a sweep can set"),
        ("initial.position_offset=0m:1m:3", "a vector; sweep a scalar field"),
        ("vehicle.dry_mass=1s:2s:3", "has units of time"),
        ("vehicle.dry_mass=1kg:2kg:1", "at least 2"),
    ],
)
def test_a_bad_axis_is_one_sentence(sc, text, says):
    with pytest.raises(CampaignError, match=says) as caught:
        sweeps.axis(text, sc)
    assert "\n" not in str(caught.value)


def test_one_at_a_time_and_full_grids():
    thrust = sweeps.Axis("vehicle.main_engine.max_thrust", (2300.0, 2600.0))
    isp = sweeps.Axis("vehicle.main_engine.isp", (300.0, 310.0, 320.0))
    oat = sweeps.points(sweeps.spec([thrust, isp], "oat", 5))
    assert oat == [
        {thrust.path: 2300.0},
        {thrust.path: 2600.0},
        {isp.path: 300.0},
        {isp.path: 310.0},
        {isp.path: 320.0},
    ]
    full = sweeps.points(sweeps.spec([thrust, isp], "full", 5))
    assert len(full) == 6 and full[4] == {thrust.path: 2600.0, isp.path: 310.0}
    with pytest.raises(CampaignError, match="swept twice"):
        sweeps.spec([thrust, thrust], "oat", 5)


def test_a_sweep_flies_each_points_values_and_gives_its_statistics(sc, tmp_path):
    """Thrust swept over three values, 20 runs each: every run flew its point's thrust (the
    model's read-back), the propellant burnt in 5 s rises with the thrust (mass flow
    F / (Isp g0)), the statistics are the point's runs', and a run replays bit for bit."""
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    spec = sweeps.spec([sweeps.axis("vehicle.main_engine.max_thrust=2300N:2500N:3", sc)], "oat", 20)
    out = tmp_path / "sweep"
    runs = campaign.run(d, 20, seed=2, workers=2, out=out, sweep=spec).to_pandas()
    assert len(runs) == 60
    assert (runs.sweep_point == runs.run // 20).all()
    np.testing.assert_array_equal(
        runs["vehicle.main_engine.max_thrust"], 2300.0 + 100.0 * (runs.run // 20)
    )
    burnt = runs.groupby("sweep_point").propellant_used_kg.mean()
    assert burnt.is_monotonic_increasing and burnt[2] - burnt[0] > 0.1
    rows = sweeps.statistics(runs, spec)
    for row in rows:
        at = runs[runs.sweep_point == row["point"]]
        assert row["runs"] == 20
        assert row["landed"] == (at.outcome == campaign_statistics.LANDED).mean()
        assert row["propellant_remaining_median_kg"] == at.propellant_remaining_kg.median()
    assert json.loads((out / "manifest.json").read_text())["sweep"]["grid"] == "oat"
    _, result = campaign.replay(out, 47)
    assert result.summary["propellant_used_kg"] == runs.set_index("run").propellant_used_kg[47]


def test_the_command_line_sweeps_and_refuses_a_bad_axis(tmp_path, capsys):
    out = tmp_path / "c"
    assert (
        cli.main(
            ["sweep", "nominal", "vehicle.dry_mas=1kg:2kg:3", "--runs", "2", "--out", str(out)]
        )
        != 0
    )
    err = capsys.readouterr().err
    assert "vehicle.dry_mas" in err and err.count("\n") == 1 and not out.exists()
