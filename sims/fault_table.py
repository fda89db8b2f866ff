"""The fault table: what a scenario's `[[faults]]` may say (targets, modes and the parameters
each mode takes), the checks that turn a mistake into one sentence, and the packed records the
compiled loop reads (`sims.faults` says what each mode does and when it fires).
"""

import math

import astropy.units as u
import numpy as np

from gnc.interface import flight_log
from sensors import bus

TARGETS = ("channel", "imu", "main_engine", "rcs", "flight_computer")
CHANNEL, IMU, MAIN_ENGINE, RCS, FLIGHT_COMPUTER = range(5)
MODES = (
    "off",
    "stuck",
    "bias",
    "drift",
    "noise_scaled",
    "dropout",
    "latency",
    "degraded",
    "invalid_flag",
    "false_valid",
    "zero",
    "thrust_loss",
    "engine_out",
    "shutdown",
    "throttle_stuck",
    "stuck_on",
    "stuck_off",
    "reset",
    "thrust_scaled",
)
(
    OFF,
    STUCK,
    BIAS,
    DRIFT,
    NOISE_SCALED,
    DROPOUT,
    LATENCY,
    DEGRADED,
    INVALID_FLAG,
    FALSE_VALID,
    ZERO,
    THRUST_LOSS,
    ENGINE_OUT,
    SHUTDOWN,
    THROTTLE_STUCK,
    STUCK_ON,
    STUCK_OFF,
    RESET,
    THRUST_SCALED,
) = range(len(MODES))
TRIGGERS = ("time", "altitude", "phase", "event")
TIME, ALTITUDE, PHASE, EVENT = range(4)
TRIADS = ("accelerometer", "gyro", "both")
AXES = ("x", "y", "z", "all")

