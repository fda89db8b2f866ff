"""Main engines and reaction-control thrusters: the forces, torques and propellant flow they make.

All draw from the one propellant mass; the main engines (one or several) share one throttle.
Thrust directions are the direction of the force on the vehicle, in body axes; an engine's
includes its misalignment, and its application point (off the centre of mass) gives the
disturbance torque.

The `[vehicle]` section's `main_engine` (one table, or an array of them) and `rcs` thrusters
(`Propulsion`) are packed here (`pack_engine`, `pack_thrusters`); an engine's fields are
dispersed per engine (`ENGINE_DISPERSIBLE`, read back from its packed record).
"""

import math
from typing import Annotated

import numpy as np
from numba import njit
from pydantic import Field, TypeAdapter, WrapValidator, model_validator

from dynamics import vector
from dynamics.constants import STANDARD_GRAVITY_MPS2
from dynamics.units import (
    Angle,
    BodyVector,
    Direction,
    Dispersible,
    NonNegativeAngle,
    NonNegativeTime,
    Number,
    PositiveForce,
    PositiveTime,
    Strict,
)
from dynamics.views import record

ENGINE_DTYPE = np.dtype(
    [
        ("max_thrust_n", np.float64),
        ("throttle_min", np.float64),  # fraction of max thrust; a lower command is clipped up
        ("throttle_max", np.float64),
        ("time_constant_s", np.float64),  # first-order throttle response
        ("isp_s", np.float64),
        ("position_m", np.float64, (3,)),  # thrust application point, body axes
        ("direction_body", np.float64, (3,)),  # unit force direction, misalignment included
    ],
    align=True,
)

THRUSTER_DTYPE = np.dtype(
    [
        ("position_m", np.float64, (3,)),
        ("direction_body", np.float64, (3,)),  # unit force direction on the vehicle
        ("thrust_n", np.float64),
        ("isp_s", np.float64),
        ("min_on_time_s", np.float64),  # shorter pulses give no impulse (minimum impulse bit)
    ],
    align=True,
)


@njit(cache=True)
def throttle_setpoint(engine, command):
    """Throttle the engine settles to for a command: 0 is off, otherwise clipped to its range."""
    if command <= 0.0:
        return 0.0
    return min(max(command, engine.throttle_min), engine.throttle_max)


@njit(cache=True)
def mass_flow_kgps(thrust_n, isp_s):
    """Propellant mass flow [kg/s] for a thrust [N] at a specific impulse [s]."""
    return thrust_n / (isp_s * STANDARD_GRAVITY_MPS2)


@njit(cache=True)
def engine_force_torque(engine, thrust_n, com_m):
    """Force [N] and torque about the centre of mass [N m] of one main engine, body axes."""
    f = vector.scale(vector.load(engine.direction_body, 0), thrust_n)
    arm = vector.sub(vector.load(engine.position_m, 0), vector.load(com_m, 0))
    return f, vector.cross(arm, f)


