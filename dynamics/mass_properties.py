"""Mass, centre of mass and inertia of the lander as its propellant is used.

The dry vehicle has fixed inertia and centre of mass; the propellant is a lumped body at its
tank centroid whose own inertia scales linearly with the propellant mass (a tank draining
uniformly). All quantities in body axes, about the current centre of mass.

The `[vehicle]` section's masses, centres of mass and inertias (`MassSection`) are packed here
(`pack`) and dispersed per field (`DISPERSIBLE`, read back from the packed run).
"""

import numpy as np
from numba import njit
from pydantic import model_validator

from dynamics import vector
from dynamics.units import (
    BodyVector,
    Dispersible,
    InertiaVector,
    NonNegativeMass,
    PositiveMass,
    Strict,
)
from dynamics.views import record

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


class MassSection(Strict):
    """The vehicle's mass properties: the dry vehicle, and the propellant as a tank."""

    dry_mass: PositiveMass
    propellant_mass: NonNegativeMass  # at PDI
    propellant_capacity: PositiveMass  # full tank, for the propellant's inertia
    dry_com: BodyVector
    dry_inertia: InertiaVector  # principal moments about the dry centre of mass
    propellant_com: BodyVector
    propellant_inertia: InertiaVector  # full tank, about its centroid

    @model_validator(mode="after")
    def _fits_tank(self):
        if self.propellant_mass > self.propellant_capacity:
            raise ValueError("propellant_mass must not exceed propellant_capacity")
        return self


def pack(vehicle):
    """MASS_DTYPE record of a vehicle section."""
    return record(
        MASS_DTYPE,
        dry_mass_kg=vehicle.dry_mass,
        dry_com_m=vehicle.dry_com,
        dry_inertia_kgm2=np.diag(vehicle.dry_inertia),
        propellant_capacity_kg=vehicle.propellant_capacity,
        propellant_com_m=vehicle.propellant_com,
        propellant_inertia_full_kgm2=np.diag(vehicle.propellant_inertia),
    )


def at_mass(mass, total_mass_kg):
    """(centre of mass [m], inertia [kg m^2]) of a MASS_DTYPE record at a total mass."""
    com, inertia = np.zeros(3), np.zeros((3, 3))
    evaluate(mass, total_mass_kg, com, inertia, np.zeros((3, 3)))
    return com, inertia


def _diagonal(field):
    return lambda run: tuple(float(v) for v in np.diag(run.mass[field]))


# Read back from the packed run: its mass record (`run.mass`) and its mass at PDI
# (`run.pdi_mass_kg`, for the propellant loaded).
DISPERSIBLE = {
    "dry_mass": Dispersible("kg", lambda run: float(run.mass["dry_mass_kg"])),
    "propellant_mass": Dispersible(
        "kg", lambda run: float(run.pdi_mass_kg - run.mass["dry_mass_kg"])
    ),
    "dry_com": Dispersible("m", lambda run: tuple(float(v) for v in run.mass["dry_com_m"])),
    "dry_inertia": Dispersible("kg m2", _diagonal("dry_inertia_kgm2")),
    "propellant_capacity": Dispersible("kg", lambda run: float(run.mass["propellant_capacity_kg"])),
    "propellant_com": Dispersible(
        "m", lambda run: tuple(float(v) for v in run.mass["propellant_com_m"])
    ),
    "propellant_inertia": Dispersible("kg m2", _diagonal("propellant_inertia_full_kgm2")),
}
