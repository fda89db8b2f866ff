"""Our flight software: one cycle of navigation updates, mode logic, guidance and control, from
sensor outputs to actuator commands, behind the flight-software interface
(`gnc.interface.contract`, gnc/README.md).

It reads only measurements, its own state and its configuration (`gnc.configuration`: its
onboard map, its knowledge of the engines and of each sensor channel). The simulator calls its
entry points: `start` at PDI, `imu` for every IMU output, `cycle` at the control rate with the
measurements delivered since the last one (`sensors.bus`), `restart` after a computer reset
and `report` at the end of the run; each leaves its estimate, phase and altitude in the
interface's telemetry.
"""

import math
from typing import NamedTuple

import numpy as np
from numba import carray, njit

from dynamics import frames, quaternion, vector
from dynamics.gravity import GravityField
from dynamics.terrain import OnboardMap
from dynamics.views import pointer
from gnc.configuration import (  # noqa: F401  (the form's contract: gnc.interface.forms)
    CONFIG_DTYPE,
    LOGS_SENSOR_VERDICTS,
    NAME,
    Spec,
    check,
    configure,
)
from gnc.control import actuator_estimation, attitude, throttle
from gnc.fdir import registry as fdir
from gnc.guidance import laws, phases, powered_descent
from gnc.interface import attitude_layer, contract, flight_log
from gnc.navigation import filter as ekf
from gnc.navigation import gating, reacquisition, updates
from sensors import bus

STATE_DTYPE = np.dtype(
    [
        ("nav", ekf.NAV_DTYPE),
        ("phase", np.int64),
        ("phase_end_s", np.float64),  # time at which guidance reaches the phase target
        ("started", np.bool_),
        ("thrust_direction_mci", np.float64, (3,)),  # last commanded (rate-limited)
        ("q_command", np.float64, (4,)),
        ("throttle_command", np.float64),
        ("altitude_est_m", np.float64),  # above the onboard terrain, at the last cycle
        ("mass_est_kg", np.float64),
        ("rcs_carried_nms", np.float64, (3,)),  # angular impulse owed below the minimum pulse
        ("actuators", actuator_estimation.ESTIMATE_DTYPE),
        ("low_propellant_logged", np.bool_),
        # what its FDIR functions decided (`gnc.fdir`), which the rest of it acts on: the
        # terminal descent at the land-now rate, the low gate raised over the altitude's
        # uncertainty (crossed at its rate), the accelerometer failed (the thrust model in
        # its place, with this velocity random walk [m/s/sqrt(s)])
        ("landing_now", np.bool_),
        ("land_now_rate_mps", np.float64),
        ("low_gate_raise_m", np.float64),  # above the configured low gate, this approach
        ("raise_rate_mps", np.float64),
        ("accelerometer_failed", np.bool_),
        ("thrust_model_noise", np.float64),
        # the landing site moved from the target (guidance coordinates: downrange, crossrange
        # [m]) by hazard avoidance; the terminal descent holding its height while it hovers,
        # and, diverting, flying to the site at divert_speed_mps (a first-order loop of
        # divert_gain_ps) down to touchdown
        ("site_offset_m", np.float64, (2,)),
        ("hover_hold", np.bool_),
        ("divert_active", np.bool_),
        ("divert_speed_mps", np.float64),
        ("divert_gain_ps", np.float64),
        ("fdir", np.uint8, (fdir.MAX_FUNCTIONS, fdir.SLOT_BYTES)),  # each function's state
        ("engine_inhibit_until_s", np.float64),  # computer reset: no main-engine thrust before
        ("reset_time_s", np.float64),
        ("throttle_at_reset", np.float64),  # its engine's thrust tails off from this
        ("restart_pending", np.bool_),
        ("ranges", reacquisition.HISTORY_DTYPE),  # the recent ranges' ground points
        # working storage: its pose, a measurement model, a guidance law's record
        ("pose", bus.POSE_DTYPE),
        ("model", bus.MODEL_DTYPE),
        ("guidance", laws.GUIDANCE_DTYPE),
        ("fdir_io", fdir.IO_DTYPE),
        ("gates", gating.GATE_STATE_DTYPE, (contract.MAX_CHANNELS,)),  # one per channel
        # each channel's NIS statistics in each phase (the simulator's consistency checks)
        ("nis", gating.NIS_DTYPE, (contract.MAX_CHANNELS, len(flight_log.PHASES))),
    ],
    align=True,
)


