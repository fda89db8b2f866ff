"""A flight software exported as an FMU (FMI 2.0 co-simulation: Simulink, Modelica tools and most
GNC toolchains export a controller so), flown through the interface (`kind = "fmu"`).

```toml
[flight_software]
kind = "fmu"
path = "controller.fmu"                  # relative to the scenario file
attitude = "quaternion"                  # its attitude outputs: quaternion, torque, on_times
parameters = { k_alt = 0.1 }             # FMU variable = value, set at initialisation
[flight_software.inputs]                 # interface signal = FMU variable
"imu.dv_body_mps[0]" = "dvx"
"laser_rangefinder.y[0]" = "range"
"laser_rangefinder.valid" = "range_valid"
[flight_software.outputs]
throttle = "throttle"
"q_command_body_to_mci[0]" = "q0"
```

The signals are the interface record's (`signals` lists them with their type and unit), and
each mapping is checked against modelDescription.xml: the variable exists, with the causality
(an input; a parameter too for the handover), the type (Real; Boolean for flags, Integer for
the phase) and, where it declares one, the unit (SI, as the signal's). A channel's signals are
its latest measurement delivered in the cycle; with none delivered its `valid` is false and
its values keep the last ones set.

The binary is loaded once per process (`fmi.load`); each run instantiates it at its start
(fmi2Instantiate, SetupExperiment, initialisation with the parameters and the handover) and
frees it at its end, all from compiled code through the FMI functions' addresses. At every
control tick t the inputs are set, fmi2DoStep(t_prev, t + T - t_prev) is called (T the
control period: one step per cycle, its length spanning any time the computer was off line),
and the outputs are read: the commands for [t, t + T]. After a computer reset its `restart`
input (if mapped) is true for one step, with `reset.*` telling when. A status above
fmi2Warning ends the run as diverged, with the FMU's own last log message.
"""

import ctypes

import numpy as np
from numba import carray, njit

from dynamics.views import pointer, record, record_at
from gnc.interface import contract, flight_log, fmi
from gnc.interface.fmu_spec import (  # the form's table and checks (`gnc.interface.forms`)  # noqa: F401  (the form)
    BOOL,
    CHANNEL_SIGNAL,
    F8,
    FMI_TYPES,
    HANDOVER,
    I8,
    INPUTS,
    MEASUREMENT_FIELDS,
    OUTPUTS,
    REAL,
    Spec,
    check,
    digest,
    single_instance,
)
from sensors import bus

NAME = "fmu"
LOGS_SENSOR_VERDICTS = False
MAX_VARIABLES = 128  # of each FMI type, inputs or outputs
TEXT_BYTES = 32  # a row of the names table

FROM_IO, FROM_CHANNEL, FROM_RESTART = range(3)

INPUT_DTYPE = np.dtype(
    [
        ("source", np.int64),
        ("channel", np.int64),
        ("offset", np.int64),  # bytes into the interface record, or into a measurement
        ("holds", np.int64),  # F8, I8 or BOOL
        ("fmi_type", np.int64),
        ("reference", np.int64),
    ],
    align=True,
)
OUTPUT_DTYPE = np.dtype(
    [
        ("offset", np.int64),  # bytes into the interface record
        ("holds", np.int64),
        ("fmi_type", np.int64),
        ("reference", np.int64),
        ("every_engine", np.bool_),  # the one throttle, to every engine
    ],
    align=True,
)
PARAMETER_DTYPE = np.dtype(
    [("fmi_type", np.int64), ("reference", np.int64), ("value", np.float64)], align=True
)
CONFIG_DTYPE = np.dtype(
    [
        ("functions", np.int64, (len(fmi.FUNCTIONS),)),
        ("logger", np.int64),
        ("allocate", np.int64),
        ("free", np.int64),
        ("name", np.int64),  # NUL-terminated strings: instance name, GUID, resource URI
        ("guid", np.int64),
        ("resources", np.int64),
        ("texts", np.int64),  # rows of TEXT_BYTES: the function names, then the statuses
        ("logging", np.int64),
        ("period_s", np.float64),
        ("attitude", np.int64),
        ("n_inputs", np.int64),
        ("inputs", np.int64),  # INPUT_DTYPE rows
        ("n_start", np.int64),
        ("start", np.int64),  # INPUT_DTYPE rows: the handover, set at initialisation
        ("n_outputs", np.int64),
        ("outputs", np.int64),  # OUTPUT_DTYPE rows
        ("n_parameters", np.int64),
        ("parameters", np.int64),  # PARAMETER_DTYPE rows
        ("engine_on_mapped", np.bool_),
    ],
    align=True,
)
STATE_DTYPE = np.dtype(
    [
        ("component", np.int64),
        ("free_instance", np.int64),  # its fmi2FreeInstance (`release`)
        ("time_s", np.float64),  # the FMU's communication point
        ("restart_pending", np.bool_),
        ("phase", np.int64),
        # fmi2CallbackFunctions: logger, allocateMemory, freeMemory, stepFinished, env
        ("callbacks", np.int64, (5,)),
        ("log_status", np.int64),
        ("log", np.uint8, (contract.MESSAGE_BYTES,)),  # its last log message of that status
        ("references", np.uint32, (3, MAX_VARIABLES)),  # by FMI type
        ("reals", np.float64, (MAX_VARIABLES,)),
        ("integers", np.int32, (2, MAX_VARIABLES)),  # Integer, Boolean
        ("counts", np.int64, (3,)),
    ],
    align=True,
)


