"""Python entry points for notebooks and scripts: load a scenario, run it, get the results.

>>> from sims import api
>>> result = api.run("nominal", seed=0)
>>> result.summary["outcome"], result.trajectory.to_pandas()
"""

from dataclasses import dataclass

import numpy as np

from dynamics import orbit
from gnc import flight_software, modes
from sensors import suite
from sims import model as model_builder
from sims import results, runloop, scenario

EVENT_CAPACITY = 256
SENSOR_STREAMS = ("imu", "star_tracker", "laser_rangefinder")  # simulate's generator order


def load(source):
    """Validated scenario from a path, a bundled scenario name or a dict."""
    return scenario.load(source)


@dataclass
class Run:
    """One run's packed inputs and, after `execute`, its raw outputs: x is the truth state
    (final after the run) and fsw_state the flight software's (its filter included)."""

    scenario: scenario.Scenario
    seed: int
    model: model_builder.Model
    x: np.ndarray
    fsw_state: np.void
    sensor_state: np.void
    generators: list
    events: np.ndarray
    n_events: np.ndarray
    trace: np.ndarray
    summary: np.ndarray


def prepare(source, seed=0, initial_orbit=None):
    """Packed inputs of one run (see `run` for the arguments)."""
    sc = load(source)
    initial = orbit.state_from_orbit(initial_orbit) if initial_orbit is not None else None
    return prepare_model(sc, model_builder.build(sc, initial), np.random.SeedSequence(seed), seed)


def prepare_model(sc, m, seed_sequence, seed):
    """Packed inputs of one run of an already built model; seed_sequence feeds the sensors'
    and the navigation error's streams, seed is what the results record."""
    streams = seed_sequence.spawn(len(suite.STREAMS))
    generators = [
        np.random.default_rng(streams[suite.STREAMS.index(name)]) for name in SENSOR_STREAMS
    ]
    if m.run["closed_loop"]:
        fsw_state = model_builder.initial_flight_software_state(m, streams)
    else:
        fsw_state = np.zeros(1, flight_software.FSW_STATE_DTYPE)[0]
    return Run(
        scenario=sc,
        seed=seed,
        model=m,
        x=m.x0.copy(),
        fsw_state=fsw_state,
        sensor_state=np.zeros(1, suite.SUITE_STATE_DTYPE)[0],
        generators=generators,
        events=np.zeros(EVENT_CAPACITY, modes.EVENT_DTYPE),
        n_events=np.zeros(1, np.int64),
        trace=np.zeros(m.trace_capacity, runloop.TRACE_DTYPE),
        summary=np.zeros(1, runloop.SUMMARY_DTYPE),
    )


def execute(r):
    """Fly a prepared run (one compiled call)."""
    m = r.model
    runloop.simulate(
        r.x,
        m.run,
        m.gravity,
        m.harmonics_c,
        m.harmonics_s,
        m.mass,
        m.engine,
        m.thrusters,
        m.rcs_torques,
        m.rcs_groups,
        m.gains,
        m.site,
        m.tiles,
        m.heights,
        m.contact_points,
        m.limits,
        m.schedule,
        m.fsw,
        r.fsw_state,
        m.sensors,
        r.sensor_state,
        *r.generators,
        m.map_site,
        m.map_tiles,
        r.events,
        r.n_events,
        r.trace,
        r.summary[0],
    )


def run(source, seed=0, initial_orbit=None):
    """Run one descent and return its `RunResult`.

    source: scenario path, bundled name, dict or loaded Scenario. seed: the run's seed; each
    sensor and the initial navigation error draw from their own stream spawned from it
    (`sensors.suite.STREAMS`). initial_orbit: optional object with astropy Quantity `.r` and
    `.v` in the Moon-centred inertial frame at PDI (e.g. a hapsira Orbit), replacing the
    scenario's initial state.
    """
    r = prepare(source, seed, initial_orbit)
    execute(r)
    return result_of(r)


def result_of(r):
    """The `RunResult` of an executed run."""
    summary = r.summary[0]
    return results.RunResult(
        summary=results.summarize(
            r.scenario, r.seed, r.model, summary, modes.describe(r.events, r.n_events[0])
        ),
        trajectory=results.trace_table(r.trace[: summary["n_trace"]]),
    )