class FlightSoftware(NamedTuple):
    """A run's flight-software inputs: configuration, its side of the channel table and its
    knowledge of each channel (the kinds' spec records, packed), RCS table and gains."""

    config: np.void
    channels: np.ndarray  # updates.FSW_CHANNEL_DTYPE
    knowledge: np.ndarray  # bytes
    rcs_torques: np.ndarray
    rcs_groups: np.ndarray
    gains: np.void


class Cycle(NamedTuple):
    """What one cycle works with (`_cycle`): its configuration record and interface record,
    its tables (FlightSoftware), its state and gates, the measurements delivered, the time
    [s], the contact probes' signal, the gravity field it knows (`gravity.GravityField`),
    its onboard map (and the map as the kinds' entry points see it), the RCS on-times it
    writes and the run's event log (events, count)."""

    config: np.void
    io: np.void
    fsw: FlightSoftware
    state: np.void
    gates: np.ndarray
    delivered: np.ndarray
    t_s: float
    probe_contact: bool
    field: GravityField
    onboard_map: OnboardMap
    map_view: np.void
    on_time: np.ndarray
    log: tuple


@njit(cache=True)
def _reset_fdir(config, state):
    fdir.reset_all(
        config.fdir, config.n_fdir, state.fdir, bus.address_of(config), bus.address_of(state)
    )


@njit(cache=True, inline="always")
def _fdir(config, state, io, hook, t_s):
    """Run its FDIR functions of a hook at t_s (state.fdir_io filled for it); io: the
    interface record, whose event log they write to."""
    if config.n_fdir == 0:
        return
    f = state.fdir_io
    f.t_s = t_s
    f.events, f.event_capacity, f.event_count = io.events, io.event_capacity, io.event_count
    fdir.run(
        config.fdir,
        config.n_fdir,
        state.fdir,
        bus.address_of(config),
        bus.address_of(state),
        f,
        hook,
    )


@njit(cache=True)
def _propagate_covariance(p, state, gm_m3ps2):
    """The filter's covariance brought up to the IMU time it has integrated; with the thrust
    model standing in for the accelerometer, the model's velocity random walk on top."""
    nav = state.nav
    interval_s = nav.uncovered_s
    ekf.propagate_covariance(nav, p.nav_noise, gm_m3ps2)
    if state.accelerometer_failed:
        for i in range(3):
            nav.P[ekf.DV + i, ekf.DV + i] += state.thrust_model_noise**2 * interval_s


@njit(cache=True)
def thrust_acceleration(p, state, throttle):
    """The thrust acceleration [m/s^2] the software believes a throttle gives: the engines'
    thrust as it knows it (times the estimated scale) over the estimated mass."""
    return throttle * p.max_thrust_n * state.actuators.thrust_scale / state.mass_est_kg


@njit(cache=True)
def _measurement_updates(cy):
    """Hand the measurements delivered to this cycle to the filter, in their order; the map
    view is the onboard map as the kinds' entry points see it (`sensors.bus`). A
    measurement delivered late (a channel's latency, a latency fault) is predicted at its time
    of validity and updates the current state (`updates.update`); its NIS is counted by
    channel and phase (`gating.NIS_DTYPE`) and reported (`contract.report_update`). The
    ranges' ground points are kept; a recovery that finds the horizontal position lost
    searches them over the map (`reacquisition`). After engine cut-off the lander is down:
    measurements are dropped."""
    fsw, state, gates, t_s, io = cy.fsw, cy.state, cy.gates, cy.t_s, cy.io
    grav, onboard_map = cy.field.params, cy.onboard_map
    events, n_events = cy.log
    p, nav = fsw.config, state.nav
    # a lost position falls back to the PDI's horizontal knowledge (its larger sigma [m])
    pdi_sigma_m = max(p.initial_sigma[ekf.DR], p.initial_sigma[ekf.DR + 1])
    posed = False
    for k in range(cy.delivered.shape[0]):
        meas = cy.delivered[k]
        if not meas.valid or state.phase == flight_log.ENGINE_OFF:
            continue
        channel = fsw.channels[meas.channel]
        gate_state = gates[meas.channel]
        if gate_state.latched_off:
            continue
        if not posed:  # the covariance is brought up to date once per cycle
            _propagate_covariance(p, state, grav.gm_m3ps2)
            posed = True
        # the pose is refilled before each update: the previous update moved the estimate
        age_s = max(t_s - meas.t_s, 0.0)
        updates.estimated_pose(p, state, t_s, age_s, cy.field)
        verdict, nis, m = updates.update(
            nav,
            (channel, fsw.knowledge),
            gates,
            (state.pose, age_s),
            cy.map_view,
            meas,
            state.model,
            pdi_sigma_m**2,
        )
        gating.log_verdict(verdict, nis, gate_state, meas.channel, meas.y[0], t_s, cy.log)
        if verdict != updates.UNUSABLE:
            contract.report_update(
                io,
                meas.channel,
                meas.t_s,
                (gate_state.innovation, gate_state.innovation_variance, m),
                nis,
                channel.gate.threshold[m] if channel.gate.policy != gating.ACCEPT_ALL else np.inf,
                verdict,
            )
            gating.count_nis(state.nis[meas.channel, state.phase], nis, m)
            reacquisition.remember(state.ranges, nav, state.model, meas.t_s)
        if verdict == gating.RELOCATED:
            omega = grav.rotation_rate_radps
            found = reacquisition.search(state.ranges, nav, onboard_map, omega, pdi_sigma_m)
            reacquisition.correct(nav, state.model, onboard_map.site, t_s, omega, found)
            moved_m = math.hypot(found[0], found[1])
            flight_log.log(events, n_events, t_s, flight_log.POSITION_LOST, meas.channel, moved_m)


