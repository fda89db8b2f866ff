"""The compiled run loop: one call flies a batch of descents from PDI to touchdown (or to their
end), each without returning to Python.

Everything per time step happens inside `simulate`; Python only packs the inputs
(`sims.records`) and reads the outputs. Per truth step: the faults whose trigger holds fire;
at each control period the sensor channels due are sampled (each through its kind's compiled
entry point, `sensors.bus`), the faults act on their records, the records are queued, those
due are delivered to one cycle of the flight software, reached through the entry points of
its interface (`gnc.interface.contract`: whatever its form, the loop knows nothing of its
inside), which returns the engines' throttle and the attitude command (RCS on-times, or a
torque or an attitude the interface's attitude layer turns into on-times); the faults act on
the actuators; then the truth is integrated over the step, and the IMU accumulates the true
motion and, at its rate, hands its increments (after its faults) to the flight software.
What the flight software reports (its telemetry) is what the navigation figures are made of.
A run the scenario's recorder keeps (`sims.recorder`) has its chosen signals written at the
recorder's rate, and the measurement updates its flight software reports logged.

In open-loop verification mode the flight software is replaced by the scenario's thrust
schedule (throttle and thrust direction in local downrange/crossrange/up axes against time),
with ideal attitude (the body is set to the commanded attitude, rates zero) or an RCS
attitude hold on the true attitude (PD law, pulse-width modulation, minimum impulse bit).
"""

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

from dynamics import (
    frames,
    gravity,
    mass_properties,
    plugins,
    propulsion,
    quaternion,
    terrain,
    touchdown,
    truth,
    vector,
)
from dynamics.terrain import TruthTerrain
from dynamics.truth import X_MASS, X_Q, X_R, X_THROTTLE, X_V, X_W
from dynamics.views import unowned
from gnc.interface import attitude_layer, contract, flight_log
from sensors import bus, contact_probe, imu
from sims import consistency, recorder
from sims import faults as faults_model

ATTITUDE_IDEAL, ATTITUDE_RCS = 0, 1
DIVERGED_NOT_FINITE, DIVERGED_BODY_RATE, DIVERGED_RAISED = 1, 2, 3
DIVERGED_FLIGHT_SOFTWARE, DIVERGED_COMMAND = 4, 5
DIVERGENCE_REASONS = {
    DIVERGED_NOT_FINITE: "state not finite",
    DIVERGED_BODY_RATE: "body rate runaway",
    DIVERGED_RAISED: "the model raised an error",  # its message is in the batch's errors
    DIVERGED_FLIGHT_SOFTWARE: "the flight software failed",  # why: in the batch's errors
    DIVERGED_COMMAND: "the flight software commanded a non-finite value",
}


@njit(cache=True)
def schedule_at(schedule, t_s):
    """Throttle and local thrust direction at t_s: linear between rows, held outside them."""
    n = schedule.shape[0]
    if t_s <= schedule[0].t_s:
        return schedule[0].throttle, vector.load(schedule[0].direction_local, 0)
    for k in range(n - 1):
        a, b = schedule[k], schedule[k + 1]
        if t_s < b.t_s:
            f = (t_s - a.t_s) / (b.t_s - a.t_s)
            d = vector.add(
                vector.scale(vector.load(a.direction_local, 0), 1.0 - f),
                vector.scale(vector.load(b.direction_local, 0), f),
            )
            return a.throttle + f * (b.throttle - a.throttle), d
    return schedule[n - 1].throttle, vector.load(schedule[n - 1].direction_local, 0)


@njit(cache=True)
def commanded_attitude(site, schedule, x, t_s, rotation_rate_radps):
    """(throttle, q_body_to_mci) the schedule asks for at t_s, at the lander's position."""
    throttle, d_local = schedule_at(schedule, t_s)
    r_mcmf = frames.mci_to_mcmf(vector.load(x, X_R), t_s, rotation_rate_radps)
    down, left, up = frames.local_track_axes(site, r_mcmf)
    d_mcmf = vector.add(
        vector.add(vector.scale(down, d_local[0]), vector.scale(left, d_local[1])),
        vector.scale(up, d_local[2]),
    )
    d_mci = frames.mcmf_to_mci(d_mcmf, t_s, rotation_rate_radps)
    left_mci = frames.mcmf_to_mci(left, t_s, rotation_rate_radps)
    return throttle, attitude_layer.pointing_quaternion(d_mci, left_mci)


