"""Faults as data: the table a scenario's `[[faults]]` becomes, when each fault fires, and what
it does where the real fault would act.

Targets and modes (parameters in brackets):
- a sensor channel, on its output record: `off` (no valid data: a sensor never enabled is off
  from t = 0), `stuck` (at the value it had [or `value`]), `bias` [`value`], `drift` [`rate`:
  the offset grows from zero], `noise_scaled` [`factor` on the noise it draws], `dropout`
  [`fraction` of samples lost, drawn per sample], `latency` [`delay`: data arrive late, with
  their time of validity, at which the flight software predicts them], `degraded` [`factor`
  on the received power: the kind decides what that costs, e.g. range], `invalid_flag` (good
  data flagged invalid), `false_valid` (no data flagged valid [reporting `value`, default 0]);
  `element` picks one value of a multi-value record (default all);
- the IMU, on its output increments: `off`, `zero`, `stuck`, `bias` [`value`, acceleration or
  rate], `drift` [`rate`], `noise_scaled` [`factor`]; `triad` (accelerometer, gyro, both) and
  `axis` (x, y, z, all) pick what;
- the main engines (`index`: one engine, default all), on the force and torque the truth
  integrates: `thrust_loss` [`fraction`], `thrust_scaled` [`factor`: thrust other than the
  flight software believes, either way], `engine_out`, `shutdown` (off while active, then
  relit with the engine's lag: the duration is the relight delay), `throttle_stuck` (at the
  throttle it had [or `value`]);
- an RCS thruster (`index`): `stuck_on`, `stuck_off`;
- the flight computer: `reset` [`reboot_time`, `relight_delay`]: the flight software is off,
  loses its IMU data and commands nothing for the reboot time; back on line, it is told so
  through its interface's restart entry point (what it keeps is its own affair); the main
  engine stays off until the relight delay has passed.

Triggers: a time, a true altitude (centre of mass above the terrain, crossed going down), the
entry into a phase (as the flight software reports it, from its first cycle), or an event of
the log (`event = "sensor_latched_off:<channel>"`, say).
A fault stays active for its duration (or for good), fires with its probability in a run
(drawn from the run's stream for the fault), and logs `fault_activated` / `fault_ended`.
Triggers are evaluated at the start of each truth step and again after each flight-software
cycle (so a fault on a phase entry acts from that cycle's commands).
"""

import math

import numpy as np
from numba import njit

