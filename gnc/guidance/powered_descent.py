"""Closed-form powered-descent guidance: the A2PDG family (Lu, "Augmented Apollo Powered
Descent Guidance", JGCD 42(3), 2019).

Commanded total acceleration, re-evaluated every guidance cycle, with time to go t:

    a = (2/t)(1 - k/3)(v_f - v) + (k/t^2)(r_f - r - v t) + (k/6 - 1) a_f

k = 6 is E-guidance / ZEM-ZEV (target position and velocity; a_f free), k = 12 the Apollo
lunar-descent law (Klumpp 1974; also targets the final acceleration a_f). The thrust
acceleration is a - g. Vectors are in the flight software's curvilinear guidance coordinates
(downrange, crossrange, height from the site; see `gnc.guidance.phases.guidance_state`),
where the curvature and rotation terms are folded into g.

The two laws are the bundled guidance-law plug-ins `e_guidance` and `apollo` (`laws`), whose
modules hold their gain and schema and fly `command` here. Their time to go is chosen by
`laws.select_time_to_go`.
"""

import math

import numpy as np
from numba import njit

from dynamics import vector
from dynamics.units import NonNegativeTime
from dynamics.views import record
from gnc.guidance import laws


@njit(cache=True, inline="always")
def _coefficients(k, t_go):
    """The law's coefficients on the velocity error, the zero-effort miss and a_f."""
    return 2.0 / t_go * (1.0 - k / 3.0), k / (t_go * t_go), k / 6.0 - 1.0


@njit(cache=True)
def acceleration(k, r, v, r_f, v_f, a_f, t_go):
    """Total acceleration command [m/s^2] of the A2PDG law with gain k."""
    c_v, c_r, c_a = _coefficients(k, t_go)
    return (
        c_v * (v_f[0] - v[0]) + c_r * (r_f[0] - r[0] - v[0] * t_go) + c_a * a_f[0],
        c_v * (v_f[1] - v[1]) + c_r * (r_f[1] - r[1] - v[1] * t_go) + c_a * a_f[1],
        c_v * (v_f[2] - v[2]) + c_r * (r_f[2] - r[2] - v[2] * t_go) + c_a * a_f[2],
    )


@njit(cache=True)
def holding_position(k, r, v, r_f, v_f, a_f, t_go):
    """r_f with its horizontal components where the law, from (r, v), flies the horizontal
    velocity to v_f at constant acceleration (v_f - v) / t_go: the horizontal position is no
    longer chased. Late in a phase a navigation update that moves the estimate by d asks
    k d / t_go^2 of the law (60 deg of tilt for 20 m at 5 s, then a terminal phase that cannot
    null the speed it leaves); held, it asks nothing, and the lander lands off by d."""
    c_v, c_r, c_a = _coefficients(k, t_go)
    held = [0.0, 0.0]
    for i in range(2):
        dv = v_f[i] - v[i]
        miss = (dv / t_go - c_v * dv - c_a * a_f[i]) / c_r
        held[i] = r[i] + v[i] * t_go + miss
    return (held[0], held[1], r_f[2])


@njit(cache=True)
def thrust_acceleration(k, r, v, r_f, v_f, a_f, g, t_go):
    """Thrust acceleration [m/s^2] (total command minus gravity g)."""
    return vector.sub(acceleration(k, r, v, r_f, v_f, a_f, t_go), g)


class Target(laws.PhaseTarget):
    """A phase table flown by an A2PDG law: for this long before the phase ends the
    horizontal position is not chased, only the velocity (`holding_position`)."""

    position_hold: NonNegativeTime = 0.0


PARAMS_DTYPE = np.dtype(
    [
        ("k", np.float64),  # the law's gain: 6 E-guidance, 12 Apollo
        ("acceleration_mps2", np.float64, (3,)),  # target acceleration (used by k != 6)
        ("position_hold_s", np.float64),
    ],
    align=True,
)


def pack(k, spec):
    """The params record of an A2PDG law of gain k for a phase table."""
    return record(
        PARAMS_DTYPE,
        k=k,
        acceleration_mps2=getattr(spec, "acceleration", (0.0, 0.0, 0.0)),
        position_hold_s=spec.position_hold,
    )


@njit(cache=True)
def command(params, guidance):
    """An A2PDG law's entry point (`laws`): the thrust acceleration to the target, the
    horizontal position held over the phase's last position_hold_s (not in a prediction)."""
    k, t_go = params.k, guidance.t_go_s
    r, v = vector.load(guidance.r_m, 0), vector.load(guidance.v_mps, 0)
    r_f, v_f = vector.load(guidance.target_r_m, 0), vector.load(guidance.target_v_mps, 0)
    a_f = vector.load(params.acceleration_mps2, 0)
    if not guidance.predicting and t_go < params.position_hold_s:
        r_f = holding_position(k, r, v, r_f, v_f, a_f, t_go)
    u = thrust_acceleration(k, r, v, r_f, v_f, a_f, vector.load(guidance.g_mps2, 0), t_go)
    for i in range(3):
        guidance.u_mps2[i] = u[i]


@njit(cache=True)
def terminal_acceleration(v, descent_rate_mps, horizontal_gain, vertical_gain):
    """Total acceleration command [m/s^2] of the terminal phase (x, y horizontal, z up): null
    the horizontal velocity and hold a constant descent rate, each a first-order loop.
    Position is not chased: a navigation update that moves the estimate must not make the
    lander translate near the ground (Apollo P66 flew rate of descent the same way)."""
    return (
        -horizontal_gain * v[0],
        -horizontal_gain * v[1],
        vertical_gain * (-descent_rate_mps - v[2]),
    )


@njit(cache=True)
def limit_tilt(u, max_tilt_rad):
    """Thrust acceleration u tilted at most max_tilt_rad from the site vertical (+z), keeping
    its vertical part: the vertical-speed loop wins over horizontal corrections."""
    horizontal = math.hypot(u[0], u[1])
    limit = max(u[2], 0.0) * math.tan(max_tilt_rad)
    if horizontal <= limit or horizontal == 0.0:
        return u
    f = limit / horizontal
    return (u[0] * f, u[1] * f, u[2])
