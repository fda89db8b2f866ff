"""Failure probabilities too small for plain Monte Carlo: subset simulation checked on limit
states whose probability is known in closed form (a plane at beta standard deviations, a
sphere: chi-square), then through the campaign machinery on a short descent against plain
Monte Carlo; the margins of failure expressions against hand-computed ones; a subset campaign
resumed and replayed bit for bit; bad expressions refused in one sentence."""

import html
import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import integrate, stats

from dynamics import touchdown
from sims import cli
from sims.analysis import report
from sims.campaigns import campaign, limit_state, tail
from sims.errors import CampaignError
from tests.sims.scenarios import closed_loop
from uncertainty import importance, subset

DIMENSIONS = 10
REPEATS = 100
SAMPLES = 1000


def repeated(margin, method=subset, repeats=REPEATS):
    """(estimates, stated CVs, intervals) of independent subset simulations (or importance
    samplings)."""
    out = []
    for r in range(repeats):
        rng = np.random.default_rng(r)
        e = method.simulate(
            lambda z, level: margin(z), rng.standard_normal((SAMPLES, DIMENSIONS)), rng
        )
        out.append((e.probability, e.cov, e.interval(0.9)))
    p, cov, intervals = zip(*out, strict=True)
    return np.array(p), np.array(cov), np.array(intervals)


def check_against(exact, p, cov, intervals):
    """The estimates unbiased within 3 standard errors of their mean; their scatter near
    the CV they state (which neglects the levels' correlation: a lower bound, Au & Beck
    2001, so the scatter runs a little above it); their 90 % intervals covering the exact
    value in at least 70 of 100 (they run below 90 % for the same reason)."""
    assert abs(p.mean() - exact) < 3.0 * p.std(ddof=1) / np.sqrt(len(p))
    scatter = p.std(ddof=1) / p.mean()
    assert 0.8 < scatter / cov.mean() < 1.6, (scatter, cov.mean())
    covered = np.sum((intervals[:, 0] <= exact) & (exact <= intervals[:, 1]))
    assert covered >= 70, covered


@pytest.mark.parametrize("beta", [3.0, 4.0, 4.75])
def test_subset_simulation_of_a_linear_limit_state_finds_phi_of_minus_beta(beta):
    """g(z) = beta - a.z, |a| = 1, in 10 dimensions: P(g <= 0) = Phi(-beta) exactly (1.3e-3,
    3.2e-5, 1.0e-6), reached in ceil(log10 1/p) levels of 1000 samples at p0 = 0.1."""
    a = np.ones(DIMENSIONS) / np.sqrt(DIMENSIONS)
    p, cov, intervals = repeated(lambda z: beta - z @ a)
    check_against(stats.norm.sf(beta), p, cov, intervals)


def test_subset_simulation_of_a_quadratic_limit_state_finds_the_chi_square_tail():
    """g(z) = c - |z|^2 fails outside a sphere: P = P(chi-square(10) > c) = 1e-4."""
    c = stats.chi2.isf(1e-4, DIMENSIONS)
    p, cov, intervals = repeated(lambda z: c - np.sum(z**2, axis=1))
    check_against(1e-4, p, cov, intervals)


@pytest.mark.parametrize("beta", [3.0, 4.0, 4.75])
def test_importance_sampling_of_a_linear_limit_state_finds_phi_of_minus_beta(beta):
    """The same planes by cross-entropy importance sampling: its CV (about 0.09 from 2,000 to
    4,000 runs) a third of subset simulation's, as its samples are independent."""
    a = np.ones(DIMENSIONS) / np.sqrt(DIMENSIONS)
    p, cov, intervals = repeated(lambda z: beta - z @ a, importance)
    check_against(stats.norm.sf(beta), p, cov, intervals)
    assert cov.mean() < 0.15


def test_importance_sampling_of_a_paraboloid_finds_its_exact_probability():
    """g(z) = beta - z1 + kappa/2 (z2^2 + ... + z10^2), beta = 3.5, kappa = 0.2: P = E[Phi(-(beta
    + kappa/2 X))], X chi-square(9), by quadrature (1.6e-5; FORM's Phi(-beta) would say 2.3e-4)."""
    beta, kappa = 3.5, 0.2
    exact = integrate.quad(
        lambda x: stats.norm.sf(beta + kappa / 2 * x) * stats.chi2.pdf(x, DIMENSIONS - 1),
        0,
        np.inf,
    )[0]
    p, cov, intervals = repeated(
        lambda z: beta - z[:, 0] + kappa / 2 * np.sum(z[:, 1:] ** 2, axis=1), importance
    )
    check_against(exact, p, cov, intervals)


