"""Many runs of one scenario flown by one compiled call.

A batch stacks what can differ between runs (each run's packed model records, initial state,
sensor and fault states with their random streams, and flight-software state) along a first
axis, passes what they share (gravity field, truth terrain, onboard map, touchdown limits,
open-loop schedule) once, and flies them all with `runloop.simulate_batch`: no Python between
steps or between runs. A single run is a batch of one. The inputs travel as the named tuples
of `sims.records`.

Each run's random streams are children of its SeedSequence keyed by name
(`sensors.random_stream.stream_seed`): "imu", "sensors.<channel>", "faults.<fault>" (whether
it occurs, and its dropouts) and "navigation_initial_error".
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from dynamics import touchdown
from gnc import flight_software, modes
from gnc.navigation import gating, updates
from sensors import bus, imu, random_stream, registry
from sims import fault_table, records, runloop
from sims import model as model_builder

EVENT_CAPACITY = 256
ALIGNMENT = 8  # bytes: each packed spec record starts on a multiple


@dataclass
class Batch:
    """Packed inputs of a batch of runs and, after `execute`, their raw outputs (every array
    has the run as first axis): states.x is each run's truth state (final after the run),
    states.fsw its flight software's (the filter included); errors maps the position of a run
    that raised inside the model to the message, and run_seconds is each run's share of the
    compiled call's wall time."""

    scenario: object
    seeds: list  # what each run's results record as its seed
    models: list
    shared: records.Shared
    per_run: records.PerRun
    states: records.States
    outputs: records.Outputs
    errors: dict = field(default_factory=dict)
    run_seconds: np.ndarray | None = None

    def __len__(self):
        return len(self.models)

    @property
    def x(self):
        return self.states.x

    @property
    def fsw_state(self):
        return self.states.fsw

    @property
    def summary(self):
        return self.outputs.summary

    @property
    def trace(self):
        return self.outputs.trace

    @property
    def events(self):
        return self.outputs.events

    @property
    def n_events(self):
        return self.outputs.n_events


def _same(a, b):
    if isinstance(a, tuple):
        return all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a is b or (np.shape(a) == np.shape(b) and np.array_equal(a, b))


def _stack(rows):
    """C-ordered stack whatever the batch size, so every batch uses the same compiled code."""
    return np.ascontiguousarray(np.stack([np.asarray(r) for r in rows]))


