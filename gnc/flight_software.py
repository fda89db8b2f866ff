"""The flight-software executive: one cycle of navigation updates, mode logic, guidance and
control, from sensor outputs to actuator commands.

It reads only measurements, its own state and its configuration (its onboard map, its
knowledge of the engines and of each sensor channel); the run loop in `sims` calls
`imu_sample` for every IMU output and `cycle` at the control rate, handing it the queue of
measurements the sensor channels produced (`sensors.bus`).
"""

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from dynamics import frames, gravity, quaternion, terrain, vector
from gnc import modes
from gnc.control import actuator_estimation, attitude, rcs, throttle
from gnc.guidance import powered_descent
from gnc.navigation import filter as ekf
from gnc.navigation import gating, reacquisition, updates
from sensors import bus

PHASE_TARGET_DTYPE = np.dtype(
    [
        ("gain", np.float64),  # A2PDG k: 6 E-guidance, 12 Apollo
        ("position_m", np.float64, (3,)),  # target (downrange, crossrange, height) from the site
        ("velocity_mps", np.float64, (3,)),  # along local (downrange, crossrange, up)
        ("acceleration_mps2", np.float64, (3,)),  # used by k != 6
        ("throttle_design", np.float64),  # most throttle the planned flight may use, sets t_go
        ("position_hold_s", np.float64),  # horizontal position not chased in the last seconds
    ],
    align=True,
)

FSW_DTYPE = np.dtype(
    [
        ("control_period_s", np.float64),
        ("braking", PHASE_TARGET_DTYPE),
        ("approach", PHASE_TARGET_DTYPE),
        ("handover_time_s", np.float64),  # next phase takes over this long before t_go = 0
        ("terminal_descent_rate_mps", np.float64),
        ("terminal_horizontal_gain", np.float64),  # [1/s]
        ("terminal_vertical_gain", np.float64),  # [1/s]
        ("terminal_max_tilt_rad", np.float64),
        ("max_slew_rate_radps", np.float64),
        ("max_thrust_n", np.float64),  # the flight software's knowledge of the engine
        ("engine_time_constant_s", np.float64),  # its thrust's first-order lag
        ("isp_s", np.float64),
        ("throttle_min", np.float64),
        ("throttle_max", np.float64),
        ("initial_mass_kg", np.float64),
        ("dry_mass_kg", np.float64),
        ("low_propellant_kg", np.float64),
        ("rcs_min_on_time_s", np.float64),  # pulse dead band of its RCS modulation
        ("inertia_kgm2", np.float64, (3,)),  # principal moments it knows, at PDI
        ("actuator_estimation_time_s", np.float64),  # 0: believe the actuators
        # land now (`_land_now`): the faster terminal descent rate (0: never), below this
        # estimated propellant, or this far below the estimated ground without contact
        ("land_now_rate_mps", np.float64),
        ("land_now_propellant_kg", np.float64),
        ("land_now_overdue_m", np.float64),
        # the low gate raised over the altitude's uncertainty at the high gate
        # (`_raise_low_gate`): by this many sigmas (0: never), at most max_raise, the terminal
        # descent through the raise at its own rate
        ("uncertain_altitude_sigmas", np.float64),
        ("uncertain_altitude_max_raise_m", np.float64),
        ("uncertain_altitude_rate_mps", np.float64),
        # the accelerometer checked against the engine (`_check_accelerometer`): failed when
        # it reads under this fraction of the modelled thrust acceleration (0: never
        # checked) for this long; then the thrust model, with these 1-sigma errors of scale
        # and pointing, stands in for it
        ("accelerometer_check_fraction", np.float64),
        ("accelerometer_check_time_s", np.float64),
        ("thrust_model_scale_sigma", np.float64),
        ("thrust_model_misalignment_sigma_rad", np.float64),
        ("thrust_model_noise", np.float64),  # its velocity random walk [m/s/sqrt(s)]
        # centres of mass of the dry vehicle and of the propellant: the lander's, at the
        # estimated mass, sets the sensors' lever arms
        ("dry_com_body_m", np.float64, (3,)),
        ("propellant_com_body_m", np.float64, (3,)),
        ("nav_noise", ekf.NAV_NOISE_DTYPE),
        # 1 sigma of the navigation error it starts with (position and velocity along local
        # downrange, crossrange, up; attitude; the IMU's biases, scale factors and
        # misalignments): at PDI, and again after a computer reset
        ("initial_sigma", np.float64, (ekf.N_ERR,)),
    ],
    align=True,
)

