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

The gate's threshold depends on the measurement's dimension (a Doppler lidar with a beam lost
updates with fewer values): it is kept per dimension.
"""

import numpy as np
from numba import njit

from gnc.navigation import filter as ekf
from sensors.bus import MAX_DIMENSION

ACCEPT_ALL, LATCH, RECOVER = 0, 1, 2
POLICIES = {"accept_all": ACCEPT_ALL, "latch": LATCH, "recover": RECOVER}

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
    ],
    align=True,
)

ACCEPTED, REJECTED, LATCHED_NOW, RECOVERED, IGNORED = 0, 1, 2, 3, 4


@njit(cache=True)
def process(gate, state, nav, y, h, r, m):
    """Gate one measurement of dimension m and update the filter if admitted; returns
    (verdict, NIS)."""
    if state.latched_off:
        return IGNORED, 0.0
    nis = ekf.normalized_innovation_squared(nav, y, h, r, m)
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
        return LATCHED_NOW, nis
    if not ekf.reinitialise_position(nav, y, h, m):
        return REJECTED, nis
    ekf.normalized_innovation_squared(nav, y, h, r, m)
    ekf.apply_update(nav, y, h, r, m)
    state.streak = 0
    state.accepted += 1
    return RECOVERED, nis
