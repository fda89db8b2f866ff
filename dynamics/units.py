"""Field types of scenario schemas: quantities written with units ("15 km", "2 deg") turned into
SI floats once, unit directions, and the strict base model every section uses.

astropy parses and converts; these helpers build pydantic field types that accept only
quantities of the right dimension and say what was expected when they get something else.
They live with the other shared foundations (constants, frames) so that every package's
schema (a sensor kind's channel section, say) can use them.
"""

import warnings
from typing import Annotated

import astropy.units as u
import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict


class Strict(BaseModel):
    """A scenario section: unknown keys are errors, values are frozen once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# Angles, counts of turns and rates are converted with astropy's dimensionless-angle rules
# only where the field is an angle or a rate; elsewhere dimensions must match exactly.
_SI = {
    "m": u.m,
    "s": u.s,
    "kg": u.kg,
    "N": u.N,
    "rad": u.rad,
    "rad/s": u.rad / u.s,
    "m/s": u.m / u.s,
    "Hz": u.Hz,
    "kg m2": u.kg * u.m**2,
    "m/s2": u.m / u.s**2,
    "m/s/sqrt(s)": u.m / u.s**1.5,
    "rad/sqrt(s)": u.rad / u.s**0.5,
    "m/s2/sqrt(s)": u.m / u.s**2.5,
    "rad/s/sqrt(s)": u.rad / u.s**1.5,
}
_KIND = {
    "m": "a length",
    "s": "a time",
    "kg": "a mass",
    "N": "a force",
    "rad": "an angle",
    "rad/s": "an angular rate",
    "m/s": "a speed",
    "Hz": "a frequency",
    "kg m2": "a moment of inertia",
    "m/s2": "an acceleration",
    "m/s/sqrt(s)": "a velocity random walk",
    "rad/sqrt(s)": "an angle random walk",
    "m/s2/sqrt(s)": "an acceleration random walk",
    "rad/s/sqrt(s)": "an angular-rate random walk",
}


def parse_quantity(value, si_unit: str, example: str) -> float:
    """SI value of a quantity string; ValueError with the expected dimension otherwise."""
    expected = f"{_KIND[si_unit]} with units, like '{example}'"
    if not isinstance(value, str):
        raise ValueError(f"got {value!r}; expected {expected}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", u.UnitsWarning)  # "m/s/h(1/2)" style is fine here
            q = u.Quantity(value)
    except (TypeError, ValueError):
        raise ValueError(f"could not read {value!r} as a quantity; expected {expected}") from None
    if q.isscalar is False:
        raise ValueError(f"got {value!r}; expected a single value, {expected}")
    try:
        return float(q.to_value(_SI[si_unit]))
    except u.UnitConversionError:
        got = q.unit.physical_type if q.unit != u.dimensionless_unscaled else "no unit"
        raise ValueError(f"{value!r} has units of {got}; expected {expected}") from None


def quantity(si_unit: str, example: str, *, positive: bool = False, non_negative: bool = False):
    """Pydantic float type for a scalar quantity in si_unit, parsed from a unit string."""

    def parse(value):
        x = parse_quantity(value, si_unit, example)
        if positive and not x > 0.0:
            raise ValueError(f"{value!r} must be greater than zero")
        if non_negative and x < 0.0:
            raise ValueError(f"{value!r} must not be negative")
        return x

    return Annotated[float, BeforeValidator(parse)]


def vector(si_unit: str, example: str):
    """Pydantic type for a 3-vector of quantity strings, e.g. ["0 m", "0 m", "1 m"]."""

    def parse(value):
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValueError(
                f"got {value!r}; expected a list of three quantities, like "
                f"['{example}', '{example}', '{example}']"
            )
        return tuple(parse_quantity(v, si_unit, example) for v in value)

    return Annotated[tuple[float, float, float], BeforeValidator(parse)]


Length = quantity("m", "15 km")
PositiveLength = quantity("m", "10 m", positive=True)
Time = quantity("s", "10 s")
PositiveTime = quantity("s", "10 ms", positive=True)
NonNegativeTime = quantity("s", "10 ms", non_negative=True)
PositiveMass = quantity("kg", "340 kg", positive=True)
NonNegativeMass = quantity("kg", "360 kg", non_negative=True)
PositiveForce = quantity("N", "2500 N", positive=True)
Angle = quantity("rad", "2 deg")
NonNegativeAngle = quantity("rad", "2 deg", non_negative=True)
PositiveRate = quantity("rad/s", "1 rad/s", positive=True)
PositiveAngularRate = quantity("rad/s", "5 deg/s", positive=True)
PositiveSpeed = quantity("m/s", "2 m/s", positive=True)
PositiveFrequency = quantity("Hz", "10 Hz", positive=True)
NonNegativeLength = quantity("m", "0.5 m", non_negative=True)
NonNegativeAcceleration = quantity("m/s2", "0.0005 m/s2", non_negative=True)
NonNegativeAngularRate = quantity("rad/s", "0.01 deg/h", non_negative=True)
VelocityRandomWalk = quantity("m/s/sqrt(s)", "0.02 m/s/h(1/2)", non_negative=True)
AngleRandomWalk = quantity("rad/sqrt(s)", "0.05 deg/h(1/2)", non_negative=True)
AccelerationRandomWalk = quantity("m/s2/sqrt(s)", "1e-6 m/s2/s(1/2)", non_negative=True)
AngularRateRandomWalk = quantity("rad/s/sqrt(s)", "0.01 deg/h/h(1/2)", non_negative=True)
LengthVector = vector("m", "0.5 m")
InertiaVector = vector("kg m2", "300 kg m2")


def _unit(v):
    n = float(np.linalg.norm(v))
    if not n > 0.0:
        raise ValueError("a direction must not be the zero vector")
    return tuple(float(c) / n for c in v)


# A unitless direction, normalised on load.
Direction = Annotated[tuple[float, float, float], AfterValidator(_unit)]


def parse_any_quantity(value):
    """(SI value, SI unit) of a quantity string ("50 m", "2 arcsec"), or (value, "") of a plain
    number: for fields whose unit depends on what they apply to (a fault's bias is in metres on
    a rangefinder, radians on a star tracker), checked against it later."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), ""
    if not isinstance(value, str):
        raise ValueError(f"got {value!r}; expected a quantity with units, like '50 m', or a number")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", u.UnitsWarning)
            q = u.Quantity(value)
    except (TypeError, ValueError):
        raise ValueError(f"could not read {value!r} as a quantity") from None
    if not q.isscalar:
        raise ValueError(f"got {value!r}; expected a single value")
    si = q.si
    return float(si.value), si.unit.to_string()


AnyQuantity = Annotated[tuple[float, str], BeforeValidator(parse_any_quantity)]
