"""The worst case within the dispersions' 3-sigma box: on margins whose minimum over the box
is known in closed form (a plane: the corner against its gradient; a bowl: its centre, inside
the box), then on a short descent whose worst corner the rocket equation names, resumed and
replayed bit for bit, and a margin with nothing to minimise refused in one sentence."""

import json
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from sims import cli
from sims.campaigns import campaign, worst_case
from sims.errors import CampaignError
from tests.sims.scenarios import closed_loop


def test_a_plane_is_worst_at_the_corner_against_its_gradient():
    """g = 3 - a.z over [-3, 3]^8: min = 3 - 3 |a|_1, at z = 3 sign(a) (where a is not 0)."""
    a = np.array([0.5, -0.3, 0.0, 0.05, 0.0, 0.2, 0.0, 0.0])
    z, margin, points, nominal, _ = worst_case.search(lambda z, stage: 3 - z @ a, len(a))
    assert margin == pytest.approx(3 - 3 * np.abs(a).sum(), abs=1e-12)
    moved = a != 0
    np.testing.assert_array_equal(z[moved], 3 * np.sign(a[moved]))
    assert nominal == 3.0 and points <= 2 * 8 + 1 + 2**6 + 100
    # the corners alone find it: each of the strongest components at its worse end
    _, corners_only, *_ = worst_case.search(lambda z, stage: 3 - z @ a, len(a), budget=1)
    assert corners_only == pytest.approx(3 - 3 * np.abs(a).sum(), abs=1e-12)


def test_a_bowl_is_worst_at_its_centre_inside_the_box():
    """g = 1 + |z - c|^2 with c inside the box: no corner finds it, the local search does."""
    c = np.array([1.0, -0.5, 2.0, 0.0, 0.0, 0.0])
    z, margin, *_ = worst_case.search(lambda z, stage: 1 + np.sum((z - c) ** 2, axis=1), len(c))
    assert margin == pytest.approx(1.0, abs=1e-3)
    np.testing.assert_allclose(z, c, atol=0.05)


DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "20 N"},
    "vehicle.main_engine.isp": {"distribution": "norm", "scale": "2 s"},
}
SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}
FAILURE = "propellant_used_kg > 2.617"


@pytest.fixture(scope="module")
def searched(tmp_path_factory):
    out = tmp_path_factory.mktemp("worst") / "search"
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    return d, out, worst_case.run(d, FAILURE, replicates=2, budget=30, workers=2, out=out)


def test_a_descents_worst_case_is_the_rocket_equations(searched):
    """The most propellant burnt in 5 s is at the most thrust and the least specific impulse
    (mass flow F / (Isp g0)), +3 and -3 sigma: beyond what any of 300 plain runs burnt, and
    its values are the distributions' 99.87 % and 0.13 % points."""
    d, out, record = searched
    z = record["z"]
    assert z["vehicle.main_engine.max_thrust"] == 3.0 and z["vehicle.main_engine.isp"] == -3.0
    nominal = closed_loop()["vehicle"]["main_engine"]
    assert record["values"]["vehicle.main_engine.max_thrust"] == pytest.approx(
        float(nominal["max_thrust"].split()[0]) + 3 * 20.0
    )
    plain = campaign.run(d, 300, seed=5, workers=2, traces_first=0).to_pandas()
    stored = pq.read_table(out / "runs.parquet").to_pandas().set_index("run")
    worst_burnt = stored.loc[record["worst_runs"], "propellant_used_kg"]
    assert worst_burnt.min() > plain.propellant_used_kg.max()
    assert record["margin"] < record["nominal_margin"]


def test_a_search_resumes_and_replays_bit_for_bit(searched, tmp_path):
    _, out, record = searched
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in ("runs.parquet", "traces.parquet", worst_case.FILE):
        (copy / name).unlink()
    parts = sorted((copy / "parts").glob("runs-*.parquet"))
    for path in parts[len(parts) // 2 :]:
        path.unlink()
    assert worst_case.resume(copy, workers=1) == record
    assert json.loads((copy / worst_case.FILE).read_text()) == record
    index = record["worst_runs"][0]
    _, result = campaign.replay(out, index)
    stored = pq.read_table(out / "runs.parquet").to_pandas().set_index("run")
    assert result.summary["propellant_used_kg"] == stored.loc[index, "propellant_used_kg"]


def test_a_margin_with_nothing_to_minimise_is_one_sentence(tmp_path, capsys):
    with pytest.raises(CampaignError, match="nothing to minimise"):
        worst_case.run("nominal", 'outcome == "crashed"')
    out = tmp_path / "w"
    assert cli.main(["worst-case", "nominal", "--failure", "x > 1", "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert "no column 'x'" in err and err.count("\n") == 1 and not out.exists()
