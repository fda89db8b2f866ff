"""An FDIR function of one's own for our flight software (`gnc.fdir.registry`): in the
terminal descent it slows the descent to `descent_rate` below `below` (estimated altitude),
by the land-now outcome our flight software acts on (its terminal rate)."""

import numpy as np
from numba import njit

from dynamics.units import PositiveLength, PositiveSpeed, Strict
from dynamics.views import record
from gnc.interface import flight_log

NAME = "gentle_touchdown"
HOOKS = ("modes",)


class Spec(Strict):
    descent_rate: PositiveSpeed
    below: PositiveLength


PARAMS_DTYPE = np.dtype([("rate_mps", np.float64), ("below_m", np.float64)], align=True)
STATE_DTYPE = np.dtype([("engaged", np.bool_)], align=True)


def configure(spec, context):
    return record(PARAMS_DTYPE, rate_mps=spec.descent_rate, below_m=spec.below)


@njit(cache=True)
def reset(params, state, config, fsw):
    state.engaged = False


@njit(cache=True)
def update(params, state, config, fsw, io):
    if fsw.phase == flight_log.TERMINAL and io.altitude_est_m < params.below_m:
        state.engaged = True
        fsw.landing_now = True
        fsw.land_now_rate_mps = params.rate_mps
