"""The `[[faults]]` section: what a fault may say (its target family's modes and their
parameters, its trigger), the checks that turn a mistake into one sentence, the packed rows
the compiled loop reads, and the README's table of the modes, generated from the families'
declarations.
"""

import math
from typing import Literal

import astropy.units as u
import numpy as np
from pydantic import Field, model_validator

from dynamics.units import (
    AnyQuantity,
    Count,
    Length,
    NonNegativeTime,
    Number,
    PositiveTime,
    Strict,
    any_quantity_si,
)
from faults import channel, flight_computer, imu, main_engine, rcs
from faults.mode import FAMILIES
from gnc.interface import flight_log
from sensors import bus

# the family modules, in the order their rows number them (each its FAMILY)
MODULES = tuple(sorted((channel, flight_computer, imu, main_engine, rcs), key=lambda m: m.FAMILY))
MODES = tuple(dict.fromkeys(mode.name for family in MODULES for mode in family.MODES))
TRIGGERS = ("time", "altitude", "phase", "event")
TIME, ALTITUDE, PHASE, EVENT = range(len(TRIGGERS))

# What each parameter is, with its unit, in the order the README lists them.
PARAMETERS = {
    "value": "a value in the unit of what the target measures (m, m/s, rad; the IMU's m/s^2 "
    "or rad/s; a throttle for `throttle_stuck`)",
    "rate": "that unit per second",
    "factor": "a multiplier, > 0",
    "fraction": "a share, 0 to 1 (of the samples dropped, of the thrust lost)",
    "delay": "s",
    "element": "which value of a multi-value measurement (0 first; all when omitted)",
    "index": "which engine or thruster (0 first; every engine when omitted)",
    "triad": "`accelerometer`, `gyro` or `both` (`both` where it may be omitted)",
    "axis": "`x`, `y`, `z` or `all` (`all` when omitted)",
    "reboot_time": "s, off line",
    "relight_delay": "s after coming back before the main engine may burn",
}
# Fields a campaign may disperse ("trigger": its time or altitude), each read back from its
# FAULT_DTYPE field; the SI unit of those whose unit does not depend on the target.
DISPERSIBLE = {
    "trigger": "trigger_value",
    "duration": "duration_s",
    "value": "value",
    "rate": "rate",
    "factor": "factor",
    "fraction": "fraction",
    "delay": "delay_s",
}
FIXED_UNITS = {"duration": "s", "delay": "s", "factor": "", "fraction": ""}


class Trigger(Strict):
    """When a fault fires: exactly one of a time, a true altitude (crossed going down), the
    entry into a phase, or an event of the log ("<event>" or "<event>:<channel, fault or
    phase>")."""

    time: NonNegativeTime | None = None
    altitude: Length | None = None
    phase: Literal[flight_log.PHASES] | None = None
    event: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self):
        if sum(getattr(self, k) is not None for k in TRIGGERS) != 1:
            raise ValueError("give exactly one of " + ", ".join(TRIGGERS))
        return self


class Fault(Strict):
    """A fault to inject: its target (a sensor channel's name, or one of the other families),
    its mode and the mode's parameters (`faults.<family>`)."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    target: str  # a sensor channel's name, imu, main_engine, rcs or flight_computer
    mode: Literal[MODES]
    trigger: Trigger = Trigger(time="0 s")  # from PDI
    duration: PositiveTime | None = None  # for good when omitted
    probability: Number = Field(default=1.0, ge=0.0, le=1.0)  # that it occurs in a run
    value: AnyQuantity | None = None  # in the unit of what the target measures
    rate: AnyQuantity | None = None  # that unit per second
    factor: Number | None = Field(default=None, gt=0.0)
    fraction: Number | None = Field(default=None, ge=0.0, le=1.0)
    delay: PositiveTime | None = None
    element: Count | None = Field(default=None, ge=0)
    index: Count | None = Field(default=None, ge=0)
    triad: Literal[imu.TRIADS] | None = None  # both when omitted
    axis: Literal[imu.AXES] | None = None  # all when omitted
    reboot_time: NonNegativeTime | None = None
    relight_delay: NonNegativeTime | None = None

    @property
    def family(self):
        """The module of the target's family."""
        named = FAMILIES.index(self.target) if self.target in FAMILIES[1:] else channel.FAMILY
        return MODULES[named]