LOGGER = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_char_p
)


def _log(environment, instance, status, category, message):
    """fmi2CallbackLogger: the run's state keeps the last message of the highest status."""
    state = record_at(environment, STATE_DTYPE)
    if status >= state["log_status"]:
        state["log_status"] = status
        contract.set_message(state["log"], (message or b"").decode("utf-8", "replace"))


_LOGGER = LOGGER(_log)
_LIBC = ctypes.CDLL(None)


def configure(spec, context):
    path = spec.path
    md, digest_ = fmi.describe(path)
    folder, library = fmi.load(path, md, digest_)
    variables = {v.name: v for v in md.modelVariables}
    channels = list(context.scenario.sensors.channels)
    inputs, start = [], []
    for signal, name in spec.inputs.items():
        v = variables[name]
        fmi_type = FMI_TYPES.index(v.type)
        if signal == "restart":
            inputs.append((FROM_RESTART, -1, 0, BOOL, fmi_type, v.valueReference))
        elif signal in INPUTS:
            offset, holds, *_ = INPUTS[signal]
            inputs.append((FROM_IO, -1, offset, holds, fmi_type, v.valueReference))
        elif signal in HANDOVER:
            offset, holds, *_ = HANDOVER[signal]
            start.append((FROM_IO, -1, offset, holds, fmi_type, v.valueReference))
        else:
            match = CHANNEL_SIGNAL.match(signal)
            field, element = match.group(2), match.group(3) or match.group(4)
            if element is not None:
                base = "y" if field.startswith("y") else "sigma"
                offset, holds = bus.MEASUREMENT_DTYPE.fields[base][1] + 8 * int(element), F8
            else:
                offset = MEASUREMENT_FIELDS[field]
                holds = BOOL if field == "valid" else F8
            channel = channels.index(match.group(1))
            inputs.append((FROM_CHANNEL, channel, offset, holds, fmi_type, v.valueReference))
    outputs = []
    for signal, name in spec.outputs.items():
        v = variables[name]
        offset, holds, fmi_type, _ = OUTPUTS[signal]
        outputs.append((offset, holds, fmi_type, v.valueReference, signal == "throttle"))
    parameters = [
        (FMI_TYPES.index(variables[n].type), variables[n].valueReference, float(value))
        for n, value in spec.parameters.items()
    ]
    for kind, rows in (("input", inputs + start), ("output", outputs), ("parameter", parameters)):
        if len(rows) > MAX_VARIABLES:
            raise fmi.FmuError(f"{path}: more than {MAX_VARIABLES} {kind}s mapped")

    def table(rows, dtype):
        array = context.keep(np.array(rows, dtype) if rows else np.zeros(1, dtype))
        return len(rows), array.ctypes.data

    def text(value):
        return context.keep(np.frombuffer(value.encode() + b"\0", np.uint8).copy()).ctypes.data

    names = np.zeros((len(fmi.FUNCTIONS) + len(fmi.STATUSES), TEXT_BYTES), np.uint8)
    for i, name in enumerate(fmi.FUNCTIONS + fmi.STATUSES):
        names[i, : len(name)] = np.frombuffer(name.encode(), np.uint8)
    addresses = fmi.addresses(library)
    config = record(
        CONFIG_DTYPE,
        functions=[addresses[name] for name in fmi.FUNCTIONS],
        logger=ctypes.cast(_LOGGER, ctypes.c_void_p).value,
        allocate=ctypes.cast(_LIBC.calloc, ctypes.c_void_p).value,
        free=ctypes.cast(_LIBC.free, ctypes.c_void_p).value,
        name=text(md.modelName or "flight_software"),
        guid=text(md.guid),
        resources=text(
            (folder / "resources").as_uri() if (folder / "resources").exists() else folder.as_uri()
        ),
        texts=context.keep(names).ctypes.data,
        logging=int(spec.logging),
        period_s=context.control_period_s,
        attitude=contract.ATTITUDE_COMMANDS.index(spec.attitude),
        engine_on_mapped="engine_on" in spec.outputs,
    )
    for key, rows, dtype in (
        ("inputs", inputs, INPUT_DTYPE),
        ("start", start, INPUT_DTYPE),
        ("outputs", outputs, OUTPUT_DTYPE),
        ("parameters", parameters, PARAMETER_DTYPE),
    ):
        config[f"n_{key}"], config[key] = table(rows, dtype)
    return config


