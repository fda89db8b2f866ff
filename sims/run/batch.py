"""Many runs of one scenario flown by one compiled call.

A batch stacks what can differ between runs (each run's packed model records, initial state,
sensor and fault states with their random streams, the state handed over to its flight
software and that flight software's configuration and state, as bytes) along a first axis,
passes what they share (gravity field, truth terrain, touchdown limits, open-loop schedule)
once, and flies them all with `loop.simulate_batch`: no Python between steps or between
runs. A single run is a batch of one. The inputs travel as the named tuples of
`sims.run.records`.

Each run's random streams are children of its SeedSequence keyed by name
(`sensors.random_stream.stream_seed`): "imu", "sensors.<channel>", "faults.<fault>" (whether
it occurs, and its dropouts) and "navigation_initial_error" (the error of the state handed
over at PDI).
"""

import math
import time
from dataclasses import dataclass, field

import numpy as np

from dynamics import frames, quaternion, touchdown
from dynamics.truth import X_Q
from faults import channel as channel_faults
from faults import flight_computer
from faults import table as fault_table
from gnc.interface import contract, flight_log
from sensors import bus, imu, random_stream, registry
from sims.run import bookkeeping, loop, loop_compiler, recorder, records

EVENT_CAPACITY = 256


@dataclass
class Batch:
    """Packed inputs of a batch of runs and, after `execute`, their raw outputs (every array
    has the run as first axis): states.x is each run's truth state (final after the run),
    fsw_state its flight software's state records (ours: the filter included); errors maps
    the position of a run that raised inside the model, or whose flight software failed, to
    the message, and run_seconds is each run's share of the compiled call's wall time."""

    scenario: object
    seeds: list  # what each run's results record as its seed
    models: list
    shared: records.Shared
    per_run: records.PerRun
    states: records.States
    outputs: records.Outputs
    work: tuple = ()  # loop.work_storage
    errors: dict = field(default_factory=dict)
    run_seconds: np.ndarray | None = None
    recorded: tuple = ()  # the recorded signals' names (`sims.run.recorder`)

    def __len__(self):
        return len(self.models)

    @property
    def x(self):
        return self.states.x

    @property
    def fsw_state(self):
        """The flight software's state record of each run (its form's STATE_DTYPE)."""
        form = self.models[0].flight_software.form
        return self.states.fsw.view(form.STATE_DTYPE)[:, 0]

    @property
    def io(self):
        """The flight-software interface's record of the run being flown (or last flown)."""
        return self.work[0][0]["io"]

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


def _channel_tables(models):
    """(table, specs) of the runs' channels: what to sample, when, with which spec record."""
    first = models[0].channels
    n, n_ch = len(models), len(first)
    packed = [bus.pack_specs([c.truth for c in m.channels]) for m in models]
    specs = np.ascontiguousarray(np.stack([blob for blob, _ in packed]))
    channels = np.zeros((n, n_ch), bus.CHANNEL_DTYPE)
    for i, c in enumerate(first):
        channels[:, i]["spec_offset"] = packed[0][1][i]
        channels[:, i]["sample_entry"] = registry.entry_points(c.kind)[0]
        for k, m in enumerate(models):
            channels[k, i]["every_steps"] = m.channels[i].every_steps
            channels[k, i]["latency_s"] = m.channels[i].latency_s
    return channels, specs


def handover(m, rng):
    """The state handed over to run m's flight software at PDI (`contract.HANDOVER_DTYPE`):
    the truth plus an error drawn from rng (the run's own stream for it) with the 1 sigma of
    the scenario's [navigation], plus its position bias, which that sigma does not cover;
    and the mission data (mass, target, Moon, control period)."""
    out = np.zeros(1, contract.HANDOVER_DTYPE)[0]
    x0 = m.x0
    omega = float(m.gravity.params["rotation_rate_radps"])
    site = m.terrain.site
    r_mcmf = frames.mci_to_mcmf(tuple(x0[0:3]), 0.0, omega)
    axes = frames.local_track_axes(site, r_mcmf)  # MCI = MCMF at t = 0
    local = np.array(axes).T  # columns: down, left, up
    error = m.handover_sigma * rng.standard_normal(contract.N_ESTIMATE)
    out["r_mci_m"] = x0[0:3] + local @ (error[0:3] + m.navigation_bias_m)
    out["v_mci_mps"] = x0[3:6] + local @ error[3:6]
    q_true = tuple(x0[X_Q : X_Q + 4])
    out["q_body_to_mci"] = quaternion.multiply(
        q_true, quaternion.from_rotation_vector(tuple(error[6:9]))
    )
    out["sigma"] = m.handover_sigma
    out["axes_mci"] = axes
    out["mass_kg"] = m.flight_software.context.scenario.vehicle.dry_mass + (
        m.flight_software.context.scenario.vehicle.propellant_mass
    )
    out["site_mcmf_m"] = site["origin_mcmf_m"]
    out["site_axes_mcmf"] = (site["track_downrange"], site["track_left"], site["up"])
    out["rotation_rate_radps"] = omega
    out["gm_m3ps2"] = m.gravity.params["gm_m3ps2"]
    out["control_period_s"] = m.flight_software.context.control_period_s
    return out


