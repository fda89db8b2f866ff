"""Variance-based global sensitivity: first-order and total Sobol indices of a run's output
(the landing margin, the landing error) over the dispersed components, from a campaign
flown under the `saltelli` design (`uncertainty.designs`), with SALib (Saltelli 2002; Saltelli et
al. 2010, the estimators; Jansen 1999, the total index) and its bootstrap intervals.

S1 of an input is the share of the output's variance its value alone explains; ST the
share it explains with all its interactions. The inputs are the dispersed components'
independent uniform scores (before `[dispersions.correlation]`'s copula, when there is one)
and, last, the run's own noise (its sensors' streams, whether its faults occur: a run of the
design flies the noise its last coordinate picks, `dispersions.Sampler`), without which the
runs that differ in one component would differ in their noise too and every total index
would hold the noise's variance. S1 sums to less than one where inputs interact.
"""

import numpy as np
from SALib.analyze import sobol as analysis

CONFIDENCE = 0.95
RESAMPLES = 200


def problem(dimensions):
    """SALib's problem over the unit cube of a campaign's points."""
    return {
        "num_vars": dimensions,
        "names": [f"u{i}" for i in range(dimensions)],
        "bounds": [[0.0, 1.0]] * dimensions,
    }


def indices(outputs, dimensions, seed=0):
    """{S1, S1_conf, ST, ST_conf}: arrays over the components, of the outputs of a
    `saltelli` design's runs in run order (conf: the half-width of the 95 % bootstrap
    interval; seed: the bootstrap's)."""
    got = analysis.analyze(
        problem(dimensions),
        np.asarray(outputs, float),
        calc_second_order=False,
        num_resamples=RESAMPLES,
        conf_level=CONFIDENCE,
        seed=seed,
    )
    return {k: np.asarray(got[k]) for k in ("S1", "S1_conf", "ST", "ST_conf")}