@njit(cache=True)
def record(trace, k, tt, x, t_s, throttle_command, rotation_rate_radps, telemetry, closed):
    """Write trace sample k from the state x at t_s over the truth terrain tt, and, in closed
    loop, from what the flight software reports (its telemetry)."""
    r_mci, v_mci = vector.load(x, X_R), vector.load(x, X_V)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, rotation_rate_radps)
    v_mcmf = frames.surface_relative_velocity_mcmf(r_mci, v_mci, t_s, rotation_rate_radps)
    p = frames.site_position_enu(tt.site, r_mcmf)
    v = frames.to_site_enu(tt.site, v_mcmf)
    downrange, crossrange, _ = frames.track_coordinates(tt.site, r_mcmf)
    body_z = quaternion.rotate(truth.quaternion_of(x), (0.0, 0.0, 1.0))
    cos_tilt = vector.dot(body_z, vector.unit(r_mci))
    s = trace[k]
    s.t_s = t_s
    s.altitude_m = terrain.altitude(tt.site, tt.tiles, tt.heights, r_mcmf)
    s.mass_kg = x[X_MASS]
    s.throttle = x[X_THROTTLE]
    s.throttle_command = throttle_command
    s.x_east_m, s.y_north_m, s.z_up_m = p[0], p[1], p[2]
    s.vx_east_mps, s.vy_north_mps, s.vz_up_mps = v[0], v[1], v[2]
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


@njit(cache=True)
def _record_signals(sink, n, tt, x, t_s, omega, io, applied, thrust_n, on_time):
    """Write row n of the recording (if it fits) from the state at t_s (`sims.recorder`);
    sink: (recording, signals, built-in values, fault states, the flight software's state
    bytes). Returns the rows written."""
    recording, signals, values, fault_states, fsw_bytes = sink
    if n >= recording.shape[0]:
        return n
    recorder.builtins(values, tt, x, t_s, omega, io, applied, thrust_n, on_time)
    recorder.sample(recording[n], t_s, signals, values, fault_states, fsw_bytes)
    return n + 1


@njit(cache=True)
def _diverged(x, max_rate):
    for i in range(x.shape[0]):
        if not math.isfinite(x[i]):
            return DIVERGED_NOT_FINITE
    if vector.norm(vector.load(x, X_W)) > max_rate:
        return DIVERGED_BODY_RATE
    return 0


@njit(cache=True)
def _check_touchdown(run, tt, contact_points, limits, work, t_s, dt, omega, summary):
    """If a contact point of the lander (truth state work.x at t_s) touches the terrain,
    record the touchdown and its outcome class in the summary. The touchdown state is the
    state at the instant of contact, interpolated within the step from work.previous (one
    step earlier): detecting it only at the end of the step would add up to g dt to the
    vertical speed."""
    x, x0, com = work.x, work.previous, work.com_m
    site, tiles, heights = tt.site, tt.tiles, tt.heights
    r_mcmf = frames.mci_to_mcmf(vector.load(x, X_R), t_s, omega)
    if terrain.altitude(site, tiles, heights, r_mcmf) >= run.contact_check_altitude_m:
        return
    q_mcmf = quaternion.multiply(frames.mci_to_mcmf_quaternion(t_s, omega), truth.quaternion_of(x))
    hit = touchdown.first_contact(site, tiles, heights, r_mcmf, q_mcmf, com, contact_points)
    if hit < 0:
        return
    t0 = t_s - dt
    r0_mcmf = frames.mci_to_mcmf(vector.load(x0, X_R), t0, omega)
    q0_mcmf = quaternion.multiply(frames.mci_to_mcmf_quaternion(t0, omega), truth.quaternion_of(x0))
    point = contact_points[hit]
    f = touchdown.contact_fraction(
        touchdown.point_altitude(site, tiles, heights, r0_mcmf, q0_mcmf, com, point),
        touchdown.point_altitude(site, tiles, heights, r_mcmf, q_mcmf, com, point),
    )
    t_c = t0 + f * dt
    r_c = _lerp(vector.load(x0, X_R), vector.load(x, X_R), f)
    v_c = _lerp(vector.load(x0, X_V), vector.load(x, X_V), f)
    w_c = _lerp(vector.load(x0, X_W), vector.load(x, X_W), f)
    q_c = quaternion.nlerp(truth.quaternion_of(x0), truth.quaternion_of(x), f)
    r_c_mcmf = frames.mci_to_mcmf(r_c, t_c, omega)
    v_down, v_h, tilt, slope, rate, miss = touchdown.contact_state(
        site,
        tiles,
        heights,
        r_c_mcmf,
        frames.surface_relative_velocity_mcmf(r_c, v_c, t_c, omega),
        quaternion.multiply(frames.mci_to_mcmf_quaternion(t_c, omega), q_c),
        w_c,
    )
    summary.outcome = touchdown.classify(
        limits,
        v_down,
        v_h,
        tilt,
        slope,
        rate,
        hit < run.n_gear_points,
        summary.flameout_time_s >= 0.0,
    )
    summary.time_s = t_c
    summary.descent_rate_mps = v_down
    summary.horizontal_speed_mps = v_h
    summary.tilt_rad = tilt
    summary.slope_rad = slope
    summary.body_rate_radps = rate
    summary.position_error_m = miss
    east, north, _ = frames.site_position_enu(site, r_c_mcmf)
    downrange, crossrange, _ = frames.track_coordinates(site, r_c_mcmf)
    summary.east_m, summary.north_m = east, north
    summary.downrange_m, summary.crossrange_m = downrange, crossrange
    summary.contact_point = hit


