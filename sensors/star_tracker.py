"""Star tracker: the body attitude relative to the stars (MCI), with noise, at its own rate, and
only while the body rates are below its tracking limit."""

import numpy as np
from numba import njit

from dynamics import quaternion, vector
from sensors import random_stream

STAR_TRACKER_DTYPE = np.dtype(
    [
        ("every_steps", np.int64),
        ("noise_rad", np.float64),  # 1 sigma per axis
        ("max_rate_radps", np.float64),  # no solution above this body rate
    ],
    align=True,
)


@njit(cache=True)
def measure(spec, q_body_to_mci, w_body_radps, stream):
    """(valid, measured q_body_to_mci)."""
    if vector.norm(w_body_radps) > spec.max_rate_radps:
        return False, q_body_to_mci
    e = (
        spec.noise_rad * random_stream.standard_normal(stream),
        spec.noise_rad * random_stream.standard_normal(stream),
        spec.noise_rad * random_stream.standard_normal(stream),
    )
    dq = quaternion.normalize((1.0, 0.5 * e[0], 0.5 * e[1], 0.5 * e[2]))
    return True, quaternion.multiply(q_body_to_mci, dq)
