"""Runs at points an algorithm chooses as it goes (subset simulation, importance sampling, the
worst-case search): each asked for once, in order, under the next run index, flown in
batches of a campaign (`campaign.execute`) and stored as they finish. An algorithm that is
deterministic given the campaign seed and the runs' results resumes by running again: the
points it asks for again are the stored runs', taken instead of flown.

A point is a row of uniform deviates, one per dispersed component (`dispersions.Sampler`);
with one coordinate more, that coordinate picks the run's noise (`dispersions.noise_seed`),
so that points asked with the same last coordinate fly the same sensor noise and fault draws.
The runs table records each run's `point` and `level` (the algorithm's stage that asked).
"""

import pyarrow as pa
import pyarrow.parquet as pq

from sims.campaigns import campaign, dispersions, results_folder, tables


class ChosenRuns:
    """The runs an algorithm has asked for, in a store (None: kept in memory only)."""

    def __init__(self, plan, store, execution):
        self.plan, self.store, self.execution = plan, store, execution.counted()
        self.sc, self.sampler = campaign.prepared(plan)
        self.stored = _stored(store)
        self.asked = []  # run indices, in the order asked
        self.bar = campaign.ProgressBar(plan.runs, 0, execution.progress)

    def fly(self, points, level):
        """The runs-table rows (pyarrow) of runs at these points, in their order."""
        first = len(self.asked)
        indices = list(range(first, first + len(points)))
        self.asked += indices
        pending = [k for k in indices if k not in self.stored]
        if not pending:
            self.bar.update(self.rows(indices))
            return self.rows(indices)
        dispersions.check(self.sc, self.sampler.values(points), indices, self.plan.label)
        flown = []

        def on_batch(parts):
            parts["runs"] = parts["runs"].append_column(
                "level", pa.array([level] * parts["runs"].num_rows, pa.int64())
            )
            if self.store is not None:
                self.store.write_batch(parts)
            flown.append(parts["runs"])
            self.bar.update(parts["runs"])

        chosen = dict(zip(indices, points, strict=True))
        campaign.execute(self.plan, pending, self.execution, on_batch, chosen)
        self.stored.update(_by_run(tables.concat(flown)))
        return self.rows(indices)

    def rows(self, indices=None):
        """The runs-table rows of the given runs (default: every run asked), in order."""
        indices = self.asked if indices is None else indices
        return pa.concat_tables([self.stored[k] for k in indices], promote_options="default")

    def close(self):
        """Stop showing progress (the algorithm finished, or was stopped)."""
        self.bar.close()

    def finish(self):
        """Once the algorithm has finished: consolidate the store's tables and record the
        runs flown in its manifest."""
        if self.store is None:
            return
        self.store.consolidate()
        manifest = self.store.manifest()
        manifest["runs"] = len(self.asked)
        manifest["finished"] = results_folder.now()
        self.store.write_manifest(manifest)


def _stored(store):
    """{run: its runs-table row (a one-row table)} of the runs a store holds."""
    if store is None:
        return {}
    done = store.done()
    parts = [pq.read_table(p) for p in sorted(store.parts.glob("runs-*.parquet"))]
    rows = _by_run(tables.concat(parts)) if parts else {}
    return {k: v for k, v in rows.items() if k in done}


def _by_run(table):
    return {k: table.slice(i, 1) for i, k in enumerate(table.column("run").to_pylist())}