@njit(cache=True)
def _lerp(a, b, f):
    return vector.add(vector.scale(a, 1.0 - f), vector.scale(b, f))


@njit(cache=True)
def _sample_channels(
    channels, specs, channel_states, queue, faults, fault_states, step, dt_s, work, sequence
):
    """Sample the channels due at this step (the truth pose is in work.pose), let the faults
    act on each record, and queue it for the flight software; returns the sequence number of
    the next record."""
    t_s = step * dt_s
    sample = work.sample
    for ch in range(channels.shape[0]):
        channel = channels[ch]
        if step % channel.every_steps:
            continue
        sample.valid = False
        sample.m = 0
        for j in range(bus.MAX_DIMENSION):
            sample.y[j] = 0.0
            sample.sigma[j] = 0.0
            sample.noise[j] = 0.0
        plugins.call(
            channel.sample_entry,
            (
                specs.ctypes.data + channel.spec_offset,
                bus.address_of(work.pose),
                bus.address_of(work.surface),
                bus.address_of(channel_states[ch]),
                bus.address_of(sample),
            ),
        )
        delay = 0.0
        if faults.shape[0]:
            delay = faults_model.on_sample(faults, fault_states, ch, sample, t_s)
        slot = -1
        for i in range(queue.shape[0]):
            if queue[i].deliver_s == math.inf:
                slot = i
                break
        if slot < 0:
            raise RuntimeError("measurement queue full")
        q = queue[slot]
        q.channel = ch
        q.sequence = sequence
        q.valid = sample.valid
        q.m = sample.m
        q.t_s = t_s
        q.deliver_s = t_s + channel.latency_s + delay
        q.period_s = channel.every_steps * dt_s
        for j in range(bus.MAX_DIMENSION):
            q.y[j] = sample.y[j]
            q.sigma[j] = sample.sigma[j]
        sequence += 1
    return sequence


@njit(cache=True)
def _deliver(queue, inbox, t_s):
    """Move the measurements due at t_s from the queue into the inbox in delivery order
    (earliest delivery time, then first queued), freeing their slots; returns how many."""
    n = 0
    while True:
        best = -1
        for i in range(queue.shape[0]):
            q = queue[i]
            if q.deliver_s <= t_s and (
                best < 0
                or q.deliver_s < queue[best].deliver_s
                or (q.deliver_s == queue[best].deliver_s and q.sequence < queue[best].sequence)
            ):
                best = i
        if best < 0:
            return n
        inbox[n] = queue[best]
        queue[best].deliver_s = math.inf
        n += 1


@njit(cache=True)
def _keep_max(current, value):
    """The larger of two figures, NaN counting as absent."""
    if math.isnan(value) or value <= current:
        return current
    return value


