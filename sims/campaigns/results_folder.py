"""A campaign's results folder: its manifest (scenario, code digest, seed, run count, versions,
git revision, times), the parts each batch writes, and the consolidated tables, each file
written atomically so that an interrupted campaign keeps every finished batch.
"""

import hashlib
import json
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dynamics import compile_cache
from gnc.interface import forms
from sensors import registry
from sims.campaigns.tables import conform
from sims.errors import CampaignError
from sims.run import results

PARTS = ("runs", "traces", "recordings", "updates")  # a batch's tables, its runs part first


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


def _recorder_of(sc):
    """The recorder a campaign flies with (its [record] with the command line's changes)."""
    return sc.record.model_dump(mode="json") if sc.record is not None else None


class Results:
    """The results folder of a campaign: manifest, per-batch parts, consolidated tables."""

    def __init__(self, out):
        self.out = Path(out)
        self.parts = self.out / "parts"

    def start(self, plan, source, **recorded):
        """Create the folder and its manifest; recorded: what else the manifest names, for
        a campaign that is more than its runs (`tail`: the failure probability it estimates,
        `sims.campaigns.tail.options`; `worst_case`: the search's settings,
        `sims.campaigns.worst_case`)."""
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
        (`sims.campaigns.chosen_runs`); None for a campaign whose design places its runs."""
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
