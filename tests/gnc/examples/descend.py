"""A flight software of one's own, as a compiled module: from the state handed over and its
IMU alone, it nulls its velocity over the ground and descends at a rate that falls with its
height (to 1 m/s), commanding an attitude and the throttle along its thrust axis; the engine
off at the probe signal. gnc/README.md shows it whole."""

from typing import Literal

import numpy as np
from numba import njit

from dynamics import quaternion, vector
from dynamics.units import PositiveTime, Strict
from gnc.interface import attitude_layer, contract, flight_log

NAME = "descend"


class Spec(Strict):
    kind: Literal["descend"] = "descend"
    time_constant: PositiveTime = 5.0  # of its velocity loop


CONFIG_DTYPE = np.dtype(
    [("tau_s", np.float64), ("max_thrust_n", np.float64), ("flow_kgps", np.float64)], align=True
)
STATE_DTYPE = np.dtype(
    [
        ("r", np.float64, (3,)),  # its estimate, MCI
        ("v", np.float64, (3,)),
        ("q", np.float64, (4,)),
        ("mass_kg", np.float64),
        ("site_radius_m", np.float64),
        ("omega_radps", np.float64),
        ("gm_m3ps2", np.float64),
    ],
    align=True,
)


def configure(spec, context):
    config = np.zeros(1, CONFIG_DTYPE)[0]
    config["tau_s"] = spec.time_constant
    engines = context.scenario.vehicle.engines
    config["max_thrust_n"] = sum(e.max_thrust for e in engines)
    config["flow_kgps"] = sum(e.max_thrust / (e.isp * 9.80665) for e in engines)  # at full
    return config


def initial_state(config, handover):
    state = np.zeros(1, STATE_DTYPE)[0]
    state["r"], state["v"] = handover["r_mci_m"], handover["v_mci_mps"]
    state["q"], state["mass_kg"] = handover["q_body_to_mci"], handover["mass_kg"]
    state["site_radius_m"] = np.linalg.norm(handover["site_mcmf_m"])
    state["omega_radps"], state["gm_m3ps2"] = handover["rotation_rate_radps"], handover["gm_m3ps2"]
    return state


@njit(cache=True)
def imu(config, state, io):
    """Strapdown: attitude from the gyro, velocity from the accelerometer and gravity."""
    dt, q = io.imu.interval_s, (state.q[0], state.q[1], state.q[2], state.q[3])
    dtheta = vector.load(io.imu.dtheta_body_rad, 0)
    q_mid = quaternion.multiply(q, quaternion.from_rotation_vector(vector.scale(dtheta, 0.5)))
    q = quaternion.normalize(quaternion.multiply(q, quaternion.from_rotation_vector(dtheta)))
    r, v = vector.load(state.r, 0), vector.load(state.v, 0)
    g = vector.scale(r, -state.gm_m3ps2 / vector.norm(r) ** 3)
    dv = vector.add(
        quaternion.rotate(q_mid, vector.load(io.imu.dv_body_mps, 0)), vector.scale(g, dt)
    )
    for i in range(3):
        state.r[i] = r[i] + (v[i] + 0.5 * dv[i]) * dt
        state.v[i] = v[i] + dv[i]
    for i in range(4):
        state.q[i] = q[i]


@njit(cache=True)
def cycle(config, state, io):
    r, v = vector.load(state.r, 0), vector.load(state.v, 0)
    up = vector.unit(r)
    height = vector.norm(r) - state.site_radius_m
    over_ground = vector.sub(v, vector.cross((0.0, 0.0, state.omega_radps), r))
    wanted = vector.scale(up, -min(max(0.04 * height, 1.0), 20.0))  # [m/s]
    thrust = vector.add(  # acceleration [m/s^2]: the velocity loop, against gravity
        vector.scale(vector.sub(wanted, over_ground), 1.0 / config.tau_s),
        vector.scale(up, state.gm_m3ps2 / vector.dot(r, r)),
    )
    q = (state.q[0], state.q[1], state.q[2], state.q[3])
    along = vector.dot(thrust, quaternion.rotate(q, (0.0, 0.0, 1.0)))
    throttle = min(max(along * state.mass_kg / config.max_thrust_n, 0.2), 1.0)
    state.mass_kg -= throttle * config.flow_kgps * io.handover.control_period_s
    commands = io.commands
    commands.engine_on = not io.probe_contact
    for e in range(io.n_engines):
        commands.throttle[e] = throttle
    commands.attitude_command = contract.QUATERNION
    pointing = attitude_layer.pointing_quaternion(thrust, quaternion.rotate(q, (0.0, 1.0, 0.0)))
    for i in range(4):
        commands.q_command_body_to_mci[i] = pointing[i]
    telemetry = io.telemetry  # its estimate, no covariance
    telemetry.phase = flight_log.TERMINAL
    telemetry.altitude_est_m = height
    for i in range(3):
        telemetry.r_mci_m[i], telemetry.v_mci_mps[i] = r[i], v[i]
    for i in range(4):
        telemetry.q_body_to_mci[i] = q[i]
