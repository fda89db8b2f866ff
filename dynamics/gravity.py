"""Lunar gravity: point mass, closed-form J2 or a spherical-harmonic table; gradient torque; and
the scenario's `[moon]` section that chooses among them (`Moon`, packed by `pack`).

The spherical-harmonic field uses the Cunningham recursion with un-normalised coefficients
(Montenbruck & Gill, "Satellite Orbits", 2000, section 3.2.5); tables are given normalised in
scenarios (as published, e.g. GL0660B) and un-normalised once at load time.
"""

import math
from typing import Literal, NamedTuple

import numpy as np
from numba import njit
from pydantic import Field, model_validator

from dynamics import frames, vector
from dynamics.constants import (
    MOON_GM_M3PS2,
    MOON_GRAVITY_REFERENCE_RADIUS_M,
    MOON_J2,
    MOON_ROTATION_RATE_RADPS,
)
from dynamics.units import Count, Flag, Number, Strict
from dynamics.views import record

GRAVITY_DTYPE = np.dtype(
    [
        ("gm_m3ps2", np.float64),
        ("reference_radius_m", np.float64),
        ("j2", np.float64),  # used by the closed-form model when no harmonic table is given
        ("rotation_rate_radps", np.float64),
        ("harmonics_degree", np.int64),  # 0: closed-form point mass + J2; N: table to degree N
        ("gravity_gradient_torque", np.bool_),
    ],
    align=True,
)


class GravityField(NamedTuple):
    """The gravity record and its un-normalised harmonic tables (C, S)."""

    params: np.void
    c: np.ndarray
    s: np.ndarray


def unnormalise(n, m, value_normalised):
    """Un-normalised coefficient from a fully normalised one (Kaula's normalisation)."""
    delta = 1.0 if m == 0 else 0.0
    factor = math.sqrt((2.0 - delta) * (2 * n + 1) * math.factorial(n - m) / math.factorial(n + m))
    return factor * value_normalised


def harmonic_table(terms, degree):
    """(C, S) un-normalised arrays of shape (degree+1, degree+1) from normalised (n, m, C, S) rows.

    C[0, 0] = 1 is the central term; degree-1 terms are zero in a centre-of-mass frame.
    """
    c = np.zeros((degree + 1, degree + 1))
    s = np.zeros((degree + 1, degree + 1))
    c[0, 0] = 1.0
    for n, m, cnm, snm in terms:
        c[n, m] = unnormalise(n, m, cnm)
        s[n, m] = unnormalise(n, m, snm)
    return c, s


@njit(cache=True)
def point_mass_j2_acceleration(r, gm, radius, j2):
    """Acceleration [m/s^2] of a point mass plus J2 about the z axis, at position r [m]."""
    r2 = vector.dot(r, r)
    inv_r2 = 1.0 / r2
    k = -gm * inv_r2 / math.sqrt(r2)
    z2 = r[2] * r[2] * inv_r2
    f = 1.5 * j2 * radius * radius * inv_r2
    kxy = k * (1.0 + f * (1.0 - 5.0 * z2))
    return (kxy * r[0], kxy * r[1], k * (1.0 + f * (3.0 - 5.0 * z2)) * r[2])


@njit(cache=True)
def harmonic_acceleration(r, gm, radius, c, s):
    """Acceleration [m/s^2] of the field with un-normalised coefficients c, s at Moon-fixed r."""
    nmax = c.shape[0] - 1
    r2 = vector.dot(r, r)
    rho = radius * radius / r2
    x0, y0, z0 = radius * r[0] / r2, radius * r[1] / r2, radius * r[2] / r2
    v = np.zeros((nmax + 2, nmax + 2))
    w = np.zeros((nmax + 2, nmax + 2))
    v[0, 0] = radius / math.sqrt(r2)
    v[1, 0] = z0 * v[0, 0]
    for n in range(2, nmax + 2):
        v[n, 0] = ((2 * n - 1) * z0 * v[n - 1, 0] - (n - 1) * rho * v[n - 2, 0]) / n
    for m in range(1, nmax + 2):
        v[m, m] = (2 * m - 1) * (x0 * v[m - 1, m - 1] - y0 * w[m - 1, m - 1])
        w[m, m] = (2 * m - 1) * (x0 * w[m - 1, m - 1] + y0 * v[m - 1, m - 1])
        if m <= nmax:
            v[m + 1, m] = (2 * m + 1) * z0 * v[m, m]
            w[m + 1, m] = (2 * m + 1) * z0 * w[m, m]
        for n in range(m + 2, nmax + 2):
            v[n, m] = ((2 * n - 1) * z0 * v[n - 1, m] - (n + m - 1) * rho * v[n - 2, m]) / (n - m)
            w[n, m] = ((2 * n - 1) * z0 * w[n - 1, m] - (n + m - 1) * rho * w[n - 2, m]) / (n - m)
    ax = ay = az = 0.0
    for m in range(nmax + 1):
        for n in range(m, nmax + 1):
            cnm, snm = c[n, m], s[n, m]
            if m == 0:
                ax -= cnm * v[n + 1, 1]
                ay -= cnm * w[n + 1, 1]
                az -= (n + 1) * cnm * v[n + 1, 0]
            else:
                fac = 0.5 * (n - m + 1) * (n - m + 2)
                ax += 0.5 * (-cnm * v[n + 1, m + 1] - snm * w[n + 1, m + 1]) + fac * (
                    cnm * v[n + 1, m - 1] + snm * w[n + 1, m - 1]
                )
                ay += 0.5 * (-cnm * w[n + 1, m + 1] + snm * v[n + 1, m + 1]) + fac * (
                    -cnm * w[n + 1, m - 1] + snm * v[n + 1, m - 1]
                )
                az += (n - m + 1) * (-cnm * v[n + 1, m] - snm * w[n + 1, m])
    k = gm / (radius * radius)
    return (k * ax, k * ay, k * az)


