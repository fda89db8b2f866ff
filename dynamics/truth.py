"""The lander's 6-DOF truth state and its fixed-step RK4 integration.

State vector (MCI, SI): position r [m], velocity v [m/s], attitude q_body_to_mci, body rates
w [rad/s], total mass [kg], and the engine's actual throttle (the first-order lag state).

Translational and rotational equations of a rigid body whose mass properties follow the
propellant load (evaluated once per step: at 100 Hz the mass changes by < 1e-5 per step);
jet damping and the rate of change of inertia are neglected (propellant flow < 1 kg/s).
"""

import numpy as np
from numba import njit

from dynamics import gravity, mass_properties, propulsion, quaternion, vector
from dynamics.views import unowned

X_R = 0
X_V = 3
X_Q = 6
X_W = 10
X_MASS = 13
X_THROTTLE = 14
STATE_SIZE = 15


# Scratch of a run's truth propagation, kept in a record: compiled code views its arrays
# without reference counting (views of allocated arrays cost two atomic operations per use
# in the inlined step, a tenth of the step's time).
WORK_DTYPE = np.dtype(
    [
        ("x", np.float64, (STATE_SIZE,)),  # the state being propagated
        ("previous", np.float64, (STATE_SIZE,)),  # the state at the start of the last step
        ("k", np.float64, (4, STATE_SIZE)),  # RK4 stage derivatives
        ("stage", np.float64, (STATE_SIZE,)),  # RK4 stage state
        ("com_m", np.float64, (3,)),  # mass properties held over the step
        ("inertia", np.float64, (3, 3)),
        ("inertia_inv", np.float64, (3, 3)),
    ],
    align=True,
)


def make_state(r_mci_m, v_mci_mps, q_body_to_mci, w_body_radps, mass_kg, throttle=0.0):
    x = np.zeros(STATE_SIZE)
    x[X_R : X_R + 3] = r_mci_m
    x[X_V : X_V + 3] = v_mci_mps
    x[X_Q : X_Q + 4] = q_body_to_mci
    x[X_W : X_W + 3] = w_body_radps
    x[X_MASS] = mass_kg
    x[X_THROTTLE] = throttle
    return x


@njit(cache=True)
def quaternion_of(x):
    return (x[X_Q], x[X_Q + 1], x[X_Q + 2], x[X_Q + 3])


@njit(cache=True, inline="always")
def derivative(x, t_s, grav, c, s, held, out):
    """dx/dt into out; `held` are the quantities held over the step:

    (dry mass [kg], throttle setpoint, inverse engine time constant [1/s], the main engines'
    body force [N], torque [N m] and mass flow [kg/s] at full throttle about the step's centre
    of mass (they scale with the actual throttle), the RCS force, torque and mass flow, a held
    torque (gravity gradient) [N m], the inertia and its inverse [kg m^2]).
    Nothing burns once the propellant is gone.
    """
    (
        dry_mass_kg,
        setpoint,
        inverse_time_constant,
        (f_full, tq_full, mdot_full),
        (f_rcs, tq_rcs, mdot_rcs),
        tq_held,
        inertia,
        inertia_inv,
    ) = held
    r = vector.load(x, X_R)
    q = quaternion_of(x)
    w = vector.load(x, X_W)
    m = x[X_MASS]
    if m > dry_mass_kg:
        throttle = x[X_THROTTLE]
        f_body = vector.add(vector.scale(f_full, throttle), f_rcs)
        tq_body = vector.add(vector.add(vector.scale(tq_full, throttle), tq_rcs), tq_held)
        mdot = throttle * mdot_full + mdot_rcs
    else:
        f_body, tq_body, mdot = (0.0, 0.0, 0.0), tq_held, 0.0
    a = vector.add(
        gravity.acceleration_mci(grav, c, s, r, t_s),
        vector.scale(quaternion.rotate(q, f_body), 1.0 / m),
    )
    h = vector.matvec(inertia, w)
    w_dot = vector.matvec(inertia_inv, vector.sub(tq_body, vector.cross(w, h)))
    q_dot = quaternion.derivative(q, w)
    for i in range(3):
        out[X_R + i] = x[X_V + i]
        out[X_V + i] = a[i]
        out[X_W + i] = w_dot[i]
    for i in range(4):
        out[X_Q + i] = q_dot[i]
    out[X_MASS] = -mdot
    out[X_THROTTLE] = (setpoint - x[X_THROTTLE]) * inverse_time_constant


