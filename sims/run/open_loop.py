"""The open loop (`sims.run.loop` without a flight software): the scenario's thrust schedule
(throttle and thrust direction in local downrange/crossrange/up axes against time) flown with
ideal attitude (the body set to the commanded attitude, rates zero) or an RCS attitude hold on
the true attitude (PD law, pulse-width modulation, minimum impulse bit).
"""

from numba import njit

from dynamics import frames, propulsion, vector
from dynamics.truth import X_Q, X_R, X_W
from gnc.interface import attitude_layer

ATTITUDE_IDEAL, ATTITUDE_RCS = 0, 1


@njit(cache=True)
def schedule_at(schedule, t_s):
    """Throttle and local thrust direction at t_s: linear between rows, held outside them."""
    n = schedule.shape[0]
    if t_s <= schedule[0].t_s:
        return schedule[0].throttle, vector.load(schedule[0].direction_local, 0)
    for k in range(n - 1):
        a, b = schedule[k], schedule[k + 1]
        if t_s < b.t_s:
            f = (t_s - a.t_s) / (b.t_s - a.t_s)
            d = vector.add(
                vector.scale(vector.load(a.direction_local, 0), 1.0 - f),
                vector.scale(vector.load(b.direction_local, 0), f),
            )
            return a.throttle + f * (b.throttle - a.throttle), d
    return schedule[n - 1].throttle, vector.load(schedule[n - 1].direction_local, 0)


@njit(cache=True)
def commanded_attitude(site, schedule, x, t_s, rotation_rate_radps):
    """(throttle, q_body_to_mci) the schedule asks for at t_s, at the lander's position."""
    throttle, d_local = schedule_at(schedule, t_s)
    r_mcmf = frames.mci_to_mcmf(vector.load(x, X_R), t_s, rotation_rate_radps)
    down, left, up = frames.local_track_axes(site, r_mcmf)
    d_mcmf = vector.add(
        vector.add(vector.scale(down, d_local[0]), vector.scale(left, d_local[1])),
        vector.scale(up, d_local[2]),
    )
    d_mci = frames.mcmf_to_mci(d_mcmf, t_s, rotation_rate_radps)
    left_mci = frames.mcmf_to_mci(left, t_s, rotation_rate_radps)
    return throttle, attitude_layer.pointing_quaternion(d_mci, left_mci)


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def command(views, carried, x, t_s, q_true):
    """The schedule's command at a control tick t_s: throttle, attitude and, under the RCS
    hold, the on-times of the coming period (into carried and views.on_time)."""
    run = views.run
    throttle, q_cmd = commanded_attitude(views.tt.site, views.schedule, x, t_s, views.omega)
    carried.throttle_command = throttle
    for i in range(4):
        carried.q_command[i] = q_cmd[i]
    carried.setpoint = propulsion.throttle_setpoint(views.engines[0], throttle)
    if run.attitude_mode == ATTITUDE_RCS:
        layer = views.layer
        tq = attitude_layer.torque_command(layer[0], q_true, vector.load(x, X_W), q_cmd)
        attitude_layer.on_times(
            tq,
            layer[1],
            layer[2],
            views.period_s,
            run.rcs_min_on_time_s,
            views.rcs_carried,
            views.on_time,
        )
        carried.pulse_start_s = t_s


@njit(cache=True, inline="always")  # takes the run's views: no call per step
def hold_attitude(views, carried, x):
    """Under ideal attitude the body is where the schedule points it, its rates zero."""
    if views.run.attitude_mode == ATTITUDE_IDEAL:
        for i in range(4):
            x[X_Q + i] = carried.q_command[i]
        for i in range(3):
            x[X_W + i] = 0.0