FAULT_DTYPE = np.dtype(
    [
        ("target", np.int64),  # its family (`faults.mode.FAMILIES`)
        ("index", np.int64),  # channel, engine or thruster; -1: every engine
        ("mode", np.int64),  # within its family
        ("trigger", np.int64),
        ("trigger_value", np.float64),  # time [s] or altitude [m]
        ("trigger_code", np.int64),  # phase, or event code
        ("trigger_detail", np.int64),  # the event's channel or fault; -1 any
        ("duration_s", np.float64),  # inf: for good
        ("occurs", np.bool_),  # drawn per run from its probability
        ("has_value", np.bool_),
        ("value", np.float64),  # SI
        ("rate", np.float64),  # SI per second
        ("factor", np.float64),
        ("fraction", np.float64),
        ("delay_s", np.float64),
        ("element", np.int64),  # -1: all
        ("triad", np.int64),  # 0 accelerometer, 1 gyro, 2 both
        ("axis", np.int64),  # 0-2, 3 all
        ("reboot_time_s", np.float64),
        ("relight_delay_s", np.float64),
    ],
    align=True,
)

FAULT_STATE_DTYPE = np.dtype(
    [
        ("active", np.bool_),
        ("ended", np.bool_),
        ("start_s", np.float64),
        ("events_seen", np.int64),  # event-log entries already looked at by an event trigger
        ("held", np.float64, (bus.MAX_DIMENSION,)),  # stuck: the values it holds
        ("held_valid", np.bool_),
        ("stream", np.uint64, (4,)),  # dropouts
    ],
    align=True,
)


def modes_of(family):
    """{name: Mode} of a family's modes."""
    return {mode.name: mode for mode in family.MODES}


def expected_units(fault, unit_of_channel):
    """(unit of `value`, unit of `rate`) a fault's target measures in (SI), or None."""
    unit_of = getattr(fault.family, "value_unit", None)
    unit = unit_of(fault, unit_of_channel) if unit_of is not None else None
    if unit is None:
        return None, None
    return unit, (u.Unit(unit or "") / u.s).to_string()


def event_trigger(text, channels, faults):
    """(event code, detail or -1) of an event trigger "<event>" or "<event>:<subject>", the
    subject a channel (sensor events), a fault (fault events) or a phase (phase_change)."""
    event, _, subject = text.partition(":")
    if event not in flight_log.EVENTS:
        raise ValueError(f"event {event!r} is not one of {', '.join(flight_log.EVENTS)}")
    code = flight_log.EVENTS.index(event)
    if not subject:
        return code, -1
    names = (
        channels
        if code in flight_log.SENSOR_EVENTS
        else faults
        if code in (flight_log.FAULT_ACTIVATED, flight_log.FAULT_ENDED)
        else flight_log.PHASES
        if code == flight_log.PHASE_CHANGE
        else ()
    )
    if subject not in names:
        raise ValueError(
            f"event {event!r} has no subject {subject!r}"
            + (f"; expected one of {', '.join(names)}" if names else "")
        )
    return code, list(names).index(subject)


def check(fault, channels, faults, n_engines, n_thrusters):
    """ValueError saying what is wrong with a fault, given the scenario's channel names, fault
    names, and main-engine and thruster counts."""
    family = fault.family
    if family is channel and fault.target not in channels:
        raise ValueError(
            f"target {fault.target!r} is not a sensor channel of this scenario ("
            + ", ".join(channels)
            + ") nor one of "
            + ", ".join(FAMILIES[1:])
        )
    modes = modes_of(family)
    if fault.mode not in modes:
        raise ValueError(
            f"mode {fault.mode!r} does not apply to {FAMILIES[family.FAMILY]} targets; "
            f"expected one of {', '.join(modes)}"
        )
    mode = modes[fault.mode]
    given = {p for p in PARAMETERS if getattr(fault, p) is not None}
    missing = [p for p in mode.needs if p not in given]
    if missing:
        raise ValueError(f"mode {fault.mode!r} needs {', '.join(repr(p) for p in missing)}")
    extra = sorted(given - set(mode.needs) - set(mode.may_take))
    if extra:
        raise ValueError(f"mode {fault.mode!r} does not take {', '.join(map(repr, extra))}")
    family_check = getattr(family, "check", None)
    if family_check is not None:
        family_check(fault)
    count = {main_engine: n_engines, rcs: n_thrusters}.get(family)
    if fault.index is not None and not 0 <= fault.index < count:
        raise ValueError(f"index {fault.index} is out of range: there are {count}")
    if fault.trigger.event is not None:
        event_trigger(fault.trigger.event, channels, faults)


