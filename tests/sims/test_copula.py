"""Correlated dispersions (`[dispersions.correlation]`, a Gaussian copula): the draws have the
correlation asked for (Pearson for normal marginals, Spearman's (6/pi) arcsin(rho/2) for
uniform ones) within their standard errors, keep their marginals, leave the other components
alone, read the same from a TOML table as from a dict, pairs or matrix, show in a campaign's
runs table, and a matrix no distribution can have is refused in one sentence."""

import numpy as np
import pytest
from scipy import stats

from sims.campaigns import campaign, dispersions
from sims.scenarios import scenario
from sims.scenarios.scenario import ScenarioError
from tests.sims.scenarios import UNDISPERSED_TEXT, closed_loop

DRAWS = 4000
RHO_STATE, RHO_MASS = -0.6, 0.5
FIELDS = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.propellant_mass": {"distribution": "uniform", "loc": "350 kg", "scale": "10 kg"},
    "initial.position_offset": {"distribution": "norm", "scale": ["200 m", "200 m", "100 m"]},
    "initial.velocity_offset": {"distribution": "norm", "scale": ["0.1 m/s", "0.1 m/s", "0.1 m/s"]},
}
PAIRS = {
    "pairs": [
        ["initial.position_offset[0]", "initial.velocity_offset[0]", RHO_STATE],
        ["vehicle.dry_mass", "vehicle.propellant_mass", RHO_MASS],
    ]
}


def draws(correlation, fields=FIELDS):
    sc = scenario.parse(closed_loop(dispersions={**fields, "correlation": correlation}), "t")
    sampled = dispersions.Sampler(sc).sample(3, range(DRAWS))
    columns = {}
    for values in sampled:
        for path, v in values.items():
            for i, x in enumerate(v if isinstance(v, tuple) else (v,)):
                name = f"{path}[{i}]" if isinstance(v, tuple) else path
                columns.setdefault(name, []).append(x)
    return {k: np.array(v) for k, v in columns.items()}


def test_the_draws_have_the_correlation_asked_for_and_keep_their_marginals():
    d = draws(PAIRS)
    # normal marginals: Pearson's r, standard error (1 - rho^2) / sqrt(n)
    r = np.corrcoef(d["initial.position_offset[0]"], d["initial.velocity_offset[0]"])[0, 1]
    assert abs(r - RHO_STATE) < 3 * (1 - RHO_STATE**2) / np.sqrt(DRAWS)
    # a normal and a uniform marginal: Spearman's rank correlation of a Gaussian copula
    rho_s = 6 / np.pi * np.arcsin(RHO_MASS / 2)
    s = stats.spearmanr(d["vehicle.dry_mass"], d["vehicle.propellant_mass"]).statistic
    assert abs(s - rho_s) < 3 * (1 - rho_s**2) / np.sqrt(DRAWS)
    # the others stay independent of them
    for other in ("initial.position_offset[1]", "initial.velocity_offset[2]"):
        r = np.corrcoef(d["initial.position_offset[0]"], d[other])[0, 1]
        assert abs(r) < 3 / np.sqrt(DRAWS)
    # the marginals are the fields' own
    assert stats.kstest(d["initial.velocity_offset[0]"], stats.norm(0, 0.1).cdf).pvalue > 0.01
    assert stats.kstest(d["vehicle.propellant_mass"], stats.uniform(350, 10).cdf).pvalue > 0.01


def test_a_matrix_and_the_same_pairs_draw_the_same_values():
    names = ["vehicle.dry_mass", "vehicle.propellant_mass"]
    matrix = {"fields": names, "matrix": [[1.0, RHO_MASS], [RHO_MASS, 1.0]]}
    pairs = {"pairs": [[*names, RHO_MASS]]}
    a, b = draws(matrix), draws(pairs)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_a_toml_table_is_read_as_the_dispersions_correlation():
    text = (
        UNDISPERSED_TEXT
        + """
[dispersions]
"vehicle.dry_mass" = { distribution = "norm", scale = "3 kg" }
"vehicle.propellant_mass" = { distribution = "norm", scale = "3 kg" }

[dispersions.correlation]
fields = ["vehicle.dry_mass", "vehicle.propellant_mass"]
matrix = [[1.0, 0.5], [0.5, 1.0]]
"""
    )
    sc = scenario.parse_text(text, "t.toml")
    assert set(sc.dispersions) == {"vehicle.dry_mass", "vehicle.propellant_mass"}
    assert sc.correlation.named_matrix()[1][0, 1] == 0.5


@pytest.mark.parametrize(
    ("correlation", "says"),
    [
        (
            {
                "pairs": [
                    ["vehicle.dry_mass", "vehicle.propellant_mass", 0.9],
                    ["vehicle.dry_mass", "initial.position_offset[0]", 0.9],
                    ["vehicle.propellant_mass", "initial.position_offset[0]", -0.9],
                ]
            },
            "is not positive definite (its smallest eigenvalue is -0.8)",
        ),
        ({"pairs": [["vehicle.dry_mas", "vehicle.propellant_mass", 0.5]]}, "'vehicle.dry_mas'"),
        (
            {"pairs": [["initial.position_offset", "vehicle.dry_mass", 0.5]]},
            "'initial.position_offset' is not a dispersed component",
        ),
        (
            {
                "fields": ["vehicle.dry_mass", "vehicle.propellant_mass"],
                "matrix": [[1, 0.5], [0.4, 1]],
            },
            "symmetric with ones on its diagonal",
        ),
        ({"pairs": [["vehicle.dry_mass", "vehicle.propellant_mass", 1.5]]}, "between -1 and 1"),
        ({"pairs": [["vehicle.dry_mass", "vehicle.dry_mass", 0.5]]}, "paired with itself"),
    ],
)
def test_a_correlation_no_distribution_can_have_is_one_sentence(correlation, says):
    with pytest.raises(ScenarioError) as caught:
        scenario.parse(closed_loop(dispersions={**FIELDS, "correlation": correlation}), "s.toml")
    message = str(caught.value)
    assert message.startswith("s.toml: field 'dispersions.correlation'") and says in message
    assert "\n" not in message


def test_a_campaigns_runs_table_reads_the_correlation_back():
    """300 runs of 2 s: the dry and propellant masses the model flew (the read-back columns)
    correlated as asked, within three standard errors."""
    fields = {k: FIELDS[k] for k in ("vehicle.dry_mass", "vehicle.propellant_mass")}
    fields["vehicle.propellant_mass"] = {"distribution": "norm", "scale": "3 kg"}
    short = {"time_step": "10 ms", "max_time": "2 s", "output_rate": "1 Hz"}
    masses = {"pairs": [PAIRS["pairs"][1]]}
    d = closed_loop(simulation=short, dispersions={**fields, "correlation": masses})
    runs = campaign.run(d, runs=300, seed=5, workers=2, traces_first=0).to_pandas()
    r = np.corrcoef(runs["vehicle.dry_mass"], runs["vehicle.propellant_mass"])[0, 1]
    assert abs(r - RHO_MASS) < 3 * (1 - RHO_MASS**2) / np.sqrt(300)
