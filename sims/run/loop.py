"""The compiled run loop: one call flies a batch of descents from PDI to touchdown (or to their
end), each without returning to Python.

Everything per time step happens inside `simulate`; Python only packs the inputs
(`sims.run.records`) and reads the outputs. Per truth step: the faults whose trigger holds
fire; at each control tick the flight software flies a cycle (`sims.run.closed_loop`) or the
open-loop schedule gives its command (`sims.run.open_loop`); the faults act on the actuators;
then the truth is integrated over the step and, in closed loop, the IMU measures it. The run
writes down its trace, its recording and its summary as it goes (`sims.run.bookkeeping`).
What the flight software reports (its telemetry) is what the navigation figures are made of.
"""

from typing import NamedTuple

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
from dynamics.gravity import GravityField
from dynamics.terrain import TruthTerrain
from dynamics.truth import X_MASS, X_R, X_THROTTLE, X_V, X_W
from dynamics.views import unowned
from faults import main_engine as engine_faults
from faults import rcs as rcs_faults
from faults import triggers
from gnc.interface import contract, flight_log
from sensors import bus
from sims.run import bookkeeping, closed_loop, open_loop, recorder
from sims.run.bookkeeping import write_trace_row


class RunViews(NamedTuple):
    """One run of a batch as the loop sees it: views of its records and arrays (`simulate`),
    handed whole to the functions that fly and write it down."""

    run: np.void  # records.RUN_DTYPE
    tt: TruthTerrain
    gravity: GravityField
    omega: float  # the Moon's rotation rate [rad/s]
    period_s: float  # the control period
    mass: np.void
    engines: np.ndarray
    thrusters: np.ndarray
    contact_points: np.ndarray
    limits: np.void
    layer: tuple  # the attitude layer: PD gains, RCS torque table, axis groups
    schedule: np.ndarray  # open loop
    channels: np.ndarray
    specs: np.ndarray
    channel_states: np.ndarray
    queue: np.ndarray
    inbox: np.ndarray
    faults: np.ndarray
    fault_states: np.ndarray
    held: tuple  # what faults act on: (channel states, IMU state, flight computer)
    log: tuple  # the event log: (events, count)
    imu_spec: np.void
    imu_state: np.void
    computer: np.void
    engine_factor: np.ndarray
    trace: np.ndarray
    summary: np.void
    sink: tuple  # the recorder's: (recording, signals, built-in values, fault states, fsw)
    message: np.ndarray
    entries: np.void  # the flight software's entry points
    io: np.void  # the interface record
    addresses: tuple  # (configuration, state, interface record) of the flight software
    on_time: np.ndarray  # RCS on-times of the control period
    split: np.ndarray  # each engine's share of the throttle
    thrust_factor: np.ndarray
    rcs_carried: np.ndarray  # the attitude layer's impulse below the minimum
    dv_measured: np.ndarray
    dtheta_measured: np.ndarray
    dv_sum: np.ndarray  # the IMU's increments since the cycle
    dtheta_sum: np.ndarray
    work: np.void  # SCRATCH_DTYPE


# What the loop carries from step to step, besides the truth state.
CARRIED_DTYPE = np.dtype(
    [
        ("throttle_command", np.float64),
        ("setpoint", np.float64),  # the engines' common throttle setpoint
        ("pulse_start_s", np.float64),  # start of the RCS pulses of the period
        ("interval_s", np.float64),  # the IMU's time since the cycle
        ("q_command", np.float64, (4,)),  # open loop
        ("sequence", np.int64),  # of the next measurement queued
        ("phase", np.int64),  # the flight software's, as it reported it
        ("cycled", np.bool_),  # it has reported a phase from a cycle
        ("n_trace", np.int64),
        ("n_recorded", np.int64),
    ],
    align=True,
)


