"""Monte Carlo campaigns: dispersed runs of one scenario, reproducible run by run, on all local
cores or a Dask cluster, streamed to Parquet and resumable.

A run's result depends only on (scenario, campaign seed, run index): its dispersed values and
its sensors' streams are all derived from those (`sims.campaigns.dispersions`), so the executor, the
worker count and the batch size change nothing but the wall time.

Results folder:
- `manifest.json`: scenario text and hash, code digest, campaign seed, run count, trace policy,
  package versions, git revision, start and end times;
- `parts/runs-<first>.parquet` and `parts/traces-<first>.parquet`: one pair per finished
  batch, each written atomically, so an interrupted campaign keeps every finished batch;
- `runs.parquet` and `traces.parquet`: the whole campaign in run order, written when every
  run is done by streaming the parts (memory stays bounded as campaigns grow). Traces are
  sampled at 1 Hz and at the end of the run.

Each batch of runs is flown by one compiled call (`sims.run.batch`).
"""

import dataclasses
import functools
import json
import logging
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from gnc.interface import forms
from sensors import registry
from sims import api
from sims.campaigns import dispersions, sweeps
from sims.campaigns.results_folder import Results, code_digest, kind_names, now
from sims.campaigns.tables import concat, runs_table, traces_table
from sims.errors import CampaignError
from sims.run import batch, recorder
from sims.scenarios import field_paths, scenario
from uncertainty import designs

TRACE_RATE_HZ = 1.0  # campaign traces: one sample a second, and the last
SCHEDULER_TIMEOUT_S = 10.0
LOG_EVERY_S, LOG_EVERY_SHARE = 10.0, 0.1  # progress lines in a log (`ProgressBar`)
FAILED = ("crashed", "fuel_exhausted", "tipped_over", "hard_landing", "timeout", "diverged")


@dataclass(frozen=True)
class Plan:
    """What a campaign runs: the scenario as written (TOML text, or JSON of a dict given from
    Python), its label, the campaign's size, seed and trace policy, the sensor kinds from
    outside the package it needs (registered wherever it runs: a Dask worker too), and the
    sources of the flight-software modules from outside the package it flies (shipped with
    the plan: a worker loads them if it cannot import them as they are)."""

    scenario_text: str
    label: str
    runs: int
    seed: int
    traces_first: int  # keep traces of the first K runs, and of every failure
    kinds: tuple = ()  # module names
    flight_software: tuple = ()  # (module name, source)
    record: str = ""  # JSON of the [record] fields the command line overrides
    design: str = "random"  # where each run's point lies in the dispersions (`uncertainty.designs`)
    sweep: str = ""  # JSON of a sweep's axes, grid and runs a point (`sims.campaigns.sweeps`)

    @property
    def scenario(self):
        for module in self.kinds:
            registry.register(module)
        return scenario.parse_text(
            self.scenario_text, self.label, json.loads(self.record) if self.record else None
        )


def plan_for(source, runs, seed, traces_first, record=None, design="random", sweep=""):
    """A validated Plan from a scenario path, bundled name or dict; record: [record] fields
    to override (`sims.run.recorder.Record`); design: `uncertainty.designs`; sweep:
    `sims.campaigns.sweeps.spec` (then runs is the runs a grid point)."""
    if isinstance(source, dict):
        label, text = "<dict>", json.dumps(source)
    else:
        label, text = scenario.read_text(source)
    overrides = json.dumps(record, sort_keys=True) if record else ""
    sc = Plan(text, label, runs, seed, traces_first, record=overrides).scenario  # validates it
    if design not in designs.DESIGNS:
        raise CampaignError(f"--design {design}: expected one of {', '.join(designs.DESIGNS)}")
    if design != "random" and not sc.dispersions:
        raise CampaignError(
            f"--design {design}: {label} disperses nothing ([dispersions] is empty), so there "
            "is no design to lay out"
        )
    if design == "saltelli":  # runs is the base sample
        if runs & (runs - 1):
            raise CampaignError(
                f"--runs {runs} with --design saltelli: the base sample must be a power of two "
                "(256 flies 256 x (D + 3) runs, D the dispersed components)"
            )
        # the runs' noise is one more input (`dispersions.Sampler`)
        runs = designs.saltelli_runs(runs, len(field_paths.components(sc, sc.dispersions)) + 1)
    if sweep:
        runs = len(sweeps.points(sweep)) * runs
    kinds = registry.declared_modules(kind_names(sc))
    shipped = forms.shipped_sources(sc.flight_software) if sc.flight_software else ()
    return Plan(text, label, runs, seed, traces_first, kinds, shipped, overrides, design, sweep)


