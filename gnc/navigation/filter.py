"""Error-state (multiplicative) extended Kalman filter for powered descent.

Nominal state: position and velocity in MCI, attitude q_body_to_mci, gyro and accelerometer
biases. Error state (15): position, velocity, attitude (small rotation in body axes,
q_true = q_est * dq), gyro bias, accelerometer bias. The nominal state is propagated by
strapdown integration of every IMU sample; the covariance at the flight-software rate with the
last IMU specific force and rate (Solà 2017, "Quaternion kinematics for the error-state Kalman
filter", arXiv:1711.02508, sections 5 and 7; Markley & Crassidis 2014, ch. 7).
"""

import numpy as np
from numba import njit

from dynamics import gravity, quaternion, vector

DR, DV, DTH, DBG, DBA = 0, 3, 6, 9, 12
N_ERR = 15
N_NAV = 9  # position, velocity and attitude: the error states with dynamics beyond a walk
MAX_MEASUREMENT = 3  # largest measurement vector (star-tracker attitude)

NAV_DTYPE = np.dtype(
    [
        ("r_mci_m", np.float64, (3,)),
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        ("gyro_bias_radps", np.float64, (3,)),
        ("accel_bias_mps2", np.float64, (3,)),
        ("P", np.float64, (N_ERR, N_ERR)),
        ("specific_force_body_mps2", np.float64, (3,)),  # from the last IMU sample, bias removed
        ("rate_body_radps", np.float64, (3,)),
        ("uncovered_s", np.float64),  # IMU time not yet in the covariance propagation
        # the measurement update's working storage (as flight software, it allocates nothing)
        ("pht", np.float64, (N_ERR, MAX_MEASUREMENT)),  # P H'
        ("s", np.float64, (MAX_MEASUREMENT, MAX_MEASUREMENT)),  # H P H' + R
        ("s_inv", np.float64, (MAX_MEASUREMENT, MAX_MEASUREMENT)),
        ("gain", np.float64, (N_ERR, MAX_MEASUREMENT)),
        ("dx", np.float64, (N_ERR,)),  # error-state estimate
    ],
    align=True,
)

NAV_NOISE_DTYPE = np.dtype(
    [
        ("accel_noise_density", np.float64),  # VRW the filter assumes [m/s/sqrt(s)]
        ("gyro_noise_density", np.float64),  # ARW [rad/sqrt(s)]
        ("accel_bias_walk", np.float64),  # [m/s^2/sqrt(s)]
        ("gyro_bias_walk", np.float64),  # [rad/s/sqrt(s)]
    ],
    align=True,
)


@njit(cache=True, inline="always")
def strapdown(nav, dv_body, dtheta_body, interval_s, grav, c, s, t_s):
    """Propagate the nominal state over one IMU sample (increments dv [m/s], dtheta [rad])
    that began at t_s."""
    dtheta = vector.sub(dtheta_body, vector.scale(vector.load(nav.gyro_bias_radps, 0), interval_s))
    q0 = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    q_mid = quaternion.multiply(q0, quaternion.from_rotation_vector(vector.scale(dtheta, 0.5)))
    q1 = quaternion.normalize(quaternion.multiply(q0, quaternion.from_rotation_vector(dtheta)))
    dv_corr = vector.sub(dv_body, vector.scale(vector.load(nav.accel_bias_mps2, 0), interval_s))
    dv_mci = quaternion.rotate(q_mid, dv_corr)
    r = vector.load(nav.r_mci_m, 0)
    v = vector.load(nav.v_mci_mps, 0)
    g = gravity.acceleration_mci(grav, c, s, r, t_s)
    dv_total = vector.add(dv_mci, vector.scale(g, interval_s))
    for i in range(3):
        nav.r_mci_m[i] = r[i] + (v[i] + 0.5 * dv_total[i]) * interval_s
        nav.v_mci_mps[i] = v[i] + dv_total[i]
        nav.specific_force_body_mps2[i] = dv_corr[i] / interval_s
        nav.rate_body_radps[i] = dtheta[i] / interval_s
    for i in range(4):
        nav.q_body_to_mci[i] = q1[i]
    nav.uncovered_s += interval_s


@njit(cache=True)
def _skew_into(m, row, col, v, sign):
    m[row, col + 1] += -sign * v[2]
    m[row, col + 2] += sign * v[1]
    m[row + 1, col] += sign * v[2]
    m[row + 1, col + 2] += -sign * v[0]
    m[row + 2, col] += -sign * v[1]
    m[row + 2, col + 1] += sign * v[0]


@njit(cache=True)
def error_dynamics(nav, gm):
    """F (15 x 15) of d(error)/dt = F error at the nominal state and the last IMU sample."""
    f = np.zeros((N_ERR, N_ERR))
    r = vector.load(nav.r_mci_m, 0)
    rn = vector.norm(r)
    k = gm / rn**3
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    for i in range(3):
        f[DR + i, DV + i] = 1.0
        f[DTH + i, DBG + i] = -1.0
        for j in range(3):
            f[DV + i, DR + j] = k * (3.0 * r[i] * r[j] / (rn * rn) - (1.0 if i == j else 0.0))
    # dv' = -R [f]x dth - R dba ; columns of R are the body axes in MCI
    for j in range(3):
        e = (1.0 if j == 0 else 0.0, 1.0 if j == 1 else 0.0, 1.0 if j == 2 else 0.0)
        col = quaternion.rotate(q, e)
        fx = vector.cross(e, vector.load(nav.specific_force_body_mps2, 0))  # -[f]x e_j = e_j x f
        rfx = quaternion.rotate(q, fx)
        for i in range(3):
            f[DV + i, DBA + j] = -col[i]
            f[DV + i, DTH + j] = rfx[i]
    _skew_into(f, DTH, DTH, vector.load(nav.rate_body_radps, 0), -1.0)
    return f