FSW_STATE_DTYPE = np.dtype(
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
        ("landing_now", np.bool_),  # the terminal descent at the land-now rate
        ("low_gate_raise_m", np.float64),  # above the configured low gate, this approach
        ("throttle_modelled", np.float64),  # the engine's throttle, the command lagged
        ("accelerometer_suspect_s", np.float64),  # how long it has read too little
        ("accelerometer_missed_mci", np.float64, (3,)),  # velocity change it did not see
        ("accelerometer_failed", np.bool_),
        ("offline_until_s", np.float64),  # computer reset: no cycles, no IMU data before this
        ("engine_inhibit_until_s", np.float64),  # and no main-engine thrust before this
        ("reset_time_s", np.float64),
        ("throttle_at_reset", np.float64),  # its engine's thrust tails off from this
        ("restart_pending", np.bool_),
        ("ranges", reacquisition.HISTORY_DTYPE),  # the recent ranges' ground points
        # working storage: its pose and a measurement model
        ("pose", bus.POSE_DTYPE),
        ("model", bus.MODEL_DTYPE),
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


@njit(cache=True, inline="always")
def imu_sample(p, state, dv_body, dtheta_body, interval_s, grav, c, s, t_s, events, n_events):
    """Strapdown propagation of the navigation state by one IMU output; with the
    accelerometer checked, its velocity increment replaced by the thrust model's once it
    failed (`_check_accelerometer`)."""
    if p.accelerometer_check_fraction > 0.0:
        dv_body = _check_accelerometer(p, state, dv_body, interval_s, t_s, events, n_events)
    ekf.strapdown(state.nav, dv_body, dtheta_body, interval_s, grav, c, s, t_s)


@njit(cache=True)
def _propagate_covariance(p, state, gm_m3ps2):
    """The filter's covariance brought up to the IMU time it has integrated; with the thrust
    model standing in for the accelerometer, the model's velocity random walk on top."""
    nav = state.nav
    interval_s = nav.uncovered_s
    ekf.propagate_covariance(nav, p.nav_noise, gm_m3ps2)
    if state.accelerometer_failed:
        for i in range(3):
            nav.P[ekf.DV + i, ekf.DV + i] += p.thrust_model_noise**2 * interval_s


@njit(cache=True)
def _thrust_acceleration(p, state, throttle):
    """The thrust acceleration [m/s^2] the software believes a throttle gives: the engines'
    thrust as it knows it (times the estimated scale) over the estimated mass."""
    return throttle * p.max_thrust_n * state.actuators.thrust_scale / state.mass_est_kg


@njit(cache=True)
def _check_accelerometer(p, state, dv_body, interval_s, t_s, events, n_events):
    """The velocity increment the strapdown takes: the accelerometer's, or, once it failed,
    the thrust model's (the command through the engine's lag, the thrust the software
    believes, the estimated mass, along the thrust axis). Failed: reading along the thrust
    axis under accelerometer_check_fraction of the model for accelerometer_check_time_s
    (a unit never switched on, a dead channel). At the failure the increments it missed
    while suspect are added to the velocity, and the error states of the accelerometer
    become the model's: no bias, its scale factor and misalignments along the thrust axis
    of thrust_model_scale_sigma and thrust_model_misalignment_sigma_rad (1 sigma), for the
    filter to estimate from its other sensors."""
    nav = state.nav
    lag = 1.0 - math.exp(-interval_s / max(p.engine_time_constant_s, 1e-6))
    state.throttle_modelled += (state.throttle_command - state.throttle_modelled) * lag
    accel = _thrust_acceleration(p, state, state.throttle_modelled)
    modelled = (0.0, 0.0, accel * interval_s)
    if state.accelerometer_failed:
        return modelled
    measured = dv_body[2] - nav.accel_bias_mps2[2] * interval_s
    if accel > 0.0 and measured < p.accelerometer_check_fraction * modelled[2]:
        state.accelerometer_suspect_s += interval_s
        q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
        missed = quaternion.rotate(q, (0.0, 0.0, modelled[2] - measured))
        for i in range(3):
            state.accelerometer_missed_mci[i] += missed[i]
    else:
        state.accelerometer_suspect_s = 0.0
        for i in range(3):
            state.accelerometer_missed_mci[i] = 0.0
    if state.accelerometer_suspect_s < p.accelerometer_check_time_s:
        return dv_body
    state.accelerometer_failed = True
    modes.log(events, n_events, t_s, modes.ACCELEROMETER_FAILED, 0, accel)
    missed_speed = 0.0
    for i in range(3):
        nav.v_mci_mps[i] += state.accelerometer_missed_mci[i]
        missed_speed += state.accelerometer_missed_mci[i] ** 2
    sigmas = (
        0.0,
        0.0,
        0.0,
        p.thrust_model_misalignment_sigma_rad,
        p.thrust_model_misalignment_sigma_rad,
        p.thrust_model_scale_sigma,
    )
    for k in range(6):  # the accelerometer's bias, then its thrust-axis column
        index = ekf.DBA + k if k < 3 else ekf.DKA + k - 3
        for j in range(ekf.N_ERR):
            nav.P[index, j] = nav.P[j, index] = 0.0
        nav.P[index, index] = sigmas[k] ** 2
    for k in range(3):
        nav.accel_bias_mps2[k] = 0.0
        nav.accel_thrust_axis_error[k] = 0.0
    # the velocity it added is as good as the model: its scale error, on every axis
    for i in range(3):
        nav.P[ekf.DV + i, ekf.DV + i] += missed_speed * p.thrust_model_scale_sigma**2
    return modelled


@njit(cache=True)
def guidance_state(nav, site, grav, c, s, t_s):
    """The estimated state in guidance coordinates, and the local axes they use.

    Guidance coordinates are curvilinear: downrange and crossrange distances along the ground
    track from the site, and height above the site's radius, with velocity components along
    the local (downrange, crossrange, up) axes at the lander. In them the laws' flat-Moon
    kinematics hold once the apparent accelerations of the curved, rotating frame are added
    to gravity: centrifugal relief v_h^2 / r upward, the turning of the local vertical
    (-v_x v_z / r, -v_y v_z / r), and the Moon's Coriolis and centrifugal terms.
    Returns (position, velocity, effective gravity, (down, left, up) axes in MCMF).
    """
    omega = grav.rotation_rate_radps
    r_mci = vector.load(nav.r_mci_m, 0)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, omega)
    v_mcmf = frames.surface_relative_velocity_mcmf(r_mci, vector.load(nav.v_mci_mps, 0), t_s, omega)
    g_mcmf = frames.mci_to_mcmf(gravity.acceleration_mci(grav, c, s, r_mci, t_s), t_s, omega)
    w = (0.0, 0.0, omega)
    apparent = vector.sub(
        vector.scale(vector.cross(w, v_mcmf), -2.0), vector.cross(w, vector.cross(w, r_mcmf))
    )
    g_mcmf = vector.add(g_mcmf, apparent)
    down, left, up = frames.local_track_axes(site, r_mcmf)
    x, y, radius = frames.track_coordinates(site, r_mcmf)
    position = (x, y, radius - vector.norm(vector.load(site.origin_mcmf_m, 0)))
    velocity = (vector.dot(v_mcmf, down), vector.dot(v_mcmf, left), vector.dot(v_mcmf, up))
    g = (
        vector.dot(g_mcmf, down) - velocity[0] * velocity[2] / radius,
        vector.dot(g_mcmf, left) - velocity[1] * velocity[2] / radius,
        vector.dot(g_mcmf, up) + (velocity[0] ** 2 + velocity[1] ** 2) / radius,
    )
    return position, velocity, g, (down, left, up)