def plan_of(manifest):
    """The Plan a campaign's manifest records."""
    return Plan(
        manifest["scenario_text"],
        manifest["scenario"],
        manifest["runs"],
        manifest["campaign_seed"],
        manifest["traces_first"],
        tuple(manifest.get("sensor_kinds", ())),
        tuple(tuple(pair) for pair in manifest.get("flight_software_sources", ())),
        manifest.get("record_overrides", ""),
        manifest.get("design", "random"),
        json.dumps(manifest["sweep"]) if manifest.get("sweep") else "",
    )


def prepared(plan):
    """(scenario, sampler) of a plan, parsed once per process (workers run many batches)."""
    return _compiled_plan(
        plan.scenario_text,
        plan.label,
        plan.kinds,
        plan.flight_software,
        plan.record,
        plan.design,
        plan.runs,
    )


@functools.lru_cache(maxsize=4)
def _compiled_plan(scenario_text, label, kinds, flight_software, record, design, runs):
    sc = Plan(scenario_text, label, runs, 0, 0, kinds, flight_software, record).scenario
    return sc, dispersions.Sampler(sc, design, runs)


def check_instances(sc, workers, executor):
    """CampaignError when the flight software can be instantiated only once per process and
    the local executor would fly it in several threads of this one."""
    fs = sc.flight_software
    single = fs is not None and getattr(forms.form(fs.kind), "single_instance", None)
    if single and single(fs) and executor == "local" and workers > 1:
        raise CampaignError(
            f"{sc.meta.name}: its flight software can be instantiated only once per process "
            f"(canBeInstantiatedOnlyOncePerProcess), so it cannot fly in {workers} workers of "
            "one process: use --workers 1, or --executor dask (a process per worker)"
        )


