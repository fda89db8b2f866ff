"""Subset simulation (Au & Beck 2001): the probability of a failure too rare for plain Monte
Carlo, as a product of conditional probabilities of nested intermediate failure domains.

The inputs are independent standard normals z (a campaign maps them to its dispersions by
inverse transform); a margin g(z) says how far a run is from failing, failure where g <= 0.
Level 0 is plain Monte Carlo of N samples. Each level's threshold b is the p0-quantile of its
margins (midway between the p0 N-th and the next smallest), and its p0 N smallest samples
seed as many Markov chains, grown by the component-wise modified Metropolis algorithm to N
samples conditional on g <= b. The levels stop at the first whose p0-quantile is at or below
zero; then p = p0^m P_m, P_m the share of the last level's samples with g <= 0.

Coefficient of variation (Au & Beck 2001, eqs. 21-29): level 0's (1 - p0) / (p0 N), and each
later level's (1 - P_i) / (P_i N) (1 + gamma_i), gamma_i from the correlation of the failure
indicators along its chains; the levels' squares are summed (the correlation between levels
is neglected, so the CV is a lower bound, as the paper says). The interval is log-normal:
p exp(+-k s), s^2 = ln(1 + CV^2).

A candidate's components are proposed one by one: xi_j = z_j + N(0, spread^2), kept with
probability min(1, phi(xi_j) / phi(z_j)), else z_j; the candidate replaces the chain's state
if its margin is at or below the level's threshold. A component whose proposal is a fresh
draw from its prior (a run's sensor noise seed, say) is always kept: its ratio is one.
"""

from dataclasses import dataclass, field

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Level:
    """One level: its threshold on the margin, the conditional probability of reaching it
    from the level below (p0 for all but the last), that probability's CV, the chains'
    correlation factor gamma, the share of candidates its chains accepted (NaN at level 0),
    its runs, and its samples' mean z (where the level lies: what drives the tail)."""

    threshold: float
    probability: float
    cov: float
    gamma: float
    acceptance: float
    evaluations: int
    mean: tuple


@dataclass(frozen=True)
class Estimate:
    """The failure probability, its CV, the levels, and whether the failure domain was
    reached (if not, after max_levels, `probability` is p0^max_levels times the last level's
    share below the last threshold: a value the true one is below, not an estimate)."""

    probability: float
    cov: float
    levels: list
    reached: bool
    failed: np.ndarray = field(repr=False)  # the last level's samples in the failure domain

    def interval(self, confidence=0.9):
        """(low, high) of the log-normal interval at this confidence."""
        s = np.sqrt(np.log1p(self.cov**2))
        k = stats.norm.ppf(0.5 + confidence / 2.0)
        return self.probability * np.exp(-k * s), self.probability * np.exp(k * s)

    @property
    def evaluations(self):
        return sum(level.evaluations for level in self.levels)


def chain_correlation(indicators, probability):
    """gamma of Au & Beck (2001, eq. 27): 2 sum_k (1 - k/Nc) rho(k) for the failure
    indicators of Ns chains of Nc states each (an Ns x Nc array), rho from their pooled
    covariance at lag k."""
    chains, length = indicators.shape
    x = indicators.astype(float)
    r0 = probability * (1.0 - probability)
    if r0 == 0.0:
        return 0.0
    gamma = 0.0
    for lag in range(1, length):
        r = np.sum(x[:, :-lag] * x[:, lag:]) / (chains * (length - lag)) - probability**2
        gamma += 2.0 * (1.0 - lag / length) * r / r0
    return gamma


def simulate(evaluate, z0, rng, p0=0.1, max_levels=10, spread=1.0):
    """Estimate of P(g <= 0). evaluate(z, level) -> margins of the rows of z (an n x d
    array), called once for level 0's samples z0 (N x d standard normals, N p0 and 1/p0
    whole numbers) and once per step of each later level's chains, with all its chains'
    candidates; rng draws the proposals."""
    n = len(z0)
    seeds = round(n * p0)
    length = round(1.0 / p0)
    if seeds < 1 or seeds * length != n:
        raise ValueError(f"{n} samples a level at p0 = {p0}: N p0 and 1/p0 must be whole")
    z, g = z0, np.asarray(evaluate(z0, 0), float)
    chains_of = None  # a later level's samples as (chains, length) indices of z
    levels, evaluations, acceptance = [], n, np.nan
    for level in range(max_levels):
        order = np.argsort(g, kind="stable")
        threshold = 0.5 * (g[order[seeds - 1]] + g[order[seeds]])
        last = threshold <= 0.0 or level == max_levels - 1
        bound = 0.0 if threshold <= 0.0 else threshold
        below = g <= bound
        share = float(np.mean(below)) if last else p0
        if level == 0:
            gamma = 0.0
        else:
            gamma = chain_correlation(below[chains_of], share)
        cov = np.sqrt((1.0 - share) / (share * n) * (1.0 + gamma)) if share > 0 else np.inf
        levels.append(
            Level(bound, share, cov, gamma, acceptance, evaluations, tuple(z.mean(axis=0)))
        )
        if last:
            break
        z, g, chains_of, acceptance = _grow(
            evaluate, z[order[:seeds]], g[order[:seeds]], bound, length, level + 1, rng, spread
        )
        evaluations = seeds * (length - 1)
    probability = float(np.prod([lv.probability for lv in levels]))
    cov = float(np.sqrt(sum(lv.cov**2 for lv in levels)))
    reached = levels[-1].threshold == 0.0
    return Estimate(probability, cov, levels, reached, z[g <= 0.0])


def _grow(evaluate, z_seeds, g_seeds, threshold, length, level, rng, spread):
    """(z, g, chains, acceptance) of a level's chains grown from its seeds to `length`
    states each; chains[j] are chain j's rows of z in order."""
    seeds, d = z_seeds.shape
    states = [z_seeds]
    margins = [g_seeds]
    accepted = 0
    current, g_current = z_seeds, g_seeds
    for _ in range(length - 1):
        xi = current + spread * rng.standard_normal((seeds, d))
        ratio = np.exp(0.5 * (current**2 - xi**2))
        keep = rng.random((seeds, d)) < np.minimum(1.0, ratio)
        candidate = np.where(keep, xi, current)
        g_candidate = np.asarray(evaluate(candidate, level), float)
        inside = g_candidate <= threshold
        accepted += int(inside.sum())
        current = np.where(inside[:, None], candidate, current)
        g_current = np.where(inside, g_candidate, g_current)
        states.append(current)
        margins.append(g_current)
    z = np.stack(states, axis=1).reshape(seeds * length, d)
    g = np.stack(margins, axis=1).reshape(seeds * length)
    chains = np.arange(seeds * length).reshape(seeds, length)
    return z, g, chains, accepted / (seeds * (length - 1))
