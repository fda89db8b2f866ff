"""A sensor kind defined outside the package, to prove the sensor-bus contract: a
barometric-style altimeter that reads the height of the centre of mass above a reference
sphere (a pressure altimeter's geopotential height, had the Moon an atmosphere), with white
noise. One module and one registry entry (`sensors.registry.register`) are all it takes."""

from typing import Literal

import numpy as np
from numba import njit

from dynamics import vector
from dynamics.units import NonNegativeLength, PositiveLength
from sensors import random_stream
from sensors.channel_spec import ChannelSpec

NAME = "barometric_altimeter"
DIMENSION = 1
UNIT = "m"


class Spec(ChannelSpec):
    kind: Literal["barometric_altimeter"]
    noise: NonNegativeLength
    datum_radius: PositiveLength  # radius of the reference sphere


SPEC_DTYPE = np.dtype([("noise_m", np.float64), ("datum_radius_m", np.float64)], align=True)
DISPERSIBLE = {"noise": ("m", "noise_m")}


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["noise_m"] = spec.noise
    record["datum_radius_m"] = spec.datum_radius
    return record


@njit(cache=True)
def sample(spec, pose, terrain, state, out):
    error = spec.noise_m * random_stream.standard_normal(state.stream)
    out.valid = True
    out.m = 1
    out.y[0] = vector.norm(vector.load(pose.r_mci_m, 0)) - spec.datum_radius_m + error
    out.sigma[0] = spec.noise_m
    out.noise[0] = error


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    r = vector.load(pose.r_mci_m, 0)
    up = vector.unit(r)
    out.usable = True
    out.m = 1
    out.innovation[0] = measurement.y[0] - (vector.norm(r) - spec.datum_radius_m)
    for i in range(3):
        out.j_position[0, i] = up[i]
        out.j_velocity[0, i] = 0.0
        out.j_attitude[0, i] = 0.0
    out.noise_cov[0, 0] = spec.noise_m**2