def queue_slots(m):
    """Measurements a run can have in flight: one per channel, and for a channel whose data
    arrive late (its latency and any latency fault's delay), one per sample period of the
    delay."""
    slots = 0
    for i, c in enumerate(m.channels):
        latency = m.faults[
            (m.faults["target"] == channel_faults.FAMILY)
            & (m.faults["index"] == i)
            & (m.faults["mode"] == channel_faults.LATENCY)
        ]
        period = c.every_steps * float(m.run["time_step_s"])
        slots += 1 + math.ceil((c.latency_s + float(latency["delay_s"].sum())) / period)
    return slots


def prepare(scenario, models, run_seeds, seeds, output_rate_hz=None, indices=None):
    """A batch flying models[k] with the random streams of run_seeds[k] (a SeedSequence per
    run); seeds[k] is what its results record. output_rate_hz overrides the scenario's trace
    rate (campaigns keep 1-Hz traces). indices[k] is run k's index in its campaign (0, 1, ...
    by default): the scenario's recorder records the runs it may keep."""
    first = models[0]
    for name in ("gravity", "terrain", "limits", "schedule"):
        if not all(_same(getattr(m, name), getattr(first, name)) for m in models[1:]):
            raise ValueError(f"the runs of a batch must share their {name}")
    n = len(models)
    channels, specs = _channel_tables(models)
    run = _stack([m.run for m in models])
    capacity = first.trace_capacity
    if output_rate_hz is not None:
        step = float(first.run["time_step_s"])
        run["output_every_steps"] = max(1, round(1.0 / (output_rate_hz * step)))
        capacity = int(float(first.run["max_time_s"]) * output_rate_hz) + 3
    software = [m.flight_software for m in models]
    closed = software[0] is not None
    entries = np.zeros(n, contract.ENTRIES_DTYPE)
    config = np.zeros((n, contract.BLOB_ALIGNMENT), np.uint8)
    fsw_state = np.zeros((n, contract.BLOB_ALIGNMENT), np.uint8)
    handovers = np.zeros(n, contract.HANDOVER_DTYPE)
    if closed:
        entries[:] = software[0].entries
        config = _stack([np.frombuffer(fs.config.tobytes(), np.uint8) for fs in software])
        fsw_state = np.zeros((n, software[0].form.STATE_DTYPE.itemsize), np.uint8)
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
        fsw_entries=entries,
        fsw_config=config,
        handover=handovers,
        rcs_torques=_stack([m.rcs_torques for m in models]),
        rcs_groups=_stack([m.rcs_groups for m in models]),
        gains=_stack([m.gains for m in models]),
    )
    channel_names = [c.name for c in first.channels]
    imu_state = np.zeros(n, imu.IMU_STATE_DTYPE)
    channel_state = np.zeros((n, len(channel_names)), bus.CHANNEL_STATE_DTYPE)
    channel_state["performance"] = 1.0
    fault_state = np.zeros((n, len(first.faults)), fault_table.FAULT_STATE_DTYPE)
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
        if closed:
            error_seed = random_stream.stream_seed(run_seed, "navigation_initial_error")
            handovers[k] = handover(m, np.random.default_rng(error_seed))
            initial = m.flight_software.initial_state(handovers[k])
            fsw_state[k] = np.frombuffer(initial.tobytes(), np.uint8)
    slots = max(queue_slots(m) for m in models)
    queue = np.zeros((n, slots), bus.MEASUREMENT_DTYPE)
    queue["deliver_s"] = np.inf
    states = records.States(
        x=np.stack([m.x0 for m in models]),
        imu=imu_state,
        channels=channel_state,
        queue=queue,
        faults=fault_state,
        engine_factor=np.ones((n, len(first.engines))),
        computer=np.zeros(n, flight_computer.COMPUTER_DTYPE),
        inbox=np.zeros((n, slots), bus.MEASUREMENT_DTYPE),
        fsw=fsw_state,
    )
    names, signals, recording, updates = _recorder(
        scenario, first, run, range(n) if indices is None else indices
    )
    outputs = records.Outputs(
        events=np.zeros((n, EVENT_CAPACITY), flight_log.EVENT_DTYPE),
        n_events=np.zeros((n, 1), np.int64),
        trace=np.zeros((n, capacity), records.TRACE_DTYPE),
        summary=np.zeros(n, records.SUMMARY_DTYPE),
        fsw_message=np.zeros((n, contract.MESSAGE_BYTES), np.uint8),
        recording=recording,
        n_recorded=np.zeros(len(recording), np.int64),
        updates=updates,
        n_updates=np.zeros((len(updates), 1), np.int64),
    )
    shared = records.Shared(
        gravity=first.gravity,
        terrain=first.terrain,
        limits=first.limits,
        schedule=first.schedule,
        signals=signals,
    )
    return Batch(
        scenario,
        list(seeds),
        list(models),
        shared,
        per_run,
        states,
        outputs,
        loop.work_storage(per_run),
        recorded=names,
    )


