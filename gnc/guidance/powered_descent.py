"""Closed-form powered-descent guidance: the A2PDG family (Lu, "Augmented Apollo Powered
Descent Guidance", JGCD 42(3), 2019).

Commanded total acceleration, re-evaluated every guidance cycle, with time to go t:

    a = (2/t)(1 - k/3)(v_f - v) + (k/t^2)(r_f - r - v t) + (k/6 - 1) a_f

k = 6 is E-guidance / ZEM-ZEV (target position and velocity; a_f free), k = 12 the Apollo
lunar-descent law (Klumpp 1974; also targets the final acceleration a_f). The thrust
acceleration is a - g. Vectors are in the flight software's curvilinear guidance coordinates
(downrange, crossrange, height from the site; see `gnc.flight_software.guidance_state`),
where the curvature and rotation terms are folded into g.

Time to go is chosen at the start of each phase as the shortest for which the law's own
predicted flight never asks for more than a design throttle (margin for dispersions), then it
counts down; a few seconds before t = 0, where the law becomes singular, the next phase takes
over from the state reached (the residual is small by then).
"""

import math

from numba import njit

from dynamics import vector
from dynamics.constants import STANDARD_GRAVITY_MPS2

LAWS = {"e_guidance": 6.0, "apollo": 12.0}


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


@njit(cache=True)
def peak_throttle(k, r, v, r_f, v_f, a_f, g, t_go, mass_kg, max_thrust_n, isp_s, n_steps=24):
    """Largest throttle the law would ask for on its own predicted flight to the target in
    t_go, up to the hand-over (constant gravity, mass falling with the thrust)."""
    dt = 0.9 * t_go / n_steps
    peak = 0.0
    for i in range(n_steps):
        u = thrust_acceleration(k, r, v, r_f, v_f, a_f, g, t_go - i * dt)
        un = vector.norm(u)
        peak = max(peak, un * mass_kg / max_thrust_n)
        a = vector.add(u, g)
        r = vector.add(r, vector.add(vector.scale(v, dt), vector.scale(a, 0.5 * dt * dt)))
        v = vector.add(v, vector.scale(a, dt))
        mass_kg -= mass_kg * un / (isp_s * STANDARD_GRAVITY_MPS2) * dt
    return peak


@njit(cache=True)
def select_time_to_go(
    k, r, v, r_f, v_f, a_f, g, mass_kg, max_thrust_n, isp_s, throttle_design, t_min_s, t_max_s
):
    """Shortest time to go [s] in [t_min_s, t_max_s] whose predicted flight never asks for
    more than throttle_design (geometric scan, then bisection). When no time is that gentle,
    the time with the lowest predicted peak: the engine then saturates as little as it can.

    The shortest feasible time is the most propellant-efficient one here (least gravity loss)
    and leaves the design margin for dispersions.
    """

    def peak(t):
        return peak_throttle(k, r, v, r_f, v_f, a_f, g, t, mass_kg, max_thrust_n, isp_s)

    prev, t = t_min_s, t_min_s
    best_t, best_peak = t_min_s, math.inf
    while True:
        p = peak(t)
        if p <= throttle_design:
            break
        if p < best_peak:
            best_t, best_peak = t, p
        if t >= t_max_s:
            return best_t
        prev = t
        t = min(t * 1.02, t_max_s)
    if t == t_min_s:
        return t
    lo, hi = prev, t
    while hi - lo > 1e-2:
        mid = 0.5 * (lo + hi)
        if peak(mid) <= throttle_design:
            hi = mid
        else:
            lo = mid
    return hi


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
