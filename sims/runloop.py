"""The compiled run loop: one call propagates one descent from PDI to touchdown (or to its end).

Everything per time step happens inside `simulate`; Python only packs the inputs and reads
the outputs. Per truth step: at each control period the sensors are sampled (when due) and
the flight software runs one cycle (navigation updates, modes, guidance, control), giving the
throttle command, the attitude command and the RCS pulses; then the truth is integrated over
the step, and the IMU accumulates the true motion and, at its rate, hands its increments to
the flight software's strapdown navigation.

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
from dynamics.truth import X_MASS, X_Q, X_R, X_THROTTLE, X_V, X_W
from gnc import flight_software, modes
from gnc.control import attitude, rcs
from sensors import contact_probe, imu, laser_rangefinder, star_tracker, suite

ATTITUDE_IDEAL, ATTITUDE_RCS = 0, 1
DIVERGED_NOT_FINITE, DIVERGED_BODY_RATE = 1, 2
DIVERGENCE_REASONS = {
    DIVERGED_NOT_FINITE: "state not finite",
    DIVERGED_BODY_RATE: "body rate runaway",
}

RUN_DTYPE = np.dtype(
    [
        ("time_step_s", np.float64),
        ("max_time_s", np.float64),
        ("control_every_steps", np.int64),
        ("output_every_steps", np.int64),
        ("closed_loop", np.bool_),  # flight software in the loop (else the open-loop schedule)
        ("attitude_mode", np.int64),  # open loop only
        ("rcs_min_on_time_s", np.float64),  # flight software's pulse dead band
        ("contact_check_altitude_m", np.float64),  # below this, footpads are checked each step
        ("max_body_rate_radps", np.float64),  # beyond this the run is declared diverged
        ("n_gear_points", np.int64),  # contact points [0, n) are landing gear, the rest structure
    ],
    align=True,
)

SCHEDULE_DTYPE = np.dtype(
    [("t_s", np.float64), ("throttle", np.float64), ("direction_local", np.float64, (3,))],
    align=True,
)

TRACE_DTYPE = np.dtype(
    [
        ("t_s", np.float64),
        ("altitude_m", np.float64),  # CoM above the terrain beneath it
        ("mass_kg", np.float64),
        ("throttle", np.float64),  # actual (lagged)
        ("throttle_command", np.float64),
        ("x_east_m", np.float64),
        ("y_north_m", np.float64),
        ("z_up_m", np.float64),
        ("vx_east_mps", np.float64),
        ("vy_north_mps", np.float64),
        ("vz_up_mps", np.float64),
        ("vertical_speed_mps", np.float64),  # along the local vertical, up positive
        ("horizontal_speed_mps", np.float64),
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("altitude_est_m", np.float64),  # flight software's, above its own terrain model
        ("nav_position_error_m", np.float64),  # |estimated - true|, NaN in open loop
        ("nav_velocity_error_mps", np.float64),
        ("phase", np.int64),  # gnc.modes.PHASES index; -1 in open loop
        ("tilt_deg", np.float64),  # body +z from the local vertical
        ("wx_dps", np.float64),
        ("wy_dps", np.float64),
        ("wz_dps", np.float64),
    ]
)

SUMMARY_DTYPE = np.dtype(
    [
        ("outcome", np.int64),
        ("diverged_reason", np.int64),
        ("time_s", np.float64),
        ("vertical_speed_mps", np.float64),
        ("horizontal_speed_mps", np.float64),
        ("tilt_rad", np.float64),
        ("slope_rad", np.float64),
        ("body_rate_radps", np.float64),
        ("position_error_m", np.float64),
        ("contact_point", np.int64),
        ("final_mass_kg", np.float64),
        ("flameout_time_s", np.float64),  # -1 if the propellant lasted
        ("delta_v_mps", np.float64),  # integral of the main engine's thrust acceleration
        ("burn_time_s", np.float64),  # time with the main engine commanded on
        ("max_altitude_error_m", np.float64),  # |estimated - true altitude| at the FSW cycles
        ("max_velocity_error_mps", np.float64),  # |estimated - true velocity| at the FSW cycles
        ("nav_position_error_m", np.float64),  # at the end of the run
        ("nav_velocity_error_mps", np.float64),
        ("nav_altitude_error_m", np.float64),  # estimated - true
        ("n_trace", np.int64),
    ]
)


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
def mci_to_mcmf_quaternion(t_s, rotation_rate_radps):
    """q_mci_to_mcmf at t_s: a rotation of -omega t about z."""
    half = -0.5 * rotation_rate_radps * t_s
    return (math.cos(half), 0.0, 0.0, math.sin(half))


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
def record(
    trace,
    k,
    site,
    tiles,
    heights,
    x,
    t_s,
    throttle_command,
    rotation_rate_radps,
    altitude_est_m,
    phase,
    nav,
):
    """Write trace sample k from the state x at t_s."""
    r_mci, v_mci = vector.load(x, X_R), vector.load(x, X_V)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, rotation_rate_radps)
    v_mcmf = frames.surface_relative_velocity_mcmf(r_mci, v_mci, t_s, rotation_rate_radps)
    p = frames.site_position_enu(site, r_mcmf)
    v = frames.to_site_enu(site, v_mcmf)
    downrange, crossrange, _ = frames.track_coordinates(site, r_mcmf)
    body_z = quaternion.rotate(truth.quaternion_of(x), (0.0, 0.0, 1.0))
    cos_tilt = vector.dot(body_z, vector.unit(r_mci))
    s = trace[k]
    s.t_s = t_s
    s.altitude_m = terrain.altitude(site, tiles, heights, r_mcmf)
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
    else:
        s.nav_position_error_m = math.nan
        s.nav_velocity_error_mps = math.nan
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
def _true_altitude(site, tiles, heights, x, t_s, omega):
    return terrain.altitude(
        site, tiles, heights, frames.mci_to_mcmf(vector.load(x, X_R), t_s, omega)
    )


@njit(cache=True)
def _check_touchdown(
    run, site, tiles, heights, contact_points, limits, work, t_s, dt, omega, summary
):
    """If a contact point of the lander (truth state work.x at t_s) touches the terrain,
    record the touchdown and its outcome class in the summary. The touchdown state is the
    state at the instant of contact, interpolated within the step from work.previous (one
    step earlier): detecting it only at the end of the step would add up to g dt to the
    vertical speed."""
    x, x0, com = work.x, work.previous, work.com_m
    r_mcmf = frames.mci_to_mcmf(vector.load(x, X_R), t_s, omega)
    if terrain.altitude(site, tiles, heights, r_mcmf) >= run.contact_check_altitude_m:
        return
    q_mcmf = quaternion.multiply(mci_to_mcmf_quaternion(t_s, omega), truth.quaternion_of(x))
    hit = touchdown.first_contact(site, tiles, heights, r_mcmf, q_mcmf, com, contact_points)
    if hit < 0:
        return
    t0 = t_s - dt
    r0_mcmf = frames.mci_to_mcmf(vector.load(x0, X_R), t0, omega)
    q0_mcmf = quaternion.multiply(mci_to_mcmf_quaternion(t0, omega), truth.quaternion_of(x0))
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
    v_down, v_h, tilt, slope, rate, miss = touchdown.contact_state(
        site,
        tiles,
        heights,
        frames.mci_to_mcmf(r_c, t_c, omega),
        frames.surface_relative_velocity_mcmf(r_c, v_c, t_c, omega),
        quaternion.multiply(mci_to_mcmf_quaternion(t_c, omega), q_c),
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
    summary.vertical_speed_mps = v_down
    summary.horizontal_speed_mps = v_h
    summary.tilt_rad = tilt
    summary.slope_rad = slope
    summary.body_rate_radps = rate
    summary.position_error_m = miss
    summary.contact_point = hit


@njit(cache=True)
def _lerp(a, b, f):
    return vector.add(vector.scale(a, 1.0 - f), vector.scale(b, f))


@njit(cache=True)
def simulate(
    work,
    run,
    grav,
    c,
    s,
    mp,
    engine,
    thrusters,
    rcs_torques,
    rcs_groups,
    gains,
    site,
    tiles,
    heights,
    contact_points,
    limits,
    schedule,
    fsw,
    fsw_state,
    sensors,
    sensor_state,
    map_site,
    map_tiles,
    events,
    n_events,
    trace,
    summary,
):
    """Propagate one descent from the truth state work.x at t = 0 (in place: it ends as the
    final state; work is the run's `truth.WORK_DTYPE` record); fill the trace, the event log
    and the summary. In open loop, fsw, fsw_state, sensors and the map are not used.
    """
    x = work.x
    imu_stream = sensor_state.streams[suite.IMU_STREAM]
    star_tracker_stream = sensor_state.streams[suite.STAR_TRACKER_STREAM]
    rangefinder_stream = sensor_state.streams[suite.RANGEFINDER_STREAM]
    com, inertia, inertia_inv = work.com_m, work.inertia, work.inertia_inv
    on_time = np.zeros(thrusters.shape[0])
    rcs_carried = np.zeros(3)  # open-loop hold's impulse owed below the minimum pulse
    dv_measured, dtheta_measured = np.zeros(3), np.zeros(3)
    omega = grav.rotation_rate_radps
    dt = run.time_step_s
    pulse_start = 0.0
    closed = run.closed_loop
    g0 = gravity.acceleration_mci(grav, c, s, vector.load(x, X_R), 0.0)
    if closed:
        suite.init(sensors, sensor_state)
        throttle_cmd, q_cmd = 0.0, truth.quaternion_of(x)
        phase, altitude_est = (
            modes.BRAKING,
            flight_software.estimated_altitude(
                fsw_state.nav, map_site, map_tiles, heights, 0.0, omega
            ),
        )
    else:
        throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, 0.0, omega)
        phase, altitude_est = -1, math.nan
    setpoint = propulsion.throttle_setpoint(engine, throttle_cmd)
    n_trace = 0
    record(
        trace,
        n_trace,
        site,
        tiles,
        heights,
        x,
        0.0,
        throttle_cmd,
        omega,
        altitude_est,
        phase,
        fsw_state.nav,
    )
    n_trace += 1
    summary.flameout_time_s = -1.0
    summary.outcome = -1
    step = 0
    while summary.outcome < 0:
        t = step * dt
        mass_properties.evaluate(mp, x[X_MASS], com, inertia, inertia_inv)
        q_true = truth.quaternion_of(x)
        if closed:
            if step % run.control_every_steps == 0:
                r_mcmf = frames.mci_to_mcmf(vector.load(x, X_R), t, omega)
                q_mcmf = quaternion.multiply(mci_to_mcmf_quaternion(t, omega), q_true)
                st_valid, q_measured = False, q_true
                if step % sensors.star_tracker.every_steps == 0:
                    st_valid, q_measured = star_tracker.measure(
                        sensors.star_tracker,
                        q_true,
                        vector.load(x, X_W),
                        star_tracker_stream,
                    )
                range_valid, range_m = False, 0.0
                if step % sensors.rangefinder.every_steps == 0:
                    range_valid, range_m = laser_rangefinder.measure(
                        sensors.rangefinder,
                        site,
                        tiles,
                        heights,
                        r_mcmf,
                        q_mcmf,
                        rangefinder_stream,
                    )
                probe = contact_probe.touching(
                    site,
                    tiles,
                    heights,
                    r_mcmf,
                    q_mcmf,
                    com,
                    contact_points,
                    run.n_gear_points,
                    sensors.probe_length_m,
                )
                flight_software.cycle(
                    fsw,
                    fsw_state,
                    t,
                    st_valid,
                    q_measured,
                    range_valid,
                    range_m,
                    probe,
                    grav,
                    c,
                    s,
                    site,
                    map_site,
                    map_tiles,
                    heights,
                    rcs_torques,
                    rcs_groups,
                    gains,
                    run.rcs_min_on_time_s,
                    on_time,
                    events,
                    n_events,
                )
                pulse_start = t
                throttle_cmd = fsw_state.throttle_command
                setpoint = propulsion.throttle_setpoint(engine, throttle_cmd)
                phase = fsw_state.phase
                altitude_est = fsw_state.altitude_est_m
                error = abs(altitude_est - _true_altitude(site, tiles, heights, x, t, omega))
                summary.max_altitude_error_m = max(summary.max_altitude_error_m, error)
                v_error = vector.norm(
                    vector.sub(vector.load(fsw_state.nav.v_mci_mps, 0), vector.load(x, X_V))
                )
                summary.max_velocity_error_mps = max(summary.max_velocity_error_mps, v_error)
        elif step % run.control_every_steps == 0:
            throttle_cmd, q_cmd = commanded_attitude(site, schedule, x, t, omega)
            setpoint = propulsion.throttle_setpoint(engine, throttle_cmd)
            if run.attitude_mode == ATTITUDE_RCS:
                tq = attitude.torque_command(gains, q_true, vector.load(x, X_W), q_cmd)
                period = run.control_every_steps * dt
                rcs.on_times(
                    tq,
                    rcs_torques,
                    rcs_groups,
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
        if x[X_MASS] > mp.dry_mass_kg:
            summary.delta_v_mps += x[X_THROTTLE] * engine.max_thrust_n / x[X_MASS] * dt
        if setpoint > 0.0:
            summary.burn_time_s += dt
        f_rcs, tq_rcs, mdot_rcs = propulsion.rcs_force_torque(
            thrusters, on_time, pulse_start, t, dt, com
        )
        if closed:
            q0, v0 = truth.quaternion_of(x), vector.load(x, X_V)
        truth.rk4_step(x, t, dt, grav, c, s, mp, engine, setpoint, f_rcs, tq_rcs, mdot_rcs, work)
        step += 1
        t = step * dt
        if closed:
            g1 = gravity.acceleration_mci(grav, c, s, vector.load(x, X_R), t)
            dv_true, dtheta_true = imu.true_increments(
                q0, truth.quaternion_of(x), v0, vector.load(x, X_V), g0, g1, dt
            )
            g0 = g1  # gravity at the start of the next step
            suite.accumulate(sensor_state, dv_true, dtheta_true, dt)
            if step % sensors.imu.every_steps == 0:
                interval = suite.imu_sample(
                    sensors, sensor_state, imu_stream, dv_measured, dtheta_measured
                )
                flight_software.imu_sample(
                    fsw_state,
                    vector.load(dv_measured, 0),
                    vector.load(dtheta_measured, 0),
                    interval,
                    grav,
                    c,
                    s,
                    t - interval,
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
                run, site, tiles, heights, contact_points, limits, work, t, dt, omega, summary
            )
        if summary.outcome < 0 and t >= run.max_time_s:
            summary.outcome = touchdown.TIMEOUT
            summary.time_s = t
        if (step % run.output_every_steps == 0 or summary.outcome >= 0) and n_trace < trace.shape[
            0
        ]:
            record(
                trace,
                n_trace,
                site,
                tiles,
                heights,
                x,
                t,
                throttle_cmd,
                omega,
                altitude_est,
                phase,
                fsw_state.nav,
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
            nav, map_site, map_tiles, heights, t, omega
        ) - _true_altitude(site, tiles, heights, x, t, omega)


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


@njit(cache=True, nogil=True)
def simulate_batch(
    x,
    run,
    grav,
    c,
    s,
    mass,
    engine,
    thrusters,
    rcs_torques,
    rcs_groups,
    gains,
    site,
    tiles,
    heights,
    contact_points,
    limits,
    schedule,
    fsw,
    fsw_state,
    sensors,
    sensor_state,
    map_site,
    map_tiles,
    events,
    n_events,
    trace,
    summary,
    next_run,
    cycles,
):
    """Fly runs next_run[0], next_run[0] + 1, ... of a batch, each as `simulate` with the k-th
    row of every per-run array (the first axis of x, run, mass, engine, thrusters, rcs_torques,
    rcs_groups, gains, contact_points, fsw, fsw_state, sensors, sensor_state, events, n_events,
    trace and summary); the others are shared. x holds each run's truth state, initial then
    final. next_run[0] counts the runs done, so a run that raises can be told and skipped;
    cycles[k] is the cycle counter when run k ended (cycles[0] when the call started).
    Releases the GIL: batches run in parallel threads.
    """
    scratch = np.zeros(1, truth.WORK_DTYPE)
    cycles[next_run[0]] = _cycle_counter()
    while next_run[0] < x.shape[0]:
        k = next_run[0]
        work = scratch[0]
        work.x[:] = x[k]
        simulate(
            work,
            run[k],
            grav,
            c,
            s,
            mass[k],
            engine[k],
            thrusters[k],
            rcs_torques[k],
            rcs_groups[k],
            gains[k],
            site,
            tiles,
            heights,
            contact_points[k],
            limits,
            schedule,
            fsw[k],
            fsw_state[k],
            sensors[k],
            sensor_state[k],
            map_site,
            map_tiles,
            events[k],
            n_events[k],
            trace[k],
            summary[k],
        )
        x[k] = work.x
        next_run[0] = k + 1
        cycles[k + 1] = _cycle_counter()
