"""Python entry points for notebooks and scripts: load a scenario, run it, get the results.

>>> from sims import api
>>> result = api.run("nominal", seed=0)
>>> result.summary["outcome"], result.trajectory.to_pandas()
"""

import numpy as np

from dynamics import orbit
from sims import model as model_builder
from sims import results, runloop, scenario


def load(source):
    """Validated scenario from a path, a bundled scenario name or a dict."""
    return scenario.load(source)


def run(source, seed=0, initial_orbit=None):
    """Run one descent and return its `RunResult`.

    source: scenario path, bundled name, dict or loaded Scenario. seed: the run's seed,
    recorded with the results (the truth model and open-loop commands are deterministic;
    sensor noise and dispersions draw from it). initial_orbit: optional object with astropy
    Quantity `.r` and `.v` in the Moon-centred inertial frame at PDI (e.g. a hapsira Orbit),
    replacing the scenario's initial state.
    """
    sc = load(source)
    initial = orbit.state_from_orbit(initial_orbit) if initial_orbit is not None else None
    m = model_builder.build(sc, initial)
    trace = np.zeros(m.trace_capacity, runloop.TRACE_DTYPE)
    summary = np.zeros(1, runloop.SUMMARY_DTYPE)
    runloop.simulate(
        m.x0, m.run, m.gravity, m.harmonics_c, m.harmonics_s, m.mass, m.engine, m.thrusters,
        m.rcs_torques, m.rcs_groups, m.gains, m.site, m.tiles, m.heights, m.contact_points,
        m.limits, m.schedule, trace, summary[0],
    )  # fmt: skip
    trace = trace[: summary[0]["n_trace"]]
    return results.RunResult(
        summary=results.summarize(sc, seed, m, summary[0], trace),
        trajectory=results.trace_table(trace),
    )
