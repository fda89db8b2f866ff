"""A flight software of a user's own, as a compiled module: ZEM/ZEV optimal feedback guidance
from the high gate (a = 6 ZEM / t_go^2 - 2 ZEV / t_go: the energy-optimal law to a point and
velocity in a uniform field; Ebrahimi, Roshanian & Bahrami 2008, J. Guidance 31(1); Guo,
Hawkins & Wie 2013, J. Guidance 36(2)), then a constant-rate vertical descent to the probe
signal. Its navigation: the gyro's increments for its attitude, the accelerometer's and
point-mass gravity for its velocity and position from the handed-over state, and a complementary
filter on the altitude a rangefinder channel measures (its range times the beam's cosine to
the vertical, over level ground). It commands an attitude (the interface's attitude layer
holds it) and the throttle along its estimated thrust axis.

The same law is written as a Python class (`zem_zev_class.py`) and in C for an FMU
(`zem_zev_fmu/zem_zev.c`); `test_flight_software_forms.py` flies the three.
"""

import math
from typing import Literal

import numpy as np
from numba import njit

from dynamics import quaternion, vector
from dynamics.constants import STANDARD_GRAVITY_MPS2
from dynamics.units import Flag, Number, PositiveLength, PositiveSpeed, PositiveTime, Strict
from dynamics.views import record
from gnc.interface import attitude_layer, contract, flight_log

NAME = "zem_zev"


class Spec(Strict):
    kind: Literal["zem_zev"] = "zem_zev"
    time_to_go: PositiveTime = 70.0  # from the start to the target point
    target_height: PositiveLength = 30.0  # above the site, where the vertical descent starts
    descent_rate: PositiveSpeed = 1.0
    terminal_time: PositiveTime = 5.0  # vertical descent once the time to go is below this
    rangefinder: str = "laser_rangefinder"
    altitude_gain: Number = 0.1  # of the altitude's innovation, per measurement
    climb_gain: Number = 0.005  # of the same, into the vertical velocity [1/s], per measurement
    # the tests' faults: from these times [s] it raises, or commands a NaN throttle; it
    # raises when restarted
    fail_at: PositiveTime | None = None
    nan_at: PositiveTime | None = None
    fail_on_restart: Flag = False


CONFIG_DTYPE = np.dtype(
    [
        ("time_to_go_s", np.float64),
        ("target_height_m", np.float64),
        ("descent_rate_mps", np.float64),
        ("terminal_time_s", np.float64),
        ("altitude_gain", np.float64),
        ("climb_gain_ps", np.float64),
        ("rangefinder", np.int64),  # its channel's index
        ("beam_body", np.float64, (3,)),
        ("max_thrust_n", np.float64),
        ("isp_s", np.float64),
        ("throttle_min", np.float64),
        ("throttle_max", np.float64),
        ("fail_at_s", np.float64),
        ("nan_at_s", np.float64),
        ("fail_on_restart", np.bool_),
    ],
    align=True,
)
STATE_DTYPE = np.dtype(
    [
        ("r_mci_m", np.float64, (3,)),
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        ("mass_kg", np.float64),
        ("throttle", np.float64),  # commanded last cycle
        ("phase", np.int64),
        ("site_mcmf_m", np.float64, (3,)),
        ("site_axes_mcmf", np.float64, (3, 3)),
        ("omega_radps", np.float64),
        ("gm_m3ps2", np.float64),
        ("restarts", np.int64),
    ],
    align=True,
)
TERMINAL_TIME_CONSTANT_S = 2.0
MAX_TILT_RAD = math.radians(20.0)


def configure(spec, context):
    sc = context.scenario
    channels = list(sc.sensors.channels)
    if spec.rangefinder not in channels:
        raise ValueError(f"no channel {spec.rangefinder!r} to measure altitude")
    engines = sc.vehicle.engines
    thrust = sum(e.max_thrust for e in engines)
    return record(
        CONFIG_DTYPE,
        time_to_go_s=spec.time_to_go,
        target_height_m=spec.target_height,
        descent_rate_mps=spec.descent_rate,
        terminal_time_s=spec.terminal_time,
        altitude_gain=spec.altitude_gain,
        climb_gain_ps=spec.climb_gain,
        rangefinder=channels.index(spec.rangefinder),
        beam_body=sc.sensors.channels[spec.rangefinder].beam,
        max_thrust_n=thrust,
        isp_s=thrust / sum(e.max_thrust / e.isp for e in engines),
        throttle_min=engines[0].throttle_min,
        throttle_max=engines[0].throttle_max,
        fail_at_s=math.inf if spec.fail_at is None else spec.fail_at,
        nan_at_s=math.inf if spec.nan_at is None else spec.nan_at,
        fail_on_restart=spec.fail_on_restart,
    )


