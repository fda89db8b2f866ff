"""Small two-body orbit toolkit: classical elements to state and back, Kepler propagation, and
the descent-orbit set-up that places powered-descent initiation (PDI) at periapsis.

Our own code because poliastro does not install on Python >= 3.11; any object with astropy
Quantity `.r` and `.v` (a poliastro or hapsira `Orbit`) is accepted by `state_from_orbit`.
"""

import math

import numpy as np


def state_from_elements(a_m, e, i_rad, raan_rad, argp_rad, nu_rad, gm):
    """Position [m] and velocity [m/s] from classical elements (elliptic orbits)."""
    p = a_m * (1.0 - e * e)
    r_pf = p / (1.0 + e * math.cos(nu_rad)) * np.array([math.cos(nu_rad), math.sin(nu_rad), 0.0])
    v_pf = math.sqrt(gm / p) * np.array([-math.sin(nu_rad), e + math.cos(nu_rad), 0.0])
    rot = _perifocal_to_inertial(i_rad, raan_rad, argp_rad)
    return rot @ r_pf, rot @ v_pf


def elements_from_state(r_m, v_mps, gm):
    """(a, e, i, raan, argp, nu) [m, -, rad...] of an elliptic, inclined orbit."""
    r_m, v_mps = np.asarray(r_m, float), np.asarray(v_mps, float)
    r = np.linalg.norm(r_m)
    h = np.cross(r_m, v_mps)
    n = np.cross([0.0, 0.0, 1.0], h)
    e_vec = np.cross(v_mps, h) / gm - r_m / r
    e = np.linalg.norm(e_vec)
    a = 1.0 / (2.0 / r - v_mps @ v_mps / gm)
    i = math.acos(h[2] / np.linalg.norm(h))
    raan = math.atan2(n[1], n[0]) % (2 * math.pi)
    argp = math.atan2(np.cross(n, e_vec) @ h / np.linalg.norm(h), n @ e_vec) % (2 * math.pi)
    nu = math.atan2(np.cross(e_vec, r_m) @ h / np.linalg.norm(h), e_vec @ r_m) % (2 * math.pi)
    return a, e, i, raan, argp, nu


def period_s(a_m, gm):
    return 2.0 * math.pi * math.sqrt(a_m**3 / gm)


def propagate_kepler(r_m, v_mps, dt_s, gm):
    """Two-body state after dt_s, by solving Kepler's equation (elliptic orbits)."""
    from scipy.optimize import brentq  # off the import path of a run that does not use it

    a, e, i, raan, argp, nu = elements_from_state(r_m, v_mps, gm)
    big_e = 2.0 * math.atan2(
        math.sqrt(1 - e) * math.sin(nu / 2), math.sqrt(1 + e) * math.cos(nu / 2)
    )
    mean = big_e - e * math.sin(big_e) + math.sqrt(gm / a**3) * dt_s
    mean = math.fmod(mean, 2.0 * math.pi)
    big_e = brentq(
        lambda ea: ea - e * math.sin(ea) - mean, mean - 1.0 - e, mean + 1.0 + e, xtol=1e-15
    )
    nu = 2.0 * math.atan2(
        math.sqrt(1 + e) * math.sin(big_e / 2), math.sqrt(1 - e) * math.cos(big_e / 2)
    )
    return state_from_elements(a, e, i, raan, argp, nu, gm)


def descent_orbit_pdi_state(
    periapsis_radius_m, apoapsis_radius_m, position_unit, direction_unit, gm
):
    """PDI state at periapsis of a descent orbit: position along position_unit and velocity
    along the (horizontal) direction_unit, with the vis-viva periapsis speed.
    """
    a = 0.5 * (periapsis_radius_m + apoapsis_radius_m)
    speed = math.sqrt(gm * (2.0 / periapsis_radius_m - 1.0 / a))
    return periapsis_radius_m * np.asarray(position_unit), speed * np.asarray(direction_unit)


def state_from_orbit(orbit):
    """(r [m], v [m/s]) from any object with astropy Quantity `.r` and `.v`, e.g. a poliastro
    or hapsira `Orbit` (its frame must be the Moon-centred frame the scenario uses); a
    TypeError in one sentence for anything else (bare arrays carry no units)."""
    import astropy.units as u

    try:
        r = np.asarray(orbit.r.to_value(u.m), dtype=float)
        v = np.asarray(orbit.v.to_value(u.m / u.s), dtype=float)
    except (AttributeError, u.UnitConversionError, TypeError):
        raise TypeError(
            f"initial_orbit: expected an object with astropy Quantity .r [length] and .v "
            f"[speed], 3 components each, in the Moon-centred inertial frame at PDI (a "
            f"poliastro or hapsira Orbit), got {type(orbit).__name__}: give arrays units, "
            f"e.g. SimpleNamespace(r=r_m * u.m, v=v_mps * u.m / u.s)"
        ) from None
    if r.shape != (3,) or v.shape != (3,) or not (np.isfinite(r).all() and np.isfinite(v).all()):
        raise TypeError(f"initial_orbit: .r and .v must be 3 finite components each, got {r}, {v}")
    return r, v


def _perifocal_to_inertial(i, raan, argp):
    ci, si = math.cos(i), math.sin(i)
    co, so = math.cos(raan), math.sin(raan)
    cw, sw = math.cos(argp), math.sin(argp)
    return np.array(
        [
            [co * cw - so * sw * ci, -co * sw - so * cw * ci, so * si],
            [so * cw + co * sw * ci, -so * sw + co * cw * ci, -co * si],
            [sw * si, cw * si, ci],
        ]
    )
