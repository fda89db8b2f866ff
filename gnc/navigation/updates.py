"""Measurement updates from the sensor bus: each measurement the flight software receives is
predicted by its channel's kind (through the kind's compiled entry point, with the flight
software's knowledge of the channel, its estimated pose and its onboard map), turned into the
filter's error-state Jacobian, gated and applied.

A measurement that arrives late is predicted at the estimated pose of its time of validity and
updates the current state (a back-propagated update, the approach of Larsen et al. 1998,
"Incorporation of time delayed measurements in a discrete-time Kalman filter", simplified):
over its age the position error carries the velocity error, dr(t - age) = dr - age dv, so
the Jacobian with respect to the current velocity error gains -age times the position one.
What is left out is of order age^2 (the attitude error's effect through the specific force,
the process noise since the time of validity): below a millimetre for a 2-s age.
tests/sensors/test_image_navigation.py checks that a fix delivered seconds late is as good as
an immediate one."""

import numpy as np
from numba import njit

from dynamics import gravity, plugins, quaternion, vector
from gnc.navigation import gating
from gnc.navigation.filter import DR, DTH, DV, N_ERR
from sensors import bus

# The flight software's side of a run's channel table.
FSW_CHANNEL_DTYPE = np.dtype(
    [
        ("spec_offset", np.int64),  # byte offset of its knowledge of the channel (kind's spec)
        ("predict_entry", np.int64),  # address of the kind's compiled predict entry point
        ("gate", gating.GATE_DTYPE),
    ],
    align=True,
)

UNUSABLE = -1  # verdict when the model cannot predict the measurement


@njit(cache=True)
def update(nav, known, gates, at, map_view, measurement, model, lost_variance_m2):
    """Predict one measurement with what is known of its channel (its channel record, the
    knowledge its spec offset points into) at = (pose, age_s): the estimate at the
    measurement's time of validity, age_s [s] ago; gate it (the gate states of every channel;
    lost_variance_m2 as `gating.process` takes it) and apply it; returns (verdict, NIS,
    dimension)."""
    channel, knowledge = known
    pose, age_s = at
    model.ground_offset_mcmf_m[:, :] = np.nan
    plugins.call(
        channel.predict_entry,
        (
            knowledge.ctypes.data + channel.spec_offset,
            bus.address_of(pose),
            bus.address_of(map_view),
            bus.address_of(measurement),
            bus.address_of(model),
        ),
    )
    if not model.usable:
        return UNUSABLE, 0.0, 0
    m = model.m
    h = nav.h
    for k in range(m):
        for j in range(N_ERR):
            h[k, j] = 0.0
        for j in range(3):
            h[k, DR + j] = model.j_position[k, j]
            h[k, DV + j] = model.j_velocity[k, j] - age_s * model.j_position[k, j]
            h[k, DTH + j] = model.j_attitude[k, j]
    verdict, nis = gating.process(
        channel.gate,
        gates,
        measurement.channel,
        nav,
        (model.innovation, h, model.noise_cov, m),
        measurement.t_s,
        lost_variance_m2,
    )
    return verdict, nis, m


@njit(cache=True)
def estimated_pose(p, state, t_s, age_s, field):
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
            gravity.acceleration_mci(field.params, field.c, field.s, r, t_s),
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
    bus.fill_pose(state.pose, t_s - age_s, r, v, q, w, com, field.params.rotation_rate_radps)
    cov = state.pose.position_cov_mci_m2
    for i in range(3):  # element by element: an array assignment compiles a shape check
        for j in range(3):
            cov[i, j] = nav.P[DR + i, DR + j]
