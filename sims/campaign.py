"""Monte Carlo campaigns: dispersed runs of one scenario, reproducible run by run, on all local
cores or a Dask cluster, streamed to Parquet and resumable.

A run's result depends only on (scenario, campaign seed, run index): its dispersed values and
its sensors' streams are all derived from those (`sims.dispersions`), so the executor, the
worker count and the batch size change nothing but the wall time.

Results folder:
- `manifest.json`: scenario text and hash, code digest, campaign seed, run count, trace policy,
  package versions, git revision, start and end times;
- `parts/runs-<first>.parquet` and `parts/traces-<first>.parquet`: one pair per finished
  batch, each written atomically, so an interrupted campaign keeps every finished batch;
- `runs.parquet` and `traces.parquet`: the whole campaign in run order, written when every
  run is done by streaming the parts (memory stays bounded as campaigns grow). Traces keep
  every tenth sample of a run's 10-Hz trace (1 Hz) and its last one.
"""

import hashlib
import json
import logging
import math
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dynamics import compile_cache
from sims import api, dispersions, results, scenario
from sims.errors import CampaignError

TRACE_EVERY = 10  # campaign traces keep every 10th sample of the run's trace (1 Hz), and the last
FAILED = ("crashed", "fuel_exhausted", "tipped_over", "hard_landing", "timeout", "diverged")


@dataclass(frozen=True)
class Plan:
    """What a campaign runs: the scenario as written (TOML text, or JSON of a dict given from
    Python), its label, and the campaign's size, seed and trace policy."""

    scenario_text: str
    label: str
    runs: int
    seed: int
    traces_first: int  # keep traces of the first K runs, and of every failure

    @property
    def scenario(self):
        if self.scenario_text.lstrip().startswith("{"):
            return scenario.parse(json.loads(self.scenario_text), self.label)
        return scenario.parse_text(self.scenario_text, self.label)


def plan_for(source, runs, seed, traces_first):
    """A validated Plan from a scenario path, bundled name or dict."""
    if isinstance(source, dict):
        label, text = "<dict>", json.dumps(source)
    else:
        label, text = scenario.read_text(source)
    plan = Plan(text, label, runs, seed, traces_first)
    plan.scenario  # noqa: B018  (validate before anything runs or is written)
    return plan


def code_digest():
    return compile_cache.sources_digest(Path(compile_cache.__file__).resolve().parent.parent)


def cause_of(summary, limits):
    """Which limit a run broke first (or why it ended): a class to group failures by."""
    outcome = summary["outcome"]
    if outcome == "diverged":
        return summary.get("diverged_reason", "diverged")
    if outcome in ("timeout", "landed"):
        return outcome
    td = summary["touchdown"]
    if td["contact"] == "engine nozzle":
        return "structure_contact"
    if outcome == "fuel_exhausted":
        return "propellant"
    checks = (
        ("vertical_speed", td["vertical_speed_mps"], limits.vertical_speed),
        ("horizontal_speed", td["horizontal_speed_mps"], limits.horizontal_speed),
        ("tilt", math.radians(td["tilt_deg"]), limits.tilt),
        ("slope", math.radians(td["slope_deg"]), limits.slope),
        ("body_rate", math.radians(td["body_rate_dps"]), limits.body_rate),
    )
    worst = max(checks, key=lambda c: c[1] / c[2] if c[2] > 0 else 0.0)
    return worst[0]


def run_one(sc, seed, index):
    """(row, trajectory table) of one dispersed run; a run that raises is a 'diverged' row.
    Touchdown columns are null when there was no touchdown."""
    t0 = time.perf_counter()
    m, sampled = dispersions.build(sc, seed, index)
    used = dispersions.read_back(m, sampled)
    row = {"index": index, "campaign_seed": seed}
    for path, value in used.items():
        if isinstance(value, tuple):
            row.update({f"{path}[{i}]": v for i, v in enumerate(value)})
        else:
            row[path] = value
    try:
        r = api.prepare_model(sc, m, dispersions.run_seed(seed, index), seed)
        api.execute(r)
        result = api.result_of(r)
    except Exception as exc:  # a model that raises is a result of the campaign, not a crash
        row.update(outcome="diverged", cause=f"raised {type(exc).__name__}: {exc}")
        row["wall_time_s"] = time.perf_counter() - t0
        return row, None
    s = result.summary
    td = s["touchdown"] or {}
    trace = result.trajectory
    nav = s.get("navigation") or {}
    row.update(
        outcome=s["outcome"],
        cause=cause_of(s, sc.touchdown_limits),
        end_time_s=s["end_time_s"],
        vertical_speed_mps=td.get("vertical_speed_mps"),
        horizontal_speed_mps=td.get("horizontal_speed_mps"),
        tilt_deg=td.get("tilt_deg"),
        slope_deg=td.get("slope_deg"),
        body_rate_dps=td.get("body_rate_dps"),
        landing_error_m=td.get("position_error_m"),
        burn_time_s=s["burn_time_s"],
        delta_v_mps=s["delta_v_mps"],
        propellant_used_kg=s["propellant_used_kg"],
        propellant_remaining_kg=s["propellant_remaining_kg"],
        max_altitude_error_m=nav.get("max_altitude_error_m"),
        max_velocity_error_mps=float(np.nanmax(trace.column("nav_velocity_error_mps")))
        if nav
        else None,
        events=";".join(
            f"{e['t_s']:.1f}:{e['event']}" + (f":{e['sensor']}" if "sensor" in e else "")
            for e in s["events"]
            if e["event"] not in ("phase_change", "measurement_rejected")
        ),
    )
    row["wall_time_s"] = time.perf_counter() - t0
    keep = sorted({*range(0, trace.num_rows, TRACE_EVERY), trace.num_rows - 1})
    trace = trace.take(keep)
    return row, trace.append_column("index", pa.array([index] * trace.num_rows, pa.int64()))


