"""The same truth dynamics written the way a user would without this project: plain NumPy
right-hand side, integrated by scipy's solve_ivp. Used only to measure the speed ratio and to
cross-check the compiled propagator's answer."""

import numpy as np
from scipy.integrate import solve_ivp

from dynamics.constants import STANDARD_GRAVITY_MPS2


def quat_to_matrix(q):
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def make_rhs(gm, radius, j2, mass, engine, setpoint):
    """dx/dt for the 15-element state of `dynamics.truth` (engine on, no RCS, no rotation)."""
    dry = mass["dry_mass_kg"]
    inertia_dry = mass["dry_inertia_kgm2"]
    inertia_prop = mass["propellant_inertia_full_kgm2"]
    capacity = mass["propellant_capacity_kg"]

    def rhs(t, x):
        r, v, q, w, m, th = x[0:3], x[3:6], x[6:10], x[10:13], x[13], x[14]
        rn = np.linalg.norm(r)
        z2 = (r[2] / rn) ** 2
        f = 1.5 * j2 * (radius / rn) ** 2
        a_grav = (
            -gm
            / rn**3
            * r
            * np.array([1 + f * (1 - 5 * z2), 1 + f * (1 - 5 * z2), 1 + f * (3 - 5 * z2)])
        )
        thrust = th * engine["max_thrust_n"] if m > dry else 0.0
        f_body = thrust * engine["direction_body"]
        com = (dry * mass["dry_com_m"] + (m - dry) * mass["propellant_com_m"]) / m
        inertia = inertia_dry + (m - dry) / capacity * inertia_prop
        for mk, ck in ((dry, mass["dry_com_m"]), (m - dry, mass["propellant_com_m"])):
            d = ck - com
            inertia = inertia + mk * (d @ d * np.eye(3) - np.outer(d, d))
        torque = np.cross(engine["position_m"] - com, f_body)
        a = a_grav + quat_to_matrix(q) @ f_body / m
        w_dot = np.linalg.solve(inertia, torque - np.cross(w, inertia @ w))
        qw, qx, qy, qz = q
        q_dot = 0.5 * np.array(
            [
                -qx * w[0] - qy * w[1] - qz * w[2],
                qw * w[0] + qy * w[2] - qz * w[1],
                qw * w[1] - qx * w[2] + qz * w[0],
                qw * w[2] + qx * w[1] - qy * w[0],
            ]
        )
        mdot = -thrust / (engine["isp_s"] * STANDARD_GRAVITY_MPS2)
        th_dot = (setpoint - th) / engine["time_constant_s"]
        return np.concatenate([v, a, q_dot, w_dot, [mdot, th_dot]])

    return rhs


def propagate(x0, duration_s, max_step_s, rhs):
    """solve_ivp (RK45) with steps no longer than max_step_s, as a 100 Hz loop would need."""
    sol = solve_ivp(
        rhs, (0.0, duration_s), x0, method="RK45", max_step=max_step_s, rtol=1e-9, atol=1e-9
    )
    return sol.y[:, -1], sol.t.size - 1
