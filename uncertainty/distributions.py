"""Probability distributions for dispersed scenario fields: scipy.stats by name, parameters in
the field's units ("3 kg", "0.1 deg"), converted to SI once.

`loc` defaults to the field's nominal value, so `{ distribution = "norm", scale = "3 kg" }`
disperses a mass by 3 kg (1 sigma) about its nominal.
"""

import functools
import json

import numpy as np
import scipy

from dynamics import compile_cache
from dynamics.units import parse_quantity

# Parameters of scipy's location-scale family carry the field's unit (plain numbers for a
# dimensionless field); shape parameters (a, b of truncnorm, s of lognorm, ...) are plain
# numbers.
UNIT_PARAMETERS = ("loc", "scale")


def frozen(name, params, si_unit, nominal, component=None):
    """A frozen scipy.stats continuous distribution; ValueError with what was expected.

    For a vector field (component = 0, 1, 2) a parameter may be a list of three, one per
    component."""
    from scipy import stats  # 0.4 s: imported where a distribution is made

    dist = getattr(stats, name, None)
    if not isinstance(dist, stats.rv_continuous):
        raise ValueError(
            f"distribution {name!r} is not a continuous scipy.stats distribution "
            "(e.g. 'norm', 'uniform', 'truncnorm', 'lognorm')"
        )
    if "scale" not in params:
        raise ValueError(
            f"{name} needs a 'scale' in the field's unit (without one scipy would use 1 SI unit)"
        )
    kwargs = {}
    for key, value in params.items():
        if isinstance(value, list):
            if component is None or len(value) != 3:
                raise ValueError(f"parameter {key!r}: a list needs a vector field and three items")
            value = value[component]
        if key in UNIT_PARAMETERS and si_unit:
            kwargs[key] = parse_quantity(value, si_unit, f"1 {si_unit}")
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not np.isfinite(value):
                raise ValueError(f"parameter {key!r} = {value!r} must be finite")
            kwargs[key] = float(value)
        else:
            raise ValueError(f"parameter {key!r} = {value!r} must be a plain number")
    kwargs.setdefault("loc", nominal)
    try:
        d = dist(**kwargs)
        ok = np.isfinite(d.mean()) and d.std() >= 0.0
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} does not take these parameters ({exc})") from None
    if not ok:
        raise ValueError(f"{name} is not defined for these parameters (is the scale positive?)")
    return d


CHECKED = "checked_dispersions.json"  # beside the compiled code: the dispersions found valid


def check(name, params, si_unit, nominal, component=None):
    """Raise the ValueError `frozen` raises for these arguments, if any: a scenario's check of
    its dispersions. Arguments found valid are remembered beside the compiled code (with
    scipy's version), so that loading a scenario whose dispersions were checked before imports
    no scipy.stats (0.4 s of a run's start); an invalid one is checked, and said, every time."""
    key = json.dumps([scipy.__version__, name, params, si_unit, nominal, component])
    if key in _checked():
        return
    frozen(name, params, si_unit, nominal, component)
    _checked().add(key)
    compile_cache.write_atomically(
        compile_cache.beside_cache("tables") / CHECKED, json.dumps(sorted(_checked()))
    )


@functools.cache
def _checked():
    """The set of argument keys found valid (read once per process)."""
    try:
        return set(json.loads((compile_cache.beside_cache("tables") / CHECKED).read_text()))
    except (OSError, ValueError):
        return set()
