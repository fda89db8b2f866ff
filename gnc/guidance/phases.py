"""Our flight software's phases in guidance coordinates: the estimated state in the curvilinear
coordinates the guidance laws fly in (`guidance_state`), entering a phase and planning its
time to go (`start_phase`), a guided phase's target, the terminal descent's rate and its
divert to a site hazard avoidance chose.
"""

import math

from numba import njit

from dynamics import frames, gravity, terrain, vector
from gnc.guidance import laws
from gnc.interface import flight_log


@njit(cache=True)
def guidance_state(nav, site, field, t_s):
    """The estimated state in guidance coordinates, and the local axes they use.

    Guidance coordinates are curvilinear: downrange and crossrange distances along the ground
    track from the site, and height above the site's radius, with velocity components along
    the local (downrange, crossrange, up) axes at the lander. In them the laws' flat-Moon
    kinematics hold once the apparent accelerations of the curved, rotating frame are added
    to gravity: centrifugal relief v_h^2 / r upward, the turning of the local vertical
    (-v_x v_z / r, -v_y v_z / r), and the Moon's Coriolis and centrifugal terms.
    Returns (position, velocity, effective gravity, (down, left, up) axes in MCMF).
    """
    grav, c, s = field
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
def start_phase(p, state, phase, t_s, site_state, log, altitude_est):
    """Enter a phase at t_s from site_state = (r, v, g) in guidance coordinates; a guided
    phase plans its time to go on its design throttle, or, restarted after a reset, on the
    engine's full range."""
    replan = state.started and phase == state.phase
    state.phase = phase
    state.started = True
    events, n_events = log
    flight_log.log(events, n_events, t_s, flight_log.PHASE_CHANGE, phase, altitude_est)
    if phase == flight_log.BRAKING or phase == flight_log.APPROACH:
        tgt = p.braking if phase == flight_log.BRAKING else p.approach
        t_go = laws.select_time_to_go(
            (tgt.law, tgt.params, state.guidance),
            site_state,
            (target_position(state, phase, tgt), vector.load(tgt.velocity_mps, 0)),
            (state.mass_est_kg, p.max_thrust_n, p.isp_s),
            p.throttle_max if replan else tgt.throttle_design,
            (2.0 * p.handover_time_s, 3000.0),
        )
        state.phase_end_s = t_s + t_go


@njit(cache=True)
def target_position(state, phase, tgt):
    """A guided phase's target position (guidance coordinates): the approach's low gate
    raised by this approach's low_gate_raise_m, over the site hazard avoidance moved it to."""
    r = vector.load(tgt.position_m, 0)
    if phase == flight_log.APPROACH:
        offset = state.site_offset_m
        return (r[0] + offset[0], r[1] + offset[1], r[2] + state.low_gate_raise_m)
    return r


@njit(cache=True)
def terminal_rate(p, state, altitude_est):
    """The terminal descent's rate [m/s]: the land-now rate once landing now, none while it
    hovers for hazard avoidance, the raise's rate while above the configured low gate after a
    raise, else the configured rate."""
    if state.landing_now:
        return state.land_now_rate_mps
    if state.hover_hold:
        return 0.0
    if state.low_gate_raise_m > 0.0 and altitude_est > p.approach.position_m[2]:
        return state.raise_rate_mps
    return p.terminal_descent_rate_mps


@njit(cache=True)
def divert_velocity(state, r_site, v_site):
    """The terminal descent's velocity to null (guidance coordinates): its own, or, diverting
    to a site hazard avoidance chose, its excess over a first-order approach to the site at
    most divert_speed_mps, to touchdown (the site is small: a drift of a metre may put a pad
    on the rock it avoided)."""
    if not state.divert_active:
        return v_site
    ex, ey = state.site_offset_m[0] - r_site[0], state.site_offset_m[1] - r_site[1]
    distance = math.hypot(ex, ey)
    if distance == 0.0:
        return v_site
    speed = min(state.divert_gain_ps * distance, state.divert_speed_mps)
    return (v_site[0] - speed * ex / distance, v_site[1] - speed * ey / distance, v_site[2])