@njit(cache=True)
def _engine_commands(commands, engines, split):
    """(finite, command, setpoint) of the flight software's engine commands: whether every
    throttle it gave is finite, the largest throttle commanded (0 with the engines off) and
    the engines' common throttle setpoint (the largest), with into split each engine's share
    of it: engines share one throttle lag, so a differential command scales each engine's
    thrust by its share (exact while the shares hold; a change of shares acts without the
    lag)."""
    finite, command, common = True, 0.0, 0.0
    for e in range(engines.shape[0]):
        finite = finite and math.isfinite(commands.throttle[e])
        split[e] = propulsion.throttle_setpoint(engines[e], commands.throttle[e])
        if commands.engine_on:
            command = max(command, commands.throttle[e])
        else:
            split[e] = 0.0
        common = max(common, split[e])
    for e in range(engines.shape[0]):
        split[e] = split[e] / common if common > 0.0 else 1.0
    return finite, command, common


@njit(cache=True)
def _rcs_commands(commands, layer, q_true, w_true, period_s, min_on_s, carried, on_time):
    """The RCS on-times of the coming control period from the flight software's attitude
    command: as given, or through the attitude layer (gains, torque table, axis groups) from
    a torque or an attitude (its PD law on the true attitude and rate). False if a command is
    not finite."""
    n = on_time.shape[0]
    mode = commands.attitude_command
    if mode == contract.ON_TIMES:
        for i in range(n):
            on_time[i] = commands.on_time_s[i]
            if not math.isfinite(on_time[i]):
                return False
        return True
    if mode == contract.TORQUE:
        torque = vector.load(commands.torque_body_nm, 0)
    else:
        q = commands.q_command_body_to_mci
        q_cmd = quaternion.normalize((q[0], q[1], q[2], q[3]))
        torque = attitude_layer.torque_command(layer[0], q_true, w_true, q_cmd)
    for i in range(3):
        if not math.isfinite(torque[i]):
            return False
    attitude_layer.on_times(torque, layer[1], layer[2], period_s, min_on_s, carried, on_time)
    return True


@njit(cache=True)
def _flight_software_failed(summary, io, entry, t_s, reason, message):
    """End the run as diverged by the flight software: its status, the entry point it was in
    and its message (into `message`) are kept for the reason the results give."""
    message[:] = io.message
    summary.outcome = touchdown.DIVERGED
    summary.diverged_reason = reason
    summary.time_s = t_s
    summary.fsw_status = io.status
    summary.fsw_entry = entry


@njit(cache=True, inline="always")
def _online(computer, entries, addresses, io, t_s, summary, message):
    """1 if the flight computer is on line at t_s, 0 if not; back from a reset, the flight
    software's restart entry point is called first: -1 if it failed there (the run ends)."""
    if t_s < computer.offline_until_s:
        return 0
    if computer.restart_pending:
        _restart(computer, entries, addresses, io, t_s)
        if io.status:
            failed = DIVERGED_FLIGHT_SOFTWARE
            _flight_software_failed(summary, io, contract.ENTRY_RESTART, t_s, failed, message)
            return -1
    return 1


@njit(cache=True)
def _restart(computer, entries, addresses, io, t_s):
    """Tell the flight software its computer is back from a reset (its restart entry point)."""
    computer.restart_pending = False
    io.t_s = t_s
    io.reset.reset_time_s = computer.reset_time_s
    io.reset.online_time_s = t_s
    io.reset.relight_time_s = computer.relight_time_s
    if entries.restart:
        plugins.call(entries.restart, addresses)


