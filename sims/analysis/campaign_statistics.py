"""Statistics of a campaign: success rates with their confidence, landing dispersion and its
distribution-free tolerance bound, navigation-error envelopes, what the faults did, and which
dispersed parameters drive failures and landing error.

Everything here reads a campaign folder's tables (`runs.parquet`, `traces.parquet`) as pandas
DataFrames and returns plain numbers and tables; `sims.analysis.report` draws them.
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

LANDED = "landed"


def wilson_interval(successes, n, confidence=0.95):
    """Wilson score interval of a binomial proportion (Wilson 1927; Agresti & Coull 1998): it
    keeps its coverage near 0 and 1, where landing rates live."""
    if n == 0:
        return math.nan, math.nan
    ci = stats.binomtest(successes, n).proportion_ci(confidence, method="wilson")
    return float(ci.low), float(ci.high)


def tolerance_bound(values, coverage=0.99, confidence=0.95):
    """Distribution-free upper tolerance bound: the smallest order statistic X_(k) such that at
    least `coverage` of the population lies below it with probability `confidence`
    (P(F(X_(k)) >= p) = P(Binomial(n, p) < k)). Returns (bound, k), or (None, runs needed)
    when there are too few values (299 for 99 % at 95 %)."""
    x = np.sort(np.asarray(values, float))
    n = len(x)
    k = int(stats.binom.ppf(confidence, n, coverage)) + 1 if n else 1
    while k <= n and stats.binom.cdf(k - 1, n, coverage) < confidence:
        k += 1
    if k > n:
        return None, math.ceil(math.log(1 - confidence) / math.log(coverage))
    return float(x[k - 1]), k


def _principal_axes(x, y):
    """(variances, unit vectors as columns) of the points' sample covariance, smallest first."""
    values, vectors = np.linalg.eigh(np.cov(np.vstack([x, y])))
    return np.maximum(values, 0.0), vectors


def covariance_ellipse(x, y, n_sigma, points=100):
    """(xs, ys) of the n-sigma ellipse of the points' covariance, around their mean."""
    values, vectors = _principal_axes(x, y)
    angle = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.vstack([np.cos(angle), np.sin(angle)]) * n_sigma * np.sqrt(values)[:, None]
    xs, ys = vectors @ circle
    return xs + np.mean(x), ys + np.mean(y)


def ellipse_axes(x, y, n_sigma):
    """(semi-major, semi-minor [units of x and y], the major axis's angle [deg] from +x toward
    +y, within +-90) of the n-sigma ellipse of the points' covariance."""
    values, vectors = _principal_axes(x, y)
    major = vectors[:, 1] * (1.0 if vectors[0, 1] >= 0.0 else -1.0)
    angle = math.degrees(math.atan2(major[1], major[0]))
    return n_sigma * math.sqrt(values[1]), n_sigma * math.sqrt(values[0]), angle


def outcome_table(runs):
    """Counts of outcomes, and of failures by (outcome, failure class, limit cause), largest
    first (a campaign flown before failure classes existed: the class is '-')."""
    outcomes = runs.outcome.value_counts()
    failed = runs[runs.outcome != LANDED]
    classes = failed.failure_class if "failure_class" in failed else "-"
    causes = failed.assign(failure_class=classes).groupby(["outcome", "failure_class", "cause"])
    return outcomes, causes.size().sort_values(ascending=False)


def looks_gaussian(x, y, alpha=0.01, least=20):
    """True when neither coordinate's sample departs from a normal one at alpha
    (D'Agostino-Pearson), from `least` points up: only then does a covariance ellipse say
    where the points are."""
    if len(x) < least:
        return False
    return all(stats.normaltest(np.asarray(v, float)).pvalue >= alpha for v in (x, y))


def final_phase(events):
    """The phase a run was in when it ended (its last phase change), or '-'."""
    phases = [e["subject"] for e in events if e["kind"] == "phase_change"]
    return phases[-1] if phases else "-"


def failure_table(runs):
    """Failed runs counted by failure class (rows) and the phase they ended in (columns)."""
    failed = runs[runs.outcome != LANDED]
    if failed.empty:
        return pd.DataFrame()
    classes = failed.failure_class if "failure_class" in failed else failed.outcome
    return pd.crosstab(classes.rename("failure class"), failed.events.map(final_phase))


def fault_failure_table(runs):
    """Failed runs counted by failure class (rows) and the faults that occurred in them
    (columns; 'no fault' for the runs none occurred in: a run with two counts in both)."""
    failed = runs[runs.outcome != LANDED]
    names = fault_names(runs)
    if failed.empty or not names:
        return pd.DataFrame()
    classes = failed.failure_class if "failure_class" in failed else failed.outcome
    occurred = {name: failed[f"faults.{name}.occurs"].astype(bool) for name in names}
    columns = {name: classes[mask].value_counts() for name, mask in occurred.items()}
    columns["no fault"] = classes[~np.logical_or.reduce(list(occurred.values()))].value_counts()
    return pd.DataFrame(columns).fillna(0).astype(int)


def dispersed_columns(runs):
    """The runs table's columns holding dispersed values (field paths)."""
    return [
        c
        for c in runs.columns
        if "." in c and not c.endswith(".occurs") and pd.api.types.is_float_dtype(runs[c])
    ]