@njit(cache=True)
def local_to_mci(axes, v_local, t_s, omega):
    """MCI components of a vector given along local (downrange, crossrange, up) axes."""
    down, left, up = axes
    v_mcmf = vector.add(
        vector.add(vector.scale(down, v_local[0]), vector.scale(left, v_local[1])),
        vector.scale(up, v_local[2]),
    )
    return frames.mcmf_to_mci(v_mcmf, t_s, omega)


@njit(cache=True)
def estimated_altitude(nav, onboard_map, t_s, omega):
    """Height [m] of the estimated position above the onboard terrain model."""
    return terrain.altitude_at(onboard_map, vector.load(nav.r_mci_m, 0), t_s, omega)


@njit(cache=True)
def _start_phase(p, state, phase, t_s, r, v, g, events, n_events, altitude_est):
    """Enter a phase at t_s; a guided phase plans its time to go on its design throttle, or,
    restarted after a reset, on the engine's full range."""
    replan = state.started and phase == state.phase
    state.phase = phase
    state.started = True
    modes.log(events, n_events, t_s, modes.PHASE_CHANGE, phase, altitude_est)
    if phase == modes.BRAKING or phase == modes.APPROACH:
        tgt = p.braking if phase == modes.BRAKING else p.approach
        t_go = powered_descent.select_time_to_go(
            tgt.gain,
            r,
            v,
            _target_position(state, phase, tgt),
            vector.load(tgt.velocity_mps, 0),
            vector.load(tgt.acceleration_mps2, 0),
            g,
            state.mass_est_kg,
            p.max_thrust_n,
            p.isp_s,
            p.throttle_max if replan else tgt.throttle_design,
            2.0 * p.handover_time_s,
            3000.0,
        )
        state.phase_end_s = t_s + t_go