@njit(cache=True, inline="always")
def rk4_step(x, t_s, dt_s, field, mp, actuators, work):
    """Advance x by one classical RK4 step in place in the gravity field (a
    `gravity.GravityField`); renormalise the attitude quaternion.

    actuators = (engines_full, lag_s, setpoint, rcs_held). engines_full: the main engines'
    body force [N], torque [N m] and mass flow [kg/s] at full throttle about the step's centre
    of mass (`propulsion.engines_at_full_throttle`); they scale with the throttle state, which
    follows the setpoint with the time constant lag_s. rcs_held: the RCS's force, torque and
    mass flow over the step.

    work is the run's `WORK_DTYPE` record: its mass properties at the start of the step
    (from `mass_properties.evaluate`) are held over it; the mass is kept at or above the dry
    mass (the engine flames out when the propellant is gone). The gravity-gradient torque,
    some 1e-4 N m changing over minutes, is evaluated once per step too.
    """
    grav, c, s = field
    engines_full, lag_s, setpoint, rcs_held = actuators
    k1, k2, k3, k4, tmp = work.k[0], work.k[1], work.k[2], work.k[3], work.stage
    inertia, inertia_inv = work.inertia, work.inertia_inv
    for i in range(STATE_SIZE):
        work.previous[i] = x[i]
    tq_gg = (0.0, 0.0, 0.0)
    if grav.gravity_gradient_torque:
        r_body = quaternion.rotate_inverse(quaternion_of(x), vector.load(x, X_R))
        tq_gg = gravity.gradient_torque(r_body, inertia, grav.gm_m3ps2)
    held = (
        mp.dry_mass_kg,
        setpoint,
        1.0 / lag_s,
        engines_full,
        rcs_held,
        tq_gg,
        inertia,
        inertia_inv,
    )
    half = 0.5 * dt_s
    derivative(x, t_s, grav, c, s, held, k1)
    for i in range(STATE_SIZE):
        tmp[i] = x[i] + half * k1[i]
    derivative(tmp, t_s + half, grav, c, s, held, k2)
    for i in range(STATE_SIZE):
        tmp[i] = x[i] + half * k2[i]
    derivative(tmp, t_s + half, grav, c, s, held, k3)
    for i in range(STATE_SIZE):
        tmp[i] = x[i] + dt_s * k3[i]
    derivative(tmp, t_s + dt_s, grav, c, s, held, k4)
    sixth = dt_s / 6.0
    for i in range(STATE_SIZE):
        x[i] += sixth * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i])
    q = quaternion.normalize(quaternion_of(x))
    for i in range(4):
        x[X_Q + i] = q[i]
    x[X_MASS] = max(x[X_MASS], mp.dry_mass_kg)


def propagate(x, t0_s, dt_s, n_steps, field, mp, engines, throttle_command):
    """Propagate x in place for n_steps in a gravity field (`gravity.GravityField`) with a
    constant throttle command and no RCS; engines is one engine record or an array of them,
    all at full thrust.

    Used for verification against analytic solutions and for timing the bare truth step.
    """
    engines = np.atleast_1d(engines)
    _propagate(x, (t0_s, dt_s, n_steps), field, mp, engines, throttle_command, new_work())


def new_work():
    """A zeroed `WORK_DTYPE` record."""
    return np.zeros(1, WORK_DTYPE)[0]


@njit(cache=True)
def _propagate(x, steps, field, mp, engines, throttle_command, work):
    t0_s, dt_s, n_steps = steps
    field = gravity.GravityField(field.params, unowned(field.c), unowned(field.s))
    engines, factor = unowned(engines), np.ones(engines.shape[0])
    setpoint = propulsion.throttle_setpoint(engines[0], throttle_command)
    no_rcs = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0), 0.0)
    lag = engines[0].time_constant_s
    for k in range(n_steps):
        mass_properties.evaluate(mp, x[X_MASS], work.com_m, work.inertia, work.inertia_inv)
        full = propulsion.engines_at_full_throttle(engines, factor, work.com_m)
        rk4_step(x, t0_s + k * dt_s, dt_s, field, mp, (full, lag, setpoint, no_rcs), work)