from dynamics import terrain, vector
from dynamics.truth import X_R
from gnc.interface import flight_log
from sensors import random_stream
from sims.fault_table import (
    ALTITUDE,
    BIAS,
    CHANNEL,
    DEGRADED,
    DRIFT,
    DROPOUT,
    FALSE_VALID,
    FLIGHT_COMPUTER,
    IMU,
    INVALID_FLAG,
    LATENCY,
    MAIN_ENGINE,
    NOISE_SCALED,
    OFF,
    PHASE,
    RCS,
    SHUTDOWN,
    STUCK,
    STUCK_ON,
    THROTTLE_STUCK,
    THRUST_LOSS,
    THRUST_SCALED,
    TIME,
    ZERO,
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
def _triggered(f, st, t_s, altitude_m, phase, events, n_events):
    if f.trigger == TIME:
        return t_s >= f.trigger_value
    if f.trigger == ALTITUDE:
        return altitude_m <= f.trigger_value
    if f.trigger == PHASE:
        return phase == f.trigger_code
    n = min(n_events[0], events.shape[0])
    for k in range(st.events_seen, n):
        e = events[k]
        if e.code == f.trigger_code and (f.trigger_detail < 0 or e.detail == f.trigger_detail):
            st.events_seen = n
            return True
    st.events_seen = n
    return False


@njit(cache=True)
def update(faults, fstates, held, log, tt, omega, t_s, x, phase):
    """Fire the faults whose trigger holds at t_s, end those whose duration is over, and set
    the effects held in state. held is what they may act on: (channel states, IMU state,
    flight computer); log is (events, count) of the run; tt its truth terrain; x its truth
    state; phase the flight software's as it reported it at its last cycle (NO_PHASE before
    its first)."""
    channel_states, imu_state, computer = held
    events, n_events = log
    r_mci, altitude = vector.load(x, X_R), math.nan
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if not f.occurs or st.ended:
            continue
        if st.active:
            if t_s < st.start_s + f.duration_s:
                continue
            st.active = False
            st.ended = True
            _set_held_effects(f, channel_states, imu_state, False)
            altitude_now_m = terrain.altitude_at(tt, r_mci, t_s, omega)
            flight_log.log(events, n_events, t_s, flight_log.FAULT_ENDED, i, altitude_now_m)
            continue
        if f.trigger == ALTITUDE and math.isnan(altitude):
            altitude = terrain.altitude_at(tt, r_mci, t_s, omega)
        if not _triggered(f, st, t_s, altitude, phase, events, n_events):
            continue
        st.active = True
        st.start_s = t_s
        _set_held_effects(f, channel_states, imu_state, True)
        if f.target == FLIGHT_COMPUTER:
            _reset(computer, t_s, f.reboot_time_s, f.relight_delay_s)
        altitude_now_m = terrain.altitude_at(tt, r_mci, t_s, omega)
        flight_log.log(events, n_events, t_s, flight_log.FAULT_ACTIVATED, i, altitude_now_m)


@njit(cache=True)
def _reset(computer, t_s, reboot_time_s, relight_delay_s):
    """A flight-computer reset at t_s: off line for reboot_time_s, then restarted; the main
    engine off until t_s + relight_delay_s (and at least while off line)."""
    computer.offline_until_s = t_s + reboot_time_s
    computer.relight_time_s = t_s + max(relight_delay_s, reboot_time_s)
    computer.reset_time_s = t_s
    computer.restart_pending = True


@njit(cache=True)
def _set_held_effects(f, channel_states, imu, on):
    """Effects that live in a state while the fault is active: a degraded channel's received
    power, an IMU triad's noise."""
    if f.target == CHANNEL and f.mode == DEGRADED:
        channel_states[f.index].performance = f.factor if on else 1.0
    elif f.target == IMU and f.mode == NOISE_SCALED:
        if f.triad != 1:
            imu.accelerometer.noise_scale = f.factor if on else 1.0
        if f.triad != 0:
            imu.gyro.noise_scale = f.factor if on else 1.0


@njit(cache=True)
def on_sample(faults, fstates, channel, sample, t_s):
    """Act on a channel's output record at t_s; returns the delivery delay [s] it adds."""
    delay = 0.0
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target != CHANNEL or f.index != channel or not f.occurs:
            continue
        if f.mode == STUCK and not st.active and not st.ended and sample.valid:
            for j in range(sample.m):  # remember the value it will stick at
                st.held[j] = sample.y[j]
            st.held_valid = True
        if not st.active:
            continue
        if f.mode == OFF:
            sample.valid = False
            for j in range(sample.m):
                sample.y[j] = np.nan
        elif f.mode == DROPOUT:
            if random_stream.uniform(st.stream) < f.fraction:
                sample.valid = False
        elif f.mode == LATENCY:
            delay += f.delay_s
        elif f.mode == INVALID_FLAG:
            sample.valid = False
        elif f.mode == STUCK:
            if f.has_value or st.held_valid:
                sample.valid = True
                for j in range(sample.m):
                    if f.element < 0 or f.element == j:
                        sample.y[j] = f.value if f.has_value else st.held[j]
        elif f.mode == FALSE_VALID:
            if not sample.valid:
                sample.valid = True
                for j in range(sample.m):
                    if f.element < 0 or f.element == j:
                        sample.y[j] = f.value
        else:
            for j in range(sample.m):
                if f.element >= 0 and f.element != j:
                    continue
                if f.mode == BIAS:
                    sample.y[j] += f.value
                elif f.mode == DRIFT:
                    sample.y[j] += f.rate * (t_s - st.start_s)
                elif f.mode == NOISE_SCALED:
                    sample.y[j] += (f.factor - 1.0) * sample.noise[j]
    return delay


@njit(cache=True)
def on_imu(faults, fstates, dv, dtheta, interval_s, t_s):
    """Act on the IMU's output increments (dv [m/s], dtheta [rad] over interval_s)."""
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target != IMU or not f.occurs:
            continue
        if f.mode == STUCK and not st.active and not st.ended:
            for j in range(3):
                st.held[j] = dv[j]
                st.held[3 + j] = dtheta[j]
        if not st.active or f.mode == NOISE_SCALED:
            continue
        for triad in range(2):
            if f.mode != OFF and f.triad != 2 and f.triad != triad:
                continue
            out = dv if triad == 0 else dtheta
            for j in range(3):
                if f.mode != OFF and f.axis != 3 and f.axis != j:
                    continue
                if f.mode == OFF or f.mode == ZERO:
                    out[j] = 0.0
                elif f.mode == STUCK:
                    out[j] = st.held[3 * triad + j]
                elif f.mode == BIAS:
                    out[j] += f.value * interval_s
                elif f.mode == DRIFT:
                    out[j] += f.rate * (t_s - st.start_s) * interval_s


@njit(cache=True)
def on_actuators(faults, fstates, setpoint, engine_factor, on_time):
    """Act on the actuators for the coming step: the engines' thrust factors (set here), the
    throttle setpoint (returned) and the RCS on-times (in place)."""
    for e in range(engine_factor.shape[0]):
        engine_factor[e] = 1.0
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if not f.occurs:
            continue
        if f.mode == THROTTLE_STUCK and not st.active and not st.ended:
            st.held[0] = setpoint
        if not st.active:
            continue
        if f.target == MAIN_ENGINE:
            if f.mode == THROTTLE_STUCK:
                setpoint = f.value if f.has_value else st.held[0]
                continue
            if f.mode == SHUTDOWN and f.index < 0:  # the throttle decays, relights with lag
                setpoint = 0.0
                continue
            for e in range(engine_factor.shape[0]):
                if f.index >= 0 and f.index != e:
                    continue
                if f.mode == THRUST_LOSS:
                    engine_factor[e] *= 1.0 - f.fraction
                elif f.mode == THRUST_SCALED:
                    engine_factor[e] *= f.factor
                else:  # engine out, shut down
                    engine_factor[e] = 0.0
        elif f.target == RCS:
            on_time[f.index] = math.inf if f.mode == STUCK_ON else 0.0
    return setpoint
