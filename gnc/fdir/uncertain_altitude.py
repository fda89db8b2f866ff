"""A descent profile that tolerates the altitude error it carries
(`[flight_software.uncertain_altitude]`): at the high gate the low gate is raised by `sigmas`
times the altitude's 1 sigma (the filter's position covariance along the vertical and the
onboard map's height error), at most `max_raise`, and the terminal descent crosses the raise
at `descent_rate` (at or under the touchdown limit): a lander lower than it thinks meets the
ground in a descent it survives, not in the approach. An FDIR function (`gnc.fdir.registry`),
at the `high_gate` hook."""

import math

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import vector
from dynamics.units import Number, PositiveLength, PositiveSpeed, Strict
from dynamics.views import record
from gnc.navigation import filter as ekf

NAME = "uncertain_altitude"
HOOKS = ("high_gate",)


class Spec(Strict):
    sigmas: Number = Field(gt=0.0)
    max_raise: PositiveLength
    descent_rate: PositiveSpeed


PARAMS_DTYPE = np.dtype(
    [("sigmas", np.float64), ("max_raise_m", np.float64), ("rate_mps", np.float64)], align=True
)
STATE_DTYPE = np.dtype([("unused", np.int64)], align=True)


def configure(spec, context):
    return record(
        PARAMS_DTYPE, sigmas=spec.sigmas, max_raise_m=spec.max_raise, rate_mps=spec.descent_rate
    )


@njit(cache=True)
def reset(params, state, config, fsw):
    pass  # the raise of this approach stands


@njit(cache=True)
def update(params, state, config, fsw, io):
    nav = fsw.nav
    up = vector.unit(vector.load(nav.r_mci_m, 0))
    variance = config.map.height_error_m**2
    for i in range(3):
        for j in range(3):
            variance += up[i] * nav.P[ekf.DR + i, ekf.DR + j] * up[j]
    raise_m = params.sigmas * math.sqrt(variance)
    fsw.low_gate_raise_m = min(raise_m, params.max_raise_m)
    fsw.raise_rate_mps = params.rate_mps
