"""Error-state (multiplicative) extended Kalman filter for powered descent.

Nominal state: position and velocity in MCI, attitude q_body_to_mci, gyro and accelerometer
biases, and the IMU's scale-factor and misalignment errors. Error state (27): position,
velocity, attitude (small rotation in body axes, q_true = q_est * dq), gyro bias,
accelerometer bias, the gyro's error matrix E (measured rate = (I + E) rate + bias; scale
factors on its diagonal, misalignments off it) row by row, and the accelerometer's error
matrix's column along body +z, the thrust axis (the specific force is thrust along it to
within the RCS's few cm/s^2, so the other columns act on nothing). Without them the filter
believes its attitude to a fraction of an arcsecond after minutes of star-tracker updates,
while each radian the lander turns adds E times a radian (7 arcsec for a 0.002-deg
misalignment): attitude NEES 11 instead of 3 at touchdown; and a 2e-5 scale factor on the
thrust acceleration adds a few cm/s over the braking burn: velocity NEES 3.7 at its end.

The nominal state is propagated by strapdown integration of every IMU sample; the covariance
at the flight-software rate with the last IMU specific force and rate (Solà 2017,
"Quaternion kinematics for the error-state Kalman filter", arXiv:1711.02508, sections 5
and 7; Markley & Crassidis 2014, ch. 7).
"""

import math

import numpy as np
from numba import njit

from dynamics import gravity, quaternion, vector
from sensors.bus import MAX_DIMENSION

DR, DV, DTH, DBG, DBA, DKG, DKA = 0, 3, 6, 9, 12, 15, 24
N_ERR = 27
N_NAV = 9  # position, velocity and attitude: the error states with dynamics beyond a walk

