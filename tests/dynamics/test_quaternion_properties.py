"""Property tests of the attitude algebra every model relies on."""

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from dynamics import quaternion, vector

finite = st.floats(-10.0, 10.0, allow_nan=False)
vec = st.tuples(finite, finite, finite).filter(lambda v: vector.norm(v) > 1e-3)
angle = st.floats(-math.pi, math.pi, allow_nan=False)


@given(vec, angle, vec)
def test_rotation_preserves_length_and_inverts(axis, a, v):
    q = quaternion.from_axis_angle(axis, a)
    w = quaternion.rotate(q, v)
    assert math.isclose(vector.norm(w), vector.norm(v), rel_tol=1e-12)
    assert np.allclose(quaternion.rotate_inverse(q, w), v, atol=1e-12)


@given(vec, angle, vec, angle, vec)
def test_composition_is_rotation_after_rotation(axis_a, a, axis_b, b, v):
    qa, qb = quaternion.from_axis_angle(axis_a, a), quaternion.from_axis_angle(axis_b, b)
    lhs = quaternion.rotate(quaternion.multiply(qa, qb), v)
    assert np.allclose(lhs, quaternion.rotate(qa, quaternion.rotate(qb, v)), atol=1e-10)


@given(vec, angle)
def test_from_axes_recovers_the_quaternion(axis, a):
    q = quaternion.from_axis_angle(axis, a)
    x, y, z = (quaternion.rotate(q, e) for e in ((1.0, 0, 0), (0, 1.0, 0), (0, 0, 1.0)))
    assert quaternion.angle_between(quaternion.from_axes(x, y, z), q) < 1e-6


def test_rotation_vector_series_equal_the_trigonometric_forms():
    """Small rotations use series for the half-angle functions and for atan: they must give
    the trigonometric values to round-off, on both sides of where the series take over."""
    rng = np.random.default_rng(5)
    for a in np.concatenate([np.geomspace(1e-9, 3.0, 120), [0.0499999, 0.05, 0.0500001]]):
        axis = rng.normal(size=3)
        v = tuple(a * axis / np.linalg.norm(axis))
        q = quaternion.from_rotation_vector(v)
        k = math.sin(0.5 * a) / a
        exact = (math.cos(0.5 * a), k * v[0], k * v[1], k * v[2])
        assert np.allclose(q, exact, rtol=0.0, atol=4e-16)
        assert np.allclose(quaternion.to_rotation_vector(q), v, rtol=1e-14, atol=1e-22)