def _packed(records_of_run):
    """(bytes per run, byte offsets) of each run's spec records laid end to end."""
    offsets, size = [], 0
    for r in records_of_run[0]:
        offsets.append(size)
        size += -(-r.dtype.itemsize // ALIGNMENT) * ALIGNMENT
    blob = np.zeros((len(records_of_run), max(size, ALIGNMENT)), np.uint8)
    for k, rows in enumerate(records_of_run):
        for r, offset in zip(rows, offsets, strict=True):
            blob[k, offset : offset + r.dtype.itemsize] = np.frombuffer(r.tobytes(), np.uint8)
    return blob, offsets


def _channel_tables(models):
    """(truth-side table, specs, flight-software table, knowledge) of the runs' channels."""
    first = models[0].channels
    n, n_ch = len(models), len(first)
    specs, offsets = _packed([[c.truth for c in m.channels] for m in models])
    knowledge, known_offsets = _packed([[c.knowledge for c in m.channels] for m in models])
    channels = np.zeros((n, n_ch), bus.CHANNEL_DTYPE)
    fsw_channels = np.zeros((n, n_ch), updates.FSW_CHANNEL_DTYPE)
    for i, c in enumerate(first):
        sample, predict = registry.entry_points(c.kind)
        channels[:, i]["spec_offset"] = offsets[i]
        channels[:, i]["sample_entry"] = sample
        fsw_channels[:, i]["spec_offset"] = known_offsets[i]
        fsw_channels[:, i]["predict_entry"] = predict
        for k, m in enumerate(models):
            channels[k, i]["every_steps"] = m.channels[i].every_steps
            channels[k, i]["latency_s"] = m.channels[i].latency_s
            fsw_channels[k, i]["gate"] = m.channels[i].gate
    return channels, specs, fsw_channels, knowledge


def queue_slots(m):
    """Measurements a run can have in flight: one per channel, and for a channel whose data
    arrive late (its latency and any latency fault's delay), one per sample period of the
    delay."""
    slots = 0
    for i, c in enumerate(m.channels):
        latency = m.faults[
            (m.faults["target"] == fault_table.CHANNEL)
            & (m.faults["index"] == i)
            & (m.faults["mode"] == fault_table.LATENCY)
        ]
        period = c.every_steps * float(m.run["time_step_s"])
        slots += 1 + math.ceil((c.latency_s + float(latency["delay_s"].sum())) / period)
    return slots


def prepare(scenario, models, run_seeds, seeds, output_rate_hz=None):
    """A batch flying models[k] with the random streams of run_seeds[k] (a SeedSequence per
    run); seeds[k] is what its results record. output_rate_hz overrides the scenario's trace
    rate (campaigns keep 1-Hz traces)."""
    first = models[0]
    for name in ("gravity", "terrain", "onboard_map", "limits", "schedule"):
        if not all(_same(getattr(m, name), getattr(first, name)) for m in models[1:]):
            raise ValueError(f"the runs of a batch must share their {name}")
    n = len(models)
    channels, specs, fsw_channels, knowledge = _channel_tables(models)
    run = _stack([m.run for m in models])
    capacity = first.trace_capacity
    if output_rate_hz is not None:
        step = float(first.run["time_step_s"])
        run["output_every_steps"] = max(1, round(1.0 / (output_rate_hz * step)))
        capacity = int(float(first.run["max_time_s"]) * output_rate_hz) + 3
    per_run = records.PerRun(
        run=run,
        mass=_stack([m.mass for m in models]),
        engines=_stack([m.engines for m in models]),
        thrusters=_stack([m.thrusters for m in models]),
        contact_points=_stack([m.contact_points for m in models]),
        imu=_stack([m.imu for m in models]),
        channels=channels,
        specs=specs,
        faults=_stack([m.faults for m in models]),
        fsw=_stack([m.fsw for m in models]),
        fsw_channels=fsw_channels,
        knowledge=knowledge,
        rcs_torques=_stack([m.rcs_torques for m in models]),
        rcs_groups=_stack([m.rcs_groups for m in models]),
        gains=_stack([m.gains for m in models]),
    )
    channel_names = [c.name for c in first.channels]
    imu_state = np.zeros(n, imu.IMU_STATE_DTYPE)
    channel_state = np.zeros((n, len(channel_names)), bus.CHANNEL_STATE_DTYPE)
    channel_state["performance"] = 1.0
    fault_state = np.zeros((n, len(first.faults)), fault_table.FAULT_STATE_DTYPE)
    fsw_state = np.zeros(n, flight_software.FSW_STATE_DTYPE)
    for k, (m, run_seed) in enumerate(zip(models, run_seeds, strict=True)):
        imu_state[k]["stream"] = random_stream.seeded_states(
            [random_stream.stream_seed(run_seed, "imu")]
        )[0]
        for i, name in enumerate(channel_names):
            channel_state[k, i]["stream"] = random_stream.seeded_states(
                [random_stream.stream_seed(run_seed, f"sensors.{name}")]
            )[0]
        for i, name in enumerate(first.fault_names):
            seed = random_stream.stream_seed(run_seed, f"faults.{name}")
            occurs = np.random.default_rng(seed).random() < m.fault_probability[i]
            per_run.faults[k, i]["occurs"] = occurs
            fault_state[k, i]["stream"] = random_stream.seeded_states([seed.spawn(1)[0]])[0]
        if m.run["closed_loop"]:
            error_seed = random_stream.stream_seed(run_seed, "navigation_initial_error")
            fsw_state[k] = model_builder.initial_flight_software_state(
                m, np.random.default_rng(error_seed)
            )
    queue = np.zeros((n, max(queue_slots(m) for m in models)), bus.MEASUREMENT_DTYPE)
    queue["deliver_s"] = np.inf
    states = records.States(
        x=np.stack([m.x0 for m in models]),
        imu=imu_state,
        channels=channel_state,
        queue=queue,
        faults=fault_state,
        engine_factor=np.ones((n, len(first.engines))),
        fsw=fsw_state,
        gates=np.zeros((n, len(channel_names)), gating.GATE_STATE_DTYPE),
    )
    outputs = records.Outputs(
        events=np.zeros((n, EVENT_CAPACITY), modes.EVENT_DTYPE),
        n_events=np.zeros((n, 1), np.int64),
        trace=np.zeros((n, capacity), records.TRACE_DTYPE),
        summary=np.zeros(n, records.SUMMARY_DTYPE),
    )
    shared = records.Shared(
        gravity=first.gravity,
        terrain=first.terrain,
        onboard_map=first.onboard_map,
        limits=first.limits,
        schedule=first.schedule,
    )
    return Batch(scenario, list(seeds), list(models), shared, per_run, states, outputs)


def execute(b, keep_going=False):
    """Fly every run of the batch in one compiled call. With keep_going, a run that raises
    inside the model is recorded in b.errors (and as diverged in its summary) and the others
    still fly; otherwise it raises."""
    next_run = np.zeros(1, np.int64)
    cycles = np.zeros(len(b) + 1, np.int64)
    t0 = time.perf_counter()
    while next_run[0] < len(b):
        try:
            runloop.simulate_batch(b.shared, b.per_run, b.states, b.outputs, next_run, cycles)
        except Exception as exc:
            if not keep_going:
                raise
            k = int(next_run[0])
            b.errors[k] = f"raised {type(exc).__name__}: {exc}"
            b.summary[k]["outcome"] = touchdown.DIVERGED
            b.summary[k]["diverged_reason"] = runloop.DIVERGED_RAISED
            next_run[0] = k + 1
    ticks = np.diff(cycles).astype(float)
    b.run_seconds = (time.perf_counter() - t0) * ticks / max(ticks.sum(), 1.0)


def describe_faults(b, k):
    """Run k's declared faults: name, target, mode, and whether it occurs in this run."""
    return [
        {
            "fault": name,
            "target": fault_table.target_name(row, b.models[k].channels),
            "mode": fault_table.MODES[row["mode"]],
            "occurred": bool(row["occurs"]),
        }
        for name, row in zip(b.models[k].fault_names, b.per_run.faults[k], strict=True)
    ]


def describe_events(b, k):
    """Run k's events as JSON-ready dicts, naming its channels and faults."""
    faults = [{key: f[key] for key in ("fault", "target", "mode")} for f in describe_faults(b, k)]
    return modes.describe(
        b.outputs.events[k],
        b.outputs.n_events[k, 0],
        [c.name for c in b.models[k].channels],
        faults,
    )