# Modes of each target class, and the parameters each mode needs (required, optional).
MODES_OF = {
    CHANNEL: {
        "off": ((), ()),
        "stuck": ((), ("value", "element")),
        "bias": (("value",), ("element",)),
        "drift": (("rate",), ("element",)),
        "noise_scaled": (("factor",), ("element",)),
        "dropout": (("fraction",), ()),
        "latency": (("delay",), ()),
        "degraded": (("factor",), ()),
        "invalid_flag": ((), ()),
        "false_valid": ((), ("value", "element")),
    },
    IMU: {
        "off": ((), ()),
        "zero": ((), ("triad", "axis")),
        "stuck": ((), ("triad", "axis")),
        "bias": (("value", "triad"), ("axis",)),
        "drift": (("rate", "triad"), ("axis",)),
        "noise_scaled": (("factor",), ("triad",)),
    },
    MAIN_ENGINE: {
        "thrust_loss": (("fraction",), ("index",)),
        "thrust_scaled": (("factor",), ("index",)),
        "engine_out": ((), ("index",)),
        "shutdown": ((), ("index",)),
        "throttle_stuck": ((), ("value",)),
    },
    RCS: {"stuck_on": (("index",), ()), "stuck_off": (("index",), ())},
    FLIGHT_COMPUTER: {"reset": (("reboot_time",), ("relight_delay",))},
}
PARAMETERS = (
    "value",
    "rate",
    "factor",
    "fraction",
    "delay",
    "element",
    "index",
    "triad",
    "axis",
    "reboot_time",
    "relight_delay",
)
# What each parameter is, with its unit (the README's table, `modes_markdown`).
MEANING = {
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
# Fields a campaign may disperse ("trigger" is the trigger's time or altitude).
DISPERSIBLE = ("trigger", "duration", "value", "rate", "factor", "fraction", "delay")


def modes_markdown():
    """Every target's modes with their parameters, and the dispersible fields, as Markdown
    (the README's, checked by a test so that it cannot drift from this table)."""
    targets = (
        "a sensor channel (its name)",
        "`imu`",
        "`main_engine`",
        "`rcs`",
        "`flight_computer`",
    )
    rows = ["| target | mode | needs | may take |", "|---|---|---|---|"]
    for target, modes in MODES_OF.items():
        for mode, (required, optional) in modes.items():
            needs = ", ".join(f"`{p}`" for p in required) or "-"
            takes = ", ".join(f"`{p}`" for p in optional) or "-"
            rows.append(f"| {targets[target]} | `{mode}` | {needs} | {takes} |")
    rows += ["", "| parameter | what, in which unit |", "|---|---|"]
    rows += [f"| `{name}` | {MEANING[name]} |" for name in PARAMETERS]
    dispersible = ", ".join(f"`faults.<name>.{field}`" for field in DISPERSIBLE)
    rows += [
        "",
        f"Dispersible: {dispersible} (`trigger`: its time or altitude, in its unit).",
    ]
    return "\n".join(rows)


FAULT_DTYPE = np.dtype(
    [
        ("target", np.int64),
        ("index", np.int64),  # channel, engine or thruster; -1: every engine
        ("mode", np.int64),
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


def expected_units(fault, unit_of_channel):
    """(unit of `value`, unit of `rate`) a fault's target measures in (SI), or None."""
    if fault.target_class == CHANNEL:
        unit = unit_of_channel(fault.target, fault.element)
    elif fault.target_class == IMU:
        unit = {"accelerometer": "m/s2", "gyro": "rad/s"}.get(fault.triad)
    elif fault.mode == "throttle_stuck":
        unit = ""
    else:
        return None, None
    if unit is None:
        return None, None
    return unit, (u.Unit(unit or "") / u.s).to_string()


def si_value(quantity, unit, what):
    """SI value of a parsed (value, unit) quantity in the expected unit; ValueError otherwise."""
    value, given = quantity
    expected = u.Unit(unit) if unit else u.dimensionless_unscaled
    try:
        return float(value * u.Unit(given or "").to(expected))
    except u.UnitConversionError:
        wanted = f"in units of {expected}" if unit else "a plain number"
        raise ValueError(f"'{what}' must be {wanted}, not in {given or 'no unit'}") from None


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
    if fault.target_class == CHANNEL and fault.target not in channels:
        raise ValueError(
            f"target {fault.target!r} is not a sensor channel of this scenario ("
            + ", ".join(channels)
            + ") nor one of imu, main_engine, rcs, flight_computer"
        )
    modes_of = MODES_OF[fault.target_class]
    if fault.mode not in modes_of:
        raise ValueError(
            f"mode {fault.mode!r} does not apply to {TARGETS[fault.target_class]} targets; "
            f"expected one of {', '.join(modes_of)}"
        )
    required, optional = modes_of[fault.mode]
    given = {p for p in PARAMETERS if getattr(fault, p) is not None}
    missing = [p for p in required if p not in given]
    if missing:
        raise ValueError(f"mode {fault.mode!r} needs {', '.join(repr(p) for p in missing)}")
    extra = sorted(given - set(required) - set(optional))
    if extra:
        raise ValueError(f"mode {fault.mode!r} does not take {', '.join(map(repr, extra))}")
    if fault.triad == "both" and fault.mode in ("bias", "drift"):
        raise ValueError("an IMU bias or drift needs one triad: 'accelerometer' or 'gyro'")
    if fault.mode == "throttle_stuck" and fault.value is not None:
        throttle = si_value(fault.value, "", "value")
        if not 0.0 <= throttle <= 1.0:
            raise ValueError(f"a throttle is a fraction from 0 to 1, not {throttle:g}")
    count = {MAIN_ENGINE: n_engines, RCS: n_thrusters}.get(fault.target_class)
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
    if given and fault.target_class == CHANNEL and value_unit is None:
        raise ValueError(
            f"the values of channel {fault.target!r} differ in units: give the fault an 'element'"
        )
    trig = fault.trigger
    kind = next(k for k in TRIGGERS if getattr(trig, k) is not None)
    row["target"] = fault.target_class
    row["index"] = (
        list(channels).index(fault.target)
        if fault.target_class == CHANNEL
        else (-1 if fault.index is None else fault.index)
    )
    row["mode"] = MODES.index(fault.mode)
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
        row["value"] = si_value(fault.value, value_unit, "value")
    if fault.rate is not None:
        row["rate"] = si_value(fault.rate, rate_unit, "rate")
    row["factor"] = 1.0 if fault.factor is None else fault.factor
    row["fraction"] = fault.fraction or 0.0
    row["delay_s"] = fault.delay or 0.0
    row["element"] = -1 if fault.element is None else fault.element
    row["triad"] = TRIADS.index(fault.triad or "both")
    row["axis"] = AXES.index(fault.axis or "all")
    row["reboot_time_s"] = fault.reboot_time or 0.0
    row["relight_delay_s"] = (
        fault.relight_delay if fault.relight_delay is not None else (fault.reboot_time or 0.0)
    )
    return row


def target_name(row, channels):
    """What a packed fault acts on, as the scenario names it ("lrf", "main_engine[1]", ...)."""
    target, index = int(row["target"]), int(row["index"])
    if target == CHANNEL:
        return channels[index].name
    if target in (MAIN_ENGINE, RCS) and index >= 0:
        return f"{TARGETS[target]}[{index}]"
    return TARGETS[target]
