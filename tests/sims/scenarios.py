"""Small scenario variants for tests, derived from the bundled open-loop nominal scenario."""

import copy
import tomllib
from importlib import resources

import astropy.units as u
import numpy as np

NOMINAL_TEXT = (resources.files("sims") / "scenarios" / "nominal_open_loop.toml").read_text()
NOMINAL = tomllib.loads(NOMINAL_TEXT)


def variant(**sections):
    """The open-loop nominal scenario dict with whole sections (or 'a__b' sub-tables) replaced."""
    d = copy.deepcopy(NOMINAL)
    for path, value in sections.items():
        *parents, leaf = path.split("__")
        target = d
        for p in parents:
            target = target[p]
        target[leaf] = value
    return d


def free_fall(time_step="1 ms"):
    """Engine off over a bare, non-rotating point-mass Moon, ideal attitude (thrust axis up)."""
    return variant(
        moon={"gravity": "point_mass", "rotation": False, "gravity_gradient_torque": False},
        terrain={"seed": 0, "max_crater_diameter": "1 km"},
        simulation={"time_step": time_step, "max_time": "60 s", "output_rate": "10 Hz"},
        open_loop={
            "attitude": "ideal",
            "schedule": [{"t": "0 s", "throttle": 0.0, "direction": [0, 0, 1]}],
        },
    )


class Orbit:
    """A poliastro-style initial state: astropy Quantity .r and .v."""

    def __init__(self, r_m, v_mps):
        self.r = np.asarray(r_m) * u.m
        self.v = np.asarray(v_mps) * u.m / u.s