@njit(cache=True)
def _restart(cy):
    """Restart after a reset from what survives it (the navigation state and its covariance
    saved at the reset, the mass estimate, the configuration): dead-reckon the saved state
    over the time off line (`_dead_reckon_off_line`); forget the bias and scale-factor
    estimates (their covariance back to the PDI uncertainty, local axes at the estimate) and
    what it had learned of its actuators; keep the saved covariance of position, velocity and
    attitude, widened by what it could not see: the engine's tail-off (its model's error
    taken as large as the impulse, 1 sigma, along the thrust axis), the body rate's drift
    (the PDI attitude uncertainty), carried over the time off line; and restart the current
    phase (which `start_phase` then plans on the engine's full range: the reset has spent
    the design margin); its FDIR functions reset (each forgets what it does not keep)."""
    config, state, t_s, site = cy.config, cy.state, cy.t_s, cy.onboard_map.site
    grav = cy.field.params
    events, n_events = cy.log
    p, nav = config.settings, state.nav
    impulse = _dead_reckon_off_line(p, state, t_s, cy.field)
    kept = np.empty((ekf.N_NAV, ekf.N_NAV))
    for i in range(ekf.N_NAV):
        for j in range(ekf.N_NAV):
            kept[i, j] = nav.P[i, j]
    for i in range(3):
        nav.gyro_bias_radps[i] = 0.0
        nav.accel_bias_mps2[i] = 0.0
        nav.accel_thrust_axis_error[i] = 0.0
        for j in range(3):
            nav.gyro_matrix_error[i, j] = 0.0
        state.thrust_direction_mci[i] = 0.0
    r_mcmf = frames.mci_to_mcmf(vector.load(nav.r_mci_m, 0), t_s, grav.rotation_rate_radps)
    down, left, up = frames.local_track_axes(site, r_mcmf)
    ekf.set_covariance(
        nav,
        p.initial_sigma,
        frames.mcmf_to_mci(down, t_s, grav.rotation_rate_radps),
        frames.mcmf_to_mci(left, t_s, grav.rotation_rate_radps),
        frames.mcmf_to_mci(up, t_s, grav.rotation_rate_radps),
    )
    for i in range(ekf.N_NAV):
        for j in range(ekf.N_NAV):
            nav.P[i, j] = kept[i, j]
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    axis = quaternion.rotate(q, (0.0, 0.0, 1.0))
    for i in range(3):
        for j in range(3):
            nav.P[ekf.DV + i, ekf.DV + j] += impulse * impulse * axis[i] * axis[j]
        nav.P[ekf.DTH + i, ekf.DTH + i] += p.initial_sigma[ekf.DTH + i] ** 2
    _propagate_covariance(p, state, grav.gm_m3ps2)  # over the time off line
    _reset_fdir(config, state)
    state.restart_pending = False
    flight_log.log(
        events, n_events, t_s, flight_log.COMPUTER_RESTARTED, 0, t_s - state.reset_time_s
    )


