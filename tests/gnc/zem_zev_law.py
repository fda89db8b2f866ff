"""A guidance law of one's own for our flight software (`gnc.guidance.laws`): ZEM/ZEV optimal
feedback guidance, a = 6 ZEM / t_go^2 - 2 ZEV / t_go, with its two gains as settings (the
energy-optimal law to a point and velocity in a uniform field: Ebrahimi, Roshanian & Bahrami
2008, J. Guidance 31(1))."""

from typing import Literal

import numpy as np
from numba import njit

from dynamics.units import Number
from dynamics.views import record
from gnc.guidance import laws

NAME = "zem_zev"


class Spec(laws.PhaseTarget):
    law: Literal["zem_zev"]
    zem_gain: Number = 6.0
    zev_gain: Number = 2.0


PARAMS_DTYPE = np.dtype([("zem_gain", np.float64), ("zev_gain", np.float64)], align=True)


def pack(spec):
    return record(PARAMS_DTYPE, zem_gain=spec.zem_gain, zev_gain=spec.zev_gain)


@njit(cache=True)
def command(params, guidance):
    t = guidance.t_go_s
    for i in range(3):
        g = guidance.g_mps2[i]
        zem = guidance.target_r_m[i] - (guidance.r_m[i] + guidance.v_mps[i] * t + 0.5 * g * t * t)
        zev = guidance.target_v_mps[i] - (guidance.v_mps[i] + g * t)
        guidance.u_mps2[i] = params.zem_gain * zem / (t * t) - params.zev_gain * zev / t
