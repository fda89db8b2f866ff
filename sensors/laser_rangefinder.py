"""Laser rangefinder: slant range along a body-fixed beam to the (true) terrain.

No return beyond the maximum valid range, or when the beam misses the ground, is reported
as invalid; valid ranges carry white noise with a constant and a range-proportional part.
"""

import numpy as np
from numba import njit

from dynamics import quaternion, terrain
from sensors import random_stream

RANGEFINDER_DTYPE = np.dtype(
    [
        ("every_steps", np.int64),
        ("beam_body", np.float64, (3,)),  # unit beam direction in body axes
        ("noise_m", np.float64),  # 1 sigma, constant part
        ("noise_fraction", np.float64),  # 1 sigma, proportional to range
        ("max_range_m", np.float64),
        ("ray_step_m", np.float64),  # smallest ray-marching step (finest terrain feature)
    ],
    align=True,
)


@njit(cache=True)
def measure(spec, site, tiles, heights, r_mcmf, q_body_to_mcmf, stream):
    """(valid, measured slant range [m])."""
    beam = quaternion.rotate(
        q_body_to_mcmf, (spec.beam_body[0], spec.beam_body[1], spec.beam_body[2])
    )
    rho = terrain.ray_cast(site, tiles, heights, r_mcmf, beam, spec.max_range_m, spec.ray_step_m)
    if rho < 0.0:
        return False, 0.0
    sigma = spec.noise_m + spec.noise_fraction * rho
    return True, rho + sigma * random_stream.standard_normal(stream)
