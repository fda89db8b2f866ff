"""Land now rather than hover out of propellant or fly on an altitude shown wrong
(`[flight_software.land_now]`): in the approach or the terminal descent, once the estimated
propellant falls below `propellant`, or in the terminal descent once the estimated altitude
is `overdue` below the onboard ground with no contact yet (the ground is further down than the
estimate put it), the descent goes on at `descent_rate` from there (an approach ends: a
vertical descent where the lander is). A rate at or under the touchdown limit trades a harder
landing for the propellant a slow descent through a wrong altitude would burn. An FDIR
function (`gnc.fdir.registry`), at the `modes` hook."""

import math

import numpy as np
from numba import njit

from dynamics import vector
from dynamics.units import NonNegativeMass, PositiveLength, PositiveSpeed, Strict
from dynamics.views import record
from gnc.guidance import phases
from gnc.interface import contract, flight_log

NAME = "land_now"
HOOKS = ("modes",)


class Spec(Strict):
    descent_rate: PositiveSpeed
    propellant: NonNegativeMass = 0.0  # not on propellant when 0
    overdue: PositiveLength | None = None  # not on an overdue touchdown when absent


PARAMS_DTYPE = np.dtype(
    [("rate_mps", np.float64), ("propellant_kg", np.float64), ("overdue_m", np.float64)],
    align=True,
)
STATE_DTYPE = np.dtype([("unused", np.int64)], align=True)  # it decides from ours


def configure(spec, context):
    overdue = math.inf if spec.overdue is None else spec.overdue
    return record(
        PARAMS_DTYPE, rate_mps=spec.descent_rate, propellant_kg=spec.propellant, overdue_m=overdue
    )


@njit(cache=True)
def reset(params, state, config, fsw):
    pass  # a decision taken stands


@njit(cache=True)
def update(params, state, config, fsw, io):
    if fsw.landing_now or (fsw.phase != flight_log.APPROACH and fsw.phase != flight_log.TERMINAL):
        return
    p, altitude_est = config.settings, io.altitude_est_m
    reason = -1
    if fsw.mass_est_kg - p.dry_mass_kg < params.propellant_kg:
        reason = flight_log.LAND_NOW_PROPELLANT
    elif fsw.phase == flight_log.TERMINAL and altitude_est < -params.overdue_m:
        reason = flight_log.LAND_NOW_OVERDUE
    if reason < 0:
        return
    fsw.landing_now = True
    fsw.land_now_rate_mps = params.rate_mps
    events, n_events = contract.event_log(io)
    t_s = io.t_s
    flight_log.log(events, n_events, t_s, flight_log.LAND_NOW, reason, altitude_est)
    if fsw.phase == flight_log.APPROACH:
        r, v = vector.load(io.r_site_m, 0), vector.load(io.v_site_mps, 0)
        g = vector.load(io.g_site_mps2, 0)
        log = (events, n_events)
        phases.start_phase(p, fsw, flight_log.TERMINAL, t_s, (r, v, g), log, altitude_est)
