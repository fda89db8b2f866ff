"""Hazard detection and avoidance (`[flight_software.hazard_avoidance]`): land on a site a
hazard sensor judged safe near the target, not on the target whatever lies there. An FDIR
function (`gnc.fdir.registry`), at the `modes` hook, reading the channel `sensor` (a kind that
recommends sites: `RECOMMENDS_SITES`, as `sensors.hazard_lidar`: the site from the point
beneath the lander, its margin, the share of sites safe).

Two ways, `mode`:
- "hover" (Chang'e-3/4, SLIM): at the low gate the terminal descent holds its height, flies
  level over its target (the approach, flying velocity only at its end, may leave it metres
  off), and waits there for a hazard map taken once it has settled (its speed under
  `settle_speed`: a lander still pitching out of the approach, or moving, images the ground
  askew). The map's aim, beneath the lander, is then the target: its sites are scored by
  margin and distance from the target. It flies level to the site chosen (at most
  `divert_speed`, a first-order approach of `divert_time_constant`, to within `arrival`) and
  descends onto it, holding it to touchdown;
- "retarget": no hover; a map that comes in the approach moves the approach's target (the low
  gate) over the site, and the terminal descent flies to it while descending (as it does to a
  site from a map that comes in the terminal descent). `wait` then counts from the approach's
  start: give it the time the sensor takes to see the ground.

A site is taken when it is safe with at least `min_margin` and at most `max_divert` from where
the lander would land without it (beneath it in the terminal descent; in the approach, the
approach's target): that divert distance is logged with `site_selected`. When a map shows
no safe site (or none near enough), it looks again (`no_safe_site = "look_again"`, up to
`looks` maps) or lands at the target (`"land_at_target"`); when no map comes within `wait` of
the hover settling over the target (of the approach's start when retargeting; a hover that
never settles waits `wait` after its flight over the target should have ended: the sensor
failed, or sees nothing), it lands where it is going. Either way
`site_selected` says which (`flight_log.SITE_CHOICES`), and every map is logged
(`hazard_map`, with the share of its sites safe).
"""

import math
from typing import Literal

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import vector
from dynamics.units import Count, Number, PositiveLength, PositiveSpeed, PositiveTime, Strict
from dynamics.views import record
from gnc.interface import contract, flight_log
from sensors import registry

NAME = "hazard_avoidance"
HOOKS = ("modes",)
MODES = ("hover", "retarget")
HOVER, RETARGET = range(2)


class Spec(Strict):
    sensor: str  # the channel whose maps it reads
    mode: Literal["hover", "retarget"] = "hover"
    max_divert: PositiveLength = 30.0
    min_margin: Number = Field(default=0.0, ge=0.0, lt=1.0)
    no_safe_site: Literal["look_again", "land_at_target"] = "look_again"
    looks: Count = Field(default=3, ge=1)
    wait: PositiveTime = 20.0
    divert_speed: PositiveSpeed = 1.0
    divert_time_constant: PositiveTime = 4.0
    arrival: PositiveLength = 1.0
    settle_speed: PositiveSpeed = 0.3  # hover: maps taken once its speed fell under this


PARAMS_DTYPE = np.dtype(
    [
        ("channel", np.int64),
        ("mode", np.int64),
        ("max_divert_m", np.float64),
        ("min_margin", np.float64),
        ("look_again", np.bool_),
        ("looks", np.int64),
        ("wait_s", np.float64),
        ("divert_speed_mps", np.float64),
        ("divert_gain_ps", np.float64),
        ("arrival_m", np.float64),
        ("settle_speed_mps", np.float64),
    ],
    align=True,
)
STATE_DTYPE = np.dtype(
    [
        ("started", np.bool_),  # its phase has begun
        ("decided", np.bool_),  # a site or the target chosen: it stands
        ("settled_s", np.float64),  # hover: when it first came to rest over its target
        ("deadline_s", np.float64),  # when it stops waiting for a map
        ("looks_used", np.int64),
    ],
    align=True,
)


def check(spec, scenario):
    """ValueError unless `sensor` names a channel whose kind recommends sites."""
    channels = scenario.sensors.channels
    if spec.sensor not in channels:
        raise ValueError(
            f"hazard_avoidance.sensor '{spec.sensor}' is not a sensor channel (the channels: "
            + ", ".join(channels)
            + ")"
        )
    kind = channels[spec.sensor].kind
    if not getattr(registry.kind(kind), "RECOMMENDS_SITES", False):
        raise ValueError(
            f"hazard_avoidance.sensor '{spec.sensor}' is a {kind}, which recommends no sites"
            " (a hazard_lidar does)"
        )


