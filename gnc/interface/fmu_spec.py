"""The `[flight_software]` table of an FMU (`kind = "fmu"`, `gnc.interface.fmu`): the signals of
the interface record an FMU's variables may be mapped to (with their type and unit), the
table's schema, and its checks against the FMU's modelDescription.xml.
"""

import re
from typing import Literal

import astropy.units as u
import numpy as np
from pydantic import Field, model_validator

from dynamics import plugins
from dynamics.units import Flag, Strict
from gnc.interface import contract, fmi
from sensors import bus, registry

REAL, INTEGER, BOOLEAN = range(3)
FMI_TYPES = ("Real", "Integer", "Boolean")
F8, I8, BOOL = range(3)  # how the interface record holds a value


def _io_signals():
    """{signal: (offset in the interface record, holds, FMI type, unit)} of the record's own
    signals, inputs and outputs."""
    io = contract.IO_DTYPE

    def at(*path):
        offset, dtype = 0, io
        for name in path:
            dtype, start = dtype.fields[name][:2]
            offset += start
        return offset, dtype

    def vector(path, name, count, unit, holds=F8, fmi_type=REAL):
        offset, _ = at(*path)
        units = unit if isinstance(unit, tuple) else (unit,) * count
        return {f"{name}[{i}]": (offset + 8 * i, holds, fmi_type, units[i]) for i in range(count)}

    inputs = {
        "time": (*at("t_s")[:1], F8, REAL, "s"),
        "probe": (at("probe_contact")[0], BOOL, BOOLEAN, None),
    }
    for field, unit in (("dv_body_mps", "m/s"), ("dtheta_body_rad", "rad")):
        inputs |= vector(("imu", field), f"imu.{field}", 3, unit)
    inputs["imu.interval_s"] = (at("imu", "interval_s")[0], F8, REAL, "s")
    for field in contract.RESET_DTYPE.names:
        inputs[f"reset.{field}"] = (at("reset", field)[0], F8, REAL, "s")
    handover = {}
    units = {
        "r_mci_m": "m", "v_mci_mps": "m/s", "q_body_to_mci": "", "axes_mci": "",
        "sigma": ("m",) * 3 + ("m/s",) * 3 + ("rad",) * 3, "mass_kg": "kg", "site_mcmf_m": "m",
        "site_axes_mcmf": "", "rotation_rate_radps": "rad/s", "gm_m3ps2": "m3/s2",
        "control_period_s": "s",
    }  # fmt: skip
    for field, unit in units.items():
        offset, dtype = at("handover", field)
        count = int(np.prod(dtype.shape)) if dtype.shape else 0
        if count:
            handover |= vector(("handover", field), f"handover.{field}", count, unit)
        else:
            handover[f"handover.{field}"] = (offset, F8, REAL, unit)
    outputs = {"engine_on": (at("commands", "engine_on")[0], BOOL, BOOLEAN, None)}
    outputs |= vector(("commands", "throttle"), "throttle", contract.MAX_ENGINES, "")
    outputs["throttle"] = (at("commands", "throttle")[0], F8, REAL, "")
    outputs |= vector(("commands", "q_command_body_to_mci"), "q_command_body_to_mci", 4, "")
    outputs |= vector(("commands", "torque_body_nm"), "torque_body_nm", 3, "N m")
    outputs |= vector(("commands", "on_time_s"), "on_time_s", contract.MAX_THRUSTERS, "s")
    outputs["phase"] = (at("telemetry", "phase")[0], I8, INTEGER, None)
    outputs["altitude_est_m"] = (at("telemetry", "altitude_est_m")[0], F8, REAL, "m")
    outputs |= vector(("telemetry", "r_mci_m"), "r_mci_m", 3, "m")
    outputs |= vector(("telemetry", "v_mci_mps"), "v_mci_mps", 3, "m/s")
    outputs |= vector(("telemetry", "q_body_to_mci"), "q_body_to_mci", 4, "")
    offset, _ = at("telemetry", "covariance")
    n = contract.N_ESTIMATE
    for i in range(n):
        for j in range(n):
            outputs[f"covariance[{i}][{j}]"] = (offset + 8 * (n * i + j), F8, REAL, None)
    return inputs, handover, outputs


INPUTS, HANDOVER, OUTPUTS = _io_signals()
CHANNEL_SIGNAL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\.(valid|t_s|y\[(\d)\]|sigma\[(\d)\])$")
MEASUREMENT_FIELDS = {name: bus.MEASUREMENT_DTYPE.fields[name][1] for name in ("valid", "t_s")}
ATTITUDE_SIGNALS = {
    "quaternion": "q_command_body_to_mci",
    "torque": "torque_body_nm",
    "on_times": "on_time_s",
}


