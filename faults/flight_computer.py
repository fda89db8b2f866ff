"""Faults of the flight computer (target `flight_computer`): a reset takes it off line, and the
flight software is restarted through its interface's restart entry point when it is back (what
it keeps is its own affair)."""

import numpy as np
from numba import njit

from faults.mode import FAMILIES, Mode

FAMILY = FAMILIES.index("flight_computer")
TARGET = "`flight_computer`"
MODES = (
    Mode(
        "reset",
        ("reboot_time",),
        ("relight_delay",),
        "off line for `reboot_time`: it commands nothing and loses its IMU data; back on line "
        "it restarts from the state it saved; the main engine stays off until `relight_delay` "
        "(default: the reboot time)",
        "computer_reset",
    ),
)

# The flight computer as the faults leave it: off line until a time after a reset, its
# restart owed, the main engine held off until its relight time.
COMPUTER_DTYPE = np.dtype(
    [
        ("offline_until_s", np.float64),
        ("reset_time_s", np.float64),
        ("relight_time_s", np.float64),
        ("restart_pending", np.bool_),
    ],
    align=True,
)


@njit(cache=True)
def reset(computer, t_s, reboot_time_s, relight_delay_s):
    """A flight-computer reset at t_s: off line for reboot_time_s, then restarted; the main
    engine off until t_s + relight_delay_s (and at least while off line)."""
    computer.offline_until_s = t_s + reboot_time_s
    computer.relight_time_s = t_s + max(relight_delay_s, reboot_time_s)
    computer.reset_time_s = t_s
    computer.restart_pending = True
