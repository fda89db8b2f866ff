"""Paths to a scenario's fields: which ones a campaign may disperse and in which SI unit, their
nominal SI value, and the scenario with one of them replaced.

A path is dotted: `vehicle.dry_mass`, `vehicle.main_engine[1].max_thrust` (an engine of
several), `sensors.<channel>.<field>` (the fields the channel's kind lists as dispersible),
`faults.<fault>.<field>` (its trigger's time or altitude, duration, value, rate, factor,
fraction, delay). Only the truth is dispersed: the flight software keeps the nominal values
(so a dispersed IMU noise is noise its filter does not expect).
"""

import re
from typing import NamedTuple

from dynamics import initial_state, mass_properties, propulsion, touchdown
from dynamics.units import any_quantity_si, read_back
from faults import table as fault_table
from sensors import imu, registry


class Section(NamedTuple):
    """A part of the scenario campaigns may disperse, as the subsystem that owns it declares:
    its path, its fields (`dynamics.units.Dispersible`), and the packed record their
    read-back takes from a model (given the item's index, for one of several engines)."""

    path: str
    fields: dict
    packed: object


SECTIONS = (
    Section("vehicle", mass_properties.DISPERSIBLE, lambda m, i: m),
    Section("vehicle.main_engine", propulsion.ENGINE_DISPERSIBLE, lambda m, i: m.engines[i]),
    Section("vehicle", touchdown.DISPERSIBLE, lambda m, i: m),
    Section("initial", initial_state.DISPERSIBLE, lambda m, i: m),
    Section(
        "sensors.imu.accelerometer",
        imu.ACCELEROMETER_DISPERSIBLE,
        lambda m, i: m.imu["accelerometer"],
    ),
    Section("sensors.imu.gyro", imu.GYRO_DISPERSIBLE, lambda m, i: m.imu["gyro"]),
)
# path: (section, field) of every fixed dispersible field (a sensor channel's are its kind's,
# a fault's are `fault_table.DISPERSIBLE`)
STATIC = {f"{sec.path}.{name}": (sec, name) for sec in SECTIONS for name in sec.fields}
ENGINE = re.compile(r"^vehicle\.main_engine\[(\d+)\]\.(\w+)$")


def unit(scenario, path):
    """SI unit of a dispersible field's distribution parameters; ValueError saying why a path
    cannot be dispersed."""
    engines = scenario.vehicle.main_engine
    several = isinstance(engines, tuple)
    if path in STATIC and not (several and path.startswith("vehicle.main_engine.")):
        return static_field(path).unit
    if several and path.startswith("vehicle.main_engine."):
        raise ValueError(
            f"with several main engines, name one: 'vehicle.main_engine[0]{path[19:]}'"
        )
    match = ENGINE.match(path)
    if match and several:
        index, name = int(match[1]), match[2]
        if index >= len(engines) or f"vehicle.main_engine.{name}" not in STATIC:
            raise ValueError(f"{path!r} is not a main engine's dispersible field")
        return static_field(f"vehicle.main_engine.{name}").unit
    section, _, rest = path.partition(".")
    name, _, field = rest.partition(".")
    if section == "sensors" and scenario.sensors is not None:
        spec = scenario.sensors.channels.get(name)
        if spec is not None:
            kind = registry.kind(spec.kind)
            if field not in kind.DISPERSIBLE:
                raise ValueError(
                    f"{path!r}: a {spec.kind} channel disperses " + ", ".join(kind.DISPERSIBLE)
                )
            return kind.DISPERSIBLE[field][0]
    if section == "faults":
        fault = next((f for f in scenario.faults if f.name == name), None)
        if fault is not None:
            return _fault_unit(scenario, fault, field, path)
    raise ValueError(
        f"{path!r} is not a dispersible field; expected one of "
        + ", ".join(STATIC)
        + ", sensors.<channel>.<field>, faults.<fault>.<field>"
    )