@njit(cache=True)
def engines_at_full_throttle(engines, thrust_factor, com_m):
    """Force [N], torque about the centre of mass [N m] and mass flow [kg/s] of the main
    engines at full throttle, engine i giving thrust_factor[i] of its thrust (1 nominal, 0 out:
    a lost or weakened engine burns correspondingly less propellant). The engines of a vehicle
    share one throttle: these scale with it."""
    f_total, tq_total, mdot = (0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0
    for i in range(engines.shape[0]):
        thrust = thrust_factor[i] * engines[i].max_thrust_n
        f, tq = engine_force_torque(engines[i], thrust, com_m)
        f_total = vector.add(f_total, f)
        tq_total = vector.add(tq_total, tq)
        mdot += mass_flow_kgps(thrust, engines[i].isp_s)
    return f_total, tq_total, mdot


@njit(cache=True)
def pulse_overlap_fraction(pulse_start_s, on_time_s, t_s, dt_s):
    """Fraction of the step [t_s, t_s + dt_s] during which a pulse is firing."""
    lo = max(t_s, pulse_start_s)
    hi = min(t_s + dt_s, pulse_start_s + on_time_s)
    return max(hi - lo, 0.0) / dt_s


@njit(cache=True)
def rcs_force_torque(thrusters, on_time_s, pulse_start_s, t_s, dt_s, com_m):
    """Step-averaged force [N], torque [N m] and mass flow [kg/s] of the RCS.

    Each thruster fires for on_time_s[i] from pulse_start_s; averaging over the step keeps the
    impulse exact for pulses shorter than the step. Pulses below a thruster's minimum on-time
    give nothing.
    """
    fx = fy = fz = tx = ty = tz = mdot = 0.0
    com = vector.load(com_m, 0)
    for i in range(thrusters.shape[0]):
        th = thrusters[i]
        if on_time_s[i] < th.min_on_time_s or on_time_s[i] <= 0.0:
            continue
        duty = pulse_overlap_fraction(pulse_start_s, on_time_s[i], t_s, dt_s)
        if duty == 0.0:
            continue
        f = vector.scale(vector.load(th.direction_body, 0), duty * th.thrust_n)
        tq = vector.cross(vector.sub(vector.load(th.position_m, 0), com), f)
        fx += f[0]
        fy += f[1]
        fz += f[2]
        tx += tq[0]
        ty += tq[1]
        tz += tq[2]
        mdot += mass_flow_kgps(duty * th.thrust_n, th.isp_s)
    return (fx, fy, fz), (tx, ty, tz), mdot


class MainEngine(Strict):
    max_thrust: PositiveForce
    throttle_min: Number = Field(ge=0.0, le=1.0)
    throttle_max: Number = Field(gt=0.0, le=1.0)
    time_constant: PositiveTime
    isp: PositiveTime
    position: BodyVector
    misalignment: NonNegativeAngle = 0.0
    misalignment_azimuth: Angle = 0.0  # direction of the tilt, from body +x toward +y

    @model_validator(mode="after")
    def _range(self):
        if self.throttle_min > self.throttle_max:
            raise ValueError("throttle_min must not exceed throttle_max")
        return self


def _one_or_several_engines(value, handler, info):
    """A main-engine table, or a list of them (errors located in the table or the list)."""
    if isinstance(value, list | tuple):
        return TypeAdapter(tuple[MainEngine, ...]).validate_python(value, context=info.context)
    return MainEngine.model_validate(value, context=info.context)


class Thruster(Strict):
    position: BodyVector
    direction: Direction  # direction of the force on the vehicle, body axes
    thrust: PositiveForce
    isp: PositiveTime
    min_on_time: NonNegativeTime


class Rcs(Strict):
    thrusters: tuple[Thruster, ...] = Field(min_length=1, max_length=64)


class Propulsion(Strict):
    """The vehicle's engines: one main-engine table, or an array of tables for several engines
    (they share one throttle), and the RCS thrusters."""

    main_engine: Annotated[
        MainEngine | tuple[MainEngine, ...], WrapValidator(_one_or_several_engines)
    ]
    rcs: Rcs

    @property
    def engines(self):
        """The main engines as a tuple (one or several)."""
        e = self.main_engine
        return e if isinstance(e, tuple) else (e,)

    @model_validator(mode="after")
    def _engines_throttle_together(self):
        first, *others = self.engines
        for e in others:
            for name in ("throttle_min", "throttle_max", "time_constant"):
                if getattr(e, name) != getattr(first, name):
                    raise ValueError(
                        f"the main engines share one throttle: their {name} must be the same"
                    )
        return self


def pack_engine(engine):
    """ENGINE_DTYPE record of one main engine (its misalignment turned into its direction)."""
    a, az = engine.misalignment, engine.misalignment_azimuth
    direction = (math.sin(a) * math.cos(az), math.sin(a) * math.sin(az), math.cos(a))
    return record(
        ENGINE_DTYPE,
        max_thrust_n=engine.max_thrust,
        throttle_min=engine.throttle_min,
        throttle_max=engine.throttle_max,
        time_constant_s=engine.time_constant,
        isp_s=engine.isp,
        position_m=engine.position,
        direction_body=direction,
    )


def pack_thrusters(rcs):
    """THRUSTER_DTYPE rows of the RCS thrusters."""
    thrusters = np.zeros(len(rcs.thrusters), THRUSTER_DTYPE)
    for i, th in enumerate(rcs.thrusters):
        thrusters[i] = (th.position, th.direction, th.thrust, th.isp, th.min_on_time)
    return thrusters


ENGINE_DISPERSIBLE = {  # read back from the engine's ENGINE_DTYPE record
    "max_thrust": Dispersible("N", "max_thrust_n"),
    "isp": Dispersible("s", "isp_s"),
    "time_constant": Dispersible("s", "time_constant_s"),
    "misalignment": Dispersible("rad", lambda e: math.acos(min(1.0, e["direction_body"][2]))),
    "misalignment_azimuth": Dispersible(
        "rad", lambda e: math.atan2(e["direction_body"][1], e["direction_body"][0])
    ),
    "throttle_min": Dispersible("", "throttle_min"),
    "throttle_max": Dispersible("", "throttle_max"),
    "position": Dispersible("m", "position_m"),
}
