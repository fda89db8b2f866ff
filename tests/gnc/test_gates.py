"""The innovation gate at its edges: accept and reject exactly at the threshold, the threshold
from a probability for each measurement dimension, and what each policy does, counted.

The measurements are made by hand so that the normalised innovation squared is exact in
floating point: the lander on the MCI x axis (its local vertical), position variance 3 m^2
per axis, measurement variance 1 m^2, so S = 4 for one value along an axis and
NIS = y^2 / 4."""

import math

import numpy as np
import pytest

from dynamics.constants import MOON_MEAN_RADIUS_M
from gnc import configuration
from gnc.navigation import filter as ekf
from gnc.navigation import gating
from sensors.bus import MAX_DIMENSION
from sensors.channel_spec import Gate

ALTITUDE_M = 2000.0


def estimate():
    """Navigation state on the MCI x axis, position and velocity variance 3 per axis."""
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    nav["r_mci_m"] = (MOON_MEAN_RADIUS_M + ALTITUDE_M, 0.0, 0.0)
    nav["q_body_to_mci"] = (1.0, 0.0, 0.0, 0.0)
    nav["P"] = np.diag([3.0] * 6 + [1e-8] * 3 + [1e-12] * (ekf.N_ERR - 9))
    return nav


def measurement(m):
    """Jacobian rows of m values (position x, y, z, then velocity x, y, z) and unit noise."""
    h = np.zeros((MAX_DIMENSION, ekf.N_ERR))
    for k in range(m):
        h[k, k] = 1.0
    return h, np.eye(MAX_DIMENSION)


def gate_of(policy, threshold=None, probability=None, reject_limit=1):
    spec = Gate(
        policy=policy, threshold=threshold, probability=probability, reject_limit=reject_limit
    )
    return configuration.build_gate(spec)


def verdict_of(gate, y, m, nav=None, states=None, t_s=0.0):
    """(verdict, NIS) of one measurement of m values with innovation y."""
    nav = estimate() if nav is None else nav
    states = np.zeros(1, gating.GATE_STATE_DTYPE) if states is None else states
    h, r = measurement(m)
    values = np.zeros(MAX_DIMENSION)
    values[:m] = y
    return gating.process(gate, states, 0, nav, (values, h, r, m), t_s, 0.0)


def test_a_measurement_at_the_threshold_passes_and_one_just_above_does_not():
    """y = 6, S = 4: NIS = 9 exactly, the gate's 9. Breaks it catches: the comparison made
    strict, the gate accepting only at half its threshold."""
    gate = gate_of("latch", threshold=9.0, reject_limit=5)
    assert verdict_of(gate, [6.0], 1) == (gating.ACCEPTED, 9.0)
    assert verdict_of(gate, [-6.0], 1)[0] == gating.ACCEPTED
    verdict, nis = verdict_of(gate, [math.nextafter(6.0, 7.0)], 1)
    assert verdict == gating.REJECTED and nis > 9.0
    assert verdict_of(gate, [math.sqrt(18.0)], 1)[0] == gating.ACCEPTED  # half the threshold
    assert verdict_of(gate, [math.sqrt(72.0)], 1)[0] == gating.REJECTED  # twice it


# chi-square quantiles at 0.99 from the printed table (NIST/SEMATECH e-Handbook of
# Statistical Methods, 1.3.6.7.4): 1, 3 and 6 degrees of freedom
CHI2_99 = {1: 6.635, 3: 11.345, 6: 16.812}


@pytest.mark.parametrize("m", sorted(CHI2_99))
def test_the_threshold_from_a_probability_follows_the_measurements_dimension(m):
    """A 99 % gate sits at the chi-square(m) 99 % point for a measurement of m values: an
    innovation just inside it (NIS 0.99 of it) passes, one just outside (1.01) does not.
    Break it catches: the quantile taken with one degree of freedom whatever m."""
    gate = gate_of("latch", probability=0.99, reject_limit=5)
    assert gate["threshold"][m] == pytest.approx(CHI2_99[m], abs=1e-3)
    for share, expected in ((0.99, gating.ACCEPTED), (1.01, gating.REJECTED)):
        y = np.full(m, math.sqrt(4.0 * share * CHI2_99[m] / m))  # NIS = m y^2 / 4
        verdict, nis = verdict_of(gate, y, m)
        assert nis == pytest.approx(share * CHI2_99[m], rel=1e-12)
        assert verdict == expected, (share, nis)


def outliers(policy, count=6, reject_limit=3):
    """A channel whose ranges say the lander is 1 km higher than it believes (altitude
    variance 3 m^2: NIS ~ 2.5e5), `count` of them 0.1 s apart: verdicts and final state."""
    gate = gate_of(policy, threshold=9.0, reject_limit=reject_limit)
    nav, states = estimate(), np.zeros(1, gating.GATE_STATE_DTYPE)
    truth_x = nav["r_mci_m"][0] + 1000.0
    verdicts = []
    for k in range(count):
        y = truth_x - nav["r_mci_m"][0]  # range to level ground below: the x position
        verdicts.append(verdict_of(gate, [y], 1, nav, states, t_s=0.1 * k)[0])
    return verdicts, states[0], nav


A, R, L, I, V = (
    gating.ACCEPTED,
    gating.REJECTED,
    gating.LATCHED,
    gating.IGNORED,
    gating.RECOVERED,
)


@pytest.mark.parametrize(
    ("policy", "verdicts", "accepted", "rejected", "latched", "moved"),
    [
        ("accept_all", [A] * 6, 6, 0, False, True),
        ("latch", [R, R, L, I, I, I], 0, 3, True, False),
        ("recover", [R, R, V, A, A, A], 4, 3, False, True),
        ("vote", [R, R, V, A, A, A], 4, 3, False, True),  # no second opinion: persistence
    ],
)
def test_each_policy_reacts_to_a_persistent_outlier_as_documented(
    policy, verdicts, accepted, rejected, latched, moved
):
    """Six ranges 1 km off, three rejections allowed: accept_all takes them all; latch
    rejects three and ignores the sensor for good (ispace M1); recover and a lone vote
    re-initialise the altitude at the third and take it and the rest; the counts the summary
    reports are those. Break it catches: the reject limit off by one (latching, recovering
    one rejection late)."""
    got, state, nav = outliers(policy)
    assert got == verdicts
    assert (state["accepted"], state["rejected"], bool(state["latched_off"])) == (
        accepted,
        rejected,
        latched,
    )
    gained = nav["r_mci_m"][0] - (MOON_MEAN_RADIUS_M + ALTITUDE_M)
    assert (gained > 900.0) == moved, gained
