"""Field types of scenario schemas: quantities written with units ("15 km", "2 deg") turned into
SI floats once, unit directions, plain numbers, and the strict base model every section uses.

astropy parses and converts; these helpers build pydantic field types that accept only finite
quantities of the right dimension (and sign, and range) and say what was expected when they
get something else. Plain numbers are numbers: a string "15" or a boolean is refused, and so
are NaN and infinities everywhere. They live with the other shared foundations (constants,
frames) so that every package's schema (a sensor kind's channel section, say) can use them.

A validated scenario is revalidated with the context {"si": True} to check a campaign's
dispersed draws (`sims.campaigns.dispersions`): quantities then arrive as SI numbers and every other
check applies as written.
"""

import math
import warnings
from collections.abc import Callable
from typing import Annotated, Any, NamedTuple

import astropy.units as u
import numpy as np
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict
from pydantic import Strict as StrictType

# Numbers written as numbers (an integer is a number, "15" and true are not).
Number = Annotated[float, StrictType()]
Count = Annotated[int, StrictType()]
Flag = Annotated[bool, StrictType()]

BODY_EXTENT_M = 100.0  # body-frame geometry (centres of mass, engines, legs, sensors) within this


class Strict(BaseModel):
    """A scenario section: unknown keys are errors, values are frozen once validated, and no
    number is NaN or infinite."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Dispersible(NamedTuple):
    """A field of a section that campaigns may disperse: the SI unit of its distribution's
    parameters ("" for a plain number) and its read-back, the value the compiled code uses:
    a field of the section's packed record, or a function of that record."""

    unit: str
    read: str | Callable[[Any], Any]


def read_back(dispersible, record):
    """The value a dispersible field has in its section's packed record (a float or a
    tuple)."""
    if callable(dispersible.read):
        return dispersible.read(record)
    value = record[dispersible.read]
    return tuple(float(v) for v in value) if np.ndim(value) else float(value)


def steps_per_sample(rate_hz, time_step_s, field, multiple_of=1):
    """Truth steps between samples of a rate; the rate must divide the truth rate (and the
    sample must fall on a multiple_of-step boundary)."""
    ratio = 1.0 / (rate_hz * time_step_s)
    if ratio > 2.0**53:  # beyond any run's length, and beyond the step counters
        raise ValueError(f"field '{field}': {rate_hz:g} Hz is slower than any run samples")
    n = round(ratio)
    if n < 1 or abs(ratio - n) > 1e-6 * ratio or n % multiple_of:
        raise ValueError(
            f"field '{field}': {rate_hz:g} Hz must be the truth rate "
            f"{1 / time_step_s:g} Hz divided by a whole number"
            + (f" of control periods ({multiple_of} steps)" if multiple_of > 1 else "")
        )
    return n


class Unit(NamedTuple):
    """What a quantity field holds, for the scenario reference (`sims.scenarios.reference`): its
    SI unit, an example as written, whether a vector, and its range (SI), as words."""

    si_unit: str
    example: str
    vector: bool
    range: str


def _range_words(positive, non_negative, low, high, bound=math.inf):
    if positive:
        return "> 0"
    if non_negative:
        return ">= 0" + (f", <= {high:g}" if high < math.inf else "")
    if bound < math.inf:
        return f"each within +-{bound:g}"
    if low > -math.inf or high < math.inf:
        return f"{low:g} to {high:g}"
    return ""


def si_context(info):
    """True when validating SI values (a dispersed scenario) rather than a written one."""
    return bool(info.context and info.context.get("si"))


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
    "W": u.W,
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
    "W": "a power",
}


def parse_quantity(value, si_unit: str, example: str) -> float:
    """SI value of a finite quantity string; ValueError with the expected dimension otherwise."""
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
        x = float(q.to_value(_SI[si_unit]))
    except u.UnitConversionError:
        got = q.unit.physical_type if q.unit != u.dimensionless_unscaled else "no unit"
        raise ValueError(f"{value!r} has units of {got}; expected {expected}") from None
    if not math.isfinite(x):
        raise ValueError(f"{value!r} is not a finite value; expected {expected}")
    return x


