"""Python entry points for notebooks and scripts: load a scenario, run it, get the results.

>>> from sims import api
>>> result = api.run("nominal", seed=0)
>>> result.summary["outcome"], result.trajectory.to_pandas()
"""

import numpy as np

from dynamics import orbit
from gnc import flight_software, modes
from sensors import suite
from sims import model as model_builder
from sims import results, runloop, scenario

EVENT_CAPACITY = 256


def load(source):
    """Validated scenario from a path, a bundled scenario name or a dict."""
    return scenario.load(source)


def run(source, seed=0, initial_orbit=None):
    """Run one descent and return its `RunResult`.

    source: scenario path, bundled name, dict or loaded Scenario. seed: the run's seed; each
    sensor and the initial navigation error draw from their own stream spawned from it
    (`sensors.suite.STREAMS`). initial_orbit: optional object with astropy Quantity `.r` and
    `.v` in the Moon-centred inertial frame at PDI (e.g. a hapsira Orbit), replacing the
    scenario's initial state.
    """
    sc = load(source)
    initial = orbit.state_from_orbit(initial_orbit) if initial_orbit is not None else None
    m = model_builder.build(sc, initial)
    streams = np.random.SeedSequence(seed).spawn(len(suite.STREAMS))
    rngs = [np.random.default_rng(streams[suite.STREAMS.index(name)]) for name in suite.STREAMS[:3]]
    if m.run["closed_loop"]:
        fsw_state = model_builder.initial_flight_software_state(m, streams)
    else:
        fsw_state = np.zeros(1, flight_software.FSW_STATE_DTYPE)[0]
    sensor_state = np.zeros(1, suite.SUITE_STATE_DTYPE)[0]
    events = np.zeros(EVENT_CAPACITY, modes.EVENT_DTYPE)
    n_events = np.zeros(1, np.int64)
    trace = np.zeros(m.trace_capacity, runloop.TRACE_DTYPE)
    summary = np.zeros(1, runloop.SUMMARY_DTYPE)
    runloop.simulate(
        m.x0.copy(),
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
        fsw_state,
        m.sensors,
        sensor_state,
        *rngs,
        m.map_site,
        m.map_tiles,
        events,
        n_events,
        trace,
        summary[0],
    )
    trace = trace[: summary[0]["n_trace"]]
    return results.RunResult(
        summary=results.summarize(sc, seed, m, summary[0], modes.describe(events, n_events[0])),
        trajectory=results.trace_table(trace),
    )