@njit(cache=True)
def simulate(k, shared, per_run, states, outputs, work, vectors):
    """Propagate run k of a batch from its truth state work.truth.x at t = 0 (in place: it ends
    as the final state); fill its trace, event log and summary. vectors: work array of the
    thrusters' and engines' counts + 15 (RCS on-times, each engine's share of the throttle
    and thrust factor, the open-loop hold's carried impulse, the IMU's increments and their
    sum over the control period), owned by the caller so that it outlives every view the
    loop takes of it. In open loop, the flight software and its sensors are not used."""
    run = per_run.run[k]
    grav = shared.gravity.params
    c, s = unowned(shared.gravity.c), unowned(shared.gravity.s)
    site = shared.terrain.site
    tiles, heights = unowned(shared.terrain.tiles), unowned(shared.terrain.heights)
    tt = TruthTerrain(site, tiles, heights)
    schedule = unowned(shared.schedule)
    mp, engines = per_run.mass[k], unowned(per_run.engines[k])
    thrusters, contact_points = unowned(per_run.thrusters[k]), unowned(per_run.contact_points[k])
    layer = (per_run.gains[k], unowned(per_run.rcs_torques[k]), unowned(per_run.rcs_groups[k]))
    channels, specs = unowned(per_run.channels[k]), unowned(per_run.specs[k])
    channel_states, queue = unowned(states.channels[k]), unowned(states.queue[k])
    inbox = unowned(states.inbox[k])
    faults, fault_states = unowned(per_run.faults[k]), unowned(states.faults[k])
    n_faults = faults.shape[0]
    imu_spec, imu_state = per_run.imu[k], states.imu[k]
    computer = states.computer[k]
    engine_factor = unowned(states.engine_factor[k])
    events, n_events = unowned(outputs.events[k]), unowned(outputs.n_events[k])
    held, log = (channel_states, imu_state, computer), (events, n_events)
    trace, summary = unowned(outputs.trace[k]), outputs.summary[k]
    slot = run.record_slot
    sink = (
        unowned(outputs.recording[max(slot, 0)]),
        unowned(shared.signals),
        unowned(work.signals),
        fault_states,
        unowned(states.fsw[k]),
    )
    message = unowned(outputs.fsw_message[k])
    entries = per_run.fsw_entries[k]
    io = work.io
    addresses = (
        unowned(per_run.fsw_config[k]).ctypes.data,
        unowned(states.fsw[k]).ctypes.data,
        bus.address_of(io),
    )
    tel = io.telemetry
    x = work.truth.x
    com, inertia, inertia_inv = work.truth.com_m, work.truth.inertia, work.truth.inertia_inv
    vectors[:] = 0.0  # each run starts with no pulse, no carried impulse, no increment
    n_thr, n_eng = thrusters.shape[0], engines.shape[0]
    on_time = unowned(vectors[:n_thr])  # RCS on-times of the control period
    split = unowned(vectors[n_thr : n_thr + n_eng])  # each engine's share of the throttle
    thrust_factor = unowned(vectors[n_thr + n_eng : n_thr + 2 * n_eng])
    rcs_carried = unowned(vectors[-15:-12])  # the attitude layer's impulse below the minimum
    dv_measured, dtheta_measured = unowned(vectors[-12:-9]), unowned(vectors[-9:-6])
    dv_sum, dtheta_sum = unowned(vectors[-6:-3]), unowned(vectors[-3:])  # since the cycle
    interval_sum = 0.0
    split[:] = 1.0
    omega = grav.rotation_rate_radps
    dt = run.time_step_s
    period = run.control_every_steps * dt
    pulse_start = 0.0
    closed = run.closed_loop
    sequence = 0
    g0 = gravity.acceleration_mci(grav, c, s, vector.load(x, X_R), 0.0)
    contract.clear_telemetry(tel)
    io.t_s = 0.0
    io.status = contract.OK
    io.message[:] = 0
    io.n_engines, io.n_thrusters, io.n_channels = n_eng, n_thr, channels.shape[0]
    io.events, io.event_capacity = events.ctypes.data, events.shape[0]
    io.event_count = n_events.ctypes.data
    io.delivered, io.n_delivered = inbox.ctypes.data, 0
    io.update_capacity = outputs.updates.shape[1] if slot >= 0 else 0
    if slot >= 0:
        outputs.n_updates[slot, 0] = 0
        io.updates = unowned(outputs.updates[slot]).ctypes.data
        io.update_count = unowned(outputs.n_updates[slot]).ctypes.data
    io.handover = per_run.handover[k]
    summary.flameout_time_s = -1.0
    summary.outcome = -1
    summary.max_altitude_error_m = summary.max_velocity_error_mps = math.nan
    for checkpoint in summary.nees:
        checkpoint.position = checkpoint.velocity = checkpoint.attitude = math.nan
    cycled = False  # the flight software has reported a phase from a cycle
    if closed:
        imu.init(imu_spec, imu_state)
        bus.describe_surface(work.surface, site, tiles, heights)
        throttle_cmd, q_cmd = 0.0, truth.quaternion_of(x)
        if entries.start:
            plugins.call(entries.start, addresses)
            if io.status:
                _flight_software_failed(
                    summary, io, contract.ENTRY_START, 0.0, DIVERGED_FLIGHT_SOFTWARE, message
                )
    else:
        throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, 0.0, omega)
    phase = tel.phase
    setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
    n_trace = 0
    record(trace, n_trace, tt, x, 0.0, throttle_cmd, omega, tel, closed)
    n_trace += 1
    n_recorded, thrust_n, applied = 0, 0.0, setpoint
    if slot >= 0:
        n_recorded = _record_signals(sink, 0, tt, x, 0.0, omega, io, applied, thrust_n, on_time)
    step = 0
    while summary.outcome < 0:
        t = step * dt
        mass_properties.evaluate(mp, x[X_MASS], com, inertia, inertia_inv)
        q_true = truth.quaternion_of(x)
        trigger_phase = phase if cycled else flight_log.NO_PHASE
        if n_faults:
            faults_model.update(faults, fault_states, held, log, tt, omega, t, x, trigger_phase)
        if closed:
            if step % run.control_every_steps == 0:
                online = _online(computer, entries, addresses, io, t, summary, message)
                if online < 0:
                    break
                if online:
                    bus.fill_pose(
                        work.pose,
                        t,
                        vector.load(x, X_R),
                        vector.load(x, X_V),
                        q_true,
                        vector.load(x, X_W),
                        com,
                        omega,
                    )
                    sequence = _sample_channels(
                        channels,
                        specs,
                        channel_states,
                        queue,
                        faults,
                        fault_states,
                        step,
                        dt,
                        work,
                        sequence,
                    )
                    q = work.pose.q_body_to_mcmf
                    io.probe_contact = contact_probe.touching(
                        site,
                        tiles,
                        heights,
                        vector.load(work.pose.r_mcmf_m, 0),
                        (q[0], q[1], q[2], q[3]),
                        com,
                        contact_points,
                        run.n_gear_points,
                        run.probe_length_m,
                    )
                    io.t_s = t
                    io.n_delivered = _deliver(queue, inbox, t)
                    io.imu.t_s, io.imu.interval_s = t, interval_sum
                    for i in range(3):
                        io.imu.dv_body_mps[i], io.imu.dtheta_body_rad[i] = dv_sum[i], dtheta_sum[i]
                        dv_sum[i] = dtheta_sum[i] = 0.0
                    interval_sum = 0.0
                    plugins.call(entries.cycle, addresses)
                    if io.status:
                        _flight_software_failed(
                            summary, io, contract.ENTRY_CYCLE, t, DIVERGED_FLIGHT_SOFTWARE, message
                        )
                        break
                    commands = io.commands
                    finite, throttle_cmd, setpoint = _engine_commands(commands, engines, split)
                    finite = finite and _rcs_commands(
                        commands,
                        layer,
                        q_true,
                        vector.load(x, X_W),
                        period,
                        run.rcs_min_on_time_s,
                        rcs_carried,
                        on_time,
                    )
                    if not finite:
                        _flight_software_failed(
                            summary, io, contract.ENTRY_CYCLE, t, DIVERGED_COMMAND, message
                        )
                        break
                    cycled = True
                    if n_faults:
                        faults_model.update(
                            faults, fault_states, held, log, tt, omega, t, x, tel.phase
                        )
                    if t < computer.relight_time_s:  # a reset holds the engine off
                        throttle_cmd = setpoint = 0.0
                    if tel.phase != phase and 0 <= phase < flight_log.TERMINAL:
                        consistency.keep(tel, x, summary.nees[phase])  # phase ended
                    phase = tel.phase
                    altitude_true = terrain.altitude_at(tt, vector.load(x, X_R), t, omega)
                    error = abs(tel.altitude_est_m - altitude_true)
                    summary.max_altitude_error_m = _keep_max(summary.max_altitude_error_m, error)
                    v_error = vector.norm(
                        vector.sub(vector.load(tel.v_mci_mps, 0), vector.load(x, X_V))
                    )
                    summary.max_velocity_error_mps = _keep_max(
                        summary.max_velocity_error_mps, v_error
                    )
                else:  # the flight computer is rebooting: no commands
                    throttle_cmd = 0.0
                    for i in range(on_time.shape[0]):
                        on_time[i] = 0.0
                    setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
                pulse_start = t
        elif step % run.control_every_steps == 0:
            throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, t, omega)
            setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
            if run.attitude_mode == ATTITUDE_RCS:
                tq = attitude_layer.torque_command(layer[0], q_true, vector.load(x, X_W), q_cmd)
                attitude_layer.on_times(
                    tq,
                    layer[1],
                    layer[2],
                    period,
                    run.rcs_min_on_time_s,
                    rcs_carried,
                    on_time,
                )
                pulse_start = t
        if not closed and run.attitude_mode == ATTITUDE_IDEAL:
            for i in range(4):
                x[X_Q + i] = q_cmd[i]
            for i in range(3):
                x[X_W + i] = 0.0
        applied = setpoint
        if n_faults:
            applied = faults_model.on_actuators(
                faults, fault_states, setpoint, engine_factor, on_time
            )
        for e in range(n_eng):
            thrust_factor[e] = engine_factor[e] * split[e]
        engines_full = propulsion.engines_at_full_throttle(engines, thrust_factor, com)
        thrust_n = vector.norm(engines_full[0]) * x[X_THROTTLE]
        if x[X_MASS] > mp.dry_mass_kg:
            summary.delta_v_mps += thrust_n / x[X_MASS] * dt
        if applied > 0.0 and x[X_MASS] > mp.dry_mass_kg:  # commanded on, with propellant
            summary.burn_time_s += dt
        rcs_held = propulsion.rcs_force_torque(thrusters, on_time, pulse_start, t, dt, com)
        if closed:
            q0, v0 = truth.quaternion_of(x), vector.load(x, X_V)
        lag = engines[0].time_constant_s
        truth.rk4_step(x, t, dt, grav, c, s, mp, engines_full, lag, applied, rcs_held, work.truth)
        step += 1
        t = step * dt
        if closed:
            g1 = gravity.acceleration_mci(grav, c, s, vector.load(x, X_R), t)
            dv_true, dtheta_true = imu.true_increments(
                q0, truth.quaternion_of(x), v0, vector.load(x, X_V), g0, g1, dt
            )
            g0 = g1  # gravity at the start of the next step
            imu.accumulate(imu_state, dv_true, dtheta_true, dt)
            if step % imu_spec.every_steps == 0:
                interval = imu.sample(imu_spec, imu_state, dv_measured, dtheta_measured)
                if n_faults:
                    faults_model.on_imu(
                        faults, fault_states, dv_measured, dtheta_measured, interval, t
                    )
                online = _online(computer, entries, addresses, io, t, summary, message)
                if online < 0:
                    break
                if online:
                    interval_sum += interval
                    for i in range(3):
                        dv_sum[i] += dv_measured[i]
                        dtheta_sum[i] += dtheta_measured[i]
                    if entries.imu:
                        io.t_s = t
                        io.imu.t_s, io.imu.interval_s = t, interval
                        for i in range(3):
                            io.imu.dv_body_mps[i] = dv_measured[i]
                            io.imu.dtheta_body_rad[i] = dtheta_measured[i]
                        plugins.call(entries.imu, addresses)
                        if io.status:
                            _flight_software_failed(
                                summary,
                                io,
                                contract.ENTRY_IMU,
                                t,
                                DIVERGED_FLIGHT_SOFTWARE,
                                message,
                            )
                            break
        if summary.flameout_time_s < 0.0 and x[X_MASS] <= mp.dry_mass_kg:
            summary.flameout_time_s = t
            flight_log.log(events, n_events, t, flight_log.FLAMEOUT, 0, t)
        reason = _diverged(x, run.max_body_rate_radps)
        if reason:
            summary.outcome = touchdown.DIVERGED
            summary.diverged_reason = reason
            summary.time_s = t
            break
        # |r| is the same in both frames: the terrain is looked up only near the ground
        above_highest = (
            vector.norm(vector.load(x, X_R)) - site.map_radius_m - site.highest_terrain_m
        )
        if above_highest < run.contact_check_altitude_m:
            _check_touchdown(
                run, tt, contact_points, shared.limits, work.truth, t, dt, omega, summary
            )
        if summary.outcome < 0 and t >= run.max_time_s:
            summary.outcome = touchdown.TIMEOUT
            summary.time_s = t
        if (step % run.output_every_steps == 0 or summary.outcome >= 0) and n_trace < trace.shape[
            0
        ]:
            record(trace, n_trace, tt, x, t, throttle_cmd, omega, tel, closed)
            n_trace += 1
        if slot >= 0 and (step % run.record_every_steps == 0 or summary.outcome >= 0):
            n_recorded = _record_signals(
                sink, n_recorded, tt, x, t, omega, io, applied, thrust_n, on_time
            )
    summary.final_mass_kg = x[X_MASS]
    summary.n_trace = n_trace
    if slot >= 0:
        outputs.n_recorded[slot] = n_recorded
    if closed:
        _finish(summary, entries, addresses, io, tt, x, omega)


