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
  run is done by streaming the parts (memory stays bounded as campaigns grow). Traces are
  sampled at 1 Hz and at the end of the run.

Each batch of runs is flown by one compiled call (`sims.batch`).
"""

import dataclasses
import functools
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

from dynamics import compile_cache, touchdown, truth
from gnc.interface import forms
from sensors import registry
from sims import (
    api,
    batch,
    consistency,
    designs,
    dispersions,
    failure_class,
    field_paths,
    recorder,
    results,
    scenario,
    sweeps,
)
from sims.errors import CampaignError

TRACE_RATE_HZ = 1.0  # campaign traces: one sample a second, and the last
PARTS = ("runs", "traces", "recordings", "updates")  # a batch's tables, its runs part first
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
    design: str = "random"  # where each run's point lies in the dispersions (`sims.designs`)
    sweep: str = ""  # JSON of a sweep's axes, grid and runs a point (`sims.sweeps`)

    @property
    def scenario(self):
        for module in self.kinds:
            registry.register(module)
        return scenario.parse_text(
            self.scenario_text, self.label, json.loads(self.record) if self.record else None
        )


def plan_for(source, runs, seed, traces_first, record=None, design="random", sweep=""):
    """A validated Plan from a scenario path, bundled name or dict; record: [record] fields
    to override (`sims.recorder.Record`); design: `sims.designs`; sweep: `sims.sweeps.spec`
    (then runs is the runs a grid point)."""
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


def kind_names(sc):
    """The sensor kinds a scenario's channels are."""
    return {spec.kind for spec in sc.sensors.channels.values()} if sc.sensors else set()


def code_digest(sc):
    """The code a campaign's results depend on: the project's sources, the sensor kinds and
    the flight software the scenario flies (its module's source, an FMU's file, a Python
    class's module)."""
    sources = compile_cache.sources_digest(Path(compile_cache.__file__).resolve().parent.parent)
    software = forms.digest(sc.flight_software) if sc.flight_software else "open_loop"
    return f"{sources}-{registry.digest(kind_names(sc))}-{software}"


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


EVENT_TYPE = pa.struct(
    [
        ("t_s", pa.float64()),
        ("kind", pa.string()),
        ("subject", pa.string()),  # the sensor channel, fault or phase it is about
        ("value", pa.float64()),  # its figure (NIS, measurement, altitude, ...; flight_log)
    ]
)
EVENT_VALUES = (
    "nis",
    "measurement",
    "altitude_est_m",
    "altitude_m",
    "propellant_est_kg",
    "offline_s",
)


def event_rows(events):
    """A run's events (`batch.describe_events`) as rows of EVENT_TYPE."""
    return [
        {
            "t_s": e.get("t_s"),
            "kind": e["event"],
            "subject": e.get("sensor") or e.get("fault") or e.get("phase"),
            "value": next((e[k] for k in EVENT_VALUES if k in e), None),
        }
        for e in events
    ]