def run_batch(plan, indices, points=None):
    """{part: table} of a batch of runs, flown by one compiled call (executed in a worker,
    which loads the flight software the plan ships if it cannot import it as it is): its
    runs; its traces, kept at 1 Hz for the first plan.traces_first runs and every failure;
    with a recorder, the recordings and updates of the runs it keeps.

    points: the runs' points in the unit cube of the dispersions when a rare-event method
    chose them (`sims.campaigns.tail`), recorded in the runs table's `point` column; by default the
    campaign's design places them."""
    forms.load_shipped(plan.flight_software)
    sc, sampler = prepared(plan)
    chosen = points is not None
    u = points if chosen else sampler.points(plan.seed, indices)
    sampled = swept(plan, indices, sampler.values(u))
    models = [dispersions.build(sc, values) for values in sampled]
    used = [dispersions.read_back(m, values) for m, values in zip(models, sampled, strict=True)]
    b = batch.prepare(
        sc,
        models,
        sampler.run_seeds(plan.seed, indices, u),
        [plan.seed] * len(indices),
        output_rate_hz=TRACE_RATE_HZ,
        indices=indices,
    )
    batch.execute(b, keep_going=True)
    runs = runs_table(b, indices, plan.seed, used)
    if chosen:
        runs = runs.append_column("point", pa.array(list(points), pa.list_(pa.float64())))
    if plan.sweep:
        at = [i // sweeps.per_point(plan.sweep) for i in indices]
        runs = runs.append_column("sweep_point", pa.array(at, pa.int64()))
    failed = [o in FAILED for o in runs.column("outcome").to_pylist()]
    keep = [i < plan.traces_first or f for i, f in zip(indices, failed, strict=True)]
    parts = {"runs": runs, "traces": traces_table(b, indices, keep)}
    if sc.record is not None:
        recorded = [
            recorder.tables(b, k, index)
            for k, index in enumerate(indices)
            if sc.record.kept(index, failed[k]) and k not in b.errors
        ]
        parts["recordings"] = concat([r for r, _ in recorded])
        parts["updates"] = concat([u for _, u in recorded])
    return parts


def swept(plan, indices, sampled):
    """The runs' dispersed values with a sweep's grid point's values set over them."""
    if not plan.sweep:
        return sampled
    grid, each = sweeps.points(plan.sweep), sweeps.per_point(plan.sweep)
    return [{**values, **grid[i // each]} for i, values in zip(indices, sampled, strict=True)]


def batches(pending, workers, batch_size, most=50):
    """Batches of consecutive run indices (never spanning a gap left by finished runs), so
    every results part covers one index range and the parts, in order, are in run order;
    at most `most` runs each unless batch_size says otherwise."""
    size = batch_size or max(1, min(most, math.ceil(len(pending) / (4 * workers))))
    out, current = [], []
    for index in pending:
        if current and (index != current[-1] + 1 or len(current) == size):
            out.append(current)
            current = []
        current.append(index)
    return [*out, current] if current else out


def execute(plan, pending, execution, on_batch, points=None):
    """Run the pending indices in batches (execution: an `Execution`, its workers counted);
    on_batch(parts) as each finishes (`run_batch`); points: {index: its point} when a
    rare-event method chose them.

    The local executor flies batches in `workers` threads of this process: a batch's compiled
    call releases the GIL, so the threads fill the cores with no process start-up and nothing
    pickled. When interrupted, batches not yet started are dropped and running ones finish
    and are stored.
    """
    workers, executor, scheduler = execution.workers, execution.executor, execution.scheduler
    limit = recorder.batch_limit(prepared(plan)[0])
    work = batches(pending, workers, execution.batch_size, limit)
    chosen = [None if points is None else np.array([points[i] for i in b]) for b in work]
    if executor == "local" and workers == 1:
        for b, p in zip(work, chosen, strict=True):
            on_batch(run_batch(plan, b, p))
    elif executor == "local":
        from concurrent.futures import ThreadPoolExecutor, as_completed

        pool = ThreadPoolExecutor(workers)
        pending_futures = {
            pool.submit(run_batch, plan, b, p) for b, p in zip(work, chosen, strict=True)
        }
        try:
            for future in as_completed(pending_futures):
                pending_futures.discard(future)
                on_batch(future.result())
        except KeyboardInterrupt:
            pool.shutdown(wait=True, cancel_futures=True)
            for future in pending_futures:  # the batches running when it came
                if not future.cancelled() and future.exception() is None:
                    on_batch(future.result())
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
    else:
        from dask.distributed import Client, LocalCluster
        from dask.distributed import as_completed as dask_completed

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # workers' shutdown heartbeat noise
            )
        try:
            with Client(scheduler or cluster) as client:
                futures = client.map(run_batch, [plan] * len(work), work, chosen, pure=False)
                for future in dask_completed(futures):
                    on_batch(future.result())
        finally:
            if cluster is not None:
                cluster.close()


def default_workers():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


@dataclass(frozen=True)
class Request:
    """What a campaign flies besides its scenario and run count: its seed, the runs whose
    traces it keeps (the first traces_first), [record] fields to override, where each run's
    point lies in the dispersions (`uncertainty.designs`: random, lhs, sobol, saltelli) and
    a grid of fields' values to fly the runs at each point of (`sims.campaigns.sweeps`)."""

    seed: int = 0
    traces_first: int = 10
    record: dict | None = None
    design: str = "random"
    sweep: str = ""


@dataclass(frozen=True)
class Execution:
    """Where and how a campaign's runs fly: in `workers` threads of this process or Dask
    workers (every local core when None), by the `executor` (`local` or `dask`), on the Dask
    `scheduler` at an address (a local cluster when None), `batch_size` runs to a compiled
    call (chosen from the run count when None), showing `progress` (`ProgressBar`)."""

    workers: int | None = None
    executor: str = "local"
    scheduler: str | None = None
    batch_size: int | None = None
    progress: bool | str | None = None

    def counted(self):
        """This with its workers counted (every local core when None)."""
        return dataclasses.replace(self, workers=self.workers or default_workers())


def options(given):
    """(Request, Execution) of a campaign's keywords (the fields of both); TypeError naming
    one neither has."""
    names = {f.name for f in dataclasses.fields(Request)}
    request = Request(**{k: v for k, v in given.items() if k in names})
    return request, Execution(**{k: v for k, v in given.items() if k not in names})


def run(source, runs, out=None, tail=None, **given):
    """Run a campaign and return its runs table (Arrow, sorted by index); given: what it flies
    (`Request`: seed, traces_first, record, design, sweep) and how (`Execution`: workers,
    executor, scheduler, batch_size, progress); tail: the failure probability it estimates,
    for the manifest (`sims.campaigns.tail`).

    With out=None nothing is written (notebooks); with a folder, results stream there and an
    interrupted campaign can be resumed with `resume(out)`.
    """
    request, execution = options(given)
    plan, execution = new_plan(source, runs, request, execution)
    runs = plan.runs  # a saltelli design's N (D + 3), a sweep's points x runs a point
    sc, sampler = prepared(plan)
    if sc.dispersions or request.sweep:  # every value within its constraints, before any run
        values = swept(plan, range(runs), sampler.sample(request.seed, range(runs)))
        dispersions.check(sc, values, range(runs), plan.label)
    store = started(out, plan, source, **({"tail": tail} if tail else {}))
    return _run(plan, store, list(range(runs)), execution)


def new_plan(source, runs, request, execution):
    """(plan, execution with its workers counted) of a new campaign, checked before anything
    is written: the executor and the run count, the scheduler answering, the scenario
    (`plan_for`), whether its flight software can fly in that many workers."""
    if execution.executor not in ("local", "dask"):
        raise CampaignError(f"--executor {execution.executor!r}: expected 'local' or 'dask'")
    if runs < 1:
        raise CampaignError(f"--runs {runs}: expected at least one run")
    if execution.scheduler is not None:
        reach_scheduler(execution.scheduler, execution.executor)
    r = request
    plan = plan_for(source, runs, r.seed, r.traces_first, r.record, r.design, r.sweep)
    execution = execution.counted()
    check_instances(prepared(plan)[0], execution.workers, execution.executor)
    return plan, execution


def started(out, plan, source, **recorded):
    """The Results of a new campaign in out, its manifest written (`Results.start`), or None
    with no folder (nothing is written)."""
    if out is None:
        return None
    store = Results(out)
    store.start(plan, source, **recorded)
    return store


def reach_scheduler(scheduler, executor):
    """CampaignError unless a Dask scheduler answers at the address (checked before anything
    is written, so a wrong address leaves no folder behind)."""
    if executor != "dask":
        raise CampaignError("--scheduler ADDR is for --executor dask")
    from dask.distributed import Client

    try:
        with Client(scheduler, timeout=SCHEDULER_TIMEOUT_S):
            pass
    except (OSError, TimeoutError, ValueError) as exc:
        raise CampaignError(
            f"--scheduler {scheduler}: no Dask scheduler answered within "
            f"{SCHEDULER_TIMEOUT_S:g} s ({type(exc).__name__})"
        ) from None


def resume(out, **execution):
    """Run the missing runs of an interrupted campaign in out (execution: `Execution`'s
    fields); refuse if the code changed."""
    store = Results(out)
    execution = Execution(**execution).counted()
    plan = checked_plan(store, execution)
    done = store.done()
    pending = [i for i in range(plan.runs) if i not in done]
    return _run(plan, store, pending, execution)


def checked_plan(store, execution):
    """The Plan of a stored campaign to resume; CampaignError if its scenario file or the
    code changed since it started, or the execution cannot fly it."""
    if execution.scheduler is not None:
        reach_scheduler(execution.scheduler, execution.executor)
    out = store.out
    manifest = store.manifest()
    source = manifest.get("scenario_source")
    if (
        source
        and Path(source).is_file()
        and scenario.read_text(source)[1] != manifest["scenario_text"]
    ):
        raise CampaignError(
            f"{out}: the scenario file {source} changed since this campaign started; "
            "start a new campaign"
        )
    plan = plan_of(manifest)
    check_instances(plan.scenario, execution.counted().workers, execution.executor)
    if manifest.get("code_digest") != code_digest(plan.scenario):
        raise CampaignError(
            f"{out}: the code changed since this campaign started; results would not be "
            "comparable, so start a new campaign"
        )
    return plan


def _run(plan, store, pending, execution):
    collected_runs = []
    bar = ProgressBar(plan.runs, plan.runs - len(pending), execution.progress)

    def on_batch(parts):
        if store is not None:
            store.write_batch(parts)
        else:
            collected_runs.append(parts["runs"])
        bar.update(parts["runs"])

    try:
        execute(plan, pending, execution, on_batch)
    finally:
        bar.close()
    if store is None:
        return concat(collected_runs).sort_by("run")
    runs = store.consolidate()
    manifest = store.manifest()
    manifest["finished"] = now()
    store.write_manifest(manifest)
    return runs


class ProgressBar:
    """Progress on stderr: a tqdm bar (rate, ETA, landed count) with progress=True, or by
    default on a terminal; with progress="log" (`descent mc` in CI), a line when LOG_EVERY_S
    have passed or another LOG_EVERY_SHARE of the runs is done since the last; else silent."""

    def __init__(self, total, initial, progress):
        progress = sys.stderr.isatty() if progress is None else progress
        self.landed, self.done, self.total = 0, initial, total
        self.bar = None
        self.log = progress == "log"
        self.start = self.said_at = time.monotonic()
        self.said_done = initial
        if progress is True:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="run", file=sys.stderr)

    def update(self, runs):
        self.landed += runs.column("outcome").to_pylist().count("landed")
        self.done += runs.num_rows
        if self.bar is not None:
            self.bar.set_postfix(landed=self.landed, refresh=False)
            self.bar.update(runs.num_rows)
        now = time.monotonic()
        share = (self.done - self.said_done) / self.total
        if self.log and (now - self.said_at >= LOG_EVERY_S or share >= LOG_EVERY_SHARE):
            self.said_at, self.said_done = now, self.done
            print(
                f"descent: {self.done} of {self.total} runs ({self.done / self.total:.0%}), "
                f"{self.landed} of this session's landed, {now - self.start:.0f} s",
                file=sys.stderr,
                flush=True,
            )

    def close(self):
        if self.bar is not None:
            self.bar.close()


def replay(out, index, record=None):
    """(scenario, RunResult) of run `index` of a stored campaign, recomputed bit for bit;
    record: [record] fields to override (what to record of it)."""
    manifest = Results(out).manifest()
    if not 0 <= index < manifest["runs"]:
        raise CampaignError(
            f"--index {index}: the campaign in {out} has runs 0 to {manifest['runs'] - 1}"
        )
    plan = plan_of(manifest)
    if record:
        merged = {**(json.loads(plan.record) if plan.record else {}), **record}
        plan = dataclasses.replace(plan, record=json.dumps(merged, sort_keys=True))
    sc, sampler = prepared(plan)
    seed = manifest["campaign_seed"]
    u = Results(out).point(index)  # chosen by an algorithm (`sims.campaigns.chosen_runs`), or None
    u = sampler.points(seed, [index]) if u is None else u
    m = dispersions.build(sc, swept(plan, [index], sampler.values(u))[0])
    b = batch.prepare(sc, [m], sampler.run_seeds(seed, [index], u), [seed], indices=[index])
    batch.execute(b, keep_going=True)
    return sc, api.result_of(b, index=index)