@njit(cache=True)
def _target_position(state, phase, tgt):
    """A guided phase's target position (guidance coordinates): the approach's low gate
    raised by this approach's low_gate_raise_m."""
    r = vector.load(tgt.position_m, 0)
    if phase == modes.APPROACH:
        return (r[0], r[1], r[2] + state.low_gate_raise_m)
    return r


@njit(cache=True)
def _raise_low_gate(p, state, onboard_map):
    """At the high gate: raise the low gate by uncertain_altitude_sigmas times the altitude's
    1 sigma (the position covariance along the vertical and the onboard map's height error),
    at most uncertain_altitude_max_raise_m, so that the terminal descent, at its own rate
    through the raise, meets the ground anywhere inside that uncertainty at a rate it
    survives instead of the approach flying into it."""
    nav = state.nav
    up = vector.unit(vector.load(nav.r_mci_m, 0))
    variance = onboard_map.height_error_m**2
    for i in range(3):
        for j in range(3):
            variance += up[i] * nav.P[ekf.DR + i, ekf.DR + j] * up[j]
    raise_m = p.uncertain_altitude_sigmas * math.sqrt(variance)
    state.low_gate_raise_m = min(raise_m, p.uncertain_altitude_max_raise_m)


@njit(cache=True)
def _terminal_rate(p, state, altitude_est):
    """The terminal descent's rate [m/s]: the land-now rate once landing now, the raise's
    rate while above the configured low gate after a raise, else the configured rate."""
    if state.landing_now:
        return p.land_now_rate_mps
    if state.low_gate_raise_m > 0.0 and altitude_est > p.approach.position_m[2]:
        return p.uncertain_altitude_rate_mps
    return p.terminal_descent_rate_mps


@njit(cache=True)
def _land_now(p, state, t_s, r, v, g, events, n_events, altitude_est):
    """Land now rather than hover out of propellant or fly on an altitude shown wrong: in the
    approach or the terminal descent, once the estimated propellant is below
    land_now_propellant_kg, or in the terminal descent once the estimated altitude is
    land_now_overdue_m below the onboard ground with no contact yet (the ground is further
    down than the estimate put it), descend at land_now_rate_mps from there (an approach
    ends: vertical descent where the lander is)."""
    if state.phase != modes.APPROACH and state.phase != modes.TERMINAL:
        return
    reason = -1
    if state.mass_est_kg - p.dry_mass_kg < p.land_now_propellant_kg:
        reason = modes.LAND_NOW_PROPELLANT
    elif state.phase == modes.TERMINAL and altitude_est < -p.land_now_overdue_m:
        reason = modes.LAND_NOW_OVERDUE
    if reason < 0:
        return
    state.landing_now = True
    modes.log(events, n_events, t_s, modes.LAND_NOW, reason, altitude_est)
    if state.phase == modes.APPROACH:
        _start_phase(p, state, modes.TERMINAL, t_s, r, v, g, events, n_events, altitude_est)


