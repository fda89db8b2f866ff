"""What the actuators really do, estimated from the IMU (`[flight_software.actuator_estimation]`,
`gnc.control.actuator_estimation`): the main engines' thrust against what the software
believes, and the disturbance torque that comes with it (an engine lost off the axis), each
a first-order filter of `time_constant`; the throttle then asks for the thrust over the scale,
the RCS for the PD torque less the disturbance. Not while the thrust model stands in for a
failed accelerometer (it would estimate the model). An FDIR function (`gnc.fdir.registry`):
the estimate at the `control` hook, the commands it is read against at `commands`."""

import numpy as np
from numba import carray, njit

from dynamics import vector
from dynamics.units import PositiveTime, Strict
from dynamics.views import pointer, record
from gnc.control import actuator_estimation as estimator
from gnc.fdir import registry

NAME = "actuator_estimation"
HOOKS = ("control", "commands")


class Spec(Strict):
    time_constant: PositiveTime


PARAMS_DTYPE = np.dtype([("time_constant_s", np.float64)], align=True)
STATE_DTYPE = np.dtype([("unused", np.int64)], align=True)  # the estimate is ours: `actuators`


def configure(spec, context):
    return record(PARAMS_DTYPE, time_constant_s=spec.time_constant)


@njit(cache=True)
def reset(params, state, config, fsw):
    estimator.reset(fsw.actuators)  # believe the actuators again


@njit(cache=True)
def update(params, state, config, fsw, io):
    p, nav = config.settings, fsw.nav
    if io.hook == registry.CONTROL:
        if not fsw.accelerometer_failed:
            estimator.update(
                fsw.actuators,
                nav.specific_force_body_mps2[2],
                vector.load(nav.rate_body_radps, 0),
                p.inertia_kgm2,
                p.control_period_s,
                params.time_constant_s,
            )
        return
    n = config.n_thrusters
    estimator.record_commands(  # the next cycle's estimate reads them
        fsw.actuators,
        fsw.throttle_command,
        p.max_thrust_n,
        fsw.mass_est_kg,
        carray(pointer(config.rcs_torques), (3, n), np.float64),
        carray(pointer(io.on_time_address), n, np.float64),
        p.control_period_s,
    )
