"""Shared builders for the records the compiled models take."""

import numpy as np
from hypothesis import settings

from dynamics import gravity, mass_properties, propulsion
from dynamics.constants import MOON_GM_M3PS2, MOON_GRAVITY_REFERENCE_RADIUS_M
from dynamics.views import record

# Property tests: repeatable in CI, and no per-example deadline (the first example of a test
# may include loading compiled code from the Numba cache).
settings.register_profile("repeatable", derandomize=True, deadline=None)
settings.load_profile("repeatable")

NO_HARMONICS = np.zeros((1, 1))


def gravity_record(gm=MOON_GM_M3PS2, j2=0.0, degree=0, rotation=0.0, gradient_torque=False):
    return record(
        gravity.GRAVITY_DTYPE,
        gm_m3ps2=gm,
        reference_radius_m=MOON_GRAVITY_REFERENCE_RADIUS_M,
        j2=j2,
        rotation_rate_radps=rotation,
        harmonics_degree=degree,
        gravity_gradient_torque=gradient_torque,
    )


def mass_record(dry_kg=340.0, inertia=(300.0, 320.0, 350.0), capacity_kg=360.0):
    return record(
        mass_properties.MASS_DTYPE,
        dry_mass_kg=dry_kg,
        dry_inertia_kgm2=np.diag(inertia),
        propellant_capacity_kg=capacity_kg,
    )


def engine_record(max_thrust=2500.0, isp=320.0, tau=0.1, position=(0, 0, 0), direction=(0, 0, 1)):
    return record(
        propulsion.ENGINE_DTYPE,
        max_thrust_n=max_thrust,
        throttle_min=0.2,
        throttle_max=1.0,
        time_constant_s=tau,
        isp_s=isp,
        position_m=position,
        direction_body=direction,
    )
