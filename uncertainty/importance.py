"""Importance sampling by the cross-entropy method (Rubinstein & Kroese 2004; for rare
events in standard normal space, Kurtz & Song 2013, mean shift only): the probability of a
failure too rare for plain Monte Carlo, from runs drawn around where it happens.

Stage 0 draws N standard normals (a campaign's own first N runs). Each stage's level is the
rho-quantile of its margins, or zero once that is at or below zero; the next stage draws N
from N(mu, I), mu the likelihood-ratio-weighted mean of the stage's samples at or below its
level (the cross-entropy optimum among unit-covariance normals). The stage whose level is
zero is the estimate: p = mean(1[g <= 0] w), w = phi(z) / phi(z - mu) the likelihood ratio,
its CV std(1[g <= 0] w) / (sqrt(N) p) (the samples are independent: no chain correction),
its interval log-normal as subset simulation's.

A unit-covariance mean shift suits a failure domain with one design point (a plane, a
paraboloid, a limit reached from one side); a domain around the nominal on several sides (a
sphere) it covers on one only, and then the estimate is low: use subset simulation there.
"""

import numpy as np

from uncertainty.subset import Estimate, Level


def simulate(evaluate, z0, rng, rho=0.1, max_stages=10):
    """Estimate of P(g <= 0) (`subset.Estimate`, a Level per stage: its level, its share at
    or below it, its runs, its samples' mean). evaluate(z, stage) -> margins of the rows of z
    (n x d); z0: stage 0's N standard normals; rng draws the later stages'. If no stage
    reaches zero, the probability is that of the last stage's level: a value the true one is
    below."""
    n, d = z0.shape
    elite = max(1, round(n * rho))
    mu, z = np.zeros(d), z0
    levels = []
    for stage in range(max_stages):
        g = np.asarray(evaluate(z, stage), float)
        level = max(float(np.sort(g)[elite - 1]), 0.0)
        below = g <= level
        log_w = -0.5 * np.sum(z**2, axis=1) + 0.5 * np.sum((z - mu) ** 2, axis=1)
        nan = float("nan")
        levels.append(Level(level, float(below.mean()), nan, nan, nan, n, tuple(z.mean(axis=0))))
        if level == 0.0 or stage == max_stages - 1:
            break
        w = np.exp(log_w[below] - log_w[below].max())
        mu = w @ z[below] / w.sum()
        z = mu + rng.standard_normal((n, d))
    w = np.where(below, np.exp(log_w), 0.0)
    probability = float(w.mean())
    cov = float(w.std(ddof=1) / (np.sqrt(n) * probability)) if probability > 0 else np.inf
    return Estimate(probability, cov, levels, level == 0.0, z[g <= 0.0])