@njit(cache=True, inline="always")  # records are views: a call cannot return them
def _views(k, shared, per_run, states, outputs, work, vectors):
    """The RunViews of run k of a batch (vectors: the work array of `work_storage`)."""
    run = per_run.run[k]
    grav = shared.gravity
    field = GravityField(grav.params, unowned(grav.c), unowned(grav.s))
    terrain_ = shared.terrain
    tt = TruthTerrain(terrain_.site, unowned(terrain_.tiles), unowned(terrain_.heights))
    thrusters, engines = unowned(per_run.thrusters[k]), unowned(per_run.engines[k])
    n_thr, n_eng = thrusters.shape[0], engines.shape[0]
    channel_states, imu_state, computer = (
        unowned(states.channels[k]),
        states.imu[k],
        states.computer[k],
    )
    fault_states = unowned(states.faults[k])
    slot = run.record_slot
    return RunViews(
        run=run,
        tt=tt,
        gravity=field,
        omega=grav.params.rotation_rate_radps,
        period_s=run.control_every_steps * run.time_step_s,
        mass=per_run.mass[k],
        engines=engines,
        thrusters=thrusters,
        contact_points=unowned(per_run.contact_points[k]),
        limits=shared.limits,
        layer=(per_run.gains[k], unowned(per_run.rcs_torques[k]), unowned(per_run.rcs_groups[k])),
        schedule=unowned(shared.schedule),
        channels=unowned(per_run.channels[k]),
        specs=unowned(per_run.specs[k]),
        channel_states=channel_states,
        queue=unowned(states.queue[k]),
        inbox=unowned(states.inbox[k]),
        faults=unowned(per_run.faults[k]),
        fault_states=fault_states,
        held=(channel_states, imu_state, computer),
        log=(unowned(outputs.events[k]), unowned(outputs.n_events[k])),
        imu_spec=per_run.imu[k],
        imu_state=imu_state,
        computer=computer,
        engine_factor=unowned(states.engine_factor[k]),
        trace=unowned(outputs.trace[k]),
        summary=outputs.summary[k],
        sink=(
            unowned(outputs.recording[max(slot, 0)]),
            unowned(shared.signals),
            unowned(work.signals),
            fault_states,
            unowned(states.fsw[k]),
        ),
        message=unowned(outputs.fsw_message[k]),
        entries=per_run.fsw_entries[k],
        io=work.io,
        addresses=(
            unowned(per_run.fsw_config[k]).ctypes.data,
            unowned(states.fsw[k]).ctypes.data,
            bus.address_of(work.io),
        ),
        on_time=unowned(vectors[:n_thr]),
        split=unowned(vectors[n_thr : n_thr + n_eng]),
        thrust_factor=unowned(vectors[n_thr + n_eng : n_thr + 2 * n_eng]),
        rcs_carried=unowned(vectors[-15:-12]),
        dv_measured=unowned(vectors[-12:-9]),
        dtheta_measured=unowned(vectors[-9:-6]),
        dv_sum=unowned(vectors[-6:-3]),
        dtheta_sum=unowned(vectors[-3:]),
        work=work,
    )