def test_the_chains_correlation_factor():
    """gamma (Au & Beck 2001, eq. 27) is 0 for independent indicators (within 4 of its
    standard errors, 2 sqrt(sum_k (1 - k/Nc)^2 / (Ns (Nc - k))) = 0.03 for 2000 chains of
    10) and Nc - 1 for chains that never move (2 sum_{k=1}^{Nc-1} (1 - k/Nc) = Nc - 1)."""
    rng = np.random.default_rng(0)
    independent = rng.random((2000, 10)) < 0.3
    assert abs(subset.chain_correlation(independent, independent.mean())) < 4 * 0.03
    frozen = np.repeat(rng.random((2000, 1)) < 0.3, 10, axis=1)
    assert subset.chain_correlation(frozen, frozen.mean()) == pytest.approx(9.0, rel=1e-9)


LIMITS = touchdown.Limits()  # 2 and 0.5 m/s, 10 deg tilt, 12 deg slope, 5 deg/s


def test_margins_are_the_slack_as_a_share_of_the_limit():
    runs = pd.DataFrame(
        {
            "landing_error_m": [100.0, 150.0, 200.0, None],
            "descent_rate_mps": [1.0, 1.9, 2.5, None],
            "horizontal_speed_mps": [0.1, 0.1, 0.1, None],
            "tilt_deg": [2.0, 2.0, 9.0, None],
            "slope_deg": [3.0, 6.0, 3.0, None],
            "body_rate_dps": [1.0, 1.0, 1.0, None],
            "outcome": ["landed", "landed", "hard_landing", "timeout"],
        }
    )

    def margin(text):
        return limit_state.parse(text).margin(runs, LIMITS)

    np.testing.assert_allclose(margin("landing_error_m > 150"), [1 / 3, 0, -1 / 3, -1])
    np.testing.assert_allclose(margin("150 < landing_error_m"), [1 / 3, 0, -1 / 3, -1])
    np.testing.assert_allclose(margin("descent_rate_mps <= 1.5"), [-1 / 3, 0.4 / 1.5, 1 / 1.5, -1])
    # the smallest slack of the five limits: 1 - 1/2 vs 1 - 3/12 ..., 1 - 1.9/2, 1 - 2.5/2
    # (hard landing, below zero), and no touchdown
    np.testing.assert_allclose(margin('outcome != "landed"'), [0.5, 0.05, -0.25, -1])
    np.testing.assert_allclose(margin('outcome == "timeout"'), [1, 1, 1, -1])
    both = margin('landing_error_m > 150 or outcome != "landed"')
    np.testing.assert_allclose(both, [1 / 3, 0, -1 / 3, -1])
    np.testing.assert_allclose(
        margin("landing_error_m > 150 and descent_rate_mps > 2"), [0.5, 0.05, -0.25, -1]
    )
    assert limit_state.parse('outcome != "landed"').failed(runs, LIMITS).tolist() == [
        False,
        False,
        True,
        True,
    ]


@pytest.mark.parametrize(
    ("failure", "method", "p0", "says"),
    [
        ("landing_eror_m > 150", "subset", 0.1, "no column 'landing_eror_m'"),
        ("landing_error_m == 150", "plain", 0.1, "compared with <, <=, > or >="),
        ('outcome == "tipped"', "plain", 0.1, "one of landed"),
        ("landing_error_m >", "plain", 0.1, "not an expression"),
        ('outcome == "crashed"', "subset", 0.1, "only pass or fail"),
        ("landing_error_m > 150", "subset", 0.3, "1/p0 and runs x p0 must be whole"),
    ],
)
def test_bad_failure_options_are_one_sentence(failure, method, p0, says):
    with pytest.raises(CampaignError, match=says) as caught:
        tail.options(failure, method, 1000, p0, 10)
    assert "\n" not in str(caught.value)


DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "20 N"},
    "vehicle.main_engine.isp": {"distribution": "norm", "scale": "2 s"},
}
SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}
FAILURE = "propellant_used_kg > 2.617"  # the 99th percentile of 400 runs, near 1e-2


@pytest.fixture(scope="module")
def short():
    return closed_loop(simulation=SHORT, dispersions=DISPERSED)


@pytest.fixture(scope="module")
def subset_campaign(short, tmp_path_factory):
    out = tmp_path_factory.mktemp("subset") / "campaign"
    table, record = tail.run(short, FAILURE, 200, seed=1, workers=2, out=out)
    return out, table, record


