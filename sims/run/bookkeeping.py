"""What a run writes down as it flies (`sims.run.loop`): its trace rows, its recording's rows,
the running maxima of the navigation's errors, how it ended (a divergence, the flight
software's failure) and the navigation's figures at its end.

The functions take the run's views (`loop.RunViews`: its records and arrays, whole) and the
truth state.
"""

import math

from numba import njit

from dynamics import frames, plugins, quaternion, terrain, touchdown, truth, vector
from dynamics.truth import X_MASS, X_R, X_THROTTLE, X_V, X_W
from sims.run import consistency, recorder

DIVERGED_NOT_FINITE, DIVERGED_BODY_RATE, DIVERGED_RAISED = 1, 2, 3
DIVERGED_FLIGHT_SOFTWARE, DIVERGED_COMMAND = 4, 5
DIVERGENCE_REASONS = {
    DIVERGED_NOT_FINITE: "state not finite",
    DIVERGED_BODY_RATE: "body rate runaway",
    DIVERGED_RAISED: "the model raised an error",  # its message is in the batch's errors
    DIVERGED_FLIGHT_SOFTWARE: "the flight software failed",  # why: in the batch's errors
    DIVERGED_COMMAND: "the flight software commanded a non-finite value",
}


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def write_trace_row(v, k, x, t_s, throttle_command):
    """Write trace sample k from the state x at t_s over the run's truth terrain, and, in
    closed loop, from what the flight software reports (its telemetry)."""
    tt, omega, telemetry, closed = v.tt, v.omega, v.io.telemetry, v.run.closed_loop
    r_mci, v_mci = vector.load(x, X_R), vector.load(x, X_V)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, omega)
    v_mcmf = frames.surface_relative_velocity_mcmf(r_mci, v_mci, t_s, omega)
    p = frames.site_position_enu(tt.site, r_mcmf)
    vel = frames.to_site_enu(tt.site, v_mcmf)
    downrange, crossrange, _ = frames.track_coordinates(tt.site, r_mcmf)
    body_z = quaternion.rotate(truth.quaternion_of(x), (0.0, 0.0, 1.0))
    cos_tilt = vector.dot(body_z, vector.unit(r_mci))
    s = v.trace[k]
    s.t_s = t_s
    s.altitude_m = terrain.altitude(tt.site, tt.tiles, tt.heights, r_mcmf)
    s.mass_kg = x[X_MASS]
    s.throttle = x[X_THROTTLE]
    s.throttle_command = throttle_command
    s.x_east_m, s.y_north_m, s.z_up_m = p[0], p[1], p[2]
    s.vx_east_mps, s.vy_north_mps, s.vz_up_mps = vel[0], vel[1], vel[2]
    up = vector.unit(r_mcmf)
    s.vertical_speed_mps = vector.dot(v_mcmf, up)
    s.horizontal_speed_mps = vector.norm(vector.sub(v_mcmf, vector.scale(up, s.vertical_speed_mps)))
    s.downrange_m, s.crossrange_m = downrange, crossrange
    s.altitude_est_m = telemetry.altitude_est_m
    s.phase = telemetry.phase
    if closed:
        estimate = telemetry
        s.nav_position_error_m = vector.norm(vector.sub(vector.load(estimate.r_mci_m, 0), r_mci))
        s.nav_velocity_error_mps = vector.norm(
            vector.sub(vector.load(estimate.v_mci_mps, 0), v_mci)
        )
        s.nees_position, s.nees_velocity, s.nees_attitude = consistency.nees(telemetry, x)
    else:
        s.nav_position_error_m = math.nan
        s.nav_velocity_error_mps = math.nan
        s.nees_position = s.nees_velocity = s.nees_attitude = math.nan
    s.tilt_deg = math.degrees(math.acos(max(-1.0, min(1.0, cos_tilt))))
    s.wx_dps = math.degrees(x[X_W])
    s.wy_dps = math.degrees(x[X_W + 1])
    s.wz_dps = math.degrees(x[X_W + 2])


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def record_signals(v, n, x, t_s, actuators):
    """Write row n of the recording (if it fits) from the state at t_s (`sims.run.recorder`)
    and the actuators (throttle set point applied, thrust [N]); returns the rows written."""
    recording, signals, values, fault_states, fsw_bytes = v.sink
    if n >= recording.shape[0]:
        return n
    recorder.builtins(values, v.tt, x, t_s, v.omega, v.io, actuators, v.on_time)
    recorder.sample(recording[n], t_s, signals, values, fault_states, fsw_bytes)
    return n + 1


@njit(cache=True)
def diverged(x, max_rate):
    """Why the state x has diverged (a DIVERGED_ code), or 0."""
    for i in range(x.shape[0]):
        if not math.isfinite(x[i]):
            return DIVERGED_NOT_FINITE
    if vector.norm(vector.load(x, X_W)) > max_rate:
        return DIVERGED_BODY_RATE
    return 0


@njit(cache=True)
def keep_max(current, value):
    """The larger of two figures, NaN counting as absent."""
    if math.isnan(value) or value <= current:
        return current
    return value


@njit(cache=True)
def flight_software_failed(v, entry, t_s, reason):
    """End the run as diverged by the flight software: its status, the entry point it was in
    and its message (into the run's message) are kept for the reason the results give."""
    summary, io = v.summary, v.io
    message = v.message
    for i in range(message.shape[0]):  # not message[:] = ...: see `loop.simulate_batch`
        message[i] = io.message[i]
    summary.outcome = touchdown.DIVERGED
    summary.diverged_reason = reason
    summary.time_s = t_s
    summary.fsw_status = io.status
    summary.fsw_entry = entry


@njit(cache=True)
def finish(v, x):
    """The navigation's figures at the end of a closed-loop run, from the telemetry it reports
    then; the flight software's stop entry point."""
    summary, io, entries = v.summary, v.io, v.entries
    t = summary.time_s
    io.t_s = t
    tel = io.telemetry
    if entries.report and summary.diverged_reason != DIVERGED_FLIGHT_SOFTWARE:
        plugins.call(entries.report, v.addresses)
    summary.nav_position_error_m = vector.norm(
        vector.sub(vector.load(tel.r_mci_m, 0), vector.load(x, X_R))
    )
    summary.nav_velocity_error_mps = vector.norm(
        vector.sub(vector.load(tel.v_mci_mps, 0), vector.load(x, X_V))
    )
    summary.nav_altitude_error_m = tel.altitude_est_m - terrain.altitude_at(
        v.tt, vector.load(x, X_R), t, v.omega
    )
    summary.nav_position_3sigma_m = consistency.three_sigma(tel, consistency.DR)
    summary.nav_velocity_3sigma_mps = consistency.three_sigma(tel, consistency.DV)
    consistency.keep(tel, x, summary.nees[consistency.END])
    if entries.stop:
        plugins.call(entries.stop, v.addresses)