@njit(cache=True)
def _gate_events(verdict, nis, gate_state, channel, value, t_s, events, n_events):
    """Log what a gate verdict tells: a channel's first admitted measurement (accepted, or
    admitted by a recovery), the first rejection of a streak, a latch-off, a recovery."""
    recovered = verdict == gating.RECOVERED or verdict == gating.RELOCATED
    admitted = verdict == gating.ACCEPTED or recovered
    if admitted and gate_state.accepted == 1:
        modes.log(events, n_events, t_s, modes.SENSOR_ACQUIRED, channel, value)
    if verdict == gating.REJECTED and gate_state.streak == 1:
        modes.log(events, n_events, t_s, modes.MEASUREMENT_REJECTED, channel, nis)
    elif verdict == gating.LATCHED_NOW:
        modes.log(events, n_events, t_s, modes.SENSOR_LATCHED_OFF, channel, nis)
    elif recovered:
        modes.log(events, n_events, t_s, modes.SENSOR_RECOVERED, channel, nis)


@njit(cache=True)
def _next_due(queue, t_s):
    """Index of the queued measurement to deliver next at t_s (earliest delivery time, then
    first queued), or -1."""
    best = -1
    for i in range(queue.shape[0]):
        q = queue[i]
        if q.deliver_s <= t_s and (
            best < 0
            or q.deliver_s < queue[best].deliver_s
            or (q.deliver_s == queue[best].deliver_s and q.sequence < queue[best].sequence)
        ):
            best = i
    return best


@njit(cache=True)
def _estimated_pose(p, state, t_s, age_s, grav, c, s):
    """Fill state.pose with the estimate at t_s - age_s, the time of validity of a measurement
    delivered age_s late: the current estimate carried back along its own acceleration
    (specific force from the last IMU sample, gravity) and body rate. Over the seconds of a
    processing latency the lander's acceleration changes little: the error is a sixth of its
    jerk times age^3 (centimetres for 2 s)."""
    nav = state.nav
    r = vector.load(nav.r_mci_m, 0)
    v = vector.load(nav.v_mci_mps, 0)
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    w = vector.load(nav.rate_body_radps, 0)
    if age_s > 0.0:
        a = vector.add(
            quaternion.rotate(q, vector.load(nav.specific_force_body_mps2, 0)),
            gravity.acceleration_mci(grav, c, s, r, t_s),
        )
        r = vector.add(vector.sub(r, vector.scale(v, age_s)), vector.scale(a, 0.5 * age_s**2))
        v = vector.sub(v, vector.scale(a, age_s))
        q = quaternion.normalize(
            quaternion.multiply(q, quaternion.from_rotation_vector(vector.scale(w, -age_s)))
        )
    com = vector.weighted_mean(
        vector.load(p.dry_com_body_m, 0),
        p.dry_mass_kg,
        vector.load(p.propellant_com_body_m, 0),
        max(state.mass_est_kg - p.dry_mass_kg, 0.0),
    )
    bus.fill_pose(state.pose, t_s - age_s, r, v, q, w, com, grav.rotation_rate_radps)
    state.pose.position_cov_mci_m2[:, :] = nav.P[ekf.DR : ekf.DR + 3, ekf.DR : ekf.DR + 3]


@njit(cache=True)
def _measurement_updates(
    fsw, state, gates, queue, t_s, grav, c, s, onboard_map, map_view, events, n_events
):
    """Deliver the due measurements of the queue to the filter, in order, freeing their slots;
    map_view is the onboard map as the kinds' entry points see it (`sensors.bus`). A
    measurement delivered late (a channel's latency, a latency fault) is predicted at its time
    of validity and updates the current state (`updates.update`). The ranges' ground points
    are kept; a recovery that finds the horizontal position lost searches them over the map
    (`reacquisition`). After engine cut-off the lander is down: measurements are dropped."""
    p, nav = fsw.config, state.nav
    # a lost position falls back to the PDI's horizontal knowledge (its larger sigma [m])
    pdi_sigma_m = max(p.initial_sigma[ekf.DR], p.initial_sigma[ekf.DR + 1])
    posed = False
    while True:
        i = _next_due(queue, t_s)
        if i < 0:
            return
        meas = queue[i]
        meas.deliver_s = np.inf
        if not meas.valid or state.phase == modes.ENGINE_OFF:
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
        _estimated_pose(p, state, t_s, age_s, grav, c, s)
        verdict, nis, _ = updates.update(
            nav,
            channel,
            gates,
            meas.channel,
            fsw.knowledge,
            state.pose,
            map_view,
            meas,
            age_s,
            state.model,
            pdi_sigma_m**2,
        )
        _gate_events(verdict, nis, gate_state, meas.channel, meas.y[0], t_s, events, n_events)
        if verdict != updates.UNUSABLE:
            reacquisition.remember(state.ranges, nav, state.model, meas.t_s)
        if verdict == gating.RELOCATED:
            omega = grav.rotation_rate_radps
            found = reacquisition.search(state.ranges, nav, onboard_map, omega, pdi_sigma_m)
            reacquisition.correct(nav, state.model, onboard_map.site, t_s, omega, found)
            moved_m = math.hypot(found[0], found[1])
            modes.log(events, n_events, t_s, modes.POSITION_LOST, meas.channel, moved_m)


