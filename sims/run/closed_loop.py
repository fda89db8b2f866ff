"""The closed loop (`sims.run.loop` with a flight software): at each control tick the sensor
channels due are sampled (each through its kind's compiled entry point, `sensors.bus`), the
faults act on their records, the records are queued, those due are delivered to one cycle of
the flight software, reached through the entry points of its interface
(`gnc.interface.contract`: whatever its form, the loop knows nothing of its inside), which
returns the engines' throttle and the attitude command (RCS on-times, or a torque or an
attitude the interface's attitude layer turns into on-times). After each truth step the IMU
accumulates the true motion and, at its rate, hands its increments (after its faults) to the
flight software. A computer reset (`faults.flight_computer`) takes it off line and restarts it.

The functions take the run's views (`loop.RunViews`), what the loop carries from step to step
(`loop.CARRIED_DTYPE`) and the truth state; those that may end the run return False when it
has ended.
"""

import math

from numba import njit

from dynamics import gravity, plugins, propulsion, quaternion, terrain, truth, vector
from dynamics.truth import X_R, X_V, X_W
from faults import channel as channel_faults
from faults import imu as imu_faults
from faults import triggers
from gnc.interface import attitude_layer, contract, flight_log
from sensors import bus, contact_probe, imu
from sims.run import bookkeeping, consistency
from sims.run.bookkeeping import DIVERGED_COMMAND, DIVERGED_FLIGHT_SOFTWARE


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def sample_channels(views, carried, step):
    """Sample the channels due at this step (the truth pose is in the work record's pose),
    let the faults act on each record, and queue it for the flight software."""
    dt_s = views.run.time_step_s
    t_s = step * dt_s
    channels, queue, faults, work = views.channels, views.queue, views.faults, views.work
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
                views.specs.ctypes.data + channel.spec_offset,
                bus.address_of(work.pose),
                bus.address_of(work.surface),
                bus.address_of(views.channel_states[ch]),
                bus.address_of(sample),
            ),
        )
        delay = 0.0
        if faults.shape[0]:
            delay = channel_faults.on_sample(faults, views.fault_states, ch, sample, t_s)
        slot = -1
        for i in range(queue.shape[0]):
            if queue[i].deliver_s == math.inf:
                slot = i
                break
        if slot < 0:
            raise RuntimeError("measurement queue full")
        q = queue[slot]
        q.channel = ch
        q.sequence = carried.sequence
        q.valid = sample.valid
        q.m = sample.m
        q.t_s = t_s
        q.deliver_s = t_s + channel.latency_s + delay
        q.period_s = channel.every_steps * dt_s
        for j in range(bus.MAX_DIMENSION):
            q.y[j] = sample.y[j]
            q.sigma[j] = sample.sigma[j]
        carried.sequence += 1


@njit(cache=True)
def deliver(queue, inbox, t_s):
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
def engine_commands(commands, engines, split):
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


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def rcs_commands(views, commands, q_true, w_true):
    """The RCS on-times of the coming control period (into views.on_time) from the flight
    software's attitude command: as given, or through the attitude layer (gains, torque
    table, axis groups) from a torque or an attitude (its PD law on the true attitude and
    rate). False if a command is not finite."""
    on_time, layer = views.on_time, views.layer
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
    attitude_layer.on_times(
        torque,
        layer[1],
        layer[2],
        views.period_s,
        views.run.rcs_min_on_time_s,
        views.rcs_carried,
        on_time,
    )
    return True


@njit(cache=True, inline="always")
def online(views, t_s):
    """1 if the flight computer is on line at t_s, 0 if not; back from a reset, the flight
    software's restart entry point is called first: -1 if it failed there (the run ends)."""
    computer = views.computer
    if t_s < computer.offline_until_s:
        return 0
    if computer.restart_pending:
        restart(views, t_s)
        if views.io.status:
            bookkeeping.flight_software_failed(
                views, contract.ENTRY_RESTART, t_s, DIVERGED_FLIGHT_SOFTWARE
            )
            return -1
    return 1


@njit(cache=True)
def restart(views, t_s):
    """Tell the flight software its computer is back from a reset (its restart entry point)."""
    computer, io = views.computer, views.io
    computer.restart_pending = False
    io.t_s = t_s
    io.reset.reset_time_s = computer.reset_time_s
    io.reset.online_time_s = t_s
    io.reset.relight_time_s = computer.relight_time_s
    if views.entries.restart:
        plugins.call(views.entries.restart, views.addresses)


