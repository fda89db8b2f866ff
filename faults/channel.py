"""Faults of a sensor channel (the target is the channel's name), acting on its output record
before it is queued for the flight software. `element` picks one value of a multi-value
record (all when omitted)."""

import numpy as np
from numba import njit

from faults.mode import FAMILIES, Mode, numbers
from sensors import random_stream

FAMILY = FAMILIES.index("channel")
TARGET = "a sensor channel (its name)"
MODES = (
    Mode("off", (), (), "no valid data: a sensor never enabled is off from t = 0, or one lost"),
    Mode("stuck", (), ("value", "element"), "holds its last value before it fired, or `value`"),
    Mode("bias", ("value",), ("element",), "adds `value`"),
    Mode("drift", ("rate",), ("element",), "adds an offset growing from zero at `rate`"),
    Mode("noise_scaled", ("factor",), ("element",), "multiplies the noise it draws by `factor`"),
    Mode("dropout", ("fraction",), (), "loses a `fraction` of its samples, drawn per sample"),
    Mode(
        "latency",
        ("delay",),
        (),
        "delivers its data `delay` late, with their time of validity, at which the flight "
        "software predicts them",
    ),
    Mode(
        "degraded",
        ("factor",),
        (),
        "multiplies the received power by `factor`: the kind says what that costs (a "
        "rangefinder reaches the square root of it in range)",
    ),
    Mode("invalid_flag", (), (), "flags good data invalid"),
    Mode("false_valid", (), ("value", "element"), "flags no data valid, reporting `value` (0)"),
)
NUMBER = numbers(MODES)
OFF, STUCK, BIAS, DRIFT = NUMBER["off"], NUMBER["stuck"], NUMBER["bias"], NUMBER["drift"]
NOISE_SCALED, DROPOUT, LATENCY = NUMBER["noise_scaled"], NUMBER["dropout"], NUMBER["latency"]
DEGRADED, INVALID_FLAG, FALSE_VALID = (
    NUMBER["degraded"],
    NUMBER["invalid_flag"],
    NUMBER["false_valid"],
)


def value_unit(fault, unit_of_channel):
    """The SI unit of a channel fault's `value`: the channel's (of its `element`), or None."""
    return unit_of_channel(fault.target, fault.element)


@njit(cache=True)
def hold(f, channel_states, on):
    """The effect a channel fault keeps in its channel's state while active: a degraded
    channel's received power."""
    if f.mode == DEGRADED:
        channel_states[f.index].performance = f.factor if on else 1.0


@njit(cache=True)
def on_sample(faults, fstates, channel, sample, t_s):
    """Act on a channel's output record at t_s; returns the delivery delay [s] it adds."""
    delay = 0.0
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target != FAMILY or f.index != channel or not f.occurs:
            continue
        if f.mode == STUCK and not st.active and not st.ended and sample.valid:
            for j in range(sample.m):  # remember the value it will stick at
                st.held[j] = sample.y[j]
            st.held_valid = True
        if not st.active:
            continue
        if f.mode == OFF:
            sample.valid = False
            for j in range(sample.m):
                sample.y[j] = np.nan
        elif f.mode == DROPOUT:
            if random_stream.uniform(st.stream) < f.fraction:
                sample.valid = False
        elif f.mode == LATENCY:
            delay += f.delay_s
        elif f.mode == INVALID_FLAG:
            sample.valid = False
        elif f.mode == STUCK:
            if f.has_value or st.held_valid:
                sample.valid = True
                for j in range(sample.m):
                    if f.element < 0 or f.element == j:
                        sample.y[j] = f.value if f.has_value else st.held[j]
        elif f.mode == FALSE_VALID:
            if not sample.valid:
                sample.valid = True
                for j in range(sample.m):
                    if f.element < 0 or f.element == j:
                        sample.y[j] = f.value
        else:
            for j in range(sample.m):
                if f.element >= 0 and f.element != j:
                    continue
                if f.mode == BIAS:
                    sample.y[j] += f.value
                elif f.mode == DRIFT:
                    sample.y[j] += f.rate * (t_s - st.start_s)
                elif f.mode == NOISE_SCALED:
                    sample.y[j] += (f.factor - 1.0) * sample.noise[j]
    return delay