def runs_table(b, indices, campaign_seed, used):
    """Arrow table of an executed batch, one row per run: its index (`run`), seed, the
    dispersed values the model used (used[k]) and whether each fault occurred, outcome, the
    limit it broke (`cause`) and why it failed (`failure_class`), touchdown state and point
    (null without a touchdown), propellant, navigation errors (null in open loop), events (a
    list of structs) and wall time. Every value of a run that raised inside the model is
    null but its outcome ('diverged') and cause."""
    sc, s = b.scenario, b.summary
    n = len(b)
    raised = np.zeros(n, bool)
    raised[list(b.errors)] = True
    code = np.where(raised, touchdown.DIVERGED, s["outcome"])
    flown = ~raised
    touched = flown & ~np.isin(code, (touchdown.TIMEOUT, touchdown.DIVERGED))
    closed = flown & b.per_run.run["closed_loop"]
    reported = closed & ~np.isnan(s["nav_position_error_m"])  # an estimate, from its software
    m0 = np.array([m.x0[truth.X_MASS] for m in b.models])
    dry = b.per_run.mass["dry_mass_kg"]
    n_gear = b.per_run.run["n_gear_points"]

    def values(x, valid):
        return pa.array(np.asarray(x, float), mask=~valid)

    columns = {
        "run": pa.array(indices, pa.int64()),
        "campaign_seed": pa.array([campaign_seed] * n, pa.int64()),
    }
    for path in used[0] if used else ():
        first = used[0][path]
        if isinstance(first, tuple):
            for i in range(len(first)):
                columns[f"{path}[{i}]"] = pa.array([u[path][i] for u in used], pa.float64())
        else:
            columns[path] = pa.array([u[path] for u in used], pa.float64())
    occurred = [dispersions.occurrences(b, k) for k in range(n)]
    described = [batch.describe_events(b, k) if flown[k] else [] for k in range(n)]
    causes, classes = zip(
        *(
            failure_class.of_run(sc, s[k], n_gear[k], closed[k], described[k], b.errors.get(k))
            for k in range(n)
        ),
        strict=True,
    )
    for path in occurred[0]:
        columns[path] = pa.array([o[path] for o in occurred], pa.bool_())
    columns.update(
        outcome=pa.array([touchdown.OUTCOMES[c] for c in code]),
        cause=pa.array(list(causes)),
        failure_class=pa.array(list(classes), pa.string()),
        end_time_s=values(s["time_s"], flown),
        descent_rate_mps=values(s["descent_rate_mps"], touched),
        horizontal_speed_mps=values(s["horizontal_speed_mps"], touched),
        tilt_deg=values(np.degrees(s["tilt_rad"]), touched),
        slope_deg=values(np.degrees(s["slope_rad"]), touched),
        body_rate_dps=values(np.degrees(s["body_rate_radps"]), touched),
        landing_error_m=values(s["position_error_m"], touched),
        touchdown_east_m=values(s["east_m"], touched),
        touchdown_north_m=values(s["north_m"], touched),
        touchdown_downrange_m=values(s["downrange_m"], touched),
        touchdown_crossrange_m=values(s["crossrange_m"], touched),
        contact=pa.array(
            [
                results.contact_name(b.models[k], int(s["contact_point"][k]))
                if touched[k]
                else None
                for k in range(n)
            ],
            pa.string(),
        ),
        burn_time_s=values(s["burn_time_s"], flown),
        delta_v_mps=values(s["delta_v_mps"], flown),
        propellant_used_kg=values(m0 - s["final_mass_kg"], flown),
        propellant_remaining_kg=values(s["final_mass_kg"] - dry, flown),
        max_altitude_error_m=values(
            s["max_altitude_error_m"], _reported(s, "max_altitude_error_m", reported)
        ),
        max_velocity_error_mps=values(
            s["max_velocity_error_mps"], _reported(s, "max_velocity_error_mps", reported)
        ),
        nav_position_error_m=values(s["nav_position_error_m"], reported),
        nav_velocity_error_mps=values(s["nav_velocity_error_mps"], reported),
        nav_altitude_error_m=values(
            s["nav_altitude_error_m"], _reported(s, "nav_altitude_error_m", reported)
        ),
        nav_position_3sigma_m=values(
            s["nav_position_3sigma_m"], _reported(s, "nav_position_3sigma_m", reported)
        ),
        nav_velocity_3sigma_mps=values(
            s["nav_velocity_3sigma_mps"], _reported(s, "nav_velocity_3sigma_mps", reported)
        ),
        **{
            f"nees_{block}_{checkpoint}": values(
                s["nees"][:, k][block], closed & ~np.isnan(s["nees"][:, k][block])
            )
            for k, checkpoint in enumerate(consistency.CHECKPOINTS)
            for block in consistency.BLOCKS
        },
        events=pa.array([event_rows(d) for d in described], pa.list_(EVENT_TYPE)),
        wall_time_s=pa.array(b.run_seconds, pa.float64()),
    )
    return pa.table(columns)


def _reported(s, column, reported):
    """Where a navigation figure is there: its flight software reports it."""
    return reported & ~np.isnan(s[column])


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