NAV_DTYPE = np.dtype(
    [
        ("r_mci_m", np.float64, (3,)),
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        ("gyro_bias_radps", np.float64, (3,)),
        ("accel_bias_mps2", np.float64, (3,)),
        ("gyro_matrix_error", np.float64, (3, 3)),  # E: scale factors and misalignments
        ("accel_thrust_axis_error", np.float64, (3,)),  # the accelerometer's E[:, z]
        ("P", np.float64, (N_ERR, N_ERR)),
        ("specific_force_body_mps2", np.float64, (3,)),  # from the last IMU sample, bias removed
        ("rate_body_radps", np.float64, (3,)),
        ("uncovered_s", np.float64),  # IMU time not yet in the covariance propagation
        # the position change integration has made [m, MCI], corrections not counted: the
        # lander's path by its own reckoning (`reacquisition`)
        ("travelled_mci_m", np.float64, (3,)),
        # the covariance propagation's working storage
        ("f", np.float64, (N_NAV, N_ERR)),  # error dynamics, the rows that have any
        ("a", np.float64, (N_NAV, N_ERR)),  # Phi - I, the same rows
        ("ap", np.float64, (N_NAV, N_ERR)),  # A P
        ("apa", np.float64, (N_NAV, N_NAV)),  # A P A' (upper triangle)
        # the measurement update's working storage (as flight software, it allocates nothing)
        ("h", np.float64, (MAX_DIMENSION, N_ERR)),  # Jacobian of the measurement in hand
        ("hp", np.float64, (MAX_DIMENSION, N_ERR)),  # H P
        ("s", np.float64, (MAX_DIMENSION, MAX_DIMENSION)),  # H P H' + R
        ("chol", np.float64, (MAX_DIMENSION, MAX_DIMENSION)),  # its Cholesky factor L
        ("kt", np.float64, (MAX_DIMENSION, N_ERR)),  # L^-1 H P, then (Joseph form) the gain K'
        ("b", np.float64, (N_ERR, N_ERR)),  # (I - K H) P
        ("et", np.float64, (MAX_DIMENSION, N_ERR)),  # (B H' - K R), transposed
        ("z", np.float64, (MAX_DIMENSION,)),  # L^-1 y
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
def strapdown(nav, dv_body, dtheta_body, interval_s, field, t_s):
    """Propagate the nominal state over one IMU sample (increments dv [m/s], dtheta [rad])
    that began at t_s: the increments corrected by the estimated biases, scale factors and
    misalignments, then integrated (`integrate`) in the gravity field it knows
    (`gravity.GravityField`)."""
    raw = vector.sub(dtheta_body, vector.scale(vector.load(nav.gyro_bias_radps, 0), interval_s))
    e = nav.gyro_matrix_error  # (I + E)^-1 = I - E to first order
    dtheta = (
        raw[0] - e[0, 0] * raw[0] - e[0, 1] * raw[1] - e[0, 2] * raw[2],
        raw[1] - e[1, 0] * raw[0] - e[1, 1] * raw[1] - e[1, 2] * raw[2],
        raw[2] - e[2, 0] * raw[0] - e[2, 1] * raw[1] - e[2, 2] * raw[2],
    )
    dv_raw = vector.sub(dv_body, vector.scale(vector.load(nav.accel_bias_mps2, 0), interval_s))
    dv_corr = vector.sub(
        dv_raw, vector.scale(vector.load(nav.accel_thrust_axis_error, 0), dv_raw[2])
    )
    integrate(nav, dv_corr, dtheta, interval_s, field, t_s)


@njit(cache=True, inline="always")
def integrate(nav, dv_body, dtheta_body, interval_s, field, t_s):
    """Propagate the nominal state over an interval that began at t_s by body increments
    already free of the sensor's errors (the strapdown's corrected ones, or a dead
    reckoning's modelled ones): velocity change dv [m/s] from specific force, rotation
    dtheta [rad], gravity added."""
    q0 = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    q_mid = quaternion.multiply(q0, quaternion.from_rotation_vector(vector.scale(dtheta_body, 0.5)))
    q1 = quaternion.normalize(quaternion.multiply(q0, quaternion.from_rotation_vector(dtheta_body)))
    dv_mci = quaternion.rotate(q_mid, dv_body)
    r = vector.load(nav.r_mci_m, 0)
    v = vector.load(nav.v_mci_mps, 0)
    g = gravity.acceleration_mci(field.params, field.c, field.s, r, t_s)
    dv_total = vector.add(dv_mci, vector.scale(g, interval_s))
    for i in range(3):
        step = (v[i] + 0.5 * dv_total[i]) * interval_s
        nav.r_mci_m[i] = r[i] + step
        nav.travelled_mci_m[i] += step
        nav.v_mci_mps[i] = v[i] + dv_total[i]
        nav.specific_force_body_mps2[i] = dv_body[i] / interval_s
        nav.rate_body_radps[i] = dtheta_body[i] / interval_s
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
    """The rows of F in d(error)/dt = F error that have dynamics, the first N_NAV (the others,
    biases and scale factors, are constants or random walks), into nav.f, at the nominal
    state and the last IMU sample."""
    f = nav.f
    f[:, :] = 0.0
    r = vector.load(nav.r_mci_m, 0)
    rn = vector.norm(r)
    k = gm / rn**3
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    w = vector.load(nav.rate_body_radps, 0)
    for i in range(3):
        f[DR + i, DV + i] = 1.0
        f[DTH + i, DBG + i] = -1.0
        for j in range(3):
            f[DTH + i, DKG + 3 * i + j] = -w[j]  # dth' = ... - dE w
            f[DV + i, DR + j] = k * (3.0 * r[i] * r[j] / (rn * rn) - (1.0 if i == j else 0.0))
    # dv' = -R [f]x dth - R dba - R dEa[:, z] f_z ; columns of R are the body axes in MCI
    f_z = nav.specific_force_body_mps2[2]
    for j in range(3):
        e = (1.0 if j == 0 else 0.0, 1.0 if j == 1 else 0.0, 1.0 if j == 2 else 0.0)
        col = quaternion.rotate(q, e)
        fx = vector.cross(e, vector.load(nav.specific_force_body_mps2, 0))  # -[f]x e_j = e_j x f
        rfx = quaternion.rotate(q, fx)
        for i in range(3):
            f[DV + i, DBA + j] = -col[i]
            f[DV + i, DKA + j] = -col[i] * f_z
            f[DV + i, DTH + j] = rfx[i]
    _skew_into(f, DTH, DTH, w, -1.0)


def _a_columns():
    """(columns, counts) of A = F dt + (F dt)^2 / 2's first N_NAV rows, by blocks of three
    rows (position, velocity, attitude): the columns where the block can be nonzero,
    ascending, from the blocks `error_dynamics` fills (position rows from velocity; velocity
    rows from position, attitude, accelerometer bias and thrust-axis error; attitude rows from
    attitude, gyro bias and gyro matrix error), and those F^2 = F[:, :N_NAV] F[:N_NAV] adds."""
    f = np.zeros((N_NAV, N_ERR), np.bool_)
    for row, columns in {DR: (DV,), DV: (DR, DTH, DBA, DKA), DTH: (DTH, DBG)}.items():
        for col in columns:
            f[row : row + 3, col : col + 3] = True
    f[DTH : DTH + 3, DKG : DKG + 9] = True
    a = f | (f[:, :N_NAV].astype(np.int64) @ f.astype(np.int64) > 0)
    columns = np.zeros((3, N_ERR), np.int64)
    counts = np.zeros(3, np.int64)
    for b in range(3):
        nonzero = np.flatnonzero(a[3 * b : 3 * b + 3].any(axis=0))
        columns[b, : nonzero.size], counts[b] = nonzero, nonzero.size
    return columns, counts


A_COLUMNS, A_COUNTS = _a_columns()


@njit(cache=True, inline="always")
def _three_rows_times_p(a, p, ap, i, columns, n, j):
    """ap[i:i+3, j:j+4] = A[i:i+3] P[:, j:j+4] over A's block columns (columns[:n]): twelve
    sums held in registers while P's rows stream by, each summed over k ascending as a dense
    product sums it (where one row of the block is zero, its product adds an exact zero)."""
    s00 = s01 = s02 = s03 = s10 = s11 = s12 = s13 = s20 = s21 = s22 = s23 = 0.0
    for t in range(n):
        k = columns[t]
        a0, a1, a2 = a[i, k], a[i + 1, k], a[i + 2, k]
        p0, p1, p2, p3 = p[k, j], p[k, j + 1], p[k, j + 2], p[k, j + 3]
        s00 += a0 * p0
        s01 += a0 * p1
        s02 += a0 * p2
        s03 += a0 * p3
        s10 += a1 * p0
        s11 += a1 * p1
        s12 += a1 * p2
        s13 += a1 * p3
        s20 += a2 * p0
        s21 += a2 * p1
        s22 += a2 * p2
        s23 += a2 * p3
    ap[i, j], ap[i, j + 1], ap[i, j + 2], ap[i, j + 3] = s00, s01, s02, s03
    ap[i + 1, j], ap[i + 1, j + 1], ap[i + 1, j + 2], ap[i + 1, j + 3] = s10, s11, s12, s13
    ap[i + 2, j], ap[i + 2, j + 1], ap[i + 2, j + 2], ap[i + 2, j + 3] = s20, s21, s22, s23


@njit(cache=True)
def propagate_covariance(nav, noise, gm):
    """P <- Phi P Phi' + Qd over the IMU time accumulated since the last call.

    Phi = I + A with A = F dt + (F dt)^2 / 2, whose rows below N_NAV are zero like F's:
    Phi P Phi' = P + A P + (A P)' + A P A', with only A's first rows and, in them, the
    columns their blocks fill (`A_COLUMNS`), in the filter's own storage. A P is computed in
    tiles of three rows by four columns (the last tile overlaps its neighbour by one column),
    its sums in registers, which LLVM's SLP vectoriser packs four at a time: 1.0 us a call
    against 1.7 us for the row-by-row product (benchmarks/README.md)."""
    dt = nav.uncovered_s
    if dt <= 0.0:
        return
    nav.uncovered_s = 0.0
    error_dynamics(nav, gm)
    f, a, ap, apa, p = nav.f, nav.a, nav.ap, nav.apa, nav.P
    for i in range(N_NAV):
        for j in range(N_ERR):
            a[i, j] = f[i, j] * dt
        for k in range(N_NAV):  # F^2 = F[:, :N_NAV] F[:N_NAV]
            c = 0.5 * dt * dt * f[i, k]
            if c != 0.0:
                for j in range(N_ERR):
                    a[i, j] += c * f[k, j]
    for b in range(3):
        columns, n = A_COLUMNS[b], A_COUNTS[b]
        for j in range(0, N_ERR - 3, 4):
            _three_rows_times_p(a, p, ap, 3 * b, columns, n, j)
        _three_rows_times_p(a, p, ap, 3 * b, columns, n, N_ERR - 4)
    for i in range(N_NAV):
        for l in range(i, N_NAV):
            columns = A_COLUMNS[l // 3]
            acc = 0.0
            for t in range(A_COUNTS[l // 3]):
                acc += ap[i, columns[t]] * a[l, columns[t]]
            apa[i, l] = acc
    for i in range(N_NAV):  # the upper triangle of the rows that change, mirrored
        for j in range(i, N_ERR):
            v = p[i, j] + ap[i, j]
            if j < N_NAV:
                v += ap[j, i] + apa[i, j]
            p[i, j] = v
            p[j, i] = v
    for i in range(3):
        p[DV + i, DV + i] += noise.accel_noise_density**2 * dt
        p[DTH + i, DTH + i] += noise.gyro_noise_density**2 * dt
        p[DBG + i, DBG + i] += noise.gyro_bias_walk**2 * dt
        p[DBA + i, DBA + i] += noise.accel_bias_walk**2 * dt


@njit(cache=True)
def set_covariance(nav, sigma, down, left, up):
    """P from 1-sigma errors: position and velocity along the given local (downrange,
    crossrange, up) axes in MCI, then attitude, biases and gyro errors as they are."""
    axes = np.zeros((3, 3))
    for i in range(3):
        axes[i, 0], axes[i, 1], axes[i, 2] = down[i], left[i], up[i]
    for i in range(N_ERR):
        for j in range(N_ERR):
            nav.P[i, j] = 0.0
    for block in (DR, DV):
        for i in range(3):
            for j in range(3):
                acc = 0.0
                for k in range(3):
                    acc += axes[i, k] * sigma[block + k] ** 2 * axes[j, k]
                nav.P[block + i, block + j] = acc
    for i in range(DTH, N_ERR):
        nav.P[i, i] = sigma[i] ** 2


@njit(cache=True)
def normalized_innovation_squared(nav, y, h, r, m):
    """NIS of the first m values of innovation y with Jacobian rows h[:m] (N_ERR columns) and noise
    covariance r[:m, :m]: y' S^-1 y with S = H P H' + R, through S's Cholesky factor L (kept in
    nav, with H P and L^-1 y, for `apply_update`). Infinite when S is not positive definite."""
    hp, s, chol = nav.hp, nav.s, nav.chol
    for k in range(m):
        for i in range(N_ERR):
            hp[k, i] = 0.0
        for j in range(N_ERR):  # a Jacobian row has a few non-zeros; P is kept symmetric
            hkj = h[k, j]
            if hkj != 0.0:
                for i in range(N_ERR):
                    hp[k, i] += hkj * nav.P[j, i]
    for k in range(m):
        for l in range(m):
            acc = r[k, l]
            for j in range(N_ERR):
                acc += hp[k, j] * h[l, j]
            s[k, l] = acc
    if not _cholesky(s, chol, m):
        return math.inf
    z = nav.z
    _forward(chol, y, z, m)
    nis = 0.0
    for k in range(m):
        nis += z[k] * z[k]
    return nis


@njit(cache=True)
def _cholesky(a, out, m):
    """Lower-triangular L with L L' = a[:m, :m] into out; False if a is not positive definite."""
    for j in range(m):
        d = a[j, j]
        for k in range(j):
            d -= out[j, k] * out[j, k]
        if not d > 0.0:
            return False
        out[j, j] = math.sqrt(d)
        for i in range(j + 1, m):
            acc = a[i, j]
            for k in range(j):
                acc -= out[i, k] * out[j, k]
            out[i, j] = acc / out[j, j]
    return True


@njit(cache=True)
def _forward(chol, b, out, m):
    """Solve L out = b (L lower triangular)."""
    for i in range(m):
        acc = b[i]
        for k in range(i):
            acc -= chol[i, k] * out[k]
        out[i] = acc / chol[i, i]


# An update whose measurement variance is below this share of its predicted variance (its
# sigma shrinks by more than a thousand times) takes the Joseph form (`apply_update`).
JOSEPH_BELOW = 1e-6


@njit(cache=True)
def apply_update(nav, y, h, r, m):
    """Kalman update with the H P and Cholesky factor L of S that
    `normalized_innovation_squared` left (and its z = L^-1 y), then inject the error estimate
    into the nominal state.

    With W = L^-1 H P, the gain is K = W' L^-1 and the estimate K y = W' z. The covariance
    takes the symmetric form P - W' W (n^2 m / 2 operations for n = N_ERR states, the upper
    triangle mirrored) unless a measurement is far more precise than its prediction
    (R_kk < JOSEPH_BELOW S_kk): then the subtraction would cancel to within roundoff of the
    prior and lose positive definiteness, and the Joseph form P <- A P A' + K R K' with
    A = I - K H is computed instead, as products: B = A P = P - K (H P), then
    B A' + K R K' = B - (B H' - K R) K', about three times the work. Where the symmetric form
    is taken its roundoff is below 1e-10 of the posterior (tests/gnc/test_filter_updates.py:
    both forms against a dense update, and a long run of updates a million times more precise
    than the prior that stays positive definite). The m x n products are stored transposed, so
    that the inner loops run along rows."""
    hp, chol, w, dx, z = nav.hp, nav.chol, nav.kt, nav.dx, nav.z
    for k in range(m):  # W = L^-1 H P, forward through L
        for i in range(N_ERR):
            w[k, i] = hp[k, i]
        for l in range(k):
            c = chol[k, l]
            for i in range(N_ERR):
                w[k, i] -= c * w[l, i]
        c = 1.0 / chol[k, k]
        for i in range(N_ERR):
            w[k, i] *= c
    for i in range(N_ERR):
        dx[i] = 0.0
        for k in range(m):
            dx[i] += w[k, i] * z[k]
    joseph = False
    for k in range(m):
        joseph = joseph or r[k, k] < JOSEPH_BELOW * nav.s[k, k]
    if joseph:
        _joseph_covariance(nav, h, r, m)
    else:
        p = nav.P
        for k in range(m):
            for i in range(N_ERR):
                c = w[k, i]
                for j in range(i, N_ERR):
                    p[i, j] -= c * w[k, j]
        for i in range(N_ERR):
            for j in range(i + 1, N_ERR):
                p[j, i] = p[i, j]
    _inject(nav, dx)


@njit(cache=True)
def _joseph_covariance(nav, h, r, m):
    """P <- (I - K H) P (I - K H)' + K R K', from W = L^-1 H P in nav.kt (turned into K' there)."""
    hp, chol, kt = nav.hp, nav.chol, nav.kt
    b, et = nav.b, nav.et
    for k in range(m - 1, -1, -1):  # K' = L'^-1 W, back through L'
        for l in range(k + 1, m):
            c = chol[l, k]
            for i in range(N_ERR):
                kt[k, i] -= c * kt[l, i]
        c = 1.0 / chol[k, k]
        for i in range(N_ERR):
            kt[k, i] *= c
    for i in range(N_ERR):
        for j in range(N_ERR):
            b[i, j] = nav.P[i, j]
        for k in range(m):
            g = kt[k, i]
            for j in range(N_ERR):
                b[i, j] -= g * hp[k, j]
    for k in range(m):
        for i in range(N_ERR):
            acc = 0.0
            for l in range(m):
                acc -= kt[l, i] * r[l, k]
            et[k, i] = acc
        for j in range(N_ERR):  # a Jacobian row has a few non-zeros
            hkj = h[k, j]
            if hkj != 0.0:
                for i in range(N_ERR):
                    et[k, i] += b[i, j] * hkj
    for i in range(N_ERR):
        for j in range(i, N_ERR):
            nav.P[i, j] = b[i, j]
        for k in range(m):
            c = et[k, i]
            for j in range(i, N_ERR):
                nav.P[i, j] -= c * kt[k, j]
        for j in range(i + 1, N_ERR):
            nav.P[j, i] = nav.P[i, j]


@njit(cache=True)
def _inject(nav, dx):
    """Add the error-state estimate dx to the nominal state."""
    for i in range(3):
        nav.r_mci_m[i] += dx[DR + i]
        nav.v_mci_mps[i] += dx[DV + i]
        nav.gyro_bias_radps[i] += dx[DBG + i]
        nav.accel_bias_mps2[i] += dx[DBA + i]
        nav.accel_thrust_axis_error[i] += dx[DKA + i]
        for j in range(3):
            nav.gyro_matrix_error[i, j] += dx[DKG + 3 * i + j]
    q = (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3])
    q = quaternion.normalize(
        quaternion.multiply(q, quaternion.from_rotation_vector((dx[DTH], dx[DTH + 1], dx[DTH + 2])))
    )
    for i in range(4):
        nav.q_body_to_mci[i] = q[i]


@njit(cache=True)
def reinitialise_position(nav, y, h, m):
    """Make a rejected measurement admissible by trusting it over the estimate: add position
    variance along what it measures, so that the variance of each value grows by at least
    twice its innovation squared and the update corrects that, not the rest of the position.
    A value whose position gradient lies within 60 deg of the local vertical measures
    altitude (a range): variance along the vertical (an altitude re-initialisation); beyond
    60 deg, a horizontal position (an image fix): variance along the gradient's horizontal
    direction. Only values that a metre moves by half a unit or more count: a velocity's
    position gradient (the Moon's rotation) is a millionth, and re-initialising on it would
    blow the position up by its innovation over that. Returns False when no value counts."""
    up = vector.unit(vector.load(nav.r_mci_m, 0))
    k_up = 0.0
    added = False
    for i in range(m):
        h_r, vertical, altitude = vertical_gradient(h, i, up)
        across = vector.sub(h_r, vector.scale(up, vertical))
        if altitude:
            k_up = max(k_up, 2.0 * y[i] * y[i] / (vertical * vertical))
        elif vector.norm(across) >= 0.5:
            g = vector.norm(across)
            _add_position_variance(nav, vector.unit(across), 2.0 * y[i] * y[i] / (g * g))
            added = True
    if k_up > 0.0:
        _add_position_variance(nav, up, k_up)
    return added or k_up > 0.0


@njit(cache=True)
def forget_horizontal_position(nav, variance_m2):
    """Add variance_m2 [m^2] to the position's variance along both local horizontal
    directions: the map-relative horizontal position is found lost (`gating`), and the filter
    falls back to the knowledge it had before any map gave it one."""
    up = vector.unit(vector.load(nav.r_mci_m, 0))
    for direction in vector.perpendiculars(up):
        _add_position_variance(nav, direction, variance_m2)


@njit(cache=True)
def vertical_gradient(h, k, up):
    """(position gradient of value k of Jacobian rows h, its part along the unit local
    vertical up, whether the value measures altitude: that part at least half a unit per
    metre and the gradient within 60 deg of the vertical)."""
    h_r = (h[k, DR], h[k, DR + 1], h[k, DR + 2])
    vertical = vector.dot(h_r, up)
    return h_r, vertical, abs(vertical) >= 0.5 and abs(vertical) >= 0.5 * vector.norm(h_r)


@njit(cache=True)
def _add_position_variance(nav, direction, variance):
    for i in range(3):
        for j in range(3):
            nav.P[DR + i, DR + j] += variance * direction[i] * direction[j]
