"""What the actuators really do, estimated from the IMU: the main engines' thrust as a share of
what the flight software believes (an engine lost, thrust higher than modelled), and a
disturbance torque that grows with the thrust (an engine lost off the axis, one misaligned),
which the attitude control then cancels.

Each control cycle, from the last IMU sample (bias removed):
- thrust scale: the specific force along the thrust axis over what the last throttle command
  gives at the believed thrust and the estimated mass, while that is a meaningful
  acceleration;
- disturbance torque per unit throttle: Euler's equation, I dw/dt + w x I w, less the torque
  the RCS was commanded to give over the last control period, over the last throttle (a
  disturbance observer: Chen et al. 2016, IEEE Trans. Industrial Electronics 63(2),
  "Disturbance-observer-based control and related methods - an overview"; per unit throttle
  because the torques it is for come with the thrust: with the engine cut at touchdown the
  RCS must not go on pushing against one that is gone);
each, while the engine gives a meaningful acceleration, through a first-order filter of the
scenario's time constant, which averages the IMU's noise, the RCS's pulses and the engine's
lag out and is how long the estimate takes to follow a change. The throttle then asks for
thrust over the scale, the RCS for the PD torque less the disturbance at the throttle
commanded. Inertia is the flight software's (at PDI); what it has wrong of the inertia and
the RCS's torques is part of the disturbance it estimates.
"""

import numpy as np
from numba import njit

from dynamics import vector

ESTIMATE_DTYPE = np.dtype(
    [
        ("thrust_scale", np.float64),  # true thrust over believed
        ("torque_per_throttle_nm", np.float64, (3,)),  # disturbance, body axes
        ("rate_radps", np.float64, (3,)),  # body rate at the last cycle
        ("rcs_torque_nm", np.float64, (3,)),  # commanded over the last control period
        ("throttle", np.float64),  # the last throttle command
        ("believed_accel_mps2", np.float64),  # what it should give, at scale 1
        ("primed", np.bool_),  # a rate of the last cycle to difference against
    ],
    align=True,
)

# Thrust accelerations below this [m/s^2] (the engine off, at minimum throttle of a heavy
# lander) say too little about its scale next to the RCS's and the IMU's share.
MIN_THRUST_ACCEL_MPS2 = 0.5
SCALE_RANGE = (0.1, 10.0)  # no estimate leaves the throttle computation this far


@njit(cache=True)
def reset(estimate):
    """Believe the actuators: scale 1, no disturbance, no rate history."""
    estimate.thrust_scale = 1.0
    estimate.primed = False
    estimate.throttle = 0.0
    estimate.believed_accel_mps2 = 0.0
    for i in range(3):
        estimate.torque_per_throttle_nm[i] = 0.0
        estimate.rcs_torque_nm[i] = 0.0


@njit(cache=True)
def update(estimate, specific_force_z_mps2, rate_radps, inertia_kgm2, period_s, time_constant_s):
    """One cycle's update from the IMU's last specific force along body z [m/s^2] and body
    rate [rad/s] (3-tuple), with the principal inertia [kg m^2] the software knows."""
    gain = min(1.0, period_s / time_constant_s)
    believed = estimate.believed_accel_mps2
    if estimate.primed and believed > MIN_THRUST_ACCEL_MPS2:
        seen = min(max(specific_force_z_mps2 / believed, SCALE_RANGE[0]), SCALE_RANGE[1])
        estimate.thrust_scale += gain * (seen - estimate.thrust_scale)
        momentum = (
            inertia_kgm2[0] * rate_radps[0],
            inertia_kgm2[1] * rate_radps[1],
            inertia_kgm2[2] * rate_radps[2],
        )
        gyroscopic = vector.cross(rate_radps, momentum)
        per_throttle = estimate.torque_per_throttle_nm
        for i in range(3):
            change = (rate_radps[i] - estimate.rate_radps[i]) / period_s
            torque = inertia_kgm2[i] * change + gyroscopic[i] - estimate.rcs_torque_nm[i]
            per_throttle[i] += gain * (torque / estimate.throttle - per_throttle[i])
    for i in range(3):
        estimate.rate_radps[i] = rate_radps[i]
    estimate.primed = True


@njit(cache=True)
def disturbance_torque(estimate, throttle):
    """The disturbance torque [N m] (body axes) expected at a throttle."""
    return vector.scale(vector.load(estimate.torque_per_throttle_nm, 0), throttle)


@njit(cache=True)
def record_commands(estimate, throttle, max_thrust_n, mass_kg, rcs_torques_nm, on_time_s, period_s):
    """Keep what this cycle commanded (the throttle, the thrusters' on-times [s] over the
    control period) for the next cycle's update."""
    estimate.throttle = throttle
    estimate.believed_accel_mps2 = throttle * max_thrust_n / mass_kg
    for k in range(3):
        acc = 0.0
        for i in range(on_time_s.shape[0]):
            acc += rcs_torques_nm[k, i] * on_time_s[i]
        estimate.rcs_torque_nm[k] = acc / period_s
