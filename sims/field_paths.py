"""Paths to a scenario's fields: which ones a campaign may disperse and in which SI unit, their
nominal SI value, and the scenario with one of them replaced.

A path is dotted: `vehicle.dry_mass`, `vehicle.main_engine[1].max_thrust` (an engine of
several), `sensors.<channel>.<field>` (the fields the channel's kind lists as dispersible),
`faults.<fault>.<field>` (its trigger's time or altitude, duration, value, rate, factor,
fraction, delay). Only the truth is dispersed: the flight software keeps the nominal values
(so a dispersed IMU noise is noise its filter does not expect).
"""

import re

from sensors import registry
from sims import fault_table

# Fixed fields and the SI unit of their distribution parameters ("" for plain numbers;
# vectors are dispersed per component); `sims.dispersions` reads each back from the model.
STATIC = {
    "vehicle.dry_mass": "kg",
    "vehicle.propellant_mass": "kg",
    "vehicle.dry_com": "m",
    "vehicle.dry_inertia": "kg m2",
    "vehicle.main_engine.max_thrust": "N",
    "vehicle.main_engine.isp": "s",
    "vehicle.main_engine.time_constant": "s",
    "vehicle.main_engine.misalignment": "rad",
    "vehicle.main_engine.misalignment_azimuth": "rad",
    "initial.descent_orbit.periapsis_altitude": "m",
    "initial.descent_orbit.downrange_to_site": "m",
    "initial.descent_orbit.crossrange": "m",
    "initial.position_offset": "m",
    "initial.velocity_offset": "m/s",
    "initial.attitude_offset": "rad",
    "vehicle.propellant_capacity": "kg",
    "vehicle.main_engine.throttle_min": "",
    "vehicle.main_engine.throttle_max": "",
    "vehicle.propellant_com": "m",
    "vehicle.propellant_inertia": "kg m2",
    "vehicle.main_engine.position": "m",
    "vehicle.contact_probe_length": "m",
    "sensors.imu.accelerometer.bias": "m/s2",
    "sensors.imu.accelerometer.bias_instability": "m/s2/sqrt(s)",
    "sensors.imu.accelerometer.noise_density": "m/s/sqrt(s)",
    "sensors.imu.accelerometer.scale_factor": "",
    "sensors.imu.accelerometer.misalignment": "rad",
    "sensors.imu.accelerometer.quantum": "m/s",
    "sensors.imu.accelerometer.saturation": "m/s2",
    "sensors.imu.gyro.bias": "rad/s",
    "sensors.imu.gyro.bias_instability": "rad/s/sqrt(s)",
    "sensors.imu.gyro.noise_density": "rad/sqrt(s)",
    "sensors.imu.gyro.scale_factor": "",
    "sensors.imu.gyro.misalignment": "rad",
    "sensors.imu.gyro.quantum": "rad",
    "sensors.imu.gyro.saturation": "rad/s",
}
ENGINE = re.compile(r"^vehicle\.main_engine\[(\d+)\]\.(\w+)$")
FAULT_UNITS = {"duration": "s", "delay": "s", "factor": "", "fraction": ""}


def unit(scenario, path):
    """SI unit of a dispersible field's distribution parameters; ValueError saying why a path
    cannot be dispersed."""
    engines = scenario.vehicle.main_engine
    several = isinstance(engines, tuple)
    if path in STATIC and not (several and path.startswith("vehicle.main_engine.")):
        return STATIC[path]
    if several and path.startswith("vehicle.main_engine."):
        raise ValueError(
            f"with several main engines, name one: 'vehicle.main_engine[0]{path[19:]}'"
        )
    match = ENGINE.match(path)
    if match and several:
        index, name = int(match[1]), match[2]
        if index >= len(engines) or f"vehicle.main_engine.{name}" not in STATIC:
            raise ValueError(f"{path!r} is not a main engine's dispersible field")
        return STATIC[f"vehicle.main_engine.{name}"]
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


def _fault_unit(scenario, fault, field, path):
    if field not in fault_table.DISPERSIBLE:
        raise ValueError(f"{path!r}: a fault disperses {', '.join(fault_table.DISPERSIBLE)}")
    if field == "trigger":
        if fault.trigger.time is None and fault.trigger.altitude is None:
            raise ValueError(f"{path!r}: only a time or altitude trigger can be dispersed")
        return "s" if fault.trigger.time is not None else "m"
    if getattr(fault, field) is None:
        raise ValueError(f"{path!r}: the fault has no {field} to disperse")
    if field in FAULT_UNITS:
        return FAULT_UNITS[field]
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
            return fault_table.si_value(getattr(fault, field), unit(scenario, path), field)
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