@njit(cache=True)
def _finish(summary, entries, addresses, io, tt, x, omega):
    """The navigation's figures at the end of a closed-loop run, from the telemetry it reports
    then; the flight software's stop entry point."""
    t = summary.time_s
    io.t_s = t
    tel = io.telemetry
    if entries.report and summary.diverged_reason != DIVERGED_FLIGHT_SOFTWARE:
        plugins.call(entries.report, addresses)
    summary.nav_position_error_m = vector.norm(
        vector.sub(vector.load(tel.r_mci_m, 0), vector.load(x, X_R))
    )
    summary.nav_velocity_error_mps = vector.norm(
        vector.sub(vector.load(tel.v_mci_mps, 0), vector.load(x, X_V))
    )
    summary.nav_altitude_error_m = tel.altitude_est_m - terrain.altitude_at(
        tt, vector.load(x, X_R), t, omega
    )
    summary.nav_position_3sigma_m = consistency.three_sigma(tel, consistency.DR)
    summary.nav_velocity_3sigma_mps = consistency.three_sigma(tel, consistency.DV)
    consistency.keep(tel, x, summary.nees[consistency.END])
    if entries.stop:
        plugins.call(entries.stop, addresses)


@intrinsic
def _cycle_counter(typingctx):
    """The processor's cycle counter (x86 TSC, Arm virtual counter): a cheap clock for timing
    the runs of a batch in compiled code, scaled to seconds by the caller."""

    def codegen(context, builder, signature, args):
        counter = builder.module.declare_intrinsic(
            "llvm.readcyclecounter", fnty=ir.FunctionType(ir.IntType(64), [])
        )
        return builder.call(counter, [])

    return types.int64(), codegen