@njit(cache=True, inline="always")
def acceleration_mci(g, c, s, r_mci, t_s):
    """Gravitational acceleration [m/s^2] in MCI at MCI position r_mci [m], time t_s [s]."""
    if g.harmonics_degree == 0:
        # J2 is symmetric about the spin axis, which MCI and MCMF share: no rotation needed.
        return point_mass_j2_acceleration(r_mci, g.gm_m3ps2, g.reference_radius_m, g.j2)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, g.rotation_rate_radps)
    a = harmonic_acceleration(r_mcmf, g.gm_m3ps2, g.reference_radius_m, c, s)
    return frames.mcmf_to_mci(a, t_s, g.rotation_rate_radps)


@njit(cache=True)
def gradient_torque(r_body, inertia, gm):
    """Gravity-gradient torque [N m] on a body of inertia [kg m^2] (about its centre of mass)
    at position r_body [m] from the Moon's centre, in body components: 3 GM / r^5 r x (I r).
    """
    r2 = vector.dot(r_body, r_body)
    k = 3.0 * gm / (r2 * r2 * math.sqrt(r2))
    return vector.scale(vector.cross(r_body, vector.matvec(inertia, r_body)), k)


class HarmonicTerm(Strict):
    """One fully normalised spherical-harmonic coefficient pair of degree n, order m."""

    n: Count = Field(ge=2, le=50)
    m: Count = Field(ge=0)
    c: Number
    s: Number = 0.0

    @model_validator(mode="after")
    def _order_within_degree(self):
        if self.m > self.n:
            raise ValueError(f"order m = {self.m} must not exceed degree n = {self.n}")
        return self


class Moon(Strict):
    """`[moon]`: the gravity model, the Moon's rotation and the gravity-gradient torque. Not
    dispersible: every run of a batch shares one field."""

    gravity: Literal["point_mass", "j2", "harmonics"] = "j2"
    harmonics: tuple[HarmonicTerm, ...] = ()
    rotation: Flag = True
    gravity_gradient_torque: Flag = True

    @model_validator(mode="after")
    def _table_when_needed(self):
        if self.gravity == "harmonics" and not self.harmonics:
            raise ValueError("gravity = 'harmonics' needs a non-empty 'harmonics' table")
        if self.gravity != "harmonics" and self.harmonics:
            raise ValueError("a 'harmonics' table is only used with gravity = 'harmonics'")
        return self


def pack(moon):
    """The GravityField of a `[moon]` section (un-normalised tables 1x1 when unused)."""
    degree = max((t.n for t in moon.harmonics), default=0)
    c, s = harmonic_table([(t.n, t.m, t.c, t.s) for t in moon.harmonics], degree)
    params = record(
        GRAVITY_DTYPE,
        gm_m3ps2=MOON_GM_M3PS2,
        reference_radius_m=MOON_GRAVITY_REFERENCE_RADIUS_M,
        j2=MOON_J2 if moon.gravity == "j2" else 0.0,
        rotation_rate_radps=MOON_ROTATION_RATE_RADPS if moon.rotation else 0.0,
        harmonics_degree=degree,
        gravity_gradient_torque=moon.gravity_gradient_torque,
    )
    return GravityField(params, c, s)