def initial_state(config, handover):
    return np.zeros(1, STATE_DTYPE)[0]  # it takes the handover at start


@njit(cache=True)
def start(config, state, io):
    h = io.handover
    state.r_mci_m[:] = h.r_mci_m
    state.v_mci_mps[:] = h.v_mci_mps
    state.q_body_to_mci[:] = h.q_body_to_mci
    state.mass_kg = h.mass_kg
    state.site_mcmf_m[:] = h.site_mcmf_m
    state.site_axes_mcmf[:, :] = h.site_axes_mcmf
    state.omega_radps = h.rotation_rate_radps
    state.gm_m3ps2 = h.gm_m3ps2
    state.phase = flight_log.APPROACH
    events, count = contract.event_log(io)
    flight_log.log(events, count, 0.0, flight_log.PHASE_CHANGE, state.phase, _height(state))
    _report(state, io.telemetry)


@njit(cache=True)
def cycle(config, state, io):
    t = io.t_s
    if t >= config.fail_at_s:
        raise ValueError("the test's fault: fail_at reached")
    _navigate(config, state, io)
    c, s = math.cos(state.omega_radps * t), math.sin(state.omega_radps * t)
    r = vector.load(state.r_mci_m, 0)
    r_mcmf = (c * r[0] + s * r[1], -s * r[0] + c * r[1], r[2])
    v = vector.load(state.v_mci_mps, 0)
    v_mcmf = (c * v[0] + s * v[1], -s * v[0] + c * v[1], v[2])
    v_rel = vector.sub(v_mcmf, vector.cross((0.0, 0.0, state.omega_radps), r_mcmf))
    a = state.site_axes_mcmf
    offset = vector.sub(r_mcmf, vector.load(state.site_mcmf_m, 0))
    p = (vector.dot(a[0], offset), vector.dot(a[1], offset), vector.dot(a[2], offset))
    u = (vector.dot(a[0], v_rel), vector.dot(a[1], v_rel), vector.dot(a[2], v_rel))
    g = (0.0, 0.0, -state.gm_m3ps2 / vector.dot(r, r))
    events, count = contract.event_log(io)
    t_go = config.time_to_go_s - t
    if state.phase == flight_log.APPROACH and t_go <= config.terminal_time_s:
        state.phase = flight_log.TERMINAL
        flight_log.log(events, count, t, flight_log.PHASE_CHANGE, state.phase, p[2])
    if io.probe_contact and state.phase != flight_log.ENGINE_OFF:
        state.phase = flight_log.ENGINE_OFF
        flight_log.log(events, count, t, flight_log.PHASE_CHANGE, state.phase, p[2])
    if state.phase == flight_log.APPROACH:
        accel = _zem_zev(config, p, u, g, t_go)
    else:
        accel = _vertical_descent(config, u, g)
    # the commanded thrust acceleration, site axes to MCMF to MCI
    d = vector.add(
        vector.add(vector.scale(a[0], accel[0]), vector.scale(a[1], accel[1])),
        vector.scale(a[2], accel[2]),
    )
    d_mci = (c * d[0] - s * d[1], s * d[0] + c * d[1], d[2])
    left = (c * a[1][0] - s * a[1][1], s * a[1][0] + c * a[1][1], a[1][2])
    q = (
        state.q_body_to_mci[0],
        state.q_body_to_mci[1],
        state.q_body_to_mci[2],
        state.q_body_to_mci[3],
    )
    along = vector.dot(d_mci, quaternion.rotate(q, (0.0, 0.0, 1.0)))
    throttle = min(max(along * state.mass_kg / config.max_thrust_n, config.throttle_min), 1.0)
    throttle = min(throttle, config.throttle_max)
    on = state.phase != flight_log.ENGINE_OFF
    state.throttle = throttle if on else 0.0
    if t >= config.nan_at_s:
        state.throttle = math.nan
    commands = io.commands
    commands.engine_on = on
    for e in range(io.n_engines):
        commands.throttle[e] = state.throttle
    commands.attitude_command = contract.QUATERNION
    q_cmd = attitude_layer.pointing_quaternion(d_mci, left)
    for i in range(4):
        commands.q_command_body_to_mci[i] = q_cmd[i]
    _report(state, io.telemetry)


@njit(cache=True)
def restart(config, state, io):
    """Its memory survives a reset; it counts them, and says so."""
    if config.fail_on_restart:
        raise ValueError("the test's fault: restarted")
    state.restarts += 1
    events, count = contract.event_log(io)
    offline = io.reset.online_time_s - io.reset.reset_time_s
    flight_log.log(events, count, io.t_s, flight_log.COMPUTER_RESTARTED, 0, offline)


