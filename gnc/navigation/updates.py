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

from dynamics import plugins
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
def update(
    nav,
    channel,
    gates,
    index,
    knowledge,
    pose,
    map_view,
    measurement,
    age_s,
    model,
    lost_variance_m2,
):
    """Predict at pose (the estimate at the measurement's time of validity, age_s [s] ago),
    gate (channel `index` of the gate states; lost_variance_m2 as `gating.process` takes
    it) and apply one measurement; returns (verdict, NIS, dimension)."""
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
        index,
        nav,
        model.innovation,
        h,
        model.noise_cov,
        m,
        measurement.t_s,
        lost_variance_m2,
    )
    return verdict, nis, m