@njit(cache=True)
def _start(views, outputs, handover, carried, x):
    """Before the first step: the interface record (with the state handed over), the
    summary, what the loop carries, the first command and the first trace row (and recording
    row). A flight software that fails at its start ends the run there."""
    io, summary, run = views.io, views.summary, views.run
    events, n_events = views.log
    slot = run.record_slot
    contract.clear_telemetry(io.telemetry)
    io.t_s = 0.0
    io.status = contract.OK
    io.message[:] = 0
    io.n_engines, io.n_thrusters = views.engines.shape[0], views.thrusters.shape[0]
    io.n_channels = views.channels.shape[0]
    io.events, io.event_capacity = events.ctypes.data, events.shape[0]
    io.event_count = n_events.ctypes.data
    io.delivered, io.n_delivered = views.inbox.ctypes.data, 0
    io.update_capacity = outputs.updates.shape[1] if slot >= 0 else 0
    if slot >= 0:
        outputs.n_updates[slot, 0] = 0
        io.updates = unowned(outputs.updates[slot]).ctypes.data
        io.update_count = unowned(outputs.n_updates[slot]).ctypes.data
    io.handover = handover
    summary.flameout_time_s = -1.0
    summary.outcome = -1
    summary.resting_pad = -1
    summary.pad_downrange_m = summary.pad_crossrange_m = summary.ground_roughness_m = np.nan
    summary.max_altitude_error_m = summary.max_velocity_error_mps = np.nan
    for checkpoint in summary.nees:
        checkpoint.position = checkpoint.velocity = checkpoint.attitude = np.nan
    carried.interval_s = carried.pulse_start_s = 0.0
    carried.sequence = carried.n_trace = carried.n_recorded = 0
    carried.cycled = False
    if run.closed_loop:
        closed_loop.start(views, carried, x)
    else:
        throttle, q_cmd = open_loop.commanded_attitude(
            views.tt.site, views.schedule, x, 0.0, views.omega
        )
        carried.throttle_command = throttle
        for i in range(4):
            carried.q_command[i] = q_cmd[i]
    carried.phase = io.telemetry.phase
    carried.setpoint = propulsion.throttle_setpoint(views.engines[0], carried.throttle_command)
    write_trace_row(views, 0, x, 0.0, carried.throttle_command)
    carried.n_trace = 1
    if slot >= 0:
        carried.n_recorded = bookkeeping.record_signals(views, 0, x, 0.0, (carried.setpoint, 0.0))


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def _check_touchdown(views, work, t_s):
    """If a contact point of the lander (truth state work.x at t_s) touches the terrain,
    record the touchdown and its outcome class in the summary. The touchdown state is the
    state at the instant of contact, interpolated within the step from work.previous (one
    step earlier): detecting it only at the end of the step would add up to g dt to the
    vertical speed."""
    run, tt, omega, summary = views.run, views.tt, views.omega, views.summary
    contact_points, limits, dt = views.contact_points, views.limits, run.time_step_s
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
    v_down, v_h, tilt, rate, miss, resting = touchdown.contact_state(
        (site, tiles, heights),
        r_c_mcmf,
        frames.surface_relative_velocity_mcmf(r_c, v_c, t_c, omega),
        quaternion.multiply(frames.mci_to_mcmf_quaternion(t_c, omega), q_c),
        w_c,
        (com, contact_points[: run.n_gear_points]),
    )
    summary.outcome = touchdown.classify(
        limits,
        v_down,
        v_h,
        tilt,
        resting.slope_rad,
        rate,
        hit < run.n_gear_points,
        summary.flameout_time_s >= 0.0,
    )
    summary.time_s = t_c
    summary.descent_rate_mps = v_down
    summary.horizontal_speed_mps = v_h
    summary.tilt_rad = tilt
    summary.slope_rad = resting.slope_rad
    summary.body_rate_radps = rate
    summary.position_error_m = miss
    east, north, _ = frames.site_position_enu(site, r_c_mcmf)
    downrange, crossrange, _ = frames.track_coordinates(site, r_c_mcmf)
    summary.east_m, summary.north_m = east, north
    summary.downrange_m, summary.crossrange_m = downrange, crossrange
    summary.contact_point = hit
    summary.resting_pad = resting.pad
    summary.pad_downrange_m = resting.pad_downrange_m
    summary.pad_crossrange_m = resting.pad_crossrange_m
    summary.ground_roughness_m = resting.roughness_m


@njit(cache=True)
def _lerp(a, b, f):
    return vector.add(vector.scale(a, 1.0 - f), vector.scale(b, f))