def run_batch(plan, indices):
    """Rows and kept traces of a batch of runs (executed in a worker)."""
    sc = plan.scenario
    rows, traces = [], []
    for index in indices:
        row, trace = run_one(sc, plan.seed, index)
        rows.append(row)
        keep = index < plan.traces_first or row["outcome"] in FAILED
        if trace is not None and keep:
            traces.append(trace)
    return rows, traces


def rows_table(rows):
    """Arrow table of run rows (columns in order of first appearance, missing as null)."""
    names = list(dict.fromkeys(k for row in rows for k in row))
    return pa.table({n: [row.get(n) for row in rows] for n in names})


def conform(table, schema):
    """The table with the schema's columns, in its order and types (missing ones null)."""
    columns = [
        table.column(f.name).cast(f.type)
        if f.name in table.column_names
        else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.table(columns, schema=schema)


def concat(tables):
    return pa.concat_tables(tables, promote_options="default") if tables else pa.table({})


class Results:
    """The results folder of a campaign: manifest, per-batch parts, consolidated tables."""

    def __init__(self, out):
        self.out = Path(out)
        self.parts = self.out / "parts"

    def start(self, plan, source):
        if self.out.exists() and any(self.out.iterdir()):
            raise CampaignError(
                f"{self.out}: folder is not empty; resume it with 'descent mc --resume {self.out}' "
                "or choose another --out"
            )
        self.parts.mkdir(parents=True, exist_ok=True)
        manifest = {
            "scenario": plan.label,
            "scenario_source": str(Path(source).resolve())
            if isinstance(source, str | Path) and Path(source).is_file()
            else None,
            "scenario_text": plan.scenario_text,
            "scenario_sha256": hashlib.sha256(plan.scenario_text.encode()).hexdigest(),
            "code_digest": code_digest(),
            "campaign_seed": plan.seed,
            "runs": plan.runs,
            "traces_first": plan.traces_first,
            "versions": versions(),
            "git_revision": git_revision(),
            "started": now(),
            "finished": None,
        }
        self.write_manifest(manifest)

    def manifest(self):
        path = self.out / "manifest.json"
        try:
            data = json.loads(path.read_text())
            data["scenario_text"], data["campaign_seed"], data["runs"]
        except (OSError, ValueError, KeyError, TypeError):
            raise CampaignError(f"{path}: missing or unreadable; not a campaign folder") from None
        return data

    def write_manifest(self, manifest):
        text = json.dumps(manifest, indent=2) + "\n"
        results.write_atomically(self.out / "manifest.json", lambda f: f.write(text.encode()))

    def done(self):
        """Indices of the runs already stored."""
        indices = set()
        for path in sorted(self.parts.glob("runs-*.parquet")):
            try:
                indices.update(pq.read_table(path, columns=["index"]).column("index").to_pylist())
            except (OSError, pa.ArrowException):
                raise CampaignError(
                    f"{path}: unreadable part; remove it to re-run its runs"
                ) from None
        return indices

    def write_batch(self, rows, traces):
        first = min(row["index"] for row in rows)
        results.write_atomically(
            self.parts / f"runs-{first:09d}.parquet", lambda f: pq.write_table(rows_table(rows), f)
        )
        if traces:
            results.write_atomically(
                self.parts / f"traces-{first:09d}.parquet",
                lambda f: pq.write_table(concat(traces), f),
            )

    def consolidate(self):
        """Write runs.parquet and traces.parquet in run order, streaming the parts (one in
        memory at a time); return the runs table."""
        for kind in ("runs", "traces"):
            parts = sorted(self.parts.glob(f"{kind}-*.parquet"))
            schema = (
                pa.unify_schemas([pq.read_schema(p) for p in parts]) if parts else pa.schema([])
            )

            def write(f, parts=parts, schema=schema):
                with pq.ParquetWriter(f, schema) as writer:
                    for p in parts:
                        writer.write_table(conform(pq.read_table(p), schema))

            results.write_atomically(self.out / f"{kind}.parquet", write)
        return pq.read_table(self.out / "runs.parquet")


def versions():
    names = ("lunar-descent", "numpy", "scipy", "numba", "astropy", "pyarrow", "pydantic")
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_revision():
    try:
        here = Path(__file__).resolve().parent
        rev = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return rev.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def now():
    return datetime.now(UTC).isoformat(timespec="seconds")


def batches(pending, workers, batch_size):
    """Batches of consecutive run indices (never spanning a gap left by finished runs), so
    every results part covers one index range and the parts, in order, are in run order."""
    size = batch_size or max(1, min(50, math.ceil(len(pending) / (4 * workers))))
    out, current = [], []
    for index in pending:
        if current and (index != current[-1] + 1 or len(current) == size):
            out.append(current)
            current = []
        current.append(index)
    return [*out, current] if current else out


def execute(plan, pending, workers, executor, scheduler, batch_size, on_batch):
    """Run the pending indices in batches; on_batch(rows, traces) as each finishes."""
    work = batches(pending, workers, batch_size)
    if executor == "local" and workers == 1:
        for b in work:
            on_batch(*run_batch(plan, b))
    elif executor == "local":
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor, as_completed

        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            for future in as_completed([pool.submit(run_batch, plan, b) for b in work]):
                on_batch(*future.result())
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
                futures = client.map(run_batch, [plan] * len(work), work, pure=False)
                for future in dask_completed(futures):
                    on_batch(*future.result())
        finally:
            if cluster is not None:
                cluster.close()


def default_workers():
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def run(
    source,
    runs,
    seed=0,
    workers=None,
    executor="local",
    scheduler=None,
    out=None,
    traces_first=10,
    batch_size=None,
    progress=None,
):
    """Run a campaign and return its runs table (Arrow, sorted by index).

    With out=None nothing is written (notebooks); with a folder, results stream there and an
    interrupted campaign can be resumed with `resume(out)`.
    """
    if executor not in ("local", "dask"):
        raise CampaignError(f"--executor {executor!r}: expected 'local' or 'dask'")
    if runs < 1:
        raise CampaignError(f"--runs {runs}: expected at least one run")
    plan = plan_for(source, runs, seed, traces_first)
    store = Results(out) if out is not None else None
    if store is not None:
        store.start(plan, source)
    return _run(
        plan,
        store,
        list(range(runs)),
        workers or default_workers(),
        executor,
        scheduler,
        batch_size,
        progress,
    )


def resume(out, workers=None, executor="local", scheduler=None, batch_size=None, progress=None):
    """Run the missing runs of an interrupted campaign in out; refuse if the code changed."""
    store = Results(out)
    manifest = store.manifest()
    if manifest.get("code_digest") != code_digest():
        raise CampaignError(
            f"{out}: the code changed since this campaign started; results would not be "
            "comparable, so start a new campaign"
        )
    source = manifest.get("scenario_source")
    if source and Path(source).is_file() and Path(source).read_text() != manifest["scenario_text"]:
        raise CampaignError(
            f"{out}: the scenario file {source} changed since this campaign started; "
            "start a new campaign"
        )
    plan = Plan(
        manifest["scenario_text"],
        manifest["scenario"],
        manifest["runs"],
        manifest["campaign_seed"],
        manifest["traces_first"],
    )
    done = store.done()
    pending = [i for i in range(plan.runs) if i not in done]
    return _run(
        plan,
        store,
        pending,
        workers or default_workers(),
        executor,
        scheduler,
        batch_size,
        progress,
    )


def _run(plan, store, pending, workers, executor, scheduler, batch_size, progress):
    collected_rows, collected_traces = [], []
    bar = ProgressBar(plan.runs, plan.runs - len(pending), progress)

    def on_batch(rows, traces):
        if store is not None:
            store.write_batch(rows, traces)
        else:
            collected_rows.extend(rows)
            collected_traces.extend(traces)
        bar.update(rows)

    try:
        execute(plan, pending, workers, executor, scheduler, batch_size, on_batch)
    finally:
        bar.close()
    if store is None:
        return rows_table(collected_rows).sort_by("index")
    runs = store.consolidate()
    manifest = store.manifest()
    manifest["finished"] = now()
    store.write_manifest(manifest)
    return runs


class ProgressBar:
    """tqdm bar on a terminal (rate, ETA, landed count); silent otherwise."""

    def __init__(self, total, initial, enabled):
        enabled = sys.stderr.isatty() if enabled is None else enabled
        self.landed = 0
        self.bar = None
        if enabled:
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=initial, unit="run", file=sys.stderr)

    def update(self, rows):
        self.landed += sum(row["outcome"] == "landed" for row in rows)
        if self.bar is not None:
            self.bar.set_postfix(landed=self.landed, refresh=False)
            self.bar.update(len(rows))

    def close(self):
        if self.bar is not None:
            self.bar.close()


def replay(out, index):
    """(scenario, RunResult) of run `index` of a stored campaign, recomputed bit for bit."""
    manifest = Results(out).manifest()
    if not 0 <= index < manifest["runs"]:
        raise CampaignError(
            f"--index {index}: the campaign in {out} has runs 0 to {manifest['runs'] - 1}"
        )
    sc = Plan(manifest["scenario_text"], manifest["scenario"], 0, 0, 0).scenario
    seed = manifest["campaign_seed"]
    m, _ = dispersions.build(sc, seed, index)
    r = api.prepare_model(sc, m, dispersions.run_seed(seed, index), seed)
    api.execute(r)
    return sc, api.result_of(r)