@njit(cache=True)
def start(views, carried, x):
    """Before the first step: the IMU's and the sensors' state, and the flight software's
    start entry point. False if it failed there."""
    imu.init(views.imu_spec, views.imu_state)
    tt = views.tt
    bus.describe_surface(views.work.surface, tt.site, tt.tiles, tt.heights)
    carried.throttle_command = 0.0
    q = truth.quaternion_of(x)
    for i in range(4):
        carried.q_command[i] = q[i]
    if views.entries.start:
        plugins.call(views.entries.start, views.addresses)
        if views.io.status:
            bookkeeping.flight_software_failed(
                views, contract.ENTRY_START, 0.0, DIVERGED_FLIGHT_SOFTWARE
            )
            return False
    return True


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def control_tick(views, carried, x, step, q_true):
    """A control tick at truth step `step`: with the computer on line, the sensors sampled,
    one cycle of the flight software and its commands checked; off line, no commands.
    False if the run ended."""
    run, io, tt, omega = views.run, views.io, views.tt, views.omega
    t = step * run.time_step_s
    on_line = online(views, t)
    if on_line < 0:
        return False
    if not on_line:  # the flight computer is rebooting: no commands
        carried.throttle_command = 0.0
        for i in range(views.on_time.shape[0]):
            views.on_time[i] = 0.0
        carried.setpoint = propulsion.throttle_setpoint(views.engines[0], 0.0)
        carried.pulse_start_s = t
        return True
    work, com = views.work, views.work.truth.com_m
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
    sample_channels(views, carried, step)
    q = work.pose.q_body_to_mcmf
    io.probe_contact = contact_probe.touching(
        tt,
        vector.load(work.pose.r_mcmf_m, 0),
        (q[0], q[1], q[2], q[3]),
        com,
        views.contact_points,
        run.n_gear_points,
        run.probe_length_m,
    )
    io.t_s = t
    io.n_delivered = deliver(views.queue, views.inbox, t)
    io.imu.t_s, io.imu.interval_s = t, carried.interval_s
    dv_sum, dtheta_sum = views.dv_sum, views.dtheta_sum
    for i in range(3):
        io.imu.dv_body_mps[i], io.imu.dtheta_body_rad[i] = dv_sum[i], dtheta_sum[i]
        dv_sum[i] = dtheta_sum[i] = 0.0
    carried.interval_s = 0.0
    plugins.call(views.entries.cycle, views.addresses)
    if io.status:
        bookkeeping.flight_software_failed(views, contract.ENTRY_CYCLE, t, DIVERGED_FLIGHT_SOFTWARE)
        return False
    commands = io.commands
    finite, throttle_cmd, setpoint = engine_commands(commands, views.engines, views.split)
    carried.throttle_command, carried.setpoint = throttle_cmd, setpoint
    finite = finite and rcs_commands(views, commands, q_true, vector.load(x, X_W))
    if not finite:
        bookkeeping.flight_software_failed(views, contract.ENTRY_CYCLE, t, DIVERGED_COMMAND)
        return False
    carried.cycled = True
    tel = io.telemetry
    if views.faults.shape[0]:
        table = (views.faults, views.fault_states)
        triggers.update(table, views.held, views.log, tt, omega, t, x, tel.phase)
    if t < views.computer.relight_time_s:  # a reset holds the engine off
        carried.throttle_command = carried.setpoint = 0.0
    summary, phase = views.summary, carried.phase
    if tel.phase != phase and 0 <= phase < flight_log.TERMINAL:
        consistency.keep(tel, x, summary.nees[phase])  # phase ended
    carried.phase = tel.phase
    altitude_true = terrain.altitude_at(tt, vector.load(x, X_R), t, omega)
    error = abs(tel.altitude_est_m - altitude_true)
    summary.max_altitude_error_m = bookkeeping.keep_max(summary.max_altitude_error_m, error)
    v_error = vector.norm(vector.sub(vector.load(tel.v_mci_mps, 0), vector.load(x, X_V)))
    summary.max_velocity_error_mps = bookkeeping.keep_max(summary.max_velocity_error_mps, v_error)
    carried.pulse_start_s = t
    return True


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def imu_step(views, carried, x, step, before):
    """After truth step `step` (from `before`: the attitude, velocity and gravity it started
    with): the IMU accumulates the true motion and, at its rate, hands its increments (after
    its faults) to the flight software, on line. (False if the run ended, the gravity at the
    start of the next step.)"""
    run, grav = views.run, views.gravity
    dt = run.time_step_s
    t = step * dt
    q0, v0, g0 = before
    g1 = gravity.acceleration_mci(grav.params, grav.c, grav.s, vector.load(x, X_R), t)
    dv_true, dtheta_true = imu.true_increments(
        q0, truth.quaternion_of(x), v0, vector.load(x, X_V), g0, g1, dt
    )
    imu.accumulate(views.imu_state, dv_true, dtheta_true, dt)
    if step % views.imu_spec.every_steps:
        return True, g1
    dv, dtheta = views.dv_measured, views.dtheta_measured
    interval = imu.sample(views.imu_spec, views.imu_state, dv, dtheta)
    if views.faults.shape[0]:
        imu_faults.on_imu(views.faults, views.fault_states, dv, dtheta, interval, t)
    on_line = online(views, t)
    if on_line <= 0:
        return on_line == 0, g1
    carried.interval_s += interval
    for i in range(3):
        views.dv_sum[i] += dv[i]
        views.dtheta_sum[i] += dtheta[i]
    entries, io = views.entries, views.io
    if entries.imu:
        io.t_s = t
        io.imu.t_s, io.imu.interval_s = t, interval
        for i in range(3):
            io.imu.dv_body_mps[i] = dv[i]
            io.imu.dtheta_body_rad[i] = dtheta[i]
        plugins.call(entries.imu, views.addresses)
        if io.status:
            bookkeeping.flight_software_failed(
                views, contract.ENTRY_IMU, t, DIVERGED_FLIGHT_SOFTWARE
            )
            return False, g1
    return True, g1
