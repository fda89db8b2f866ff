"""Campaign designs: where in the unit cube of the dispersions each run's point lies.

A campaign's dispersed values are quantiles of uniform deviates, one per component of each
dispersed field (`sims.campaigns.dispersions`). The design chooses those deviates:

- `random`: each field of each run from its own stream (`dispersions.uniforms`): independent
  draws, the default;
- `lhs`: a Latin hypercube over all the campaign's runs (McKay, Beckman & Conover 1979): on
  every component, each of the N equal strata of (0, 1) holds exactly one run. Run k's point
  depends on the scenario, the seed, the design, k and the run count N (a hypercube is of its
  N runs);
- `sobol`: a scrambled Sobol sequence (Owen scrambling, scipy.stats.qmc): run k's point is the
  sequence's k-th, whatever the run count; over the first 2^m runs every component has one
  point in each of the 2^m equal strata (its balance, which holds at powers of two);
- `saltelli`: Saltelli's sampling for Sobol indices (SALib; Saltelli 2002, Saltelli et al.
  2010): from a base of N points (a power of two) of a scrambled Sobol sequence in twice the
  dimensions, the runs A, B and each A with one column taken from B, N (D + 2) runs over D
  dimensions (the dispersed components and the runs' noise, `dispersions.Sampler`;
  `uncertainty.sobol_indices` turns their outputs into first-order and total indices).

The points come from scipy.stats.qmc or SALib, seeded by (campaign seed, DESIGN_KEY).
"""

import functools
import warnings

import numpy as np

DESIGNS = ("random", "lhs", "sobol", "saltelli")
DESIGN_KEY = 0xD51  # spawn key of the design's seed: not a run index slot
EDGE = 2.0**-53  # points are kept this far inside (0, 1): a quantile of 0 or 1 is infinite


def _rng(campaign_seed):
    return np.random.default_rng(np.random.SeedSequence(campaign_seed, spawn_key=(DESIGN_KEY,)))


@functools.lru_cache(maxsize=4)
def _hypercube(campaign_seed, dimensions, runs):
    from scipy.stats import qmc  # scipy.stats where a campaign draws, off a run's start

    return qmc.LatinHypercube(d=dimensions, rng=_rng(campaign_seed)).random(runs)


def _sobol(campaign_seed, dimensions, first, count):
    """Points first, ..., first + count - 1 of the campaign's scrambled Sobol sequence."""
    from scipy.stats import qmc

    engine = qmc.Sobol(d=dimensions, scramble=True, rng=_rng(campaign_seed))
    if first:  # scipy's fast_forward(0) overflows
        engine.fast_forward(first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # balance holds at powers of two
        return engine.random(count)


@functools.lru_cache(maxsize=4)
def _saltelli(campaign_seed, dimensions, runs):
    from SALib.sample import sobol as sobol_sampling  # only for this design: a slow import

    problem = {"num_vars": dimensions, "bounds": [[0.0, 1.0]] * dimensions}
    base = runs // (dimensions + 2)
    return sobol_sampling.sample(problem, base, calc_second_order=False, seed=_rng(campaign_seed))


def saltelli_runs(base, dimensions):
    """Runs of a `saltelli` design of `base` points over `dimensions` components."""
    return base * (dimensions + 2)


def from_normal(z):
    """Uniform deviates of standard normal scores, Phi(z), kept EDGE inside (0, 1)."""
    from scipy import stats

    return np.clip(stats.norm.cdf(z), EDGE, 1.0 - EDGE)


def points(design, campaign_seed, run_indices, dimensions, runs):
    """(len(run_indices), dimensions) uniform deviates of the runs under a `lhs`, `sobol` or
    `saltelli` design of a campaign of `runs` runs (`random` has none: its fields draw their
    own)."""
    indices = np.asarray(list(run_indices), np.int64)
    if design == "lhs":
        out = _hypercube(campaign_seed, dimensions, runs)[indices]
    elif design == "saltelli":
        out = _saltelli(campaign_seed, dimensions, runs)[indices]
    elif design == "sobol":
        first = int(indices.min())
        out = _sobol(campaign_seed, dimensions, first, int(indices.max()) - first + 1)
        out = out[indices - first]
    else:
        raise ValueError(f"design {design!r}: expected one of {', '.join(DESIGNS)}")
    return np.clip(out, EDGE, 1.0 - EDGE)
