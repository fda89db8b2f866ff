"""Sweeps: the landing statistics across a grid of named fields' values (`descent sweep`).

An axis is FIELD=START:STOP:N, a scalar dispersible field (`sims.scenarios.field_paths`) from
START to STOP in N equal steps, in the field's units
(`vehicle.main_engine.max_thrust=2300N:2600N:4`).
The grid is one-at-a-time (`oat`: each axis's values with the other fields at their nominal)
or the full factorial (`full`: every combination). Each grid point flies R runs of the
scenario's dispersions with the swept fields set to the point's values (a dispersed field
that is swept takes the point's value: the sweep wins): run k is point k // R, and its
dispersions and noise are run k's (`sims.campaigns.dispersions`), so a sweep is a campaign like any
other, resumable and replayable; the runs table names each run's `sweep_point` and holds the
swept values among the read-back columns.
"""

import itertools
import json
import math
from dataclasses import dataclass

import numpy as np

from dynamics.units import parse_quantity
from sims.analysis import campaign_statistics
from sims.errors import CampaignError
from sims.scenarios import field_paths

GRIDS = ("oat", "full")


@dataclass(frozen=True)
class Axis:
    """A swept field and its values, SI."""

    path: str
    values: tuple


def axis(text, sc):
    """The Axis of FIELD=START:STOP:N; CampaignError in one sentence."""
    path, sep, spec = text.partition("=")
    parts = spec.split(":")
    if not sep or len(parts) != 3:
        raise CampaignError(
            f"{text!r}: expected FIELD=START:STOP:N, e.g. vehicle.main_engine.max_thrust="
            "2300N:2600N:4"
        )
    try:
        unit = field_paths.unit(sc, path)
        nominal = field_paths.value(sc, path)
    except (ValueError, StopIteration) as exc:
        raise CampaignError(f"{text!r}: {path} is not a field a sweep can set ({exc})") from None
    if nominal is None or isinstance(nominal, tuple):
        what = "not in this scenario" if nominal is None else "a vector; sweep a scalar field"
        raise CampaignError(f"{text!r}: {path} is {what}")
    try:
        start, stop = (
            parse_quantity(p, unit, f"1 {unit}") if unit else float(p) for p in parts[:2]
        )
        steps = int(parts[2])
    except ValueError as exc:
        raise CampaignError(f"{text!r}: {exc}") from None
    if steps < 2:
        raise CampaignError(f"{text!r}: N must be at least 2 (the values from START to STOP)")
    return Axis(path, tuple(float(v) for v in np.linspace(start, stop, steps)))


def spec(axes, grid, per_point):
    """The plan's record of a sweep (JSON text)."""
    if grid not in GRIDS:
        raise CampaignError(f"--grid {grid}: expected one of {', '.join(GRIDS)}")
    paths = [a.path for a in axes]
    if len(set(paths)) != len(paths):
        raise CampaignError("a field is swept twice: give each FIELD once")
    return json.dumps(
        {"axes": [[a.path, list(a.values)] for a in axes], "grid": grid, "per_point": per_point}
    )


def points(text):
    """[{path: value}] of the grid points of a sweep's record, in order."""
    record = json.loads(text)
    axes = [Axis(path, tuple(values)) for path, values in record["axes"]]
    if record["grid"] == "full":
        paths = [a.path for a in axes]
        return [
            dict(zip(paths, combo, strict=True))
            for combo in itertools.product(*(a.values for a in axes))
        ]
    return [{a.path: v} for a in axes for v in a.values]


def paths(text):
    """The swept fields of a sweep's record, in order."""
    return [path for path, _ in json.loads(text)["axes"]]


def per_point(text):
    return json.loads(text)["per_point"]


def statistics(runs, text):
    """One row per grid point: its values, runs, landed share with its 95 % Wilson interval,
    landing error median and 99th percentile over its touchdowns, propellant left median."""
    rows = []
    for k, values in enumerate(points(text)):
        at = runs[runs.sweep_point == k]
        landed = int((at.outcome == campaign_statistics.LANDED).sum())
        low, high = campaign_statistics.wilson_interval(landed, len(at))
        error = at.landing_error_m.dropna()
        rows.append(
            {
                "point": k,
                **values,
                "runs": len(at),
                "landed": landed / len(at) if len(at) else math.nan,
                "landed_low": low,
                "landed_high": high,
                "landing_error_median_m": float(error.median()) if len(error) else math.nan,
                "landing_error_p99_m": float(error.quantile(0.99)) if len(error) else math.nan,
                "propellant_remaining_median_kg": float(at.propellant_remaining_kg.median()),
            }
        )
    return rows
