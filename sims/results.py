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

import pyarrow as pa
import pyarrow.parquet as pq

from dynamics import touchdown, truth
from gnc.interface import flight_log
from sims import consistency, failure_class, runloop


@dataclass(frozen=True)
class RunResult:
    """Summary (JSON-ready dict) and trajectory (Arrow table) of one run; what its recorder
    recorded (`sims.recorder`: signals, measurement updates), if it was recorded."""

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
    why it failed (`failure_class`, `sims.failure_class`)."""
    m0 = model.x0[truth.X_MASS]
    dry = model.mass["dry_mass_kg"]
    outcome = touchdown.OUTCOMES[summary["outcome"]]
    contacted = summary["outcome"] not in (touchdown.TIMEOUT, touchdown.DIVERGED)
    result = {
        "scenario": scenario.meta.name,
        "seed": seed,
        "outcome": outcome,
        "touchdown": {
            "time_s": float(summary["time_s"]),
            "descent_rate_mps": float(summary["descent_rate_mps"]),
            "horizontal_speed_mps": float(summary["horizontal_speed_mps"]),
            "tilt_deg": math.degrees(summary["tilt_rad"]),
            "body_rate_dps": math.degrees(summary["body_rate_radps"]),
            "slope_deg": math.degrees(summary["slope_rad"]),
            "position_error_m": float(summary["position_error_m"]),
            "east_m": float(summary["east_m"]),
            "north_m": float(summary["north_m"]),
            "downrange_m": float(summary["downrange_m"]),
            "crossrange_m": float(summary["crossrange_m"]),
            "contact": contact_name(model, int(summary["contact_point"])),
        }
        if contacted
        else None,
        "end_time_s": float(summary["time_s"]),
        "burn_time_s": float(summary["burn_time_s"]),
        "delta_v_mps": float(summary["delta_v_mps"]),
        "propellant_used_kg": float(m0 - summary["final_mass_kg"]),
        "propellant_remaining_kg": float(summary["final_mass_kg"] - dry),
        "flameout_time_s": float(summary["flameout_time_s"])
        if summary["flameout_time_s"] >= 0
        else None,
    }
    if model.run["closed_loop"]:
        # what the flight software reports of its estimate, against the truth: absent (null)
        # where it reports none
        result["navigation"] = {
            "estimate_reported": not math.isnan(summary["nav_position_error_m"]),
            "max_altitude_error_m": _number(summary["max_altitude_error_m"]),
            "max_velocity_error_mps": _number(summary["max_velocity_error_mps"]),
            "final_position_error_m": _number(summary["nav_position_error_m"]),
            "final_velocity_error_mps": _number(summary["nav_velocity_error_mps"]),
            "final_altitude_error_m": _number(summary["nav_altitude_error_m"]),
            # what the filter claims at the end, and how its errors compare with its claims
            "final_position_3sigma_m": _number(summary["nav_position_3sigma_m"]),
            "final_velocity_3sigma_mps": _number(summary["nav_velocity_3sigma_mps"]),
            "nees": {
                checkpoint: {
                    block: _number(summary["nees"][k][block]) for block in consistency.BLOCKS
                }
                for k, checkpoint in enumerate(consistency.CHECKPOINTS)
            },
        }
        result["max_altitude_error_m"] = _number(summary["max_altitude_error_m"])
    cause, why = failure_class.of_run(
        scenario, summary, int(model.run["n_gear_points"]), model.run["closed_loop"], events, error
    )
    result["cause"] = None if outcome == "landed" else cause
    result["failure_class"] = why
    if faults:
        result["faults"] = list(faults)
    result["events"] = events
    if summary["outcome"] == touchdown.DIVERGED:
        reason = runloop.DIVERGENCE_REASONS[int(summary["diverged_reason"])]
        result["diverged_reason"] = error if error is not None else reason
    return result


def _number(x):
    """A float for JSON, None for NaN (a checkpoint the run did not reach, a figure the flight
    software does not report)."""
    return None if math.isnan(x) else float(x)


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
