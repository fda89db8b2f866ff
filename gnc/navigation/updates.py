"""Measurement updates from the sensor bus: each measurement the flight software receives is
predicted by its channel's kind (through the kind's compiled entry point, with the flight
software's knowledge of the channel, its estimated pose and its onboard map), turned into the
filter's error-state Jacobian, gated and applied."""

import numpy as np
from numba import njit

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
def update(nav, channel, gate_state, knowledge, pose, onboard_map_view, measurement, model):
    """Predict, gate and apply one measurement; returns (verdict, NIS, dimension)."""
    bus.call_entry(
        channel.predict_entry,
        knowledge.ctypes.data + channel.spec_offset,
        bus.address_of(pose),
        bus.address_of(onboard_map_view),
        bus.address_of(measurement),
        bus.address_of(model),
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
            h[k, DV + j] = model.j_velocity[k, j]
            h[k, DTH + j] = model.j_attitude[k, j]
    verdict, nis = gating.process(
        channel.gate, gate_state, nav, model.innovation, h, model.noise_cov, m
    )
    return verdict, nis, m