def _recorder(scenario, first, run, indices):
    """(names, signal table, recordings, update logs) of the scenario's recorder over a
    batch's runs (their indices in the campaign), each run it may keep given a slot in
    run["record_slot"] (-1 for the others) and the recorder's period."""
    spec = scenario.record
    run["record_slot"] = -1
    if spec is None:
        none = np.zeros((1, 0), contract.UPDATE_DTYPE)
        return (), np.zeros(0, recorder.SIGNAL_DTYPE), np.zeros((1, 0, 0)), none
    software = first.flight_software
    names, signals = recorder.signals_of(scenario)
    dt, max_time = float(first.run["time_step_s"]), float(first.run["max_time_s"])
    run["record_every_steps"] = round(1.0 / (spec.rate * dt))
    slots = [k for k, index in enumerate(indices) if spec.may_keep(index)]
    for slot, k in enumerate(slots):
        run[k]["record_slot"] = slot
    periods = [c.every_steps * dt for c in first.channels] if spec.updates and software else []
    samples = recorder.samples_per_run(max_time, spec.rate) if slots else 0
    return (
        names,
        signals,
        np.zeros((max(len(slots), 1), samples, 1 + len(names))),  # time, then the signals
        np.zeros(
            (max(len(slots), 1), recorder.updates_per_run(max_time, periods)), contract.UPDATE_DTYPE
        ),
    )


def execute(b, keep_going=False):
    """Fly every run of the batch in one compiled call. With keep_going, a run that raises
    inside the model is recorded in b.errors (and as diverged in its summary) and the others
    still fly; otherwise it raises. A run its flight software ended has the reason in
    b.errors either way."""
    next_run = np.zeros(1, np.int64)
    cycles = np.zeros(len(b) + 1, np.int64)
    scratch, vectors = b.work
    loop_compiler.wait()
    t0 = time.perf_counter()
    while next_run[0] < len(b):
        try:
            loop.simulate_batch(
                b.shared, b.per_run, b.states, b.outputs, scratch, vectors, next_run, cycles
            )
        except Exception as exc:
            if not keep_going:
                raise
            k = int(next_run[0])
            b.errors[k] = f"raised {type(exc).__name__}: {exc}"
            b.summary[k]["outcome"] = touchdown.DIVERGED
            b.summary[k]["diverged_reason"] = bookkeeping.DIVERGED_RAISED
            next_run[0] = k + 1
    ticks = np.diff(cycles).astype(float)
    b.run_seconds = (time.perf_counter() - t0) * ticks / max(ticks.sum(), 1.0)
    software = b.models[0].flight_software
    if software is not None and hasattr(software.form, "release"):
        software.form.release(b.fsw_state)  # what a run that raised left allocated
    for k in np.flatnonzero(b.summary["diverged_reason"] == bookkeeping.DIVERGED_FLIGHT_SOFTWARE):
        b.errors.setdefault(int(k), flight_software_failure(b, int(k)))


def flight_software_failure(b, k):
    """Why run k's flight software ended it: the entry point, the time and its message."""
    s = b.summary[k]
    entry = contract.ENTRY_NAMES[int(s["fsw_entry"])]
    how = "raised an exception" if s["fsw_status"] == contract.RAISED else "failed"
    message = contract.message_text(b.outputs.fsw_message[k])
    return f"the flight software {how} in its {entry} at t = {float(s['time_s']):.2f} s" + (
        f": {message}" if message else ""
    )


def describe_faults(b, k):
    """Run k's declared faults: name, target, mode, and whether it occurs in this run."""
    return [
        {
            "fault": name,
            "target": fault_table.target_name(row, b.models[k].channels),
            "mode": fault_table.mode_name(row),
            "occurred": bool(row["occurs"]),
        }
        for name, row in zip(b.models[k].fault_names, b.per_run.faults[k], strict=True)
    ]


def describe_events(b, k):
    """Run k's events as JSON-ready dicts, naming its channels and faults."""
    faults = [{key: f[key] for key in ("fault", "target", "mode")} for f in describe_faults(b, k)]
    return flight_log.describe(
        b.outputs.events[k],
        b.outputs.n_events[k, 0],
        [c.name for c in b.models[k].channels],
        faults,
    )
