"""Measurement updates of every dimension against a dense NumPy Kalman update, and a long run of
ill-conditioned updates that must leave the covariance symmetric and positive definite."""

import numpy as np
import pytest
from numba import njit

from gnc.navigation import filter as ekf
from sensors.bus import MAX_DIMENSION

N = ekf.N_ERR


def nav_with(p):
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    nav["q_body_to_mci"] = (1.0, 0.0, 0.0, 0.0)
    nav["P"] = p
    return nav


def random_problem(rng, m):
    """A covariance spanning six decades, a Jacobian with sparse and dense rows, and a full R."""
    a = rng.standard_normal((N, N)) * np.logspace(-3, 3, N)[:, None]
    p = a @ a.T + np.diag(np.logspace(-8, 4, N))
    h = rng.standard_normal((m, N)) * (rng.random((m, N)) < 0.4)
    h[np.arange(m), rng.permutation(N)[:m]] += 1.0  # no all-zero row
    b = rng.standard_normal((m, m))
    r = b @ b.T + 0.1 * np.eye(m)
    return p, h, r, rng.standard_normal(m)


def padded(h, r, y):
    m = len(y)
    hp, rp, yp = (
        np.zeros((MAX_DIMENSION, N)),
        np.zeros((MAX_DIMENSION,) * 2),
        np.zeros(MAX_DIMENSION),
    )
    hp[:m], rp[:m, :m], yp[:m] = h, r, y
    return yp, hp, rp


@pytest.mark.parametrize("m", range(1, MAX_DIMENSION + 1))
@pytest.mark.parametrize("precision", [1e-4, 1e-9])
def test_nis_gain_and_covariance_match_a_dense_update(m, precision):
    """Both forms of the covariance update: R scaled so that the most precise measurement's
    variance is `precision` of its predicted one, above JOSEPH_BELOW (the symmetric form) and
    below it (the Joseph form)."""
    rng = np.random.default_rng(m)
    p, h, r, y = random_problem(rng, m)
    r *= precision / (np.diag(r) / np.diag(h @ p @ h.T)).min()
    nav = nav_with(p)
    # stale storage from a bigger update must not leak into this one
    nav["s"][:] = 1e30
    nav["chol"][:] = 1e30
    nis = ekf.normalized_innovation_squared(nav, *padded(h, r, y), m)
    s = h @ p @ h.T + r
    k = p @ h.T @ np.linalg.inv(s)
    a = np.eye(N) - k @ h
    assert nis == pytest.approx(y @ np.linalg.solve(s, y), rel=1e-9)
    ekf.apply_update(nav, *padded(h, r, y), m)
    expected = a @ p @ a.T + k @ r @ k.T
    scale = np.sqrt(np.outer(np.diag(p), np.diag(p)))  # compare each entry to its size
    assert np.abs(nav["P"] - expected).max() < 1e-9 * np.abs(scale).max()
    assert np.all(np.abs(nav["P"] - expected) <= 1e-7 * scale + 1e-12)
    assert nav["dx"] == pytest.approx(k @ y, rel=1e-7, abs=1e-9 * np.abs(k @ y).max())
    assert nav["r_mci_m"] == pytest.approx((k @ y)[:3], rel=1e-7)


def test_a_covariance_that_cannot_be_inverted_gives_an_infinite_nis():
    nav = nav_with(np.zeros((N, N)))
    y, h, r = padded(np.eye(2, N), np.zeros((2, 2)), np.ones(2))
    assert ekf.normalized_innovation_squared(nav, y, h, r, 2) == np.inf


@njit
def _long_run(nav, q, hs, rs, ys, ms, worst):
    """Alternate process noise and very precise updates; worst[0] is the smallest eigenvalue
    ratio seen (by Cholesky: 0 when a factorisation fails), worst[1] the largest asymmetry."""
    for k in range(ms.shape[0]):
        for i in range(N):
            nav.P[i, i] += q[i]
        m = ms[k]
        ekf.normalized_innovation_squared(nav, ys[k], hs[k], rs[k], m)
        ekf.apply_update(nav, ys[k], hs[k], rs[k], m)
        p = nav.P.copy()
        for i in range(N):
            for j in range(N):
                worst[1] = max(worst[1], abs(p[i, j] - p[j, i]))
        d = np.sqrt(np.diag(p))
        c = p / np.outer(d, d)  # the correlation matrix: positive definite iff P is
        try:
            e = np.linalg.eigvalsh(c)
            worst[0] = min(worst[0], e[0])
        except Exception:
            worst[0] = -1.0


@pytest.mark.parametrize("precision", [1e-6, 1e-3, 1e-1])
def test_covariance_stays_symmetric_and_positive_definite_over_a_long_ill_conditioned_run(
    precision,
):
    """20,000 updates of random dimension, each more precise (`precision` of the initial
    state's sigma) than the prior, on a covariance spanning twenty decades: the plain
    P - K H P form loses symmetry and then positive definiteness at 1e-6; the update keeps
    both, whichever form it takes (the Joseph form at 1e-6, mostly the symmetric one at 1e-1)."""
    rng = np.random.default_rng(0)
    p0, _, _, _ = random_problem(rng, 1)
    nav = nav_with(p0)
    n = 20_000
    ms = rng.integers(1, MAX_DIMENSION + 1, n)
    hs = np.zeros((n, MAX_DIMENSION, N))
    rs = np.zeros((n, MAX_DIMENSION, MAX_DIMENSION))
    for k, m in enumerate(ms):
        rows = rng.permutation(N)[:m]
        hs[k, np.arange(m), rows] = 1.0
        hs[k, np.arange(m), rng.integers(0, N, m)] += 1e-3 * rng.standard_normal(m)
        sigma = precision * np.sqrt(np.diag(p0))[rows]
        rs[k, np.arange(m), np.arange(m)] = sigma**2
    ys = rng.standard_normal((n, MAX_DIMENSION)) * 1e-6
    q = np.logspace(-10, 10, N) * 1e-6
    worst = np.array([np.inf, 0.0])
    _long_run(nav, q, hs, rs, ys, ms, worst)
    assert worst[1] == 0.0  # exactly symmetric: the upper triangle is mirrored
    assert worst[0] > 0.0, worst
