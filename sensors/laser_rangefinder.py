"""Laser rangefinder (sensor kind 'laser_rangefinder'): slant range along a body-fixed beam from
the sensor to the terrain, a pulse's time of flight.

A return is valid only when its received power clears the receiver's sensitivity (the lidar
equation of `sensors.lidar_return`: laser power, optics, aperture, the surface's albedo and
incidence, range), so the longest valid range shrinks with a weaker laser or darker, steeper
ground; no return, or a beam that misses the ground: the sample is invalid. The range is the
centroid of the return over the beam's footprint; its noise follows the signal (a floor, and
jitter inversely proportional to the received power). The filter's model is
`sensors.terrain_range.ray_range`, honest about the onboard map.
"""

from typing import Literal

import numpy as np
from numba import njit

from dynamics import vector
from dynamics.units import Direction
from sensors import bus, lidar_return
from sensors.channel_spec import ChannelSpec

NAME = "laser_rangefinder"
DIMENSION = 1
UNIT = "m"
MEASURES_ALTITUDE = True  # its value is a distance to the ground (`sims.analysis.failure_class`)


class Spec(ChannelSpec, lidar_return.Link):
    kind: Literal["laser_rangefinder"]
    beam: Direction  # body axes


SPEC_DTYPE = np.dtype(
    [
        ("position_body_m", np.float64, (3,)),
        ("beam_body", np.float64, (3,)),  # unit beam direction in body axes
        *lidar_return.LINK_FIELDS,
    ],
    align=True,
)

DISPERSIBLE = lidar_return.LINK_DISPERSIBLE


def pack(spec):
    record = np.zeros(1, SPEC_DTYPE)[0]
    record["position_body_m"] = spec.position
    record["beam_body"] = spec.beam
    lidar_return.pack_link(spec, record)
    return record


@njit(cache=True)
def sample(spec, pose, terrain_truth, state, out):
    position = vector.load(spec.position_body_m, 0)
    beam = vector.load(spec.beam_body, 0)
    rho, signal = lidar_return.footprint_return(
        spec, pose, terrain_truth, position, beam, state.performance
    )
    out.m = 1
    if rho < 0.0:
        out.valid = False
        out.y[0] = np.nan
        return
    sigma = lidar_return.range_sigma_m(spec, signal)
    out.valid = True
    bus.put_value(out, 0, rho, sigma, sigma, state.stream)


@njit(cache=True)
def predict(spec, pose, onboard_map, measurement, out):
    out.m = 1
    beam = (vector.load(spec.position_body_m, 0), vector.load(spec.beam_body, 0))
    out.usable = lidar_return.model_range(spec, pose, onboard_map, beam, measurement, 0, out, 0)