@njit(cache=True)
def _dead_reckon_off_line(p, state, t_s, field):
    """Carry the navigation state from the reset to t_s without IMU data: gravity, the body
    rate it last measured, and the engine's thrust, which holds the throttle it had to the
    next control tick and then tails off (first order); modelled motion, so not corrected
    for the IMU's errors as its increments are (`ekf.integrate`). Returns the tail-off's velocity
    change [m/s], its acceleration times its time constant (~0.3 m/s in braking)."""
    nav = state.nav
    accel = thrust_acceleration(p, state, state.throttle_at_reset)
    tau = p.engine_time_constant_s
    cut = math.ceil(state.reset_time_s / p.control_period_s - 1e-9) * p.control_period_s
    rate = vector.load(nav.rate_body_radps, 0)
    t = state.reset_time_s
    while t < t_s:
        if t < cut:
            dt = min(0.1, t_s - t, cut - t)
            dv = accel * dt
        else:
            dt = min(0.1, t_s - t)
            dv = accel * tau * (math.exp(-(t - cut) / tau) - math.exp(-(t + dt - cut) / tau))
        ekf.integrate(nav, (0.0, 0.0, dv), vector.scale(rate, dt), dt, field, t)
        t += dt
    return accel * tau


@njit(cache=True)
def _cycle(cy):
    """One flight-software cycle at t_s: deliver the due measurements to the filter, run the
    modes, guidance and control, with its FDIR functions at their hooks (`gnc.fdir`).
    Writes state.throttle_command, state.q_command and the RCS on-times for the coming
    control period."""
    config, io, fsw, state, t_s, onboard_map = (
        cy.config,
        cy.io,
        cy.fsw,
        cy.state,
        cy.t_s,
        cy.onboard_map,
    )
    events, n_events = cy.log
    p, nav = fsw.config, state.nav
    omega = cy.field.params.rotation_rate_radps
    site = onboard_map.site
    restarting = state.restart_pending
    if restarting:
        _restart(cy)
    _measurement_updates(cy)

    # --- mode logic
    r_site, v_site, g_site, axes = phases.guidance_state(nav, site, cy.field, t_s)
    altitude_est = phases.estimated_altitude(nav, onboard_map, t_s, omega)
    state.altitude_est_m = altitude_est
    entered = -1
    if not state.started or restarting:  # the phase starts over (it is braking at first)
        entered = state.phase
    elif state.phase == flight_log.BRAKING and t_s >= state.phase_end_s - p.handover_time_s:
        _fdir(config, state, io, fdir.HIGH_GATE, t_s)
        entered = flight_log.APPROACH
    elif state.phase == flight_log.APPROACH and t_s >= state.phase_end_s - p.handover_time_s:
        entered = flight_log.TERMINAL
    site_state = (r_site, v_site, g_site)
    if entered >= 0:
        phases.start_phase(p, state, entered, t_s, site_state, cy.log, altitude_est)
    if config.n_fdir:
        f = state.fdir_io
        for i in range(3):
            f.r_site_m[i], f.v_site_mps[i], f.g_site_mps2[i] = r_site[i], v_site[i], g_site[i]
        f.altitude_est_m = altitude_est
        f.delivered, f.n_delivered = io.delivered, io.n_delivered
        _fdir(config, state, io, fdir.MODES, t_s)
    if cy.probe_contact and state.phase != flight_log.ENGINE_OFF:
        phases.start_phase(p, state, flight_log.ENGINE_OFF, t_s, site_state, cy.log, altitude_est)
        flight_log.log(events, n_events, t_s, flight_log.ENGINE_CUTOFF, 0, altitude_est)

    # --- guidance: thrust acceleration in guidance coordinates
    if state.phase == flight_log.BRAKING or state.phase == flight_log.APPROACH:
        tgt = p.braking if state.phase == flight_log.BRAKING else p.approach
        t_go = state.phase_end_s - t_s
        r_f = phases.target_position(state, state.phase, tgt)
        v_f = vector.load(tgt.velocity_mps, 0)
        u = laws.command((tgt.law, tgt.params, state.guidance), site_state, (r_f, v_f), t_go, False)
    elif state.phase == flight_log.TERMINAL:
        a = powered_descent.terminal_acceleration(
            phases.divert_velocity(state, r_site, v_site),
            phases.terminal_rate(p, state, altitude_est),
            p.terminal_horizontal_gain,
            p.terminal_vertical_gain,
        )
        u = powered_descent.limit_tilt(vector.sub(a, g_site), p.terminal_max_tilt_rad)
    else:
        u = vector.scale(g_site, -1.0)  # engine off: stay upright

    # --- control: pointing (rate-limited), throttle, RCS pulses
    q_est = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    u_mci = phases.local_to_mci(axes, u, t_s, omega)
    desired = vector.unit(u_mci)
    if vector.norm(vector.load(state.thrust_direction_mci, 0)) == 0.0:
        previous = quaternion.rotate(q_est, (0.0, 0.0, 1.0))
    else:
        previous = vector.load(state.thrust_direction_mci, 0)
    direction = attitude.limit_rotation(
        previous, desired, p.max_slew_rate_radps * p.control_period_s
    )
    for i in range(3):
        state.thrust_direction_mci[i] = direction[i]
    left = frames.mcmf_to_mci(axes[1], t_s, omega)
    q_cmd = attitude_layer.pointing_quaternion(direction, left)
    for i in range(4):
        state.q_command[i] = q_cmd[i]
    rate = vector.load(nav.rate_body_radps, 0)
    _fdir(config, state, io, fdir.CONTROL, t_s)
    estimate = state.actuators
    thrust_n = p.max_thrust_n * estimate.thrust_scale  # what the engines give at full throttle
    if state.phase == flight_log.ENGINE_OFF or t_s < state.engine_inhibit_until_s:
        state.throttle_command = 0.0
    else:
        body_z = quaternion.rotate(q_est, (0.0, 0.0, 1.0))
        state.throttle_command = throttle.command(
            u_mci, body_z, state.mass_est_kg, thrust_n, p.throttle_min, p.throttle_max
        )
        state.mass_est_kg -= throttle.mass_used_kg(
            state.throttle_command, thrust_n, p.isp_s, p.control_period_s
        )
    torque = vector.sub(
        attitude_layer.torque_command(fsw.gains, q_est, rate, q_cmd),
        actuator_estimation.disturbance_torque(estimate, state.throttle_command),
    )
    attitude_layer.on_times(
        torque,
        fsw.rcs_torques,
        fsw.rcs_groups,
        p.control_period_s,
        p.rcs_min_on_time_s,
        state.rcs_carried_nms,
        cy.on_time,
    )
    if config.n_fdir:
        state.fdir_io.on_time_address = cy.on_time.ctypes.data
        _fdir(config, state, io, fdir.COMMANDS, t_s)
    propellant = state.mass_est_kg - p.dry_mass_kg
    if propellant < p.low_propellant_kg and not state.low_propellant_logged:
        state.low_propellant_logged = True
        flight_log.log(events, n_events, t_s, flight_log.LOW_PROPELLANT, 0, propellant)