@pytest.fixture(scope="module")
def plain(short):
    """Plain Monte Carlo of the short descent's failure: 2,000 runs."""
    return tail.run(short, FAILURE, 2000, method="plain", seed=2, workers=2)[1]


def agrees(record, plain):
    """The estimate within 2.5 combined standard errors of plain Monte Carlo's; the tail
    driven as the rocket equation says (flow F / (Isp g0): more thrust, less specific
    impulse), the dry mass barely."""
    p_plain = plain["probability"]
    se_plain = np.sqrt(p_plain * (1 - p_plain) / plain["evaluations"])
    se = record["probability"] * record["cov"]
    assert 3e-3 < p_plain < 3e-2
    assert abs(record["probability"] - p_plain) < 2.5 * np.hypot(se_plain, se)
    shift = {d["component"]: d["mean_z"][-1] for d in record["drivers"]}
    assert shift["vehicle.main_engine.max_thrust"] > 0.5
    assert shift["vehicle.main_engine.isp"] < -0.5
    assert abs(shift["vehicle.dry_mass"]) < 0.5


def test_subset_simulation_of_a_descent_agrees_with_plain_monte_carlo(subset_campaign, plain):
    """The first 5 s of braking, the propellant used beyond 2.617 kg: plain Monte Carlo of
    2,000 runs and subset simulation of 2 levels of 200 agree."""
    _, table, record = subset_campaign
    agrees(record, plain)
    assert record["evaluations"] == table.num_rows == 380 < 2000
    worst = record["most_probable_failure"]
    row = table.to_pandas().set_index("run").loc[worst["run"]]
    assert row.propellant_used_kg > 2.617
    assert worst["reliability_index"] == pytest.approx(
        np.linalg.norm(stats.norm.ppf(row.point)), rel=1e-6
    )


def test_importance_sampling_of_a_descent_agrees_with_plain_monte_carlo(short, plain):
    table, record = tail.run(short, FAILURE, 200, method="importance", seed=1, workers=2)
    agrees(record, plain)
    assert record["evaluations"] == table.num_rows <= 1000
    assert table.column("point").null_count == 0


def test_every_column_a_failure_expression_names_is_a_number_of_the_runs_table(
    subset_campaign,
):
    runs = subset_campaign[1]
    for column in limit_state.COLUMNS:
        assert runs.schema.field(column).type == "double", column


def test_a_subset_campaign_resumes_and_replays_bit_for_bit(subset_campaign, tmp_path):
    """Its second level's later batches lost (as if interrupted): resumed with another
    worker count, the same estimate and runs; its most probable failure replayed gives the
    same propellant to the bit."""
    out, table, record = subset_campaign
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    for name in ("runs.parquet", "traces.parquet", tail.FILE):
        (copy / name).unlink(missing_ok=True)
    parts = sorted((copy / "parts").glob("runs-*.parquet"))
    for path in parts[len(parts) // 2 :]:
        path.unlink()
    resumed, again = tail.resume(copy, workers=1)
    assert again == record
    flown = [t.sort_by("run").drop_columns("wall_time_s").to_pandas() for t in (resumed, table)]
    pd.testing.assert_frame_equal(*flown)
    assert json.loads((copy / tail.FILE).read_text()) == record
    index = record["most_probable_failure"]["run"]
    _, result = campaign.replay(out, index)
    stored = pq.read_table(out / "runs.parquet").to_pandas().set_index("run")
    assert result.summary["propellant_used_kg"] == stored.loc[index, "propellant_used_kg"]


def test_the_report_of_a_subset_campaign_reads_level_0_as_plain_monte_carlo(subset_campaign):
    out, _, record = subset_campaign
    text = report.build(out)
    assert "Failure probability" in text and html.escape(tail.describe(record)) in text
    assert "levels and the failure region" in text
    assert "<td>runs</td><td>200</td>" in text  # the overview counts level 0's runs


def test_the_command_line_refuses_what_it_cannot_estimate(tmp_path, capsys):
    out = tmp_path / "c"
    base = ["mc", "nominal", "--runs", "100", "--out", str(out)]
    cases = [
        (["--method", "subset"], "give --failure EXPR"),
        (["--method", "subset", "--failure", "x > 1"], "no column 'x'"),
        (["--method", "subset", "--failure", "tilt_deg > 5", "--design", "lhs"], "--design"),
    ]
    for extra, says in cases:
        assert cli.main(base + extra) != 0
        err = capsys.readouterr().err
        assert says in err and err.count("\n") == 1, err
        assert not out.exists()
