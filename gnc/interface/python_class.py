"""A flight software written as a plain Python class, for prototyping (`kind = "python"`).

```toml
[flight_software]
kind = "python"
class = "my_package.lander:Lander"      # module:class (importable, or shipped: a single file)
parameters = { gain = 6.0 }             # handed to initialise, as they are
```

The class has three methods; an instance flies one run:
- `initialise(handover, configuration)`: at PDI. `handover` has the fields of
  `contract.HANDOVER_DTYPE` (NumPy values); `configuration` the mission as it knows it
  (`scenario`: the nominal scenario, validated), the table's `parameters`, the channel
  names in order, the numbers of engines and RCS thrusters and the control period.
- `step(inputs) -> Commands`: every control period. `inputs` has `t_s`, `probe_contact`, `imu`
  (the increments since the last step: `dv_body_mps`, `dtheta_body_rad`, `interval_s`) and
  `measurements` (those delivered since the last step, in order: `channel` name, `t_s` of
  validity, `valid`, `values`, `sigma`).
- `restart(reset)`: back on line after a computer reset (`reset_time_s`, `online_time_s`,
  `relight_time_s`); the host logs `computer_restarted`.

It is called back from the compiled loop once per cycle (a C callback into Python, as the
image pipeline is). An exception raised in it never crosses into the loop: it ends the run as
diverged, with the exception and where it was raised as the reason, and the campaign goes on.
"""

import ctypes
import importlib
import itertools
import threading
import traceback
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Literal

import numpy as np
from pydantic import ConfigDict, Field, field_validator

from dynamics.units import Strict
from dynamics.views import array_at, record_at
from gnc.interface import contract, flight_log
from sensors import bus

NAME = "python"
METHODS = ("initialise", "step", "restart")
LOGS_SENSOR_VERDICTS = False  # unless it returns them as events; not counted on

CONFIG_DTYPE = np.dtype([("handle", np.int64)], align=True)  # its class in this process
STATE_DTYPE = np.dtype([("handle", np.int64)], align=True)  # the run's instance (0: none)