# --- the interface's entry points (`gnc.interface.contract`): config is a CONFIG_DTYPE
# record, state a STATE_DTYPE record, io the run's interface record


@njit(cache=True, inline="always")
def _software(config):
    """Its tables, as views of the arrays the configuration points to."""
    n = config.n_thrusters
    return FlightSoftware(
        config.settings,
        carray(pointer(config.channels), config.n_channels, updates.FSW_CHANNEL_DTYPE),
        carray(pointer(config.knowledge), config.knowledge_bytes, np.uint8),
        carray(pointer(config.rcs_torques), (3, n), np.float64),
        carray(pointer(config.rcs_groups), (3, 2, n), np.int8),
        config.gains,
    )


@njit(cache=True, inline="always")
def _gravity(config):
    """The gravity field it knows (`gravity.GravityField`)."""
    shape = (config.harmonics[0], config.harmonics[1])
    return GravityField(
        config.gravity,
        carray(pointer(config.gravity_c), shape, np.float64),
        carray(pointer(config.gravity_s), shape, np.float64),
    )


@njit(cache=True, inline="always")
def _onboard_map(config):
    return bus.onboard_map_at(bus.address_of(config.map))


assert (ekf.DR, ekf.DV, ekf.DTH) == (0, 3, 6)  # its error states begin as the telemetry's