def static_field(path):
    """The Dispersible of a fixed field's path (`vehicle.main_engine.isp` for any engine's)."""
    section, name = STATIC[path]
    return section.fields[name]


def read_static(m, path):
    """The value a model uses for a fixed dispersible field (`vehicle.main_engine[i].<field>`
    for one of several engines)."""
    match = ENGINE.match(path)
    index = int(match[1]) if match else 0
    if match:
        path = f"vehicle.main_engine.{match[2]}"
    section, name = STATIC[path]
    return read_back(section.fields[name], section.packed(m, index))


def _fault_unit(scenario, fault, field, path):
    if field not in fault_table.DISPERSIBLE:
        raise ValueError(f"{path!r}: a fault disperses {', '.join(fault_table.DISPERSIBLE)}")
    if field == "trigger":
        if fault.trigger.time is None and fault.trigger.altitude is None:
            raise ValueError(f"{path!r}: only a time or altitude trigger can be dispersed")
        return "s" if fault.trigger.time is not None else "m"
    if getattr(fault, field) is None:
        raise ValueError(f"{path!r}: the fault has no {field} to disperse")
    if field in fault_table.FIXED_UNITS:
        return fault_table.FIXED_UNITS[field]
    value_unit, rate_unit = fault_table.expected_units(fault, channel_unit(scenario))
    return value_unit if field == "value" else rate_unit


def channel_unit(scenario):
    """unit_of_channel(name, element): the SI unit of a channel's values, or of one of them
    (element None: all of them; None if there is no such channel, or its values differ)."""
    channels = scenario.sensors.channels if scenario.sensors is not None else {}

    def unit_of(name, element=None):
        spec = channels.get(name)
        if spec is None:
            return None
        unit = registry.kind(spec.kind).UNIT
        return unit(spec, element) if callable(unit) else unit

    return unit_of


def components(scenario, paths):
    """Names of the components of dispersible fields, as the runs table names its columns:
    a scalar field's path, a vector's path[i]."""
    names = []
    for path in paths:
        nominal = value(scenario, path)
        vector = isinstance(nominal, tuple)
        names += [f"{path}[{i}]" for i in range(len(nominal))] if vector else [path]
    return names


def value(scenario, path):
    """Nominal SI value of a dispersible field (a tuple for vectors)."""
    section, _, rest = path.partition(".")
    if section == "faults":
        name, _, field = rest.partition(".")
        fault = next(f for f in scenario.faults if f.name == name)
        if field == "trigger":
            t = fault.trigger
            return t.time if t.time is not None else t.altitude
        if field in ("value", "rate"):
            return any_quantity_si(getattr(fault, field), unit(scenario, path), field)
        return getattr(fault, field)
    node = scenario
    for part in _parts(path):
        node = _child(node, part)
    return node


def replace(scenario, path, new):
    """The scenario with a dispersible field set to an SI value (sections are rebuilt, not
    mutated)."""
    parts = _parts(path)
    if parts[0] == "faults":
        if parts[2] == "trigger":
            fault = next(f for f in scenario.faults if f.name == parts[1])
            parts = [*parts[:3], "time" if fault.trigger.time is not None else "altitude"]
        elif parts[2] in ("value", "rate"):
            new = (new, unit(scenario, path))
    return _replace(scenario, parts, new)


def _parts(path):
    return [p for part in path.split(".") for p in re.split(r"\[(\d+)\]", part) if p != ""]


def _child(node, part):
    if isinstance(node, tuple):
        return node[int(part)] if part.isdigit() else next(f for f in node if f.name == part)
    return getattr(node, part)


def _replace(node, parts, new):
    if not parts:
        return new
    part, rest = parts[0], parts[1:]
    if isinstance(node, tuple):
        return tuple(
            _replace(item, rest, new)
            if (str(i) == part if part.isdigit() else item.name == part)
            else item
            for i, item in enumerate(node)
        )
    return node.model_copy(update={part: _replace(getattr(node, part), rest, new)})
