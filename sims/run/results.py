"""One run's results: the summary a user reads, the trajectory table, and writing them to disk.

Files are written to a temporary name in the same folder and renamed into place, so a reader
never sees a half-written file.
"""

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dynamics import touchdown
from gnc.interface import flight_log
from sims.analysis import failure_class
from sims.run import bookkeeping, figures


@dataclass(frozen=True)
class RunResult:
    """Summary (JSON-ready dict) and trajectory (Arrow table) of one run; what its recorder
    recorded (`sims.run.recorder`: signals, measurement updates), if it was recorded."""

    summary: dict
    trajectory: pa.Table
    recording: pa.Table | None = None
    updates: pa.Table | None = None

    @property
    def outcome(self) -> str:
        return self.summary["outcome"]

    def write(self, out_dir):
        """Write summary.json and trajectory.parquet (and recording.parquet, updates.parquet
        if recorded) into out_dir (created if needed)."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_atomically(out / "trajectory.parquet", lambda f: pq.write_table(self.trajectory, f))
        for name in ("recording", "updates"):
            table = getattr(self, name)
            if table is not None:
                write_atomically(out / f"{name}.parquet", lambda f, t=table: pq.write_table(t, f))
        text = json.dumps(self.summary, indent=2) + "\n"
        write_atomically(out / "summary.json", lambda f: f.write(text.encode()))


def summarize(scenario, seed, model, summary, events, faults=(), error=None):
    """Summary dict of a finished run from the loop's summary record, its event list, its
    declared faults (name, target, mode, and whether it occurred in this run), and the error
    of a run that raised inside the model; with the limit a failed run broke (`cause`) and
    why it failed (`failure_class`, `sims.analysis.failure_class`). Its figures are those of
    `sims.run.figures`, where summary.json says it holds them."""
    outcome = touchdown.OUTCOMES[summary["outcome"]]
    contacted = summary["outcome"] not in (touchdown.TIMEOUT, touchdown.DIVERGED)
    closed = bool(model.run["closed_loop"])
    result = {"scenario": scenario.meta.name, "seed": seed, "outcome": outcome}
    result["touchdown"] = {} if contacted else None
    records = np.array([summary])
    for figure in figures.FIGURES:
        if figure.when == figures.REPORTED and not closed:
            continue  # in open loop nothing is reported
        value = float(figure.value(records, model.pdi_mass_kg, model.mass["dry_mass_kg"])[0])
        there = figures.present(figure, True, contacted, closed, value)
        if figure.when == figures.ON_HAZARDS and not there:
            continue  # no hazard field under it: no such figure
        for path in figure.paths:
            section = path[0] if len(path) > 1 else None
            if section == "touchdown" and not contacted:
                continue
            if section == "navigation" and "navigation" not in result:
                # what the flight software reports of its estimate, against the truth
                reported = not math.isnan(summary["nav_position_error_m"])
                result["navigation"] = {"estimate_reported": reported}
            _put(result, path, value if there else None)
    if contacted:
        result["touchdown"]["contact"] = contact_name(model, int(summary["contact_point"]))
        ground = failure_class.ground_feature(scenario, summary)
        if ground is not None:  # on a hazard field: the boulder or crater a footpad met
            result["touchdown"]["ground_feature"] = ground
    flameout = summary["flameout_time_s"]
    result["flameout_time_s"] = float(flameout) if flameout >= 0 else None
    cause, why = failure_class.of_run(
        scenario, summary, int(model.run["n_gear_points"]), closed, events, error
    )
    result["cause"] = None if outcome == "landed" else cause
    result["failure_class"] = why
    if faults:
        result["faults"] = list(faults)
    result["events"] = events
    if summary["outcome"] == touchdown.DIVERGED:
        reason = bookkeeping.DIVERGENCE_REASONS[int(summary["diverged_reason"])]
        result["diverged_reason"] = error if error is not None else reason
    return result


def _put(tree, path, value):
    """tree[path[0]][path[1]]... = value, making the dicts on the way."""
    for key in path[:-1]:
        tree = tree.setdefault(key, {})
    tree[path[-1]] = value


def contact_name(model, index):
    n_gear = int(model.run["n_gear_points"])
    return f"footpad {index + 1}" if index < n_gear else "engine nozzle"


def trace_table(trace) -> pa.Table:
    """Arrow table of the trace; the phase column holds phase names (null in open loop)."""
    columns = {name: trace[name] for name in trace.dtype.names}
    columns["phase"] = pa.array(
        [flight_log.PHASES[p] if p >= 0 else None for p in trace["phase"]], type=pa.string()
    )
    return pa.table(columns)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


UMASK = _umask()  # read once: setting it is process-wide, and campaigns write from threads


def write_atomically(path: Path, write):
    """Call write(file) on a temporary file beside path, then rename it over path. The file
    gets the permissions any new file gets (0666 less the umask), not the temporary's 0600."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o666 & ~UMASK)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