def traces_table(b, indices, keep):
    """Arrow table of the 1-Hz traces of the kept runs of an executed batch, with their index
    (`run`)."""
    tables = []
    for k, index in enumerate(indices):
        if keep[k] and k not in b.errors:
            trace = results.trace_table(b.trace[k, : b.summary[k]["n_trace"]])
            tables.append(trace.append_column("run", pa.array([index] * trace.num_rows)))
    return concat(tables)


def run_batch(plan, indices, points=None):
    """{part: table} of a batch of runs, flown by one compiled call (executed in a worker,
    which loads the flight software the plan ships if it cannot import it as it is): its
    runs; its traces, kept at 1 Hz for the first plan.traces_first runs and every failure;
    with a recorder, the recordings and updates of the runs it keeps.

    points: the runs' points in the unit cube of the dispersions when a rare-event method
    chose them (`sims.tail`), recorded in the runs table's `point` column; by default the
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

    def start(self, plan, source, **recorded):
        """Create the folder and its manifest; recorded: what else the manifest names, for
        a campaign that is more than its runs (`tail`: the failure probability it estimates,
        `sims.tail.options`; `worst_case`: the search's settings, `sims.worst_case`)."""
        if self.out.exists() and any(self.out.iterdir()):
            if (self.out / "manifest.json").exists():
                raise CampaignError(
                    f"{self.out}: holds a campaign already; resume it with "
                    f"'descent mc --resume {self.out}' or choose another --out"
                )
            raise CampaignError(
                f"{self.out}: folder is not empty and holds no campaign; choose another --out"
            )
        self.parts.mkdir(parents=True, exist_ok=True)
        manifest = {
            "scenario": plan.label,
            "scenario_source": str(Path(source).resolve())
            if isinstance(source, str | Path) and Path(source).is_file()
            else None,
            "scenario_text": plan.scenario_text,
            "scenario_sha256": hashlib.sha256(plan.scenario_text.encode()).hexdigest(),
            "code_digest": code_digest(plan.scenario),
            "campaign_seed": plan.seed,
            "runs": plan.runs,
            "traces_first": plan.traces_first,
            "record_overrides": plan.record,
            "design": plan.design,
            "sweep": json.loads(plan.sweep) if plan.sweep else None,
            "record": _recorder_of(plan.scenario),
            "sensor_kinds": list(plan.kinds),
            "flight_software": plan.scenario.flight_software.kind
            if plan.scenario.flight_software
            else None,
            "flight_software_sources": [list(pair) for pair in plan.flight_software],
            "versions": versions(),
            "git_revision": git_revision(),
            "started": now(),
            "finished": None,
            **recorded,
        }
        self.write_manifest(manifest)

    def manifest(self):
        path = self.out / "manifest.json"
        if not path.is_file():
            raise CampaignError(f"{self.out}: no manifest.json; not a campaign folder")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CampaignError(f"{path}: corrupt, not readable as JSON ({exc})") from None
        required = ("scenario", "scenario_text", "campaign_seed", "runs", "traces_first")
        missing = [k for k in required if not isinstance(data, dict) or k not in data]
        if missing:
            raise CampaignError(f"{path}: corrupt, it lacks {', '.join(map(repr, missing))}")
        return data

    def runs(self):
        """The runs table (pandas) of the finished campaign."""
        path = self.out / "runs.parquet"
        if not path.is_file():
            raise CampaignError(
                f"{self.out}: no runs.parquet: the campaign has not finished (resume it with "
                f"'descent mc --resume {self.out}')"
            )
        try:
            return pq.read_table(path).to_pandas()
        except (OSError, ValueError) as exc:
            raise CampaignError(f"{path}: cannot be read ({exc})") from None

    def point(self, index):
        """(1, coordinates) point of a stored run whose point an algorithm chose
        (`sims.chosen_runs`); None for a campaign whose design places its runs."""
        whole = self.out / "runs.parquet"
        paths = [whole] if whole.is_file() else sorted(self.parts.glob("runs-*.parquet"))
        for path in paths:
            try:
                if "point" not in pq.read_schema(path).names:
                    return None
                table = pq.read_table(path, columns=["run", "point"], filters=[("run", "=", index)])
            except (OSError, ValueError, pa.ArrowException) as exc:
                raise CampaignError(f"{path}: cannot be read ({exc})") from None
            if table.num_rows:
                return np.array(table.column("point")[0].as_py(), float)[None, :]
        if not paths:
            return None
        raise CampaignError(f"--index {index}: the campaign in {self.out} holds no such run")

    def write_manifest(self, manifest):
        text = json.dumps(manifest, indent=2) + "\n"
        results.write_atomically(self.out / "manifest.json", lambda f: f.write(text.encode()))

    def done(self):
        """Indices of the runs already stored, each batch with the rows of every part it
        promised. A batch whose runs part or another of its parts is missing or unreadable is
        dropped (all its parts), to be flown again; so is a part left without its runs part."""
        indices = set()
        for path in sorted(self.parts.glob("runs-*.parquet")):
            others = [self.parts / path.name.replace("runs-", f"{kind}-") for kind in PARTS[1:]]
            try:
                stored = pq.read_table(path, columns=["run"])
                promised = stored.schema.metadata or {}
                for kind, other in zip(PARTS[1:], others, strict=True):
                    rows = int(promised.get(f"{kind}_rows".encode(), b"0"))
                    if rows and pq.read_metadata(other).num_rows != rows:
                        raise ValueError(f"{kind} part incomplete")
            except (OSError, ValueError, pa.ArrowException):
                for p in (path, *others):
                    p.unlink(missing_ok=True)
                continue
            indices.update(stored.column("run").to_pylist())
        for kind in PARTS[1:]:
            for part in self.parts.glob(f"{kind}-*.parquet"):
                if not (self.parts / part.name.replace(f"{kind}-", "runs-")).exists():
                    part.unlink()
        return indices

    def write_batch(self, parts):
        """Store a finished batch ({part: table}, `run_batch`): its other parts first, then
        its runs part (which records how many rows of each it expects): a batch is stored
        when its runs part is."""
        runs = parts["runs"]
        first = runs.column("run")[0].as_py()
        promised = {}
        for kind in PARTS[1:]:
            table = parts.get(kind)
            if table is not None and table.num_rows:
                results.write_atomically(
                    self.parts / f"{kind}-{first:09d}.parquet",
                    lambda f, t=table: pq.write_table(t, f),
                )
                promised[f"{kind}_rows"] = str(table.num_rows)
        runs = runs.replace_schema_metadata(promised)
        results.write_atomically(
            self.parts / f"runs-{first:09d}.parquet", lambda f: pq.write_table(runs, f)
        )

    def consolidate(self):
        """Write runs.parquet, traces.parquet (and recordings.parquet, updates.parquet when
        runs were recorded) in run order, streaming the parts (one in memory at a time);
        return the runs table."""
        for kind in PARTS:
            parts = sorted(self.parts.glob(f"{kind}-*.parquet"))
            if not parts and kind in ("recordings", "updates"):
                continue
            schema = (
                pa.unify_schemas([pq.read_schema(p) for p in parts]) if parts else pa.schema([])
            ).remove_metadata()

            def write(f, parts=parts, schema=schema):
                with pq.ParquetWriter(f, schema) as writer:
                    for p in parts:
                        writer.write_table(conform(pq.read_table(p), schema))

            results.write_atomically(self.out / f"{kind}.parquet", write)
        return pq.read_table(self.out / "runs.parquet")


def _recorder_of(sc):
    """The recorder a campaign flies with (its [record] with the command line's changes)."""
    return sc.record.model_dump(mode="json") if sc.record is not None else None


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


def execute(plan, pending, workers, executor, scheduler, batch_size, on_batch, points=None):
    """Run the pending indices in batches; on_batch(parts) as each finishes (`run_batch`);
    points: {index: its point} when a rare-event method chose them.

    The local executor flies batches in `workers` threads of this process: a batch's compiled
    call releases the GIL, so the threads fill the cores with no process start-up and nothing
    pickled. When interrupted, batches not yet started are dropped and running ones finish
    and are stored.
    """
    work = batches(pending, workers, batch_size, recorder.batch_limit(prepared(plan)[0]))
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
    record=None,
    design="random",
    tail=None,
    sweep="",
):
    """Run a campaign and return its runs table (Arrow, sorted by index); design: where each
    run's point lies in the dispersions (`sims.designs`: random, lhs, sobol); tail: the
    failure probability it estimates, for the manifest (`sims.tail`); sweep: a grid of
    fields' values to fly runs runs at each point of (`sims.sweeps`).

    With out=None nothing is written (notebooks); with a folder, results stream there and an
    interrupted campaign can be resumed with `resume(out)`.
    """
    plan, workers = new_plan(
        source, runs, seed, traces_first, record, design, sweep, workers, executor, scheduler
    )
    runs = plan.runs  # a saltelli design's N (D + 3), a sweep's points x runs a point
    sc, sampler = prepared(plan)
    if sc.dispersions or sweep:  # every value within its field's constraints, before any run
        values = swept(plan, range(runs), sampler.sample(seed, range(runs)))
        dispersions.check(sc, values, range(runs), plan.label)
    store = started(out, plan, source, **({"tail": tail} if tail else {}))
    return _run(plan, store, list(range(runs)), workers, executor, scheduler, batch_size, progress)