@njit(cache=True, inline="always")
def _publish(telemetry, state, covariance, full):
    """Its estimate into the telemetry; with covariance, the covariance of its position,
    velocity and attitude errors too (its first nine error states, in the telemetry's order:
    DR, DV, DTH = 0, 3, 6); with full, its phase and altitude as well."""
    nav = state.nav
    for i in range(3):
        telemetry.r_mci_m[i] = nav.r_mci_m[i]
        telemetry.v_mci_mps[i] = nav.v_mci_mps[i]
    for i in range(4):
        telemetry.q_body_to_mci[i] = nav.q_body_to_mci[i]
    if covariance:
        for i in range(contract.N_ESTIMATE):
            for j in range(contract.N_ESTIMATE):
                telemetry.covariance[i, j] = nav.P[i, j]
    if full:
        telemetry.phase = state.phase
        telemetry.altitude_est_m = state.altitude_est_m


@njit(cache=True)
def start(config, state, io):
    """At PDI: the state `initial_state` made from the handover, its FDIR functions reset;
    its telemetry (`report`)."""
    _reset_fdir(config, state)
    report(config, state, io)


@njit(cache=True)
def imu(config, state, io):
    """One IMU output: strapdown navigation, the increment first through its FDIR functions
    at the `imu` hook (a failed accelerometer's replaced by the thrust model's)."""
    field = _gravity(config)
    data = io.imu
    t0 = data.t_s - data.interval_s  # when the increment began
    dv = vector.load(data.dv_body_mps, 0)
    failed = state.accelerometer_failed
    if config.n_fdir:
        f = state.fdir_io
        f.interval_s = data.interval_s
        for i in range(3):
            f.dv_body_mps[i] = dv[i]
        _fdir(config, state, io, fdir.IMU, t0)
        dv = vector.load(f.dv_body_mps, 0)
    dtheta = vector.load(data.dtheta_body_rad, 0)
    ekf.strapdown(state.nav, dv, dtheta, data.interval_s, field, t0)
    _publish(io.telemetry, state, state.accelerometer_failed != failed, False)


@njit(cache=True)
def cycle(config, state, io):
    """One control cycle (`_cycle`): the same throttle to every engine, RCS on-times."""
    commands = io.commands
    _cycle(
        Cycle(
            config,
            io,
            _software(config),
            state,
            state.gates[: config.n_channels],
            contract.delivered(io),
            io.t_s,
            io.probe_contact,
            _gravity(config),
            _onboard_map(config),
            config.map,
            commands.on_time_s[: config.n_thrusters],
            contract.event_log(io),
        )
    )
    commands.engine_on = True
    commands.attitude_command = contract.ON_TIMES
    for e in range(io.n_engines):
        commands.throttle[e] = state.throttle_command
    _publish(io.telemetry, state, True, True)


@njit(cache=True)
def restart(config, state, io):
    """Back on line after a reset (io.reset): what it saved survives (the navigation state
    and its covariance as they were at the reset, the mass estimate, the configuration); the
    gates start over; the main engine stays off until the relight time; the next cycle
    dead-reckons over the time off line and restarts the phase (`_restart`)."""
    state.engine_inhibit_until_s = io.reset.relight_time_s
    state.reset_time_s = io.reset.reset_time_s
    state.restart_pending = True
    state.throttle_at_reset = state.throttle_command
    state.throttle_command = 0.0
    for i in range(config.n_channels):
        state.gates[i].streak = 0
        state.gates[i].latched_off = False


@njit(cache=True)
def report(config, state, io):
    """Its telemetry as of io.t_s, the altitude estimated now."""
    _publish(io.telemetry, state, True, True)
    omega = config.gravity.rotation_rate_radps
    io.telemetry.altitude_est_m = phases.estimated_altitude(
        state.nav, _onboard_map(config), io.t_s, omega
    )


def initial_state(config, handover):
    """Its state at PDI: the handed-over position, velocity and attitude, with the covariance
    of its own PDI uncertainty (configuration) in the handover's local axes; the mass it
    was loaded with; actuators believed until shown otherwise."""
    state = np.zeros(1, STATE_DTYPE)[0]
    nav = state["nav"]
    nav["r_mci_m"] = handover["r_mci_m"]
    nav["v_mci_mps"] = handover["v_mci_mps"]
    nav["q_body_to_mci"] = handover["q_body_to_mci"]
    axes = [tuple(float(v) for v in row) for row in handover["axes_mci"]]
    ekf.set_covariance(nav, config["settings"]["initial_sigma"], *axes)
    state["mass_est_kg"] = config["settings"]["initial_mass_kg"]
    actuator_estimation.reset(state["actuators"])
    return state
