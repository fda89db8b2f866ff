"""Variance-based sensitivity: Sobol indices from the saltelli design, checked on the
Ishigami function (its indices known in closed form) through the same design and analysis a
campaign uses, then on a short descent whose output is nearly linear in its dispersions (the
indices an independent regression on a plain campaign gives), and in the report."""

import numpy as np
import pytest
from scipy import stats

from sims.analysis import report
from sims.campaigns import campaign
from sims.errors import CampaignError
from tests.sims.scenarios import closed_loop
from uncertainty import designs, sobol_indices

A, B = 7.0, 0.1  # Ishigami's constants
# Ishigami & Homma (1990); Sobol' & Levitan (1999): V = a^2/8 + b pi^4/5 + b^2 pi^8/18 + 1/2,
# V1 = (1 + b pi^4/5)^2 / 2, V2 = a^2/8, V13 = b^2 pi^8 (1/18 - 1/50), V3 = 0
V = A**2 / 8 + B * np.pi**4 / 5 + B**2 * np.pi**8 / 18 + 0.5
V1, V2, V13 = (1 + B * np.pi**4 / 5) ** 2 / 2, A**2 / 8, B**2 * np.pi**8 * (1 / 18 - 1 / 50)
S1 = np.array([V1, V2, 0.0]) / V
ST = np.array([V1 + V13, V2, V13]) / V


def ishigami(u):
    x = -np.pi + 2 * np.pi * u
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def within(found, exact, key):
    """Each index within three of its standard errors (the 95 % half-width / 1.96) of the
    exact value, or 0.01 when its interval is narrower."""
    sigma = np.maximum(found[f"{key}_conf"] / 1.96, 0.01 / 3)
    assert np.all(np.abs(found[key] - exact) < 3 * sigma), (key, found[key], exact)


def test_the_ishigami_functions_indices_are_found_within_their_intervals():
    """S1 = (0.314, 0.442, 0), ST = (0.558, 0.442, 0.244) from 1024 x 5 points."""
    runs = designs.saltelli_runs(1024, 3)
    u = designs.points("saltelli", 7, range(runs), 3, runs)
    found = sobol_indices.indices(ishigami(u), 3)
    within(found, S1, "S1")
    within(found, ST, "ST")


def test_a_saltelli_designs_points_are_uniform_and_do_not_depend_on_their_batch():
    runs = designs.saltelli_runs(256, 4)
    whole = designs.points("saltelli", 3, range(runs), 4, runs)
    assert whole.shape == (runs, 4)
    for j in range(4):
        assert stats.kstest(whole[:, j], "uniform").pvalue > 0.01
    part = designs.points("saltelli", 3, range(100, 300), 4, runs)
    assert np.array_equal(part, whole[100:300])


DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "20 N"},
    "vehicle.main_engine.isp": {"distribution": "norm", "scale": "2 s"},
}
SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}


def test_a_descents_indices_are_those_of_its_regression():
    """The propellant burnt in 5 s of braking is nearly linear in the dry mass, the thrust
    and the specific impulse: a linear fit on 1,000 plain runs gives each component's share
    of the variance, b_i^2 var(x_i) / var(y) (dry mass 0, thrust about 0.6, Isp 0.4), and its
    residual the share of the runs' noise (about 1 %); a saltelli campaign of 128 x 6 runs
    (the noise its fourth input) finds the same within its intervals."""
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    plain = campaign.run(d, 1000, seed=11, workers=2, traces_first=0).to_pandas()
    x = plain[list(DISPERSED)].to_numpy()
    y = plain.propellant_used_kg.to_numpy()
    fit, residual, *_ = np.linalg.lstsq(np.column_stack([np.ones(len(y)), x]), y, rcond=None)
    shares = np.append(fit[1:] ** 2 * x.var(axis=0), residual / len(y)) / y.var()
    runs = campaign.run(d, 128, seed=12, workers=2, traces_first=0, design="saltelli")
    assert runs.num_rows == 128 * 6
    found = sobol_indices.indices(runs.column("propellant_used_kg").to_numpy(), 4)
    within(found, shares, "S1")
    within(found, shares, "ST")
    assert shares[0] < 0.01 and shares[1] > 0.5 and shares[2] > 0.3 and shares[3] < 0.05


def test_a_saltelli_campaign_wants_a_power_of_two_and_reports_its_indices(tmp_path):
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    with pytest.raises(CampaignError, match="power of two"):
        campaign.run(d, 100, design="saltelli")
    out = tmp_path / "c"
    campaign.run(d, 16, seed=1, workers=2, out=out, design="saltelli")
    text = report.build(out)
    assert "Sobol indices" in text and "vehicle.main_engine.isp" in text