def initial_state(config, handover):
    return np.zeros(1, STATE_DTYPE)[0]  # instantiated at start, in the loop


def release(states):
    """Free the instances runs that raised left (a finished run frees its own)."""
    for state in states:
        if state["component"]:
            ctypes.CFUNCTYPE(None, ctypes.c_void_p)(int(state["free_instance"]))(
                int(state["component"])
            )
            state["component"] = 0


# --- compiled: the interface's entry points


@njit(cache=True)
def _fail(config, state, io, function, status):
    """End the run: io.message says which FMI function returned which status (or failed),
    then the FMU's last log message."""
    io.status = contract.FAILED
    texts = carray(
        pointer(config.texts), (len(fmi.FUNCTIONS) + len(fmi.STATUSES), TEXT_BYTES), np.uint8
    )
    n = 0
    parts = (function, len(fmi.FUNCTIONS) + status if 0 <= status < len(fmi.STATUSES) else -1)
    for row in parts:
        if row < 0:
            continue
        for j in range(TEXT_BYTES):
            if texts[row, j] == 0 or n >= contract.MESSAGE_BYTES - 3:
                break
            io.message[n] = texts[row, j]
            n += 1
        io.message[n] = 58  # ':'
        io.message[n + 1] = 32
        n += 2
    for j in range(contract.MESSAGE_BYTES):
        if state.log[j] == 0 or n >= contract.MESSAGE_BYTES - 1:
            break
        io.message[n] = state.log[j]
        n += 1
    io.message[n] = 0


@njit(cache=True)
def _call_ok(config, state, io, function, status):
    if status > fmi.WARNING:
        _fail(config, state, io, function, status)
        return False
    return True


@njit(cache=True)
def _set(config, state, io, entries):
    """Set the mapped inputs (entries: INPUT_DTYPE rows) from the interface record and the
    measurements delivered; False if the FMU refused."""
    _clear(state)
    io_address = bus.address_of(io)
    measurements = contract.delivered(io)
    for e in range(entries.shape[0]):
        entry = entries[e]
        value = 0.0
        if entry.source == FROM_RESTART:
            value = 1.0 if state.restart_pending else 0.0
        elif entry.source == FROM_IO:
            value = _read(io_address + entry.offset, entry.holds)
        else:
            latest = -1
            for k in range(measurements.shape[0]):
                if measurements[k].channel == entry.channel:
                    latest = k
            if latest < 0 and entry.holds != BOOL:
                continue  # the values keep the last ones set
            if latest >= 0:
                value = _read(bus.address_of(measurements[latest]) + entry.offset, entry.holds)
        _queue(state, entry.fmi_type, entry.reference, value)
    return _transfer(config, state, io, fmi.SET_REAL)


@njit(cache=True)
def _clear(state):
    """Empty the buffers of every FMI type."""
    for t in range(3):
        state.counts[t] = 0


@njit(cache=True)
def _queue(state, fmi_type, reference, value):
    """Add a variable (its value reference, and the value a Set gives it) to the buffers of
    its FMI type."""
    n = state.counts[fmi_type]
    state.references[fmi_type, n] = reference
    if fmi_type == REAL:
        state.reals[n] = value
    else:
        state.integers[fmi_type - 1, n] = int(value)
    state.counts[fmi_type] = n + 1


@njit(cache=True)
def _transfer(config, state, io, first):
    """Call the Set (first = fmi.SET_REAL) or Get (fmi.GET_REAL) of each FMI type on the
    buffers."""
    for t in range(3):
        n = state.counts[t]
        if n == 0:
            continue
        values = state.reals.ctypes.data if t == REAL else state.integers[t - 1].ctypes.data
        status = fmi.transfer(
            config.functions[first + t],
            state.component,
            state.references[t].ctypes.data,
            n,
            values,
        )
        if not _call_ok(config, state, io, first + t, status):
            return False
    return True


