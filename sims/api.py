"""Python entry points for notebooks and scripts: load a scenario, run it, get the results.

>>> from sims import api
>>> result = api.run("nominal", seed=0)
>>> result.summary["outcome"], result.trajectory.to_pandas()
"""

import numpy as np

from dynamics import orbit
from sims.run import batch, recorder, results
from sims.run import packing as model_builder
from sims.scenarios import scenario


def load(source):
    """Validated scenario from a path, a bundled scenario name or a dict."""
    return scenario.load(source)


def prepare(source, seed=0, initial_orbit=None, seeds=None):
    """Packed inputs of one run, a `batch.Batch` of one (see `run` for the arguments), or of
    one run per seed in seeds; after `execute`, its arrays hold each run's raw outputs along
    their first axis (x: the final truth state, fsw_state: the flight software's, its filter
    included)."""
    sc = load(source)
    initial = orbit.state_from_orbit(initial_orbit) if initial_orbit is not None else None
    m = model_builder.build(sc, initial)
    seeds = [seed] if seeds is None else list(seeds)
    return batch.prepare(sc, [m] * len(seeds), [np.random.SeedSequence(k) for k in seeds], seeds)


def execute(b):
    """Fly a prepared batch (one compiled call); a run that raises inside the model ends as
    diverged, with the error in b.errors."""
    batch.execute(b, keep_going=True)


def run(source, seed=0, initial_orbit=None):
    """Run one descent and return its `RunResult`.

    source: scenario path, bundled name, dict or loaded Scenario. seed: the run's seed; the
    IMU, each sensor channel, each fault and the initial navigation error draw from their own
    stream spawned from it, keyed by name (`sims.run.batch`). initial_orbit: optional object with
    astropy Quantity `.r` and `.v` in the Moon-centred inertial frame at PDI (e.g. a hapsira
    Orbit), replacing the scenario's initial state.
    """
    r = prepare(source, seed, initial_orbit)
    execute(r)
    return result_of(r)


def run_seeds(source, seeds, initial_orbit=None):
    """`RunResult`s of one scenario flown with each seed, all in one compiled call."""
    b = prepare(source, initial_orbit=initial_orbit, seeds=seeds)
    execute(b)
    return [result_of(b, k) for k in range(len(b))]


def result_of(b, k=0, index=None):
    """The `RunResult` of run k of an executed batch (recorded as run `index`, default k)."""
    summary = b.summary[k]
    recording, updates = recorder.tables(b, k, k if index is None else index)
    return results.RunResult(
        summary=results.summarize(
            b.scenario,
            b.seeds[k],
            b.models[k],
            summary,
            batch.describe_events(b, k),
            batch.describe_faults(b, k),
            b.errors.get(k),
        ),
        trajectory=results.trace_table(b.trace[k, : summary["n_trace"]]),
        recording=recording,
        updates=updates,
    )