class Spec(Strict):
    kind: Literal["fmu"]
    path: str
    attitude: Literal[contract.ATTITUDE_COMMANDS] = "quaternion"
    inputs: dict[str, str] = Field(default_factory=dict)
    outputs: dict[str, str]
    parameters: dict[str, float | int | bool] = Field(default_factory=dict)
    logging: Flag = False

    @model_validator(mode="after")
    def _maps_onto_the_fmu(self):
        md, _ = _description(self.path)
        variables = {v.name: v for v in md.modelVariables}
        for signal, name in self.inputs.items():
            if signal == "restart":
                _check(variables, "inputs", signal, name, ("input",), "Boolean", None)
            elif signal in INPUTS or signal in HANDOVER:
                *_, fmi_type, unit = INPUTS.get(signal) or HANDOVER[signal]
                causalities = ("input",) if signal in INPUTS else ("input", "parameter")
                _check(variables, "inputs", signal, name, causalities, FMI_TYPES[fmi_type], unit)
            elif not CHANNEL_SIGNAL.match(signal):
                raise ValueError(
                    f"inputs: {signal!r} is not an interface signal (see gnc/interface/fmu.py)"
                )
        for signal, name in self.outputs.items():
            if signal not in OUTPUTS:
                raise ValueError(f"outputs: {signal!r} is not an interface signal")
            _, _, fmi_type, unit = OUTPUTS[signal]
            _check(variables, "outputs", signal, name, ("output",), FMI_TYPES[fmi_type], unit)
        if not any(s == "throttle" or s.startswith("throttle[") for s in self.outputs):
            raise ValueError("outputs: no throttle is mapped")
        prefix = ATTITUDE_SIGNALS[self.attitude]
        if not any(s.startswith(prefix + "[") for s in self.outputs):
            raise ValueError(f"outputs: attitude = {self.attitude!r} but no {prefix}[i] mapped")
        for name in self.parameters:
            variable = variables.get(name)
            if variable is None or variable.causality != "parameter":
                raise ValueError(f"parameters: {name!r} is not a parameter of {self.path}")
        return self


def _description(path):
    try:
        return fmi.describe(path)
    except fmi.FmuError as exc:
        raise ValueError(str(exc)) from None


def _check(variables, table, signal, name, causalities, fmi_type, unit):
    """ValueError unless the FMU's variable `name` can carry the signal."""
    v = variables.get(name)
    where = f"{table}: {signal!r} maps {name!r}"
    if v is None:
        raise ValueError(f"{where}, which the FMU does not have")
    if v.causality not in causalities:
        raise ValueError(
            f"{where}, whose causality is {v.causality}, not {' or '.join(causalities)}"
        )
    if v.type != fmi_type:
        raise ValueError(f"{where}, of type {v.type}, not {fmi_type}")
    declared = v.unit or (v.declaredType.unit if v.declaredType is not None else None)
    if unit is not None and declared and not _same_unit(declared, unit):
        raise ValueError(f"{where}, in {declared!r}; the signal is in {unit or '1'!r}")


def _same_unit(declared, unit):
    """Whether an FMU's unit name is the signal's SI unit (FMI writes 'N.m', 'm/s2', '1')."""

    def parsed(name):
        name = name.strip()
        return u.dimensionless_unscaled if name in ("", "1") else u.Unit(name.replace(".", " "))

    try:
        theirs, ours = parsed(declared), parsed(unit)
        return theirs.is_equivalent(ours) and bool(np.isclose(theirs.to(ours), 1.0))
    except (ValueError, u.UnitsError):
        return False


def check(spec, scenario):
    """ValueError unless the channel signals name the scenario's channels in their units, and
    the per-engine and per-thruster signals its engines and thrusters."""
    channels = scenario.sensors.channels
    for signal, name in spec.inputs.items():
        match = CHANNEL_SIGNAL.match(signal)
        if signal in INPUTS or signal in HANDOVER or signal == "restart" or not match:
            continue
        channel, field = match.group(1), match.group(2)
        if channel not in channels:
            raise ValueError(f"inputs: {signal!r}: the scenario has no channel {channel!r}")
        md, _ = _description(spec.path)
        variables = {v.name: v for v in md.modelVariables}
        element = match.group(3) or match.group(4)
        if field == "valid":
            _check(variables, "inputs", signal, name, ("input",), "Boolean", None)
            continue
        unit = "s" if field == "t_s" else _channel_unit(channels[channel], int(element))
        _check(variables, "inputs", signal, name, ("input",), "Real", unit)
    n_engines, n_thrusters = len(scenario.vehicle.engines), len(scenario.vehicle.rcs.thrusters)
    for signal in spec.outputs:
        index = re.match(r"^(throttle|on_time_s)\[(\d+)\]$", signal)
        if index:
            count = n_engines if index.group(1) == "throttle" else n_thrusters
            if int(index.group(2)) >= count:
                raise ValueError(f"outputs: {signal!r}: the lander has {count} of those")


def _channel_unit(spec, element):
    unit = registry.kind(spec.kind).UNIT
    return unit(spec, element) if callable(unit) else unit


def digest(spec):
    """The FMU file's content."""
    return plugins.file_digest(spec.path)


def single_instance(spec):
    md, _ = fmi.describe(spec.path)
    return bool(md.coSimulation.canBeInstantiatedOnlyOncePerProcess)