def new_plan(
    source,
    runs,
    seed,
    traces_first,
    record=None,
    design="random",
    sweep="",
    workers=None,
    executor="local",
    scheduler=None,
):
    """(plan, workers) of a new campaign, checked before anything is written: the executor
    and the run count, the scheduler answering, the scenario (`plan_for`), whether its
    flight software can fly in that many workers."""
    if executor not in ("local", "dask"):
        raise CampaignError(f"--executor {executor!r}: expected 'local' or 'dask'")
    if runs < 1:
        raise CampaignError(f"--runs {runs}: expected at least one run")
    if scheduler is not None:
        reach_scheduler(scheduler, executor)
    plan = plan_for(source, runs, seed, traces_first, record, design, sweep)
    workers = workers or default_workers()
    check_instances(prepared(plan)[0], workers, executor)
    return plan, workers


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


def resume(out, workers=None, executor="local", scheduler=None, batch_size=None, progress=None):
    """Run the missing runs of an interrupted campaign in out; refuse if the code changed."""
    store = Results(out)
    plan = checked_plan(store, workers, executor, scheduler)
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


def checked_plan(store, workers, executor, scheduler):
    """The Plan of a stored campaign to resume; CampaignError if its scenario file or the
    code changed since it started, or the executor cannot fly it."""
    if scheduler is not None:
        reach_scheduler(scheduler, executor)
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
    check_instances(plan.scenario, workers or default_workers(), executor)
    if manifest.get("code_digest") != code_digest(plan.scenario):
        raise CampaignError(
            f"{out}: the code changed since this campaign started; results would not be "
            "comparable, so start a new campaign"
        )
    return plan


def _run(plan, store, pending, workers, executor, scheduler, batch_size, progress):
    collected_runs = []
    bar = ProgressBar(plan.runs, plan.runs - len(pending), progress)

    def on_batch(parts):
        if store is not None:
            store.write_batch(parts)
        else:
            collected_runs.append(parts["runs"])
        bar.update(parts["runs"])

    try:
        execute(plan, pending, workers, executor, scheduler, batch_size, on_batch)
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
    u = Results(out).point(index)  # chosen by an algorithm (`sims.chosen_runs`), or None
    u = sampler.points(seed, [index]) if u is None else u
    m = dispersions.build(sc, swept(plan, [index], sampler.values(u))[0])
    b = batch.prepare(sc, [m], sampler.run_seeds(seed, [index], u), [seed], indices=[index])
    batch.execute(b, keep_going=True)
    return sc, api.result_of(b, index=index)
