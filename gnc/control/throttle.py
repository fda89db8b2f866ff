"""Throttle: the guidance thrust acceleration turned into an engine throttle command, and the
flight software's own mass estimate (integrated from its commands, as a lander does)."""

from numba import njit

from dynamics import vector
from dynamics.constants import STANDARD_GRAVITY_MPS2


@njit(cache=True)
def command(thrust_accel_mps2, body_z, mass_est_kg, max_thrust_n, throttle_min, throttle_max):
    """Throttle for the part of the commanded thrust acceleration along the current thrust
    axis body_z (no thrust against the command while the attitude catches up), clipped to
    the engine's range."""
    along = vector.dot(thrust_accel_mps2, body_z)
    throttle = max(along, 0.0) * mass_est_kg / max_thrust_n
    return min(max(throttle, throttle_min), throttle_max)


@njit(cache=True)
def mass_used_kg(throttle, max_thrust_n, isp_s, duration_s):
    """Propellant [kg] the engine uses at a throttle over a duration."""
    return throttle * max_thrust_n / (isp_s * STANDARD_GRAVITY_MPS2) * duration_s