@njit(cache=True)
def reset(state, gates, t_s, reboot_time_s, relight_delay_s):
    """A flight-computer reset at t_s: the software is off for reboot_time_s (no cycles, IMU
    data lost, no commands), the main engine stays off until t_s + relight_delay_s, and the
    navigation state is re-initialised at restart (`_restart`)."""
    state.offline_until_s = t_s + reboot_time_s
    state.engine_inhibit_until_s = t_s + max(relight_delay_s, reboot_time_s)
    state.reset_time_s = t_s
    state.restart_pending = True
    state.throttle_at_reset = state.throttle_command
    state.throttle_command = 0.0
    for i in range(gates.shape[0]):
        gates[i].streak = 0
        gates[i].latched_off = False


@njit(cache=True)
def _restart(p, state, t_s, grav, c, s, site, events, n_events):
    """Restart after a reset from what survives it (the navigation state and its covariance
    saved at the reset, the mass estimate, the configuration): dead-reckon the saved state
    over the time off line (`_dead_reckon_off_line`); forget the bias and scale-factor
    estimates (their covariance back to the PDI uncertainty, local axes at the estimate) and
    what it had learned of its actuators; keep the saved covariance of position, velocity and
    attitude, widened by what it could not see: the engine's tail-off (its model's error
    taken as large as the impulse, 1 sigma, along the thrust axis), the body rate's drift
    (the PDI attitude uncertainty), carried over the time off line; and restart the current
    phase (which `_start_phase` then plans on the engine's full range: the reset has spent
    the design margin)."""
    nav = state.nav
    impulse = _dead_reckon_off_line(p, state, t_s, grav, c, s)
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
    actuator_estimation.reset(state.actuators)
    state.restart_pending = False
    modes.log(events, n_events, t_s, modes.COMPUTER_RESTARTED, 0, t_s - state.reset_time_s)


@njit(cache=True)
def _dead_reckon_off_line(p, state, t_s, grav, c, s):
    """Carry the navigation state from the reset to t_s without IMU data: gravity, the body
    rate it last measured, and the engine's thrust, which holds the throttle it had to the
    next control tick and then tails off (first order); modelled motion, so not corrected
    for the IMU's errors as its increments are (`ekf.integrate`). Returns the tail-off's velocity
    change [m/s], its acceleration times its time constant (~0.3 m/s in braking)."""
    nav = state.nav
    accel = _thrust_acceleration(p, state, state.throttle_at_reset)
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
        ekf.integrate(nav, (0.0, 0.0, dv), vector.scale(rate, dt), dt, grav, c, s, t)
        t += dt
    return accel * tau