@njit(cache=True)
def _navigate(config, state, io):
    """Dead reckoning over the increments since the last cycle, then the altitude filter."""
    imu = io.imu
    dt = imu.interval_s
    if dt > 0.0:
        q0 = (
            state.q_body_to_mci[0],
            state.q_body_to_mci[1],
            state.q_body_to_mci[2],
            state.q_body_to_mci[3],
        )
        dtheta = vector.load(imu.dtheta_body_rad, 0)
        q_mid = quaternion.multiply(q0, quaternion.from_rotation_vector(vector.scale(dtheta, 0.5)))
        q1 = quaternion.normalize(quaternion.multiply(q0, quaternion.from_rotation_vector(dtheta)))
        dv = quaternion.rotate(q_mid, vector.load(imu.dv_body_mps, 0))
        r = vector.load(state.r_mci_m, 0)
        v = vector.load(state.v_mci_mps, 0)
        g = vector.scale(r, -state.gm_m3ps2 / vector.norm(r) ** 3)
        v1 = vector.add(vector.add(v, dv), vector.scale(g, dt))
        for i in range(3):
            state.r_mci_m[i] = r[i] + 0.5 * (v[i] + v1[i]) * dt
            state.v_mci_mps[i] = v1[i]
        for i in range(4):
            state.q_body_to_mci[i] = q1[i]
        flow = state.throttle * config.max_thrust_n / (config.isp_s * STANDARD_GRAVITY_MPS2)
        state.mass_kg -= flow * dt
    measurements = contract.delivered(io)
    for k in range(measurements.shape[0]):
        m = measurements[k]
        if m.channel != config.rangefinder or not m.valid:
            continue
        r = vector.load(state.r_mci_m, 0)
        up = vector.unit(r)
        q = (
            state.q_body_to_mci[0],
            state.q_body_to_mci[1],
            state.q_body_to_mci[2],
            state.q_body_to_mci[3],
        )
        cosine = -vector.dot(quaternion.rotate(q, vector.load(config.beam_body, 0)), up)
        error = m.y[0] * cosine - _height(state)
        for i in range(3):
            state.r_mci_m[i] += config.altitude_gain * error * up[i]
            state.v_mci_mps[i] += config.climb_gain_ps * error * up[i]


@njit(cache=True)
def _zem_zev(config, p, u, g, t_go):
    """Thrust acceleration [m/s^2, site axes] of the ZEM/ZEV law to the point target_height
    above the site, descending at descent_rate, in t_go."""
    target = (0.0, 0.0, config.target_height_m)
    target_velocity = (0.0, 0.0, -config.descent_rate_mps)
    out = [0.0, 0.0, 0.0]
    for i in range(3):
        zem = target[i] - (p[i] + u[i] * t_go + 0.5 * g[i] * t_go * t_go)
        zev = target_velocity[i] - (u[i] + g[i] * t_go)
        out[i] = 6.0 * zem / (t_go * t_go) - 2.0 * zev / t_go
    return (out[0], out[1], out[2])


@njit(cache=True)
def _vertical_descent(config, u, g):
    """Thrust acceleration [m/s^2, site axes]: the horizontal velocity nulled and the descent
    rate held, each a first-order loop, tilted at most MAX_TILT_RAD."""
    k = 1.0 / TERMINAL_TIME_CONSTANT_S
    a = (-k * u[0] - g[0], -k * u[1] - g[1], k * (-config.descent_rate_mps - u[2]) - g[2])
    horizontal = math.hypot(a[0], a[1])
    limit = max(a[2], 0.0) * math.tan(MAX_TILT_RAD)
    if horizontal <= limit:
        return a
    f = limit / horizontal
    return (a[0] * f, a[1] * f, a[2])


@njit(cache=True)
def _height(state):
    """Its altitude [m] above the site's datum."""
    return vector.norm(vector.load(state.r_mci_m, 0)) - vector.norm(
        vector.load(state.site_mcmf_m, 0)
    )


@njit(cache=True)
def _report(state, telemetry):
    """Its estimate, phase and altitude; no covariance (it keeps none)."""
    for i in range(3):
        telemetry.r_mci_m[i] = state.r_mci_m[i]
        telemetry.v_mci_mps[i] = state.v_mci_mps[i]
    for i in range(4):
        telemetry.q_body_to_mci[i] = state.q_body_to_mci[i]
    telemetry.phase = state.phase
    telemetry.altitude_est_m = _height(state)
