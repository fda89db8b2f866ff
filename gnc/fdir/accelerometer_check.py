"""The accelerometer checked against the engine (`[flight_software.accelerometer_check]`):
failed once it reads, along the thrust axis, under `fraction` of the modelled thrust
acceleration (the command through the engine's lag, the thrust the software believes, the
estimated mass) for `time` (a unit never switched on, a dead channel). At the failure the
increments it missed while suspect are added to the velocity, and the filter's error states
of the accelerometer become the thrust model's: no bias, its scale factor and its
misalignments along the thrust axis of 1 sigma `thrust_scale` and `thrust_misalignment`, for
the filter to estimate from its other sensors; from then on the thrust model's increments
stand in for the accelerometer's, and its velocity random walk `thrust_noise` is added to the
covariance. An FDIR function (`gnc.fdir.registry`), at the `imu` hook."""

import math

import numpy as np
from numba import njit
from pydantic import Field

from dynamics import quaternion
from dynamics.units import NonNegativeAngle, Number, PositiveTime, Strict, VelocityRandomWalk
from dynamics.views import record
from gnc import flight_software
from gnc.interface import contract, flight_log
from gnc.navigation import filter as ekf

NAME = "accelerometer_check"
HOOKS = ("imu",)


class Spec(Strict):
    fraction: Number = Field(default=0.2, gt=0.0, lt=1.0)
    time: PositiveTime = 0.5
    thrust_scale: Number = Field(default=0.03, gt=0.0)
    thrust_misalignment: NonNegativeAngle = 0.008726646259971648  # 0.5 deg
    thrust_noise: VelocityRandomWalk = 0.02  # the model's velocity random walk [m/s/sqrt(s)]


PARAMS_DTYPE = np.dtype(
    [
        ("fraction", np.float64),
        ("time_s", np.float64),
        ("scale_sigma", np.float64),
        ("misalignment_sigma_rad", np.float64),
        ("noise", np.float64),
    ],
    align=True,
)
STATE_DTYPE = np.dtype(
    [
        ("throttle_modelled", np.float64),  # the engine's throttle, the command lagged
        ("suspect_s", np.float64),  # how long it has read too little
        ("missed_mci", np.float64, (3,)),  # the velocity change it did not see meanwhile
    ],
    align=True,
)


def configure(spec, context):
    return record(
        PARAMS_DTYPE,
        fraction=spec.fraction,
        time_s=spec.time,
        scale_sigma=spec.thrust_scale,
        misalignment_sigma_rad=spec.thrust_misalignment,
        noise=spec.thrust_noise,
    )


@njit(cache=True)
def reset(params, state, config, fsw):
    pass  # what it found survives a reset


@njit(cache=True)
def update(params, state, config, fsw, io):
    """The increment the strapdown takes (io.dv_body_mps over io.interval_s, which began at
    io.t_s): the accelerometer's, or, once it failed, the thrust model's."""
    p, nav = config.settings, fsw.nav
    interval_s = io.interval_s
    lag = 1.0 - math.exp(-interval_s / max(p.engine_time_constant_s, 1e-6))
    state.throttle_modelled += (fsw.throttle_command - state.throttle_modelled) * lag
    accel = flight_software.thrust_acceleration(p, fsw, state.throttle_modelled)
    modelled = accel * interval_s
    if fsw.accelerometer_failed:
        _replace(io, modelled)
        return
    measured = io.dv_body_mps[2] - nav.accel_bias_mps2[2] * interval_s
    if accel > 0.0 and measured < params.fraction * modelled:
        state.suspect_s += interval_s
        q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
        missed = quaternion.rotate(q, (0.0, 0.0, modelled - measured))
        for i in range(3):
            state.missed_mci[i] += missed[i]
    else:
        state.suspect_s = 0.0
        for i in range(3):
            state.missed_mci[i] = 0.0
    if state.suspect_s < params.time_s:
        return
    fsw.accelerometer_failed = True
    fsw.thrust_model_noise = params.noise
    events, n_events = contract.event_log(io)
    flight_log.log(events, n_events, io.t_s, flight_log.ACCELEROMETER_FAILED, 0, accel)
    missed_speed = 0.0
    for i in range(3):
        nav.v_mci_mps[i] += state.missed_mci[i]
        missed_speed += state.missed_mci[i] ** 2
    sigmas = (
        0.0,
        0.0,
        0.0,
        params.misalignment_sigma_rad,
        params.misalignment_sigma_rad,
        params.scale_sigma,
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
        nav.P[ekf.DV + i, ekf.DV + i] += missed_speed * params.scale_sigma**2
    _replace(io, modelled)


@njit(cache=True)
def _replace(io, modelled_mps):
    """The thrust model's increment, along the thrust axis, for the strapdown."""
    io.dv_body_mps[0] = 0.0
    io.dv_body_mps[1] = 0.0
    io.dv_body_mps[2] = modelled_mps