def configure(spec, context):
    return record(
        PARAMS_DTYPE,
        channel=list(context.scenario.sensors.channels).index(spec.sensor),
        mode=MODES.index(spec.mode),
        max_divert_m=spec.max_divert,
        min_margin=spec.min_margin,
        look_again=spec.no_safe_site == "look_again",
        looks=spec.looks,
        wait_s=spec.wait,
        divert_speed_mps=spec.divert_speed,
        divert_gain_ps=1.0 / spec.divert_time_constant,
        arrival_m=spec.arrival,
        settle_speed_mps=spec.settle_speed,
    )


@njit(cache=True)
def reset(params, state, config, fsw):
    pass  # a choice made stands; one still open goes on after a reset


@njit(cache=True)
def update(params, state, config, fsw, io):
    phase = fsw.phase
    acting = phase == flight_log.TERMINAL or (
        params.mode == RETARGET and phase == flight_log.APPROACH
    )
    if not acting:
        return
    off = math.hypot(io.r_site_m[0] - fsw.site_offset_m[0], io.r_site_m[1] - fsw.site_offset_m[1])
    if state.decided:
        if off < params.arrival_m:  # over the site it chose: the descent goes on
            fsw.hover_hold = False
        return
    t_s = io.t_s
    events, n_events = contract.event_log(io)
    if not state.started:
        state.started = True
        state.settled_s = math.inf if params.mode == HOVER else t_s
        # the wait, after the flight over the target (its first-order tail: a few time constants)
        fly_s = off / params.divert_speed_mps + 3.0 / params.divert_gain_ps
        state.deadline_s = t_s + params.wait_s + (fly_s if params.mode == HOVER else 0.0)
        if params.mode == HOVER:  # over the target first: the map's aim is the target
            _fly_to(params, fsw, (fsw.site_offset_m[0], fsw.site_offset_m[1]))
    speed = vector.norm(vector.load(io.v_site_mps, 0))
    if (
        not math.isfinite(state.settled_s)
        and speed < params.settle_speed_mps
        and off < params.arrival_m
    ):
        state.settled_s = t_s
        state.deadline_s = t_s + params.wait_s
    fsw.hover_hold = params.mode == HOVER  # held while it waits, whatever the divert does
    delivered = contract.delivered(io)
    for k in range(delivered.shape[0]):
        meas = delivered[k]
        usable = meas.channel == params.channel and meas.valid and meas.t_s >= state.settled_s
        if not usable or state.decided:
            continue
        state.looks_used += 1
        flight_log.log(events, n_events, t_s, flight_log.HAZARD_MAP, meas.channel, meas.y[5])
        site = (io.r_site_m[0] + meas.y[0], io.r_site_m[1] + meas.y[1])
        # from where it would land without it: below it in the terminal descent, else where
        # the approach was going
        if phase == flight_log.TERMINAL:
            divert = math.hypot(meas.y[0], meas.y[1])
        else:
            divert = math.hypot(site[0] - fsw.site_offset_m[0], site[1] - fsw.site_offset_m[1])
        safe = math.isfinite(site[0]) and meas.y[2] >= params.min_margin
        if safe and divert <= params.max_divert_m:
            _go_to(params, state, fsw, site)
            flight_log.log(
                events, n_events, t_s, flight_log.SITE_SELECTED, flight_log.SAFE_SITE, divert
            )
        elif not params.look_again or state.looks_used >= params.looks:
            _keep_target(state, fsw)
            flight_log.log(
                events, n_events, t_s, flight_log.SITE_SELECTED, flight_log.NO_SAFE_SITE, 0.0
            )
    if not state.decided and t_s > state.deadline_s:
        _keep_target(state, fsw)
        flight_log.log(
            events, n_events, t_s, flight_log.SITE_SELECTED, flight_log.NO_HAZARD_MAP, 0.0
        )


@njit(cache=True)
def _go_to(params, state, fsw, site):
    """Land on a site (guidance coordinates): the approach's target moved over it, and the
    terminal descent flying to it down to touchdown (level while the hover holds: until it
    arrives, `update`): an approach that no longer chases its target (its position hold)
    leaves the terminal descent to close the gap."""
    state.decided = True
    _fly_to(params, fsw, site)


@njit(cache=True)
def _fly_to(params, fsw, site):
    """The terminal descent's divert to a site (guidance coordinates), its target from now."""
    fsw.site_offset_m[0], fsw.site_offset_m[1] = site
    fsw.divert_active = True
    fsw.divert_speed_mps = params.divert_speed_mps
    fsw.divert_gain_ps = params.divert_gain_ps


@njit(cache=True)
def _keep_target(state, fsw):
    """Land where it was going: no divert, no hover."""
    state.decided = True
    fsw.hover_hold = False
