"""Three-vectors as tuples, so compiled code does vector algebra without allocating arrays,
and the 3x3 matrix helpers that go with them."""

import math

from numba import njit


@njit(cache=True)
def add(a, b):
    return (a[0] + b[0], a[1] + b[1], a[2] + b[2])


@njit(cache=True)
def sub(a, b):
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


@njit(cache=True)
def scale(a, s):
    return (a[0] * s, a[1] * s, a[2] * s)


@njit(cache=True)
def dot(a, b):
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


@njit(cache=True)
def cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


@njit(cache=True)
def norm(a):
    return math.sqrt(a[0] * a[0] + a[1] * a[1] + a[2] * a[2])


@njit(cache=True)
def unit(a):
    n = norm(a)
    return (a[0] / n, a[1] / n, a[2] / n)


@njit(cache=True)
def weighted_mean(a, weight_a, b, weight_b):
    """(weight_a a + weight_b b) / (weight_a + weight_b): e.g. the centre of two masses."""
    total = weight_a + weight_b
    return (
        (weight_a * a[0] + weight_b * b[0]) / total,
        (weight_a * a[1] + weight_b * b[1]) / total,
        (weight_a * a[2] + weight_b * b[2]) / total,
    )


@njit(cache=True)
def matvec(m, a):
    """Product of a 3x3 array and a 3-tuple."""
    return (
        m[0, 0] * a[0] + m[0, 1] * a[1] + m[0, 2] * a[2],
        m[1, 0] * a[0] + m[1, 1] * a[1] + m[1, 2] * a[2],
        m[2, 0] * a[0] + m[2, 1] * a[1] + m[2, 2] * a[2],
    )


@njit(cache=True)
def load(arr, start):
    """The three elements arr[start:start+3] as a tuple."""
    return (arr[start], arr[start + 1], arr[start + 2])


@njit(cache=True)
def invert3(a, out):
    """Inverse of a 3x3 matrix by cofactors (no LAPACK call, no allocation), into out."""
    c00 = a[1, 1] * a[2, 2] - a[1, 2] * a[2, 1]
    c01 = a[1, 2] * a[2, 0] - a[1, 0] * a[2, 2]
    c02 = a[1, 0] * a[2, 1] - a[1, 1] * a[2, 0]
    inv_det = 1.0 / (a[0, 0] * c00 + a[0, 1] * c01 + a[0, 2] * c02)
    out[0, 0] = c00 * inv_det
    out[0, 1] = (a[0, 2] * a[2, 1] - a[0, 1] * a[2, 2]) * inv_det
    out[0, 2] = (a[0, 1] * a[1, 2] - a[0, 2] * a[1, 1]) * inv_det
    out[1, 0] = c01 * inv_det
    out[1, 1] = (a[0, 0] * a[2, 2] - a[0, 2] * a[2, 0]) * inv_det
    out[1, 2] = (a[0, 2] * a[1, 0] - a[0, 0] * a[1, 2]) * inv_det
    out[2, 0] = c02 * inv_det
    out[2, 1] = (a[0, 1] * a[2, 0] - a[0, 0] * a[2, 1]) * inv_det
    out[2, 2] = (a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]) * inv_det


@njit(cache=True)
def perpendiculars(b):
    """Two unit vectors perpendicular to unit b and to each other (b, p, q right-handed)."""
    other = (1.0, 0.0, 0.0) if abs(b[0]) < 0.9 else (0.0, 1.0, 0.0)
    p = unit(cross(b, other))
    return p, cross(b, p)