@njit(cache=True)
def propagate_covariance(nav, noise, gm):
    """P <- Phi P Phi' + Qd over the IMU time accumulated since the last call."""
    dt = nav.uncovered_s
    if dt <= 0.0:
        return
    nav.uncovered_s = 0.0
    f = error_dynamics(nav, gm)
    # Phi = I + A with A = F dt + (F dt)^2 / 2, whose rows below the attitude are zero (the
    # biases are random walks): Phi P Phi' = P + A P + (A P)' + A P A' with A's first rows
    a = f[:N_NAV] * dt + 0.5 * dt * dt * (f[:N_NAV] @ f)
    ap = a @ nav.P
    apa = ap @ a.T
    p = nav.P.copy()
    for i in range(N_NAV):
        for j in range(N_ERR):
            p[i, j] += ap[i, j]
            p[j, i] += ap[i, j]
        for j in range(N_NAV):
            p[i, j] += apa[i, j]
    for i in range(3):
        p[DV + i, DV + i] += noise.accel_noise_density**2 * dt
        p[DTH + i, DTH + i] += noise.gyro_noise_density**2 * dt
        p[DBG + i, DBG + i] += noise.gyro_bias_walk**2 * dt
        p[DBA + i, DBA + i] += noise.accel_bias_walk**2 * dt
    for i in range(N_ERR):
        for j in range(i, N_ERR):
            v = 0.5 * (p[i, j] + p[j, i])
            nav.P[i, j] = v
            nav.P[j, i] = v


@njit(cache=True)
def normalized_innovation_squared(nav, y, h, r):
    """NIS of innovation y (m <= MAX_MEASUREMENT) with Jacobian h (m x 15) and noise
    covariance r; leaves P H' and S^-1 in nav for `apply_update`."""
    m = y.shape[0]
    pht, s, s_inv = nav.pht, nav.s, nav.s_inv
    for k in range(m):
        for i in range(N_ERR):
            pht[i, k] = 0.0
        for j in range(N_ERR):  # a Jacobian row has a few non-zeros; P is kept symmetric
            hkj = h[k, j]
            if hkj != 0.0:
                for i in range(N_ERR):
                    pht[i, k] += nav.P[j, i] * hkj
    for k in range(m):
        for l in range(m):
            acc = r[k, l]
            for j in range(N_ERR):
                acc += h[k, j] * pht[j, l]
            s[k, l] = acc
    if m == 1:
        s_inv[0, 0] = 1.0 / s[0, 0]
    else:  # the star tracker's 3 x 3, explicitly (no LAPACK call)
        vector.invert3(s, s_inv)
    nis = 0.0
    for k in range(m):
        for l in range(m):
            nis += y[k] * s_inv[k, l] * y[l]
    return nis


@njit(cache=True)
def apply_update(nav, y):
    """Kalman update with the P H' and S^-1 that `normalized_innovation_squared` left:
    P <- P - K (P H')' with K = P H' S^-1 (the product is symmetric: its upper triangle is
    computed and mirrored), then inject the error estimate into the nominal state."""
    m = y.shape[0]
    pht, s_inv, gain, dx = nav.pht, nav.s_inv, nav.gain, nav.dx
    for i in range(N_ERR):
        dx[i] = 0.0
        for k in range(m):
            g = 0.0
            for l in range(m):
                g += pht[i, l] * s_inv[l, k]
            gain[i, k] = g
            dx[i] += g * y[k]
    for i in range(N_ERR):
        for j in range(i, N_ERR):
            acc = 0.0
            for k in range(m):
                acc += gain[i, k] * pht[j, k]
            nav.P[i, j] -= acc
            nav.P[j, i] = nav.P[i, j]
    for i in range(3):
        nav.r_mci_m[i] += dx[DR + i]
        nav.v_mci_mps[i] += dx[DV + i]
        nav.gyro_bias_radps[i] += dx[DBG + i]
        nav.accel_bias_mps2[i] += dx[DBA + i]
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    q = quaternion.normalize(
        quaternion.multiply(q, quaternion.from_rotation_vector((dx[DTH], dx[DTH + 1], dx[DTH + 2])))
    )
    for i in range(4):
        nav.q_body_to_mci[i] = q[i]


@njit(cache=True)
def reinitialise_altitude(nav, y, h):
    """Make a rejected scalar measurement admissible by trusting it over the estimate: add
    position variance along the local vertical only (an altitude re-initialisation), so that
    S grows by 2 y^2 and the update corrects altitude, not the horizontal position."""
    r = vector.load(nav.r_mci_m, 0)
    up = vector.unit(r)
    hv = h[0, DR] * up[0] + h[0, DR + 1] * up[1] + h[0, DR + 2] * up[2]
    if abs(hv) < 1e-6:
        return
    k = 2.0 * y[0] * y[0] / (hv * hv)
    for i in range(3):
        for j in range(3):
            nav.P[DR + i, DR + j] += k * up[i] * up[j]