def fault_names(runs):
    return [
        c.removeprefix("faults.").removesuffix(".occurs")
        for c in runs.columns
        if c.endswith(".occurs")
    ]


@dataclass(frozen=True)
class FaultEffect:
    """What one declared fault did over a campaign."""

    name: str
    occurred: int
    landed_when_occurred: tuple  # (rate, low, high)
    landed_otherwise: tuple
    first_reaction_s: float  # median time from activation to the first sensor-gate reaction
    recovery_s: float  # median time from activation to the first sensor recovery
    windows: list  # (label, runs, landing rate) per quartile of a dispersed trigger

    @property
    def damage(self):
        """Landing-rate drop when the fault occurs (NaN when it never did)."""
        return self.landed_otherwise[0] - self.landed_when_occurred[0]


SENSOR_REACTIONS = ("measurement_rejected", "sensor_latched_off", "sensor_recovered")


def fault_effects(runs, trigger_units=None):
    """A FaultEffect per declared fault, the most damaging first; trigger_units: {fault: unit
    of its trigger (s or m)} for the windows' labels."""
    trigger_units = trigger_units or {}
    effects = []
    landed = runs.outcome == LANDED
    for name in fault_names(runs):
        occurred = runs[f"faults.{name}.occurs"].astype(bool)

        def rate(mask):
            n, k = int(mask.sum()), int((landed & mask).sum())
            return (k / n if n else math.nan, *wilson_interval(k, n))

        reactions = _delays(runs.events[occurred], name, SENSOR_REACTIONS)
        recoveries = _delays(runs.events[occurred], name, ("sensor_recovered",))
        windows = []
        trigger = f"faults.{name}.trigger"
        if trigger in runs and occurred.sum() >= 8:
            bins = pd.qcut(runs[trigger][occurred], 4, duplicates="drop")
            for interval, group in runs[occurred].groupby(bins, observed=True):
                unit = trigger_units.get(name, "")
                label = f"{interval.left:.4g} to {interval.right:.4g} {unit}".rstrip()
                windows.append((label, len(group), float((group.outcome == LANDED).mean())))
        effects.append(
            FaultEffect(
                name=name,
                occurred=int(occurred.sum()),
                landed_when_occurred=rate(occurred),
                landed_otherwise=rate(~occurred),
                first_reaction_s=float(np.median(reactions)) if reactions else math.nan,
                recovery_s=float(np.median(recoveries)) if recoveries else math.nan,
                windows=windows,
            )
        )
    return sorted(effects, key=lambda e: -e.damage if math.isfinite(e.damage) else math.inf)


def _delays(event_lists, fault, kinds):
    """Seconds from a fault's activation to the first event of the kinds after it, per run
    that has both."""
    out = []
    for events in event_lists:
        start = next(
            (e["t_s"] for e in events if e["kind"] == "fault_activated" and e["subject"] == fault),
            None,
        )
        delay = None
        if start is not None:
            delay = next(
                (e["t_s"] - start for e in events if e["kind"] in kinds and e["t_s"] >= start), None
            )
        if delay is not None:
            out.append(delay)
    return out


def sensitivity(runs):
    """Spearman rank correlation of each dispersed value, and of whether each fault occurred
    (0 or 1: the point-biserial case), with failure (all runs) and with the landing error
    (landed runs): (column, rho_failure, p, rho_error, p), strongest first. A fault's
    dispersed fields (its trigger, its magnitude) count only over the runs it occurred in."""
    rows = []
    occurs = [f"faults.{name}.occurs" for name in fault_names(runs)]
    for column in dispersed_columns(runs) + occurs:
        fault = column.split(".")[1] if column.startswith("faults.") else None
        subset = runs
        if fault is not None and column not in occurs:
            subset = runs[runs[f"faults.{fault}.occurs"].astype(bool)]
        values = subset[column].astype(float)
        if values.nunique() < 2:
            continue
        failed = (subset.outcome != LANDED).astype(float)
        landed = subset.outcome == LANDED
        rho_f, p_f = _spearman(values, failed)
        rho_e, p_e = _spearman(values[landed], subset.landing_error_m[landed])
        rows.append((column, rho_f, p_f, rho_e, p_e))
    # the strongest first; a value with neither correlation defined (no run landed) last
    return sorted(rows, key=lambda r: -np.nan_to_num(np.fmax(abs(r[1]), abs(r[3])), nan=-1.0))


def _spearman(x, y):
    ok = x.notna() & y.notna()
    if ok.sum() < 3 or y[ok].nunique() < 2:
        return math.nan, math.nan
    result = stats.spearmanr(x[ok], y[ok])
    return float(result.statistic), float(result.pvalue)


def envelopes(traces, column, percentiles=(5, 50, 95), step_s=1.0):
    """(times, {percentile: values}) of a trace column across the runs alive at each time."""
    if traces.empty:
        return np.zeros(0), {p: np.zeros(0) for p in percentiles}
    grid = np.arange(0.0, traces.t_s.max() + step_s, step_s)
    at = np.round(traces.t_s / step_s).astype(int)
    table = traces.assign(at=at).pivot_table(index="at", columns="run", values=column)
    table = table.reindex(range(len(grid)))
    values = table.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # times no run reached
        bands = {
            p: np.nanpercentile(values, p, axis=1) if values.size else np.full(len(grid), np.nan)
            for p in percentiles
        }
    return grid, bands
