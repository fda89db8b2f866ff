"""Many runs of one scenario flown by one compiled call.

A batch stacks what can differ between runs (each run's packed model records, initial state,
sensor state with its random streams, and flight-software state) along a first axis, passes
what they share (terrain, gravity field, open-loop schedule, touchdown limits) once, and
flies them all with `runloop.simulate_batch`: no Python between steps or between runs. A
single run is a batch of one. Every array below has the run as its first axis.
"""

import time
from dataclasses import dataclass, field

import numpy as np

from gnc import flight_software, modes
from sensors import suite
from sims import model as model_builder
from sims import runloop

EVENT_CAPACITY = 256

# Model fields that may differ between the runs of a batch (stacked), and those all runs share
# (passed once; a batch of runs that differ in one of them is refused).
PER_RUN = (
    "run",
    "mass",
    "engine",
    "thrusters",
    "rcs_torques",
    "rcs_groups",
    "gains",
    "contact_points",
    "fsw",
    "sensors",
)
SHARED = (
    "gravity",
    "harmonics_c",
    "harmonics_s",
    "site",
    "tiles",
    "heights",
    "limits",
    "schedule",
    "map_site",
    "map_tiles",
)


@dataclass
class Batch:
    """Packed inputs of a batch of runs and, after `execute`, their raw outputs: x is each
    run's truth state (final after the run), fsw_state its flight software's (the filter
    included); errors maps the position of a run that raised inside the model to the message,
    and run_seconds is each run's share of the compiled call's wall time."""

    scenario: object
    seeds: list  # what each run's results record as its seed
    models: list
    inputs: dict  # PER_RUN fields stacked, SHARED fields once
    x: np.ndarray
    fsw_state: np.ndarray
    sensor_state: np.ndarray  # the sensors' errors, accumulators and random streams
    events: np.ndarray
    n_events: np.ndarray
    trace: np.ndarray
    summary: np.ndarray
    errors: dict = field(default_factory=dict)
    run_seconds: np.ndarray | None = None

    def __len__(self):
        return len(self.models)


def _same(a, b):
    return a is b or (np.shape(a) == np.shape(b) and np.array_equal(a, b))


def prepare(scenario, models, run_seeds, seeds, output_rate_hz=None):
    """A batch flying models[k] with the random streams of run_seeds[k] (a SeedSequence per
    run; see `sensors.suite.STREAMS`); seeds[k] is what its results record. output_rate_hz
    overrides the scenario's trace rate (campaigns keep 1-Hz traces)."""
    first = models[0]
    for name in SHARED:
        if not all(_same(getattr(m, name), getattr(first, name)) for m in models[1:]):
            raise ValueError(f"the runs of a batch must share their {name}")
    inputs = {
        name: np.ascontiguousarray(np.stack([np.asarray(getattr(m, name)) for m in models]))
        for name in PER_RUN
    }  # C order whatever the batch size, so every batch uses the same compiled code
    inputs.update({name: getattr(first, name) for name in SHARED})
    capacity = first.trace_capacity
    if output_rate_hz is not None:
        step = float(first.run["time_step_s"])
        inputs["run"]["output_every_steps"] = max(1, round(1.0 / (output_rate_hz * step)))
        capacity = int(float(first.run["max_time_s"]) * output_rate_hz) + 3
    n = len(models)
    sensor_state = np.zeros(n, suite.SUITE_STATE_DTYPE)
    sensor_state["streams"] = [suite.sensor_streams(s) for s in run_seeds]
    fsw_state = np.zeros(n, flight_software.FSW_STATE_DTYPE)
    for k, m in enumerate(models):
        if m.run["closed_loop"]:
            error_seed = suite.stream_seed(run_seeds[k], "navigation_initial_error")
            fsw_state[k] = model_builder.initial_flight_software_state(
                m, np.random.default_rng(error_seed)
            )
    return Batch(
        scenario=scenario,
        seeds=list(seeds),
        models=list(models),
        inputs=inputs,
        x=np.stack([m.x0 for m in models]),
        fsw_state=fsw_state,
        sensor_state=sensor_state,
        events=np.zeros((n, EVENT_CAPACITY), modes.EVENT_DTYPE),
        n_events=np.zeros((n, 1), np.int64),
        trace=np.zeros((n, capacity), runloop.TRACE_DTYPE),
        summary=np.zeros(n, runloop.SUMMARY_DTYPE),
    )


def execute(b, keep_going=False):
    """Fly every run of the batch in one compiled call. With keep_going, a run that raises
    inside the model is recorded in b.errors and the others still fly; otherwise it raises."""
    i = b.inputs
    next_run = np.zeros(1, np.int64)
    cycles = np.zeros(len(b) + 1, np.int64)
    t0 = time.perf_counter()
    while next_run[0] < len(b):
        try:
            runloop.simulate_batch(
                b.x,
                i["run"],
                i["gravity"],
                i["harmonics_c"],
                i["harmonics_s"],
                i["mass"],
                i["engine"],
                i["thrusters"],
                i["rcs_torques"],
                i["rcs_groups"],
                i["gains"],
                i["site"],
                i["tiles"],
                i["heights"],
                i["contact_points"],
                i["limits"],
                i["schedule"],
                i["fsw"],
                b.fsw_state,
                i["sensors"],
                b.sensor_state,
                i["map_site"],
                i["map_tiles"],
                b.events,
                b.n_events,
                b.trace,
                b.summary,
                next_run,
                cycles,
            )
        except Exception as exc:
            if not keep_going:
                raise
            k = int(next_run[0])
            b.errors[k] = f"raised {type(exc).__name__}: {exc}"
            next_run[0] = k + 1
    ticks = np.diff(cycles).astype(float)
    b.run_seconds = (time.perf_counter() - t0) * ticks / max(ticks.sum(), 1.0)
