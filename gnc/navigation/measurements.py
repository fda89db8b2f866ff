"""Measurement models of the filter: predicted measurement, innovation and Jacobian.

The range model uses the flight software's own terrain knowledge (a smooth sphere at the
site's elevation, "flat", or an onboard elevation map), never the truth terrain: the caller
passes the onboard map. Jacobians are with respect to the error state of `filter`.
"""

import numpy as np
from numba import njit

from dynamics import frames, quaternion, terrain, vector
from gnc.navigation.filter import DR, DTH, N_ERR


@njit(cache=True)
def star_tracker(nav, q_measured, noise_rad):
    """(y, H, R) of a star-tracker attitude: y is the small rotation from the estimate to the
    measurement in body axes."""
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    e = quaternion.multiply(quaternion.conjugate(q), q_measured)
    sign = 1.0 if e[0] >= 0.0 else -1.0
    y = np.array([2.0 * sign * e[1], 2.0 * sign * e[2], 2.0 * sign * e[3]])
    h = np.zeros((3, N_ERR))
    r = np.zeros((3, 3))
    for i in range(3):
        h[i, DTH + i] = 1.0
        r[i, i] = noise_rad * noise_rad
    return y, h, r


@njit(cache=True)
def slant_range(
    nav,
    measured_m,
    beam_body,
    sigma_m,
    sigma_fraction,
    map_sigma_m,
    site,
    tiles,
    heights,
    t_s,
    rotation_rate_radps,
    max_range_m,
    ray_step_m,
):
    """(usable, y, H, R) of a slant range along beam_body, predicted by ray casting the onboard
    terrain from the estimated position. Unusable when the predicted beam misses the map.
    The noise adds the sensor's to the map's height error seen along the beam.

    For a locally planar surface with normal n hit at range rho along d:
    d rho / d r = -n / (n.d), d rho / d dtheta = rho (n_body x b) / (n.d).
    """
    r_mci = vector.load(nav.r_mci_m, 0)
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    b = vector.load(beam_body, 0)
    d_mci = quaternion.rotate(q, b)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, rotation_rate_radps)
    d_mcmf = frames.mci_to_mcmf(d_mci, t_s, rotation_rate_radps)
    rho = terrain.ray_cast(site, tiles, heights, r_mcmf, d_mcmf, max_range_m, ray_step_m)
    h = np.zeros((1, N_ERR))
    y = np.zeros(1)
    r = np.zeros((1, 1))
    if rho < 0.0:
        return False, y, h, r
    hit = vector.add(r_mcmf, vector.scale(d_mcmf, rho))
    n_mcmf = terrain.surface_normal(site, tiles, heights, hit)
    n_mci = frames.mcmf_to_mci(n_mcmf, t_s, rotation_rate_radps)
    nd = vector.dot(n_mci, d_mci)
    if nd > -1e-3:  # grazing or from below: no usable geometry
        return False, y, h, r
    n_body = quaternion.rotate_inverse(q, n_mci)
    dth = vector.cross(n_body, b)
    for i in range(3):
        h[0, DR + i] = -n_mci[i] / nd
        h[0, DTH + i] = rho * dth[i] / nd
    y[0] = measured_m - rho
    sigma = sigma_m + sigma_fraction * rho
    r[0, 0] = sigma * sigma + (map_sigma_m / nd) ** 2
    return True, y, h, r
