"""Faults of the main engines (target `main_engine`; `index` picks one, every engine when
omitted), acting on the throttle setpoint and on the thrust the truth integrates."""

from numba import njit

from dynamics.units import any_quantity_si
from faults.mode import FAMILIES, Mode, numbers

FAMILY = FAMILIES.index("main_engine")
TARGET = "`main_engine`"
MODES = (
    Mode(
        "thrust_loss", ("fraction",), ("index",), "loses a `fraction` of its thrust", "thrust_loss"
    ),
    Mode(
        "thrust_scaled",
        ("factor",),
        ("index",),
        "multiplies its thrust by `factor`, a thrust the flight software does not expect, "
        "above 1 too (Chandrayaan-2's)",
    ),
    Mode("engine_out", (), ("index",), "no thrust", "engine_out"),
    Mode(
        "shutdown",
        (),
        ("index",),
        "off while active, then relit with the engine's lag (the duration is the relight delay)",
        "engine_shutdown",
    ),
    Mode("throttle_stuck", (), ("value",), "the throttle holds the setpoint it had, or `value`"),
)
NUMBER = numbers(MODES)
THRUST_LOSS, THRUST_SCALED = NUMBER["thrust_loss"], NUMBER["thrust_scaled"]
SHUTDOWN, THROTTLE_STUCK = NUMBER["shutdown"], NUMBER["throttle_stuck"]


def value_unit(fault, unit_of_channel):
    """The SI unit of a main-engine fault's `value`: a throttle's (a plain number)."""
    return "" if fault.mode == "throttle_stuck" else None


def check(fault):
    """ValueError for a stuck throttle outside 0 to 1."""
    if fault.mode == "throttle_stuck" and fault.value is not None:
        throttle = any_quantity_si(fault.value, "", "value")
        if not 0.0 <= throttle <= 1.0:
            raise ValueError(f"a throttle is a fraction from 0 to 1, not {throttle:g}")


@njit(cache=True)
def on_engines(faults, fstates, setpoint, engine_factor):
    """Act on the engines for the coming step: their thrust factors (set here) and the
    throttle setpoint (returned)."""
    for e in range(engine_factor.shape[0]):
        engine_factor[e] = 1.0
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target != FAMILY or not f.occurs:
            continue
        if f.mode == THROTTLE_STUCK and not st.active and not st.ended:
            st.held[0] = setpoint
        if not st.active:
            continue
        if f.mode == THROTTLE_STUCK:
            setpoint = f.value if f.has_value else st.held[0]
            continue
        if f.mode == SHUTDOWN and f.index < 0:  # the throttle decays, relights with lag
            setpoint = 0.0
            continue
        for e in range(engine_factor.shape[0]):
            if f.index >= 0 and f.index != e:
                continue
            if f.mode == THRUST_LOSS:
                engine_factor[e] *= 1.0 - f.fraction
            elif f.mode == THRUST_SCALED:
                engine_factor[e] *= f.factor
            else:  # engine out, shut down
                engine_factor[e] = 0.0
    return setpoint
