"""The compiled run loop: one call flies a batch of descents from PDI to touchdown (or to their
end), each without returning to Python.

Everything per time step happens inside `simulate`; Python only packs the inputs
(`sims.records`) and reads the outputs. Per truth step: the faults whose trigger holds fire;
at each control period the sensor channels due are sampled (each through its kind's compiled
entry point, `sensors.bus`), the faults act on their records, the records are queued, and the
flight software runs one cycle (measurement updates from the queue, modes, guidance,
control), giving the throttle command, the attitude command and the RCS pulses; the faults
act on the actuators; then the truth is integrated over the step, and the IMU accumulates the
true motion and, at its rate, hands its increments (after its faults) to the flight
software's strapdown navigation.

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
    propulsion,
    quaternion,
    terrain,
    touchdown,
    truth,
    vector,
)
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.truth import X_MASS, X_Q, X_R, X_THROTTLE, X_V, X_W
from dynamics.views import unowned
from gnc import flight_software, modes
from gnc.control import attitude, rcs
from gnc.flight_software import FlightSoftware
from gnc.navigation.filter import DR, DV
from sensors import bus, contact_probe, imu
from sims import consistency
from sims import faults as faults_model

ATTITUDE_IDEAL, ATTITUDE_RCS = 0, 1
DIVERGED_NOT_FINITE, DIVERGED_BODY_RATE, DIVERGED_RAISED = 1, 2, 3
DIVERGENCE_REASONS = {
    DIVERGED_NOT_FINITE: "state not finite",
    DIVERGED_BODY_RATE: "body rate runaway",
    DIVERGED_RAISED: "the model raised an error",  # its message is in the batch's errors
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
    return throttle, attitude.pointing_quaternion(d_mci, left_mci)


@njit(cache=True)
def record(trace, k, tt, x, t_s, throttle_command, rotation_rate_radps, altitude_est_m, phase, nav):
    """Write trace sample k from the state x at t_s over the truth terrain tt."""
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
    s.altitude_est_m = altitude_est_m
    s.phase = phase
    if phase >= 0:
        s.nav_position_error_m = vector.norm(vector.sub(vector.load(nav.r_mci_m, 0), r_mci))
        s.nav_velocity_error_mps = vector.norm(vector.sub(vector.load(nav.v_mci_mps, 0), v_mci))
        s.nees_position, s.nees_velocity, s.nees_attitude = consistency.nees(nav, x)
    else:
        s.nav_position_error_m = math.nan
        s.nav_velocity_error_mps = math.nan
        s.nees_position = s.nees_velocity = s.nees_attitude = math.nan
    s.tilt_deg = math.degrees(math.acos(max(-1.0, min(1.0, cos_tilt))))
    s.wx_dps = math.degrees(x[X_W])
    s.wy_dps = math.degrees(x[X_W + 1])
    s.wz_dps = math.degrees(x[X_W + 2])


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
        bus.call_entry(
            channel.sample_entry,
            specs.ctypes.data + channel.spec_offset,
            bus.address_of(work.pose),
            bus.address_of(work.surface),
            bus.address_of(channel_states[ch]),
            bus.address_of(sample),
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
def simulate(k, shared, per_run, states, outputs, work, vectors):
    """Propagate run k of a batch from its truth state work.truth.x at t = 0 (in place: it ends
    as the final state); fill its trace, event log and summary. vectors: work array of the
    thrusters' count + 9 (RCS on-times, the open-loop hold's carried impulse, the IMU's
    increments), owned by the caller so that it outlives every view the loop takes of it.
    In open loop, the flight software, its sensors and the map are not used."""
    run = per_run.run[k]
    grav = shared.gravity.params
    c, s = unowned(shared.gravity.c), unowned(shared.gravity.s)
    site = shared.terrain.site
    tiles, heights = unowned(shared.terrain.tiles), unowned(shared.terrain.heights)
    tt = TruthTerrain(site, tiles, heights)
    schedule = unowned(shared.schedule)
    m = shared.onboard_map
    onboard_map = OnboardMap(
        m.site,
        unowned(m.tiles),
        unowned(m.heights),
        m.height_error_m,
        m.error_correlation_m,
        unowned(m.unseen_relief_m2),
        m.relief_correlation_m,
    )
    mp, engines = per_run.mass[k], unowned(per_run.engines[k])
    thrusters, contact_points = unowned(per_run.thrusters[k]), unowned(per_run.contact_points[k])
    fsw = FlightSoftware(
        per_run.fsw[k],
        unowned(per_run.fsw_channels[k]),
        unowned(per_run.knowledge[k]),
        unowned(per_run.rcs_torques[k]),
        unowned(per_run.rcs_groups[k]),
        per_run.gains[k],
    )
    channels, specs = unowned(per_run.channels[k]), unowned(per_run.specs[k])
    channel_states, queue = unowned(states.channels[k]), unowned(states.queue[k])
    faults, fault_states = unowned(per_run.faults[k]), unowned(states.faults[k])
    n_faults = faults.shape[0]
    imu_spec, imu_state = per_run.imu[k], states.imu[k]
    fsw_state, gates = states.fsw[k], unowned(states.gates[k])
    engine_factor = unowned(states.engine_factor[k])
    events, n_events = unowned(outputs.events[k]), unowned(outputs.n_events[k])
    held, log = (channel_states, imu_state, fsw_state, gates), (events, n_events)
    trace, summary = unowned(outputs.trace[k]), outputs.summary[k]
    x = work.truth.x
    com, inertia, inertia_inv = work.truth.com_m, work.truth.inertia, work.truth.inertia_inv
    vectors[:] = 0.0  # each run starts with no pulse, no carried impulse, no increment
    on_time = unowned(vectors[: thrusters.shape[0]])  # RCS on-times of the control period
    rcs_carried = unowned(vectors[-9:-6])  # open-loop hold's impulse owed below the minimum pulse
    dv_measured, dtheta_measured = unowned(vectors[-6:-3]), unowned(vectors[-3:])
    omega = grav.rotation_rate_radps
    dt = run.time_step_s
    pulse_start = 0.0
    closed = run.closed_loop
    sequence = 0
    g0 = gravity.acceleration_mci(grav, c, s, vector.load(x, X_R), 0.0)
    if closed:
        imu.init(imu_spec, imu_state)
        bus.describe_surface(work.surface, site, tiles, heights)
        bus.describe_map(work.map_view, onboard_map)
        throttle_cmd, q_cmd = 0.0, truth.quaternion_of(x)
        phase = modes.BRAKING
        altitude_est = flight_software.estimated_altitude(fsw_state.nav, onboard_map, 0.0, omega)
    else:
        throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, 0.0, omega)
        phase, altitude_est = -1, math.nan
    setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
    n_trace = 0
    record(trace, n_trace, tt, x, 0.0, throttle_cmd, omega, altitude_est, phase, fsw_state.nav)
    n_trace += 1
    summary.flameout_time_s = -1.0
    summary.outcome = -1
    for checkpoint in summary.nees:
        checkpoint.position = checkpoint.velocity = checkpoint.attitude = math.nan
    step = 0
    while summary.outcome < 0:
        t = step * dt
        mass_properties.evaluate(mp, x[X_MASS], com, inertia, inertia_inv)
        q_true = truth.quaternion_of(x)
        if n_faults:
            faults_model.update(faults, fault_states, held, log, tt, omega, t, x)
        if closed:
            if step % run.control_every_steps == 0:
                if t >= fsw_state.offline_until_s:
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
                    probe = contact_probe.touching(
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
                    flight_software.cycle(
                        fsw,
                        fsw_state,
                        gates,
                        queue,
                        t,
                        probe,
                        grav,
                        c,
                        s,
                        onboard_map,
                        work.map_view,
                        on_time,
                        events,
                        n_events,
                    )
                    if n_faults:
                        faults_model.update(faults, fault_states, held, log, tt, omega, t, x)
                    throttle_cmd = fsw_state.throttle_command
                    if fsw_state.phase != phase and phase < modes.TERMINAL:
                        consistency.keep(fsw_state.nav, x, summary.nees[phase])  # phase ended
                    phase = fsw_state.phase
                    altitude_est = fsw_state.altitude_est_m
                    altitude_true = terrain.altitude_at(tt, vector.load(x, X_R), t, omega)
                    error = abs(altitude_est - altitude_true)
                    summary.max_altitude_error_m = max(summary.max_altitude_error_m, error)
                    v_error = vector.norm(
                        vector.sub(vector.load(fsw_state.nav.v_mci_mps, 0), vector.load(x, X_V))
                    )
                    summary.max_velocity_error_mps = max(summary.max_velocity_error_mps, v_error)
                else:  # the flight computer is rebooting: no commands
                    throttle_cmd = 0.0
                    for i in range(on_time.shape[0]):
                        on_time[i] = 0.0
                pulse_start = t
                setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
        elif step % run.control_every_steps == 0:
            throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, t, omega)
            setpoint = propulsion.throttle_setpoint(engines[0], throttle_cmd)
            if run.attitude_mode == ATTITUDE_RCS:
                tq = attitude.torque_command(fsw.gains, q_true, vector.load(x, X_W), q_cmd)
                period = run.control_every_steps * dt
                rcs.on_times(
                    tq,
                    fsw.rcs_torques,
                    fsw.rcs_groups,
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
        engines_full = propulsion.engines_at_full_throttle(engines, engine_factor, com)
        if x[X_MASS] > mp.dry_mass_kg:
            thrust = vector.norm(engines_full[0]) * x[X_THROTTLE]
            summary.delta_v_mps += thrust / x[X_MASS] * dt
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
                if t >= fsw_state.offline_until_s:
                    flight_software.imu_sample(
                        fsw.config,
                        fsw_state,
                        vector.load(dv_measured, 0),
                        vector.load(dtheta_measured, 0),
                        interval,
                        grav,
                        c,
                        s,
                        t - interval,
                        events,
                        n_events,
                    )
        if summary.flameout_time_s < 0.0 and x[X_MASS] <= mp.dry_mass_kg:
            summary.flameout_time_s = t
            modes.log(events, n_events, t, modes.FLAMEOUT, 0, t)
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
            record(
                trace, n_trace, tt, x, t, throttle_cmd, omega, altitude_est, phase, fsw_state.nav
            )
            n_trace += 1
    summary.final_mass_kg = x[X_MASS]
    summary.n_trace = n_trace
    if closed:
        nav = fsw_state.nav
        t = summary.time_s
        summary.nav_position_error_m = vector.norm(
            vector.sub(vector.load(nav.r_mci_m, 0), vector.load(x, X_R))
        )
        summary.nav_velocity_error_mps = vector.norm(
            vector.sub(vector.load(nav.v_mci_mps, 0), vector.load(x, X_V))
        )
        summary.nav_altitude_error_m = flight_software.estimated_altitude(
            nav, onboard_map, t, omega
        ) - terrain.altitude_at(tt, vector.load(x, X_R), t, omega)
        summary.nav_position_3sigma_m = consistency.three_sigma(nav, DR)
        summary.nav_velocity_3sigma_mps = consistency.three_sigma(nav, DV)
        consistency.keep(nav, x, summary.nees[consistency.END])


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
        ("map_view", bus.SURFACE_DTYPE),  # the onboard map, as the filter's entry points see it
    ],
    align=True,
)


@njit(cache=True, nogil=True)
def simulate_batch(shared, per_run, states, outputs, next_run, cycles):
    """Fly runs next_run[0], next_run[0] + 1, ... of a batch (`sims.records`: every per-run
    array has the run as its first axis; states.x holds each run's truth state, initial then
    final). next_run[0] counts the runs done, so a run that raises can be told and skipped;
    cycles[k] is the cycle counter when run k ended (cycles[0] when the call started).
    Releases the GIL: batches run in parallel threads.
    """
    # the runs' work storage, alive until the last run ends: the loop works on views of it
    # without an owner (`dynamics.views`), which an array freed after its last use in the
    # loop's own code would leave pointing at memory the allocator hands out again
    scratch = np.zeros(1, SCRATCH_DTYPE)
    vectors = np.zeros(per_run.thrusters.shape[1] + 9)
    cycles[next_run[0]] = _cycle_counter()
    while next_run[0] < states.x.shape[0]:
        k = next_run[0]
        work = scratch[0]
        work.truth.x[:] = states.x[k]
        simulate(k, shared, per_run, states, outputs, work, vectors)
        states.x[k] = work.truth.x
        next_run[0] = k + 1
        cycles[k + 1] = _cycle_counter()
