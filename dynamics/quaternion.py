"""Unit quaternions for attitude, scalar first, Hamilton product.

`q_a_to_b` rotates a vector's components from frame a to frame b:
v_b = q_a_to_b * v_a * conj(q_a_to_b). The lander's attitude is `q_body_to_mci`.
"""

import math

from numba import njit

from dynamics import vector


@njit(cache=True)
def multiply(a, b):
    return (
        a[0] * b[0] - a[1] * b[1] - a[2] * b[2] - a[3] * b[3],
        a[0] * b[1] + a[1] * b[0] + a[2] * b[3] - a[3] * b[2],
        a[0] * b[2] - a[1] * b[3] + a[2] * b[0] + a[3] * b[1],
        a[0] * b[3] + a[1] * b[2] - a[2] * b[1] + a[3] * b[0],
    )


@njit(cache=True)
def conjugate(q):
    return (q[0], -q[1], -q[2], -q[3])


@njit(cache=True)
def normalize(q):
    n = math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    return (q[0] / n, q[1] / n, q[2] / n, q[3] / n)


@njit(cache=True)
def nlerp(a, b, f):
    """The attitude a fraction f of the way from a to b, for nearby attitudes (normalised
    linear interpolation; a and b in the same hemisphere)."""
    return normalize(
        (
            (1.0 - f) * a[0] + f * b[0],
            (1.0 - f) * a[1] + f * b[1],
            (1.0 - f) * a[2] + f * b[2],
            (1.0 - f) * a[3] + f * b[3],
        )
    )


@njit(cache=True)
def rotate(q, v):
    """Components of v in the target frame of q (v_b = q v_a q*)."""
    w = q[0]
    u = (q[1], q[2], q[3])
    t = vector.scale(vector.cross(u, v), 2.0)
    return vector.add(vector.add(v, vector.scale(t, w)), vector.cross(u, t))


@njit(cache=True)
def rotate_inverse(q, v):
    """Components of v in the source frame of q (v_a = q* v_b q)."""
    return rotate(conjugate(q), v)


@njit(cache=True)
def from_axis_angle(axis, angle_rad):
    s = math.sin(0.5 * angle_rad)
    a = vector.unit(axis)
    return (math.cos(0.5 * angle_rad), a[0] * s, a[1] * s, a[2] * s)


# Below this rotation angle [rad] the half-angle functions are summed as series: the first
# term left out is below 1e-18 relative, and the IMU's per-step rotations (< 1e-2 rad) skip
# a square root, a sine and a cosine.
SMALL_ANGLE_RAD = 0.05


@njit(cache=True)
def from_rotation_vector(v):
    """Quaternion of the rotation by |v| [rad] about v (identity for v = 0)."""
    a2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2]
    if a2 < SMALL_ANGLE_RAD * SMALL_ANGLE_RAD:
        # cos(a/2) and sin(a/2)/a by their Taylor series to a^6
        c = 1.0 - a2 / 8.0 * (1.0 - a2 / 48.0 * (1.0 - a2 / 120.0))
        k = 0.5 * (1.0 - a2 / 24.0 * (1.0 - a2 / 80.0 * (1.0 - a2 / 168.0)))
        return (c, k * v[0], k * v[1], k * v[2])
    angle = math.sqrt(a2)
    k = math.sin(0.5 * angle) / angle
    return (math.cos(0.5 * angle), k * v[0], k * v[1], k * v[2])


@njit(cache=True)
def to_rotation_vector(q):
    """Rotation vector [rad] of a unit quaternion (angle |v| <= pi about v)."""
    s = math.sqrt(q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    w = q[0] if q[0] >= 0.0 else -q[0]
    sign = 1.0 if q[0] >= 0.0 else -1.0
    if s < 0.5 * SMALL_ANGLE_RAD * w:
        # 2 atan(u) / s with u = s / w by its series to u^8
        u2 = s * s / (w * w)
        k = 2.0 / w * (1.0 - u2 * (1.0 / 3.0 - u2 * (1.0 / 5.0 - u2 * (1.0 / 7.0 - u2 / 9.0))))
    else:
        k = 2.0 * math.atan2(s, w) / s
    k *= sign
    return (k * q[1], k * q[2], k * q[3])


@njit(cache=True)
def from_axes(x, y, z):
    """Quaternion of the frame whose unit axes x, y, z are given in the target frame.

    The rotation matrix has x, y, z as columns; Shepperd's method keeps it well conditioned.
    """
    m00, m11, m22 = x[0], y[1], z[2]
    trace = m00 + m11 + m22
    if trace > 0.0:
        s = 2.0 * math.sqrt(1.0 + trace)
        q = (0.25 * s, (y[2] - z[1]) / s, (z[0] - x[2]) / s, (x[1] - y[0]) / s)
    elif m00 > m11 and m00 > m22:
        s = 2.0 * math.sqrt(1.0 + m00 - m11 - m22)
        q = ((y[2] - z[1]) / s, 0.25 * s, (y[0] + x[1]) / s, (z[0] + x[2]) / s)
    elif m11 > m22:
        s = 2.0 * math.sqrt(1.0 + m11 - m00 - m22)
        q = ((z[0] - x[2]) / s, (y[0] + x[1]) / s, 0.25 * s, (z[1] + y[2]) / s)
    else:
        s = 2.0 * math.sqrt(1.0 + m22 - m00 - m11)
        q = ((x[1] - y[0]) / s, (z[0] + x[2]) / s, (z[1] + y[2]) / s, 0.25 * s)
    if q[0] < 0.0:
        q = (-q[0], -q[1], -q[2], -q[3])
    return normalize(q)


@njit(cache=True)
def derivative(q, omega_body):
    """dq/dt for body rates omega_body [rad/s]: 0.5 * q * (0, omega)."""
    p = multiply(q, (0.0, omega_body[0], omega_body[1], omega_body[2]))
    return (0.5 * p[0], 0.5 * p[1], 0.5 * p[2], 0.5 * p[3])


@njit(cache=True)
def angle_between(a, b):
    """Rotation angle [rad] that takes attitude a to attitude b."""
    d = abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
    return 2.0 * math.acos(min(1.0, d))
