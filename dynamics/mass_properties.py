"""Mass, centre of mass and inertia of the lander as its propellant is used.

The dry vehicle has fixed inertia and centre of mass; the propellant is a lumped body at its
tank centroid whose own inertia scales linearly with the propellant mass (a tank draining
uniformly). All quantities in body axes, about the current centre of mass.
"""

import numpy as np
from numba import njit

from dynamics import vector

MASS_DTYPE = np.dtype(
    [
        ("dry_mass_kg", np.float64),
        ("dry_com_m", np.float64, (3,)),
        ("dry_inertia_kgm2", np.float64, (3, 3)),  # about the dry centre of mass
        ("propellant_capacity_kg", np.float64),
        ("propellant_com_m", np.float64, (3,)),
        ("propellant_inertia_full_kgm2", np.float64, (3, 3)),  # about the tank centroid, full
    ],
    align=True,
)


@njit(cache=True)
def _add_parallel_axis(inertia, mass, point, com):
    """Add the parallel-axis term of a point mass at `point` about `com` [m] to inertia."""
    d = (point[0] - com[0], point[1] - com[1], point[2] - com[2])
    d2 = d[0] * d[0] + d[1] * d[1] + d[2] * d[2]
    for i in range(3):
        for j in range(3):
            inertia[i, j] += mass * ((d2 if i == j else 0.0) - d[i] * d[j])


@njit(cache=True, inline="always")
def evaluate(mp, mass_kg, com_out, inertia_out, inertia_inv_out):
    """Centre of mass [m], inertia and its inverse about it, for total mass mass_kg, in place."""
    m_dry = mp.dry_mass_kg
    m_prop = max(mass_kg - m_dry, 0.0)
    com = vector.weighted_mean(
        vector.load(mp.dry_com_m, 0), m_dry, vector.load(mp.propellant_com_m, 0), m_prop
    )
    for i in range(3):
        com_out[i] = com[i]
    fill = m_prop / mp.propellant_capacity_kg if mp.propellant_capacity_kg > 0.0 else 0.0
    for i in range(3):
        for j in range(3):
            inertia_out[i, j] = (
                mp.dry_inertia_kgm2[i, j] + fill * mp.propellant_inertia_full_kgm2[i, j]
            )
    _add_parallel_axis(inertia_out, m_dry, mp.dry_com_m, com_out)
    _add_parallel_axis(inertia_out, m_prop, mp.propellant_com_m, com_out)
    vector.invert3(inertia_out, inertia_inv_out)