# Per-run scratch of the loop: the truth propagation's, and the sensor side's.
SCRATCH_DTYPE = np.dtype(
    [
        ("truth", truth.WORK_DTYPE),
        ("pose", bus.POSE_DTYPE),  # the truth at the control cycle, as the sensors see it
        ("sample", bus.SAMPLE_DTYPE),
        ("surface", bus.SURFACE_DTYPE),  # the truth terrain, as the sensors' entry points see it
        ("io", contract.IO_DTYPE),  # the flight-software interface's record of the run
        ("signals", np.float64, (recorder.N_BUILTIN,)),  # the recorder's built-in signals
    ],
    align=True,
)


def work_storage(per_run):
    """(scratch, vectors) a batch's runs work in (`simulate_batch`): the loop's records, the
    flight-software interface's among them (read by Python called back from the loop, e.g.
    the image pipeline), and its work vectors."""
    n_thrusters, n_engines = per_run.thrusters.shape[1], per_run.engines.shape[1]
    return np.zeros(1, SCRATCH_DTYPE), np.zeros(n_thrusters + 2 * n_engines + 15)


@njit(cache=True, nogil=True)
def simulate_batch(shared, per_run, states, outputs, scratch, vectors, next_run, cycles):
    """Fly runs next_run[0], next_run[0] + 1, ... of a batch (`sims.records`: every per-run
    array has the run as its first axis; states.x holds each run's truth state, initial then
    final) in the work storage of `work_storage`, which the caller keeps alive until the call
    returns: the loop works on views of it without an owner (`dynamics.views`). next_run[0]
    counts the runs done, so a run that raises can be told and skipped; cycles[k] is the cycle
    counter when run k ended (cycles[0] when the call started).
    Releases the GIL: batches run in parallel threads.
    """
    cycles[next_run[0]] = _cycle_counter()
    while next_run[0] < states.x.shape[0]:
        k = next_run[0]
        work = scratch[0]
        work.truth.x[:] = states.x[k]
        simulate(k, shared, per_run, states, outputs, work, vectors)
        states.x[k] = work.truth.x
        next_run[0] = k + 1
        cycles[k + 1] = _cycle_counter()
