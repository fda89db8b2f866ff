"""Innovation gating: which measurements the filter admits, and what it does after rejecting.

Policies (one per sensor channel):
- accept_all: no gate.
- latch: reject when the normalised innovation squared (NIS) exceeds the gate, and after
  `reject_limit` consecutive rejections declare the sensor failed and ignore it for the rest
  of the flight. This is the legacy logic that lost ispace's M1 lander: a correct rangefinder
  reading after a crater-rim cliff was rejected and the sensor was never used again.
- recover: reject as above, but after `reject_limit` consecutive rejections trust the sensor
  over the estimate: re-initialise the position along what it measures (the altitude for a
  range, the horizontal position for an image fix) and admit it. A measurement that sees no
  position (a velocity) cannot be recovered this way and stays rejected.
- vote: reject as above; after `reject_limit` consecutive rejections ask the other channels
  that measured the altitude in the last VOTE_WINDOW_S: one that sees the same altitude
  error as this one (the estimate is wrong: a cliff, a wrong PDI state) makes it recover;
  else one that agrees with the estimate (this sensor is wrong: a bias, a fault) keeps it
  rejected, measurement after measurement, for as long as it is outvoted (not latched: a
  good sensor whose ranges the map predicts badly over rough ground, outvoted for a few
  seconds, comes back, and a Doppler lidar keeps its velocities); with no other opinion it
  recovers (persistence is then the only evidence). Every channel's measurements leave the
  altitude error they imply (innovation over the vertical part of their position gradient,
  with its sigma from the innovation covariance) for the vote, whatever its own policy.

A recovery can find the horizontal position lost: a re-initialisation explains an altitude
error once, and rough ground's outliers make isolated recoveries; recoveries that keep coming
(LOST_RECOVERIES within LOST_WINDOW_S), from more than one channel, say that re-initialising
the altitude does not make the measurements agree: the estimate sits on the wrong part of the
map (a lock onto the wrong craters, ranging over relief from a PDI position a few sigma off).
The filter then forgets its map-relative horizontal position: it adds the PDI horizontal
knowledge's variance (`ekf.forget_horizontal_position`), and the flight software looks for
it again by terrain correlation of its recent ranges (`reacquisition`). One channel alone
re-initialising again and again (IM-2's noisy altimeter) is a faulty sensor, not evidence
against the position.

The gate's threshold depends on the measurement's dimension (a Doppler lidar with a beam lost
updates with fewer values): it is kept per dimension.
"""

import math

import numpy as np
from numba import njit

from dynamics import chi_square, vector
from gnc.interface import flight_log
from gnc.interface.contract import (  # the verdicts a flight software reports
    ACCEPTED,
    IGNORED,
    LATCHED,
    RECOVERED,  # RELOCATED: recovered, and the horizontal position found lost
    REJECTED,
    RELOCATED,
)
from gnc.navigation import filter as ekf
from sensors.bus import MAX_DIMENSION

ACCEPT_ALL, LATCH, RECOVER, VOTE = 0, 1, 2, 3
POLICIES = {"accept_all": ACCEPT_ALL, "latch": LATCH, "recover": RECOVER, "vote": VOTE}
VOTE_WINDOW_S = 2.0  # how recent another channel's altitude must be to vote
LOST_RECOVERIES, LOST_WINDOW_S = 3, 10.0  # recoveries (of 2 channels or more) that say lost
AGREE_SIGMAS = 3.0  # two altitude errors agree within this many sigmas of their difference

GATE_DTYPE = np.dtype(
    [
        ("policy", np.int64),
        ("threshold", np.float64, (MAX_DIMENSION + 1,)),  # NIS gate by measurement dimension
        ("reject_limit", np.int64),  # consecutive rejections before latching or recovering
    ],
    align=True,
)

GATE_STATE_DTYPE = np.dtype(
    [
        ("streak", np.int64),  # consecutive rejections so far
        ("latched_off", np.bool_),
        ("accepted", np.int64),
        ("rejected", np.int64),
        # the altitude error [m] its last measurement implied (measured minus estimated), its
        # 1 sigma, and that measurement's time [s]: what it says in another channel's vote
        ("altitude_error_m", np.float64),
        ("altitude_sigma_m", np.float64),
        ("altitude_time_s", np.float64),
        ("has_altitude", np.bool_),
        ("recoveries", np.int64),
        ("recovered_s", np.float64, (LOST_RECOVERIES - 1,)),  # the latest ones' times [s]
        # its last gated measurement's innovation and the diagonal of its covariance S
        ("innovation", np.float64, (MAX_DIMENSION,)),
        ("innovation_variance", np.float64, (MAX_DIMENSION,)),
    ],
    align=True,
)

# A channel's normalised innovations squared over a stretch of flight (the flight software
# keeps one per channel and phase): every gated measurement's, accepted or not. Their sum is
# chi-square with `dof` (the sum of their dimensions) degrees of freedom for a consistent
# filter, and 5 % of them exceed their dimension's chi-square 95 % point.
NIS_DTYPE = np.dtype(
    [("sum", np.float64), ("dof", np.int64), ("count", np.int64), ("over_95", np.int64)],
    align=True,
)
CHI2_95 = np.concatenate(([np.inf], chi_square.quantile(0.95, np.arange(1, MAX_DIMENSION + 1))))


