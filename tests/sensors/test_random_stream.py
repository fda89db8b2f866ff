"""The compiled random streams: the distributions they claim, independent streams, and the same
draws for the same seed."""

import math

import numpy as np
from numba import njit
from scipy import stats

from sensors import random_stream

N = 400_000


@njit(cache=True)
def _draws(state, n, normal):
    out = np.empty(n)
    for i in range(n):
        out[i] = random_stream.standard_normal(state) if normal else random_stream.uniform(state)
    return out


def _normals(state, n):
    return _draws(state, n, True)


def states(*seeds):
    return random_stream.seeded_states([np.random.SeedSequence(s) for s in seeds])


def test_normal_deviates_follow_the_standard_normal_law_into_the_tails():
    z = _normals(states(1)[0], N)
    assert stats.kstest(z, "norm").pvalue > 1e-3
    assert abs(z.mean()) < 5 / math.sqrt(N) and abs(z.std() - 1.0) < 5 / math.sqrt(2 * N)
    # the ziggurat's tail (|z| > 3.654) and wedges are drawn by separate code paths
    for cut in (2.0, 3.0, 3.654, 4.0):
        expected = 2 * stats.norm.sf(cut)
        assert abs(np.mean(np.abs(z) > cut) - expected) < 5 * math.sqrt(expected / N), cut
    counts, edges = np.histogram(z, bins=60, range=(-4.5, 4.5))
    expected = N * np.diff(stats.norm.cdf(edges))
    chi2 = np.sum((counts - expected) ** 2 / expected)
    assert stats.chi2.sf(chi2, len(counts) - 1) > 1e-3


def test_uniform_deviates_are_uniform_on_the_unit_interval():
    u = _draws(states(2)[0], N, False)
    assert u.min() >= 0.0 and u.max() < 1.0
    assert stats.kstest(u, "uniform").pvalue > 1e-3


def test_streams_of_different_seeds_are_independent_and_a_seed_repeats_its_draws():
    a, b, a_again = states(3, 4, 3)
    za, zb = _normals(a, N), _normals(b, N)
    assert abs(np.corrcoef(za, zb)[0, 1]) < 5 / math.sqrt(N)
    assert abs(np.corrcoef(za[:-1], za[1:])[0, 1]) < 5 / math.sqrt(N)  # no serial correlation
    assert np.array_equal(za, _normals(a_again, N))