def _si_number(value):
    """A dispersed SI value (context {"si": True}): a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def quantity(
    si_unit: str,
    example: str,
    *,
    positive: bool = False,
    non_negative: bool = False,
    low: float = -math.inf,
    high: float = math.inf,
):
    """Pydantic float type for a scalar quantity in si_unit, parsed from a unit string, finite,
    optionally positive, non-negative, or within [low, high] (SI)."""

    def parse(value, info):
        x = _si_number(value) if si_context(info) else parse_quantity(value, si_unit, example)
        if positive and not x > 0.0:
            raise ValueError(f"{value!r} must be greater than zero")
        if non_negative and x < 0.0:
            raise ValueError(f"{value!r} must not be negative")
        if not low <= x <= high:
            raise ValueError(f"{value!r} must be within {low:g} to {high:g} {si_unit}")
        return x

    words = _range_words(positive, non_negative, low, high)
    return Annotated[float, BeforeValidator(parse), Unit(si_unit, example, False, words)]


def vector(si_unit: str, example: str, *, positive: bool = False, bound: float = math.inf):
    """Pydantic type for a 3-vector of quantity strings, e.g. ["0 m", "0 m", "1 m"]: finite,
    optionally positive, each component within +-bound (SI)."""

    def parse(value, info):
        if not isinstance(value, list | tuple) or len(value) != 3:
            raise ValueError(
                f"got {value!r}; expected a list of three quantities, like "
                f"['{example}', '{example}', '{example}']"
            )
        si = si_context(info)
        out = tuple(_si_number(v) if si else parse_quantity(v, si_unit, example) for v in value)
        if positive and not all(x > 0.0 for x in out):
            raise ValueError(f"{value!r}: every component must be greater than zero")
        if any(abs(x) > bound for x in out):
            raise ValueError(f"{value!r}: every component must be within +-{bound:g} {si_unit}")
        return out

    words = _range_words(positive, False, -math.inf, math.inf, bound)
    unit = Unit(si_unit, example, True, words)
    return Annotated[tuple[float, float, float], BeforeValidator(parse), unit]


def _principal_moments(moments):
    """Principal moments of inertia of a rigid body: no one exceeds the sum of the others."""
    a, b, c = moments
    if a > b + c or b > a + c or c > a + b:
        raise ValueError(
            f"moments of inertia {moments} break the triangle inequality (no principal moment "
            "of a rigid body exceeds the sum of the other two)"
        )
    return moments


Length = quantity("m", "15 km")
PositiveLength = quantity("m", "10 m", positive=True)
Time = quantity("s", "10 s")
PositiveTime = quantity("s", "10 ms", positive=True)
NonNegativeTime = quantity("s", "10 ms", non_negative=True)
PositiveMass = quantity("kg", "340 kg", positive=True)
NonNegativeMass = quantity("kg", "360 kg", non_negative=True)
PositiveForce = quantity("N", "2500 N", positive=True)
PositivePower = quantity("W", "1 kW", positive=True)
Angle = quantity("rad", "2 deg")
Latitude = quantity("rad", "60.5 deg", low=-math.pi / 2, high=math.pi / 2)
NonNegativeAngle = quantity("rad", "2 deg", non_negative=True)
PositiveRate = quantity("rad/s", "1 rad/s", positive=True)
PositiveAngularRate = quantity("rad/s", "5 deg/s", positive=True)
PositiveSpeed = quantity("m/s", "2 m/s", positive=True)
PositiveFrequency = quantity("Hz", "10 Hz", positive=True)
# The smallest step of a ray march: below a centimetre a ray closing on the terrain crawls.
RayStep = quantity("m", "5 m", low=0.01, high=1000.0)
NonNegativeLength = quantity("m", "0.5 m", non_negative=True)
NonNegativeAcceleration = quantity("m/s2", "0.0005 m/s2", non_negative=True)
NonNegativeAngularRate = quantity("rad/s", "0.01 deg/h", non_negative=True)
VelocityRandomWalk = quantity("m/s/sqrt(s)", "0.02 m/s/h(1/2)", non_negative=True)
AngleRandomWalk = quantity("rad/sqrt(s)", "0.05 deg/h(1/2)", non_negative=True)
AccelerationRandomWalk = quantity("m/s2/sqrt(s)", "1e-6 m/s2/s(1/2)", non_negative=True)
AngularRateRandomWalk = quantity("rad/s/sqrt(s)", "0.01 deg/h/h(1/2)", non_negative=True)
LengthVector = vector("m", "0.5 m")
SpeedVector = vector("m/s", "20 m/s")
AccelerationVector = vector("m/s2", "0 m/s2")
BodyVector = vector("m", "0.5 m", bound=BODY_EXTENT_M)  # a point on the lander, body axes
InertiaVector = Annotated[
    vector("kg m2", "300 kg m2", positive=True), AfterValidator(_principal_moments)
]


def _unit(v):
    """v over its norm. Components so large (above ~1e154) or so small that their squares'
    sum overflows or underflows are scaled by the largest first: the direction used to come
    out a zero vector, or be refused as one."""
    largest = max(abs(float(c)) for c in v)
    if not largest > 0.0:
        raise ValueError("a direction must not be the zero vector")
    n = float(np.linalg.norm(v))
    if not 0.0 < n < math.inf:
        v = [float(c) / largest for c in v]
        n = float(np.linalg.norm(v))
    return tuple(float(c) / n for c in v)


# A unitless direction, normalised on load.
Direction = Annotated[tuple[Number, Number, Number], AfterValidator(_unit)]


def parse_any_quantity(value, info):
    """(SI value, SI unit) of a quantity string ("50 m", "2 arcsec"), or (value, "") of a plain
    number: for fields whose unit depends on what they apply to (a fault's bias is in metres on
    a rangefinder, radians on a star tracker), checked against it later."""
    if si_context(info) and isinstance(value, tuple | list) and len(value) == 2:
        return _si_number(value[0]), str(value[1])
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _si_number(value), ""
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
    if not math.isfinite(si.value):
        raise ValueError(f"{value!r} is not a finite value")
    return float(si.value), si.unit.to_string()


AnyQuantity = Annotated[tuple[float, str], BeforeValidator(parse_any_quantity)]


def any_quantity_si(quantity, unit, what):
    """SI value of an AnyQuantity in the unit it turned out to need ("" for a plain number);
    ValueError naming the field `what` otherwise."""
    value, given = quantity
    expected = u.Unit(unit) if unit else u.dimensionless_unscaled
    try:
        return float(value * u.Unit(given or "").to(expected))
    except u.UnitConversionError:
        wanted = f"in units of {expected}" if unit else "a plain number"
        raise ValueError(f"'{what}' must be {wanted}, not in {given or 'no unit'}") from None