@njit(cache=True)
def process(gate, gates, index, nav, model, t_s, lost_variance_m2):
    """Gate one measurement taken at t_s of channel `index` (gates holds every channel's
    state), its model (y, h, r, m: innovation, Jacobian, noise covariance, dimension), and
    update the filter if admitted; returns (verdict, NIS). lost_variance_m2: the horizontal
    variance [m^2] a recovery adds when it finds the position lost (the PDI knowledge's)."""
    y, h, r, m = model
    state = gates[index]
    if state.latched_off:
        return IGNORED, 0.0
    nis = ekf.normalized_innovation_squared(nav, y, h, r, m)
    for i in range(m):
        state.innovation[i], state.innovation_variance[i] = y[i], nav.s[i, i]
    _remember_altitude(state, nav, y, h, m, t_s)
    if gate.policy == ACCEPT_ALL or nis <= gate.threshold[m]:
        state.streak = 0
        state.accepted += 1
        ekf.apply_update(nav, y, h, r, m)
        return ACCEPTED, nis
    state.rejected += 1
    state.streak += 1
    if state.streak < gate.reject_limit:
        return REJECTED, nis
    if gate.policy == LATCH:
        state.latched_off = True
        return LATCHED, nis
    if gate.policy == VOTE and _outvoted(gates, index, t_s):
        return REJECTED, nis
    if not ekf.reinitialise_position(nav, y, h, m):
        return REJECTED, nis
    verdict = RECOVERED
    if _lost(gates, index, t_s):
        ekf.forget_horizontal_position(nav, lost_variance_m2)
        verdict = RELOCATED
        for o in range(gates.shape[0]):  # the evidence is spent: it takes as much again
            gates[o].recoveries = 0
    else:
        for k in range(LOST_RECOVERIES - 2, 0, -1):
            state.recovered_s[k] = state.recovered_s[k - 1]
        state.recovered_s[0] = t_s
        state.recoveries += 1
    ekf.normalized_innovation_squared(nav, y, h, r, m)
    ekf.apply_update(nav, y, h, r, m)
    state.streak = 0
    state.accepted += 1
    return verdict, nis


@njit(cache=True)
def count_nis(stats, nis, m):
    """Add the NIS of a measurement of m values to a `NIS_DTYPE` record (none if infinite: its
    innovation covariance was not positive definite)."""
    if not math.isfinite(nis):
        return
    stats.sum += nis
    stats.dof += m
    stats.count += 1
    stats.over_95 += nis > CHI2_95[m]


@njit(cache=True)
def _lost(gates, index, t_s):
    """Whether a recovery of channel `index` at t_s makes LOST_RECOVERIES within LOST_WINDOW_S,
    another channel's among them."""
    count = 1
    others = 0
    for o in range(gates.shape[0]):
        other = gates[o]
        for k in range(min(other.recoveries, LOST_RECOVERIES - 1)):
            if t_s - other.recovered_s[k] <= LOST_WINDOW_S:
                count += 1
                others += o != index
    return count >= LOST_RECOVERIES and others > 0


@njit(cache=True)
def _remember_altitude(state, nav, y, h, m, t_s):
    """Keep the altitude error the measurement implies, if it measures altitude: each value
    that measures altitude (`ekf.vertical_gradient`, as a re-initialisation reads it) gives
    innovation / vertical gradient, 1 sigma
    sqrt(S_kk) / |vertical gradient|; their inverse-variance mean. Needs nav.s, the
    innovation covariance `ekf.normalized_innovation_squared` left."""
    up = vector.unit(vector.load(nav.r_mci_m, 0))
    weight = weighted = 0.0
    for k in range(m):
        _, vertical, altitude = ekf.vertical_gradient(h, k, up)
        if not altitude:
            continue
        variance = nav.s[k, k] / (vertical * vertical)
        weight += 1.0 / variance
        weighted += y[k] / vertical / variance
    if weight > 0.0:
        state.altitude_error_m = weighted / weight
        state.altitude_sigma_m = math.sqrt(1.0 / weight)
        state.altitude_time_s = t_s
        state.has_altitude = True


@njit(cache=True)
def _outvoted(gates, index, t_s):
    """Whether channel `index`, its measurement just rejected reject_limit times running, is
    the one at fault: no other channel's recent altitude error agrees with its own, and one
    agrees with the estimate (an error within AGREE_SIGMAS of its sigma)."""
    this = gates[index]
    if not this.has_altitude or this.altitude_time_s != t_s:  # it does not measure altitude
        return False
    for_estimate = False
    for o in range(gates.shape[0]):
        other = gates[o]
        if o == index or other.latched_off or not other.has_altitude:
            continue
        if t_s - other.altitude_time_s > VOTE_WINDOW_S:
            continue
        apart = abs(other.altitude_error_m - this.altitude_error_m)
        joint = math.hypot(other.altitude_sigma_m, this.altitude_sigma_m)
        sees_it = abs(other.altitude_error_m) > AGREE_SIGMAS * other.altitude_sigma_m
        if sees_it and apart <= AGREE_SIGMAS * joint:
            return False  # another sensor sees the same error: the estimate is wrong
        for_estimate = for_estimate or not sees_it
    return for_estimate


@njit(cache=True)
def log_verdict(verdict, nis, gate_state, channel, value, t_s, log):
    """Log what a gate verdict tells: a channel's first admitted measurement (accepted, or
    admitted by a recovery), the first rejection of a streak, a latch-off, a recovery."""
    events, n_events = log
    recovered = verdict == RECOVERED or verdict == RELOCATED
    admitted = verdict == ACCEPTED or recovered
    if admitted and gate_state.accepted == 1:
        flight_log.log(events, n_events, t_s, flight_log.SENSOR_ACQUIRED, channel, value)
    if verdict == REJECTED and gate_state.streak == 1:
        flight_log.log(events, n_events, t_s, flight_log.MEASUREMENT_REJECTED, channel, nis)
    elif verdict == LATCHED:
        flight_log.log(events, n_events, t_s, flight_log.SENSOR_LATCHED_OFF, channel, nis)
    elif recovered:
        flight_log.log(events, n_events, t_s, flight_log.SENSOR_RECOVERED, channel, nis)