def _import_class(path):
    """The class a 'module:Class' path names, or ValueError saying why not."""
    module_name, _, class_name = path.partition(":")
    if not module_name or not class_name:
        raise ValueError(f"{path!r} is not 'module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"module {module_name!r} cannot be imported: {exc}") from None
    cls = getattr(module, class_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"module {module_name} has no class {class_name!r}")
    missing = [m for m in METHODS if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{path} lacks the method{'s' * (len(missing) > 1)} {', '.join(missing)}")
    return cls


class Spec(Strict):
    model_config = ConfigDict(**Strict.model_config, populate_by_name=True)  # a dump reloads

    kind: Literal["python"]
    class_path: str = Field(alias="class")
    parameters: dict[str, Any] = Field(default_factory=dict)

    @field_validator("class_path")
    @classmethod
    def _a_flight_software_class(cls, path):
        _import_class(path)
        return path


@dataclass
class Commands:
    """What `step` returns: the throttle (one for every engine, or one per engine), the engines
    on or off, and one attitude command: an attitude (q_body_to_mci, scalar first), a torque
    [N m, body] or the RCS on-times [s] of the coming period. Optionally what it reports:
    `phase` (a flight_log.PHASES name), its estimate (`r_mci_m`, `v_mci_mps`,
    `q_body_to_mci`, the 9 x 9 `covariance` of position, velocity and attitude errors),
    `altitude_est_m`, and `events`: (event name, channel or phase name or None, value)."""

    throttle: Any
    engine_on: bool = True
    q_command_body_to_mci: Any = None
    torque_body_nm: Any = None
    on_time_s: Any = None
    phase: str | None = None
    r_mci_m: Any = None
    v_mci_mps: Any = None
    q_body_to_mci: Any = None
    covariance: Any = None
    altitude_est_m: float | None = None
    events: list = field(default_factory=list)


_lock = threading.Lock()
_handles = itertools.count(1)
_keys = {}  # (class, configuration): handle
_classes = {}  # handle: (class, configuration)
_instances = {}  # handle: [instance, phase reported last]


def configure(spec, context):
    config = np.zeros(1, CONFIG_DTYPE)[0]
    sc = context.scenario
    configuration = SimpleNamespace(
        scenario=sc,
        parameters=dict(spec.parameters),
        channels=tuple(sc.sensors.channels),
        n_engines=len(sc.vehicle.engines),
        n_thrusters=len(sc.vehicle.rcs.thrusters),
        control_period_s=context.control_period_s,
    )
    key = (spec.class_path, repr(sorted(spec.parameters.items())), id(sc), context.control_period_s)
    with _lock:  # one handle per class and configuration, however many models are built
        if key not in _keys:
            _keys[key] = handle = next(_handles)
            _classes[handle] = (_import_class(spec.class_path), configuration)
        config["handle"] = _keys[key]
    return config


def initial_state(config, handover):
    return np.zeros(1, STATE_DTYPE)[0]  # the instance is made at start, in the loop


def modules(spec):
    """The class's module: shipped to workers that cannot import it."""
    return (spec.class_path.partition(":")[0],)


def digest(spec):
    """The class (its module's source is shipped, and hashed, with the form's)."""
    return spec.class_path


def release(states):
    """Drop the instances of a batch's runs (a run that raised left its own)."""
    with _lock:
        for handle in states["handle"]:
            _instances.pop(int(handle), None)


def _guarded(body):
    """A C callback running body(config, state, io) that never raises into the loop: an
    exception sets io.status to FAILED and its text (with where it was raised) into
    io.message."""

    def callback(config_address, state_address, io_address):
        io = record_at(io_address, contract.IO_DTYPE)
        try:
            body(
                record_at(config_address, CONFIG_DTYPE),
                record_at(state_address, STATE_DTYPE),
                io,
            )
        except Exception as exc:  # kept, reported with the run
            where = traceback.extract_tb(exc.__traceback__)[-1]
            text = f"{type(exc).__name__}: {exc} ({where.filename}:{where.lineno})"
            io["status"] = contract.FAILED
            contract.set_message(io["message"], text)

    return _ENTRY(callback)


_ENTRY = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


def _start(config, state, io):
    cls, configuration = _classes[int(config["handle"])]
    handover = SimpleNamespace(
        **{name: np.array(io["handover"][name]) for name in contract.HANDOVER_DTYPE.names}
    )
    instance = cls()
    with _lock:
        handle = next(_handles)
        _instances[handle] = [instance, flight_log.NO_PHASE]
    state["handle"] = handle
    instance.initialise(handover, configuration)


def _cycle(config, state, io):
    _, configuration = _classes[int(config["handle"])]
    entry = _instances[int(state["handle"])]
    delivered = array_at(io["delivered"], bus.MEASUREMENT_DTYPE, io["n_delivered"])
    imu = io["imu"]
    inputs = SimpleNamespace(
        t_s=float(io["t_s"]),
        probe_contact=bool(io["probe_contact"]),
        imu=SimpleNamespace(
            dv_body_mps=np.array(imu["dv_body_mps"]),
            dtheta_body_rad=np.array(imu["dtheta_body_rad"]),
            interval_s=float(imu["interval_s"]),
        ),
        measurements=[
            SimpleNamespace(
                channel=configuration.channels[m["channel"]],
                t_s=float(m["t_s"]),
                valid=bool(m["valid"]),
                values=np.array(m["y"][: m["m"]]),
                sigma=np.array(m["sigma"][: m["m"]]),
            )
            for m in delivered
        ],
    )
    commands = entry[0].step(inputs)
    if not isinstance(commands, Commands):
        raise TypeError(f"step returned {type(commands).__name__}, not a Commands")
    _write(commands, io, configuration, entry)


def _write(commands, io, configuration, entry):
    """The commands and what they report into the interface record."""
    out = io["commands"]
    out["engine_on"] = bool(commands.engine_on)
    out["throttle"][: configuration.n_engines] = np.broadcast_to(
        np.asarray(commands.throttle, float), configuration.n_engines
    )
    given = [
        (contract.QUATERNION, "q_command_body_to_mci", commands.q_command_body_to_mci, 4),
        (contract.TORQUE, "torque_body_nm", commands.torque_body_nm, 3),
        (contract.ON_TIMES, "on_time_s", commands.on_time_s, configuration.n_thrusters),
    ]
    given = [g for g in given if g[2] is not None]
    if len(given) != 1:
        raise ValueError("step must return one attitude command: an attitude, a torque or on-times")
    mode, name, value, size = given[0]
    out["attitude_command"] = mode
    out[name][:size] = np.asarray(value, float).reshape(size)
    telemetry = io["telemetry"]
    for name in ("r_mci_m", "v_mci_mps", "q_body_to_mci", "covariance"):
        value = getattr(commands, name)
        telemetry[name] = np.nan if value is None else np.asarray(value, float)
    altitude = commands.altitude_est_m
    telemetry["altitude_est_m"] = np.nan if altitude is None else float(altitude)
    phase = (
        flight_log.NO_PHASE if commands.phase is None else flight_log.PHASES.index(commands.phase)
    )
    telemetry["phase"] = phase
    events, count = _event_log(io)
    if phase != entry[1] and phase != flight_log.NO_PHASE:
        flight_log.log(
            events, count, io["t_s"], flight_log.PHASE_CHANGE, phase, telemetry["altitude_est_m"]
        )
    entry[1] = phase
    for name, subject, value in commands.events:
        code = flight_log.EVENTS.index(name)
        detail = 0
        if code == flight_log.PHASE_CHANGE:
            detail = flight_log.PHASES.index(subject)
        elif subject is not None:
            detail = configuration.channels.index(subject)
        flight_log.log(events, count, io["t_s"], code, detail, float(value))


def _event_log(io):
    """(events, count) of the run, as `flight_log.log` takes them."""
    events = array_at(io["events"], flight_log.EVENT_DTYPE, io["event_capacity"])
    return events, array_at(io["event_count"], np.dtype(np.int64), 1)


def _restart(config, state, io):
    reset = io["reset"]
    events, count = _event_log(io)
    offline = float(reset["online_time_s"] - reset["reset_time_s"])
    flight_log.log(events, count, io["t_s"], flight_log.COMPUTER_RESTARTED, 0, offline)
    _instances[int(state["handle"])][0].restart(
        SimpleNamespace(**{name: float(reset[name]) for name in contract.RESET_DTYPE.names})
    )


def _stop(config, state, io):
    with _lock:
        _instances.pop(int(state["handle"]), None)
    state["handle"] = 0


_CALLBACKS = {
    "start": _guarded(_start),
    "cycle": _guarded(_cycle),
    "restart": _guarded(_restart),
    "stop": _guarded(_stop),
}


def entry_addresses():
    """The C callbacks' addresses (they live as long as this module)."""
    return {name: ctypes.cast(f, ctypes.c_void_p).value for name, f in _CALLBACKS.items()}
