"""Faults of an RCS thruster (target `rcs`, `index` the thruster), acting on the on-times the
truth integrates."""

import math

from numba import njit

from faults.mode import FAMILIES, Mode, numbers

FAMILY = FAMILIES.index("rcs")
TARGET = "`rcs`"
MODES = (
    Mode("stuck_on", ("index",), (), "fires continuously"),
    Mode("stuck_off", ("index",), (), "never fires"),
)
STUCK_ON = numbers(MODES)["stuck_on"]


@njit(cache=True)
def on_thrusters(faults, fstates, on_time):
    """Act on the RCS on-times of the coming step [s], in place."""
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target == FAMILY and f.occurs and st.active:
            on_time[f.index] = math.inf if f.mode == STUCK_ON else 0.0
