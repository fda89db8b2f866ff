"""When the faults of a run fire and end: a time, a true altitude (centre of mass above the
terrain, crossed going down), the entry into a phase (as the flight software reports it, from
its first cycle), or an event of the log (`event = "sensor_latched_off:<channel>"`, say).

A fault stays active for its duration (or for good), fires with its probability in a run
(drawn from the run's stream for the fault), and logs `fault_activated` / `fault_ended`.
Triggers are evaluated at the start of each truth step and again after each flight-software
cycle (so a fault on a phase entry acts from that cycle's commands).
"""

import math

from numba import njit

from dynamics import terrain, vector
from dynamics.truth import X_R
from faults import channel, flight_computer, imu
from faults.table import ALTITUDE, PHASE, TIME
from gnc.interface import flight_log


@njit(cache=True)
def _triggered(f, st, t_s, altitude_m, phase, log):
    if f.trigger == TIME:
        return t_s >= f.trigger_value
    if f.trigger == ALTITUDE:
        return altitude_m <= f.trigger_value
    if f.trigger == PHASE:
        return phase == f.trigger_code
    events, n_events = log
    n = min(n_events[0], events.shape[0])
    for k in range(st.events_seen, n):
        e = events[k]
        if e.code == f.trigger_code and (f.trigger_detail < 0 or e.detail == f.trigger_detail):
            st.events_seen = n
            return True
    st.events_seen = n
    return False


@njit(cache=True)
def _hold(f, held, on):
    """Switch the effects a fault keeps in a state while active (a degraded channel's power,
    an IMU triad's noise) on or off."""
    channel_states, imu_state, _ = held
    if f.target == channel.FAMILY:
        channel.hold(f, channel_states, on)
    elif f.target == imu.FAMILY:
        imu.hold(f, imu_state, on)


@njit(cache=True)
def update(table, held, log, tt, omega, t_s, x, phase):
    """Fire the faults whose trigger holds at t_s, end those whose duration is over, and set
    the effects held in state. table is (faults, their states); held is what they may act
    on: (channel states, IMU state, flight computer); log is (events, count) of the run; tt
    its truth terrain, omega the Moon's rotation rate [rad/s]; x its truth state; phase the
    flight software's as it reported it at its last cycle (NO_PHASE before its first)."""
    faults, fstates = table
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
            _hold(f, held, False)
            altitude_now_m = terrain.altitude_at(tt, r_mci, t_s, omega)
            flight_log.log(events, n_events, t_s, flight_log.FAULT_ENDED, i, altitude_now_m)
            continue
        if f.trigger == ALTITUDE and math.isnan(altitude):
            altitude = terrain.altitude_at(tt, r_mci, t_s, omega)
        if not _triggered(f, st, t_s, altitude, phase, log):
            continue
        st.active = True
        st.start_s = t_s
        _hold(f, held, True)
        if f.target == flight_computer.FAMILY:
            flight_computer.reset(held[2], t_s, f.reboot_time_s, f.relight_delay_s)
        altitude_now_m = terrain.altitude_at(tt, r_mci, t_s, omega)
        flight_log.log(events, n_events, t_s, flight_log.FAULT_ACTIVATED, i, altitude_now_m)