def pack(fault, unit_of_channel, channels, faults):
    """A FAULT_DTYPE record of a checked fault (SI) given the scenario's channel names and fault
    names; `occurs` is left for the run's draw."""
    row = np.zeros(1, FAULT_DTYPE)[0]
    value_unit, rate_unit = expected_units(fault, unit_of_channel)
    given = fault.value is not None or fault.rate is not None
    family = fault.family
    if given and family is channel and value_unit is None:
        raise ValueError(
            f"the values of channel {fault.target!r} differ in units: give the fault an 'element'"
        )
    trig = fault.trigger
    kind = next(k for k in TRIGGERS if getattr(trig, k) is not None)
    row["target"] = family.FAMILY
    row["index"] = (
        list(channels).index(fault.target)
        if family is channel
        else (-1 if fault.index is None else fault.index)
    )
    row["mode"] = list(modes_of(family)).index(fault.mode)
    row["trigger"] = TRIGGERS.index(kind)
    row["trigger_value"] = trig.time if kind == "time" else (trig.altitude or 0.0)
    row["trigger_code"], row["trigger_detail"] = (
        (flight_log.PHASES.index(trig.phase), -1)
        if kind == "phase"
        else (event_trigger(trig.event, channels, faults) if kind == "event" else (0, -1))
    )
    row["duration_s"] = math.inf if fault.duration is None else fault.duration
    row["has_value"] = fault.value is not None
    if fault.value is not None:
        row["value"] = any_quantity_si(fault.value, value_unit, "value")
    if fault.rate is not None:
        row["rate"] = any_quantity_si(fault.rate, rate_unit, "rate")
    row["factor"] = 1.0 if fault.factor is None else fault.factor
    row["fraction"] = fault.fraction or 0.0
    row["delay_s"] = fault.delay or 0.0
    row["element"] = -1 if fault.element is None else fault.element
    row["triad"] = imu.TRIADS.index(fault.triad or "both")
    row["axis"] = imu.AXES.index(fault.axis or "all")
    row["reboot_time_s"] = fault.reboot_time or 0.0
    row["relight_delay_s"] = (
        fault.relight_delay if fault.relight_delay is not None else (fault.reboot_time or 0.0)
    )
    return row


def target_name(row, channels):
    """What a packed fault acts on, as the scenario names it ("lrf", "main_engine[1]", ...)."""
    target, index = int(row["target"]), int(row["index"])
    if target == channel.FAMILY:
        return channels[index].name
    if target in (main_engine.FAMILY, rcs.FAMILY) and index >= 0:
        return f"{FAMILIES[target]}[{index}]"
    return FAMILIES[target]


def mode_name(row):
    """The name of a packed fault's mode."""
    return MODULES[int(row["target"])].MODES[int(row["mode"])].name


def failure_classes():
    """{(target, mode): the failure class of a run the fault fires in} of the modes that
    class it (`sims.analysis.failure_class`)."""
    return {
        (FAMILIES[family.FAMILY], mode.name): mode.failure_class
        for family in MODULES
        for mode in family.MODES
        if mode.failure_class is not None
    }


def modes_markdown():
    """Every family's modes (what they need, may take and do, how a run they fire in is
    classed), the parameters and the dispersible fields, as Markdown: the README's, checked
    by a test so that it cannot drift from the declarations."""
    rows = [
        "| target | mode | needs | may take | what it does | classed as |",
        "|---|---|---|---|---|---|",
    ]
    for family in MODULES:
        for mode in family.MODES:
            needs = ", ".join(f"`{p}`" for p in mode.needs) or "-"
            takes = ", ".join(f"`{p}`" for p in mode.may_take) or "-"
            classed = f"`{mode.failure_class}`" if mode.failure_class else "-"
            rows.append(
                f"| {family.TARGET} | `{mode.name}` | {needs} | {takes} | {mode.does} | {classed} |"
            )
    rows += ["", "| parameter | what, in which unit |", "|---|---|"]
    rows += [f"| `{name}` | {meaning} |" for name, meaning in PARAMETERS.items()]
    dispersible = ", ".join(f"`faults.<name>.{field}`" for field in DISPERSIBLE)
    rows += [
        "",
        f"Dispersible: {dispersible} (`trigger`: its time or altitude, in its unit).",
    ]
    return "\n".join(rows)
