"""Campaign designs: a Latin hypercube holds one run in each stratum of every component; a
scrambled Sobol sequence is balanced at powers of two (in one component and in pairs); both
have uniform marginals; a run's point does not depend on how the runs are batched; a campaign
with a design stores what it drew and refuses a design it cannot take in one sentence."""

import numpy as np
import pytest
from scipy import stats

from sims import cli
from sims.campaigns import campaign, dispersions
from sims.errors import CampaignError
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop
from uncertainty import designs

DIMENSIONS = 5


def strata_counts(u, n):
    """Points of each column in each of the n equal strata of (0, 1)."""
    return np.stack(
        [np.bincount((u[:, j] * n).astype(int), minlength=n) for j in range(u.shape[1])]
    )


def test_a_latin_hypercube_holds_one_run_in_every_stratum_of_every_component():
    runs = 50
    u = designs.points("lhs", 7, range(runs), DIMENSIONS, runs)
    assert (strata_counts(u, runs) == 1).all()


def test_a_sobol_design_is_balanced_at_powers_of_two():
    u = designs.points("sobol", 7, range(64), DIMENSIONS, 64)
    assert (strata_counts(u, 64) == 1).all()
    # a (t, m, s)-net in base 2: the first two components' 8 x 8 cells hold one point each
    cells = (u[:, 0] * 8).astype(int) * 8 + (u[:, 1] * 8).astype(int)
    assert (np.bincount(cells, minlength=64) == 1).all()
    # the first 2^m of a longer sequence are balanced too (run k's point does not depend on N)
    longer = designs.points("sobol", 7, range(100), DIMENSIONS, 100)
    assert np.array_equal(longer[:64], u)


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_each_designs_marginals_are_uniform(design):
    u = designs.points(design, 3, range(512), DIMENSIONS, 512)
    assert ((u > 0.0) & (u < 1.0)).all()
    for j in range(DIMENSIONS):
        assert stats.kstest(u[:, j], "uniform").pvalue > 0.01


@pytest.mark.parametrize("design", ["lhs", "sobol"])
def test_a_runs_point_does_not_depend_on_its_batch(design):
    whole = designs.points(design, 11, range(40), DIMENSIONS, 40)
    pieces = np.vstack(
        [designs.points(design, 11, batch, DIMENSIONS, 40) for batch in (range(13), range(13, 40))]
    )
    scattered = designs.points(design, 11, [3, 17, 39], DIMENSIONS, 40)
    assert np.array_equal(whole, pieces) and np.array_equal(scattered, whole[[3, 17, 39]])


DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {
        "distribution": "uniform",
        "loc": "2450 N",
        "scale": "100 N",
    },
}
SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}


def test_a_campaign_stores_its_designs_draws_whatever_the_workers():
    """16 runs of a Sobol design: the thrust (uniform over 100 N) falls one run in each
    6.25-N stratum, and the runs table holds what the sampler drew, the same with 1 worker
    and with 2 in batches of 3."""
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    one = campaign.run(d, runs=16, seed=4, workers=1, design="sobol").to_pandas()
    two = campaign.run(d, runs=16, seed=4, workers=2, batch_size=3, design="sobol").to_pandas()
    columns = ["vehicle.dry_mass", "vehicle.main_engine.max_thrust"]
    assert one[columns].equals(two[columns])
    thrust = one["vehicle.main_engine.max_thrust"].to_numpy()
    assert (np.bincount(((thrust - 2450.0) / 6.25).astype(int), minlength=16) == 1).all()
    drawn = dispersions.Sampler(scenario.load(d), "sobol", 16).sample(4, range(16))
    assert [r["vehicle.dry_mass"] for r in drawn] == pytest.approx(one["vehicle.dry_mass"])
    plain = campaign.run(d, runs=16, seed=4, workers=1).to_pandas()
    assert not np.allclose(plain["vehicle.dry_mass"], one["vehicle.dry_mass"])


def test_a_design_without_dispersions_is_one_sentence(tmp_path, capsys):
    with pytest.raises(CampaignError, match="disperses nothing"):
        campaign.run(closed_loop(simulation=SHORT), runs=2, design="lhs")
    out = tmp_path / "c"
    assert (
        cli.main(["mc", "nominal_open_loop", "--runs", "2", "--out", str(out), "--design", "lhs"])
        == 2
    )
    err = capsys.readouterr().err
    assert "--design lhs: nominal_open_loop" in err and "disperses nothing" in err
    assert not out.exists()