@njit(cache=True)
def cycle(
    fsw,
    state,
    gates,
    queue,
    t_s,
    probe_contact,
    grav,
    c,
    s,
    onboard_map,
    map_view,
    on_time,
    events,
    n_events,
):
    """One flight-software cycle at t_s: deliver the due measurements to the filter, run the
    modes, guidance and control. Writes state.throttle_command, state.q_command and the RCS
    on-times for the coming control period."""
    p, nav = fsw.config, state.nav
    omega = grav.rotation_rate_radps
    site = onboard_map.site
    restarting = state.restart_pending
    if restarting:
        _restart(p, state, t_s, grav, c, s, site, events, n_events)
    _measurement_updates(
        fsw, state, gates, queue, t_s, grav, c, s, onboard_map, map_view, events, n_events
    )

    # --- mode logic
    r_site, v_site, g_site, axes = guidance_state(nav, site, grav, c, s, t_s)
    altitude_est = estimated_altitude(nav, onboard_map, t_s, omega)
    state.altitude_est_m = altitude_est
    if not state.started or restarting:  # the phase starts over (it is braking at first)
        _start_phase(
            p, state, state.phase, t_s, r_site, v_site, g_site, events, n_events, altitude_est
        )
    elif state.phase == modes.BRAKING and t_s >= state.phase_end_s - p.handover_time_s:
        if p.uncertain_altitude_sigmas > 0.0:
            _raise_low_gate(p, state, onboard_map)
        _start_phase(
            p, state, modes.APPROACH, t_s, r_site, v_site, g_site, events, n_events, altitude_est
        )
    elif state.phase == modes.APPROACH and t_s >= state.phase_end_s - p.handover_time_s:
        _start_phase(
            p, state, modes.TERMINAL, t_s, r_site, v_site, g_site, events, n_events, altitude_est
        )
    if p.land_now_rate_mps > 0.0 and not state.landing_now:
        _land_now(p, state, t_s, r_site, v_site, g_site, events, n_events, altitude_est)
    if probe_contact and state.phase != modes.ENGINE_OFF:
        _start_phase(
            p, state, modes.ENGINE_OFF, t_s, r_site, v_site, g_site, events, n_events, altitude_est
        )
        modes.log(events, n_events, t_s, modes.ENGINE_CUTOFF, 0, altitude_est)

    # --- guidance: thrust acceleration in guidance coordinates
    if state.phase == modes.BRAKING or state.phase == modes.APPROACH:
        tgt = p.braking if state.phase == modes.BRAKING else p.approach
        t_go = state.phase_end_s - t_s
        r_f = _target_position(state, state.phase, tgt)
        v_f = vector.load(tgt.velocity_mps, 0)
        a_f = vector.load(tgt.acceleration_mps2, 0)
        if t_go < tgt.position_hold_s:
            r_f = powered_descent.holding_position(tgt.gain, r_site, v_site, r_f, v_f, a_f, t_go)
        u = powered_descent.thrust_acceleration(
            tgt.gain, r_site, v_site, r_f, v_f, a_f, g_site, t_go
        )
    elif state.phase == modes.TERMINAL:
        a = powered_descent.terminal_acceleration(
            v_site,
            _terminal_rate(p, state, altitude_est),
            p.terminal_horizontal_gain,
            p.terminal_vertical_gain,
        )
        u = powered_descent.limit_tilt(vector.sub(a, g_site), p.terminal_max_tilt_rad)
    else:
        u = vector.scale(g_site, -1.0)  # engine off: stay upright

    # --- control: pointing (rate-limited), throttle, RCS pulses
    q_est = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    u_mci = local_to_mci(axes, u, t_s, omega)
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
    q_cmd = attitude.pointing_quaternion(direction, left)
    for i in range(4):
        state.q_command[i] = q_cmd[i]
    rate = vector.load(nav.rate_body_radps, 0)
    estimate = state.actuators
    if p.actuator_estimation_time_s > 0.0 and not state.accelerometer_failed:
        actuator_estimation.update(
            estimate,
            nav.specific_force_body_mps2[2],
            rate,
            p.inertia_kgm2,
            p.control_period_s,
            p.actuator_estimation_time_s,
        )
    thrust_n = p.max_thrust_n * estimate.thrust_scale  # what the engines give at full throttle
    if state.phase == modes.ENGINE_OFF or t_s < state.engine_inhibit_until_s:
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
        attitude.torque_command(fsw.gains, q_est, rate, q_cmd),
        actuator_estimation.disturbance_torque(estimate, state.throttle_command),
    )
    rcs.on_times(
        torque,
        fsw.rcs_torques,
        fsw.rcs_groups,
        p.control_period_s,
        p.rcs_min_on_time_s,
        state.rcs_carried_nms,
        on_time,
    )
    if p.actuator_estimation_time_s > 0.0:  # the next cycle's estimate reads them
        actuator_estimation.record_commands(
            estimate,
            state.throttle_command,
            p.max_thrust_n,
            state.mass_est_kg,
            fsw.rcs_torques,
            on_time,
            p.control_period_s,
        )
    propellant = state.mass_est_kg - p.dry_mass_kg
    if propellant < p.low_propellant_kg and not state.low_propellant_logged:
        state.low_propellant_logged = True
        modes.log(events, n_events, t_s, modes.LOW_PROPELLANT, 0, propellant)