@njit(cache=True)
def simulate(k, shared, per_run, states, outputs, work, vectors):
    """Propagate run k of a batch from its truth state work.truth.x at t = 0 (in place: it ends
    as the final state); fill its trace, event log and summary. vectors: work array of the
    thrusters' and engines' counts + 15 (RCS on-times, each engine's share of the throttle
    and thrust factor, the open-loop hold's carried impulse, the IMU's increments and their
    sum over the control period), owned by the caller so that it outlives every view the
    loop takes of it. In open loop, the flight software and its sensors are not used."""
    vectors[:] = 0.0  # each run starts with no pulse, no carried impulse, no increment
    views = _views(k, shared, per_run, states, outputs, work, vectors)
    views.split[:] = 1.0
    carried, x, run, summary = work.carried, work.truth.x, views.run, views.summary
    _start(views, outputs, per_run.handover[k], carried, x)
    mp, engines, grav = views.mass, views.engines, views.gravity
    com, inertia, inertia_inv = work.truth.com_m, work.truth.inertia, work.truth.inertia_inv
    faults, fault_states, n_faults = views.faults, views.fault_states, views.faults.shape[0]
    events, n_events = views.log
    tt, omega, dt, closed = views.tt, views.omega, run.time_step_s, run.closed_loop
    g0 = gravity.acceleration_mci(grav.params, grav.c, grav.s, vector.load(x, X_R), 0.0)
    step = 0
    while summary.outcome < 0:
        t = step * dt
        mass_properties.evaluate(mp, x[X_MASS], com, inertia, inertia_inv)
        q_true = truth.quaternion_of(x)
        trigger_phase = carried.phase if carried.cycled else flight_log.NO_PHASE
        if n_faults:
            table = (faults, fault_states)
            triggers.update(table, views.held, views.log, tt, omega, t, x, trigger_phase)
        if step % run.control_every_steps == 0:
            if closed:
                if not closed_loop.control_tick(views, carried, x, step, q_true):
                    break
            else:
                open_loop.command(views, carried, x, t, q_true)
        if not closed:
            open_loop.hold_attitude(views, carried, x)
        applied = carried.setpoint
        if n_faults:
            applied = engine_faults.on_engines(
                faults, fault_states, carried.setpoint, views.engine_factor
            )
            rcs_faults.on_thrusters(faults, fault_states, views.on_time)
        for e in range(engines.shape[0]):
            views.thrust_factor[e] = views.engine_factor[e] * views.split[e]
        engines_full = propulsion.engines_at_full_throttle(engines, views.thrust_factor, com)
        thrust_n = vector.norm(engines_full[0]) * x[X_THROTTLE]
        if x[X_MASS] > mp.dry_mass_kg:
            summary.delta_v_mps += thrust_n / x[X_MASS] * dt
        if applied > 0.0 and x[X_MASS] > mp.dry_mass_kg:  # commanded on, with propellant
            summary.burn_time_s += dt
        rcs_held = propulsion.rcs_force_torque(
            views.thrusters, views.on_time, carried.pulse_start_s, t, dt, com
        )
        before = (truth.quaternion_of(x), vector.load(x, X_V), g0)
        actuators = (engines_full, engines[0].time_constant_s, applied, rcs_held)
        truth.rk4_step(x, t, dt, grav, mp, actuators, work.truth)
        step += 1
        t = step * dt
        if closed:
            ok, g0 = closed_loop.imu_step(views, carried, x, step, before)  # g0: the next step's
            if not ok:
                break
        if summary.flameout_time_s < 0.0 and x[X_MASS] <= mp.dry_mass_kg:
            summary.flameout_time_s = t
            flight_log.log(events, n_events, t, flight_log.FLAMEOUT, 0, t)
        reason = bookkeeping.diverged(x, run.max_body_rate_radps)
        if reason:
            summary.outcome = touchdown.DIVERGED
            summary.diverged_reason = reason
            summary.time_s = t
            break
        # |r| is the same in both frames: the terrain is looked up only near the ground
        site = tt.site
        above_highest = (
            vector.norm(vector.load(x, X_R)) - site.map_radius_m - site.highest_terrain_m
        )
        if above_highest < run.contact_check_altitude_m:
            _check_touchdown(views, work.truth, t)
        if summary.outcome < 0 and t >= run.max_time_s:
            summary.outcome = touchdown.TIMEOUT
            summary.time_s = t
        ended = summary.outcome >= 0
        if (step % run.output_every_steps == 0 or ended) and carried.n_trace < views.trace.shape[0]:
            write_trace_row(views, carried.n_trace, x, t, carried.throttle_command)
            carried.n_trace += 1
        if run.record_slot >= 0 and (step % run.record_every_steps == 0 or ended):
            carried.n_recorded = bookkeeping.record_signals(
                views, carried.n_recorded, x, t, (applied, thrust_n)
            )
    summary.final_mass_kg = x[X_MASS]
    summary.n_trace = carried.n_trace
    if run.record_slot >= 0:
        outputs.n_recorded[run.record_slot] = carried.n_recorded
    if closed:
        bookkeeping.finish(views, x)


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
        ("carried", CARRIED_DTYPE),  # what the loop carries from step to step
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
    """Fly runs next_run[0], next_run[0] + 1, ... of a batch (`sims.run.records`: every per-run
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
        x = work.truth.x
        # element by element: an array assignment compiles a shape check and its message
        for i in range(x.shape[0]):  # (seconds of a first run, benchmarks/README.md)
            x[i] = states.x[k, i]
        simulate(k, shared, per_run, states, outputs, work, vectors)
        for i in range(x.shape[0]):
            states.x[k, i] = x[i]
        next_run[0] = k + 1
        cycles[k + 1] = _cycle_counter()