@njit(cache=True)
def _read(address, holds):
    if holds == F8:
        return carray(pointer(address), 1, np.float64)[0]
    if holds == I8:
        return float(carray(pointer(address), 1, np.int64)[0])
    return 1.0 if carray(pointer(address), 1, np.uint8)[0] else 0.0


@njit(cache=True)
def _write(address, holds, value):
    if holds == F8:
        carray(pointer(address), 1, np.float64)[0] = value
    elif holds == I8:
        carray(pointer(address), 1, np.int64)[0] = int(value)
    else:
        carray(pointer(address), 1, np.uint8)[0] = 1 if value != 0.0 else 0


@njit(cache=True)
def start(config, state, io):
    state.callbacks[0] = config.logger
    state.callbacks[1] = config.allocate
    state.callbacks[2] = config.free
    state.callbacks[3] = 0
    state.callbacks[4] = bus.address_of(state)
    state.log_status = 0
    state.phase = flight_log.NO_PHASE
    component = fmi.instantiate(
        config.functions[fmi.INSTANTIATE],
        config.name,
        config.guid,
        config.resources,
        state.callbacks.ctypes.data,
        config.logging,
    )
    if component == 0:
        _fail(config, state, io, fmi.INSTANTIATE, -1)
        return
    state.component = component
    state.free_instance = config.functions[fmi.FREE_INSTANCE]
    f = config.functions
    setup = fmi.setup_experiment(f[fmi.SETUP_EXPERIMENT], component, 0.0)
    if not _call_ok(config, state, io, fmi.SETUP_EXPERIMENT, setup):
        return
    entered = fmi.on_component(f[fmi.ENTER_INITIALIZATION_MODE], component)
    if not _call_ok(config, state, io, fmi.ENTER_INITIALIZATION_MODE, entered):
        return
    parameters = carray(pointer(config.parameters), config.n_parameters, PARAMETER_DTYPE)
    _clear(state)
    for p in range(parameters.shape[0]):
        _queue(state, parameters[p].fmi_type, parameters[p].reference, parameters[p].value)
    if not _transfer(config, state, io, fmi.SET_REAL):
        return
    if not _set(config, state, io, carray(pointer(config.start), config.n_start, INPUT_DTYPE)):
        return
    exited = fmi.on_component(f[fmi.EXIT_INITIALIZATION_MODE], component)
    if not _call_ok(config, state, io, fmi.EXIT_INITIALIZATION_MODE, exited):
        return
    state.time_s = 0.0
    io.commands.engine_on = True  # unless it says otherwise
    io.commands.attitude_command = config.attitude


@njit(cache=True)
def cycle(config, state, io):
    if not _set(config, state, io, carray(pointer(config.inputs), config.n_inputs, INPUT_DTYPE)):
        return
    state.restart_pending = False
    h = io.t_s + config.period_s - state.time_s
    stepped = fmi.do_step(config.functions[fmi.DO_STEP], state.component, state.time_s, h)
    if not _call_ok(config, state, io, fmi.DO_STEP, stepped):
        return
    state.time_s += h
    outputs = carray(pointer(config.outputs), config.n_outputs, OUTPUT_DTYPE)
    _clear(state)
    for o in range(outputs.shape[0]):
        _queue(state, outputs[o].fmi_type, outputs[o].reference, 0.0)
    if not _transfer(config, state, io, fmi.GET_REAL):
        return
    io_address = bus.address_of(io)
    _clear(state)  # read back in the order queued
    for o in range(outputs.shape[0]):
        out = outputs[o]
        t = out.fmi_type
        n = state.counts[t]
        state.counts[t] = n + 1
        value = state.reals[n] if t == REAL else float(state.integers[t - 1, n])
        for e in range(io.n_engines if out.every_engine else 1):
            _write(io_address + out.offset + 8 * e, out.holds, value)
    io.commands.attitude_command = config.attitude
    phase = io.telemetry.phase
    if phase != state.phase and phase != flight_log.NO_PHASE:
        events, count = contract.event_log(io)
        flight_log.log(
            events, count, io.t_s, flight_log.PHASE_CHANGE, phase, io.telemetry.altitude_est_m
        )
    state.phase = phase


@njit(cache=True)
def restart(config, state, io):
    state.restart_pending = True
    events, count = contract.event_log(io)
    offline = io.reset.online_time_s - io.reset.reset_time_s
    flight_log.log(events, count, io.t_s, flight_log.COMPUTER_RESTARTED, 0, offline)


@njit(cache=True)
def stop(config, state, io):
    if state.component:
        fmi.on_component(config.functions[fmi.TERMINATE], state.component)
        fmi.free_instance(config.functions[fmi.FREE_INSTANCE], state.component)
        state.component = 0
