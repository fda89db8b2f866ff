"""`descent report`: one self-contained HTML file (plots embedded as PNG, no network) of a
campaign, for a review: overview and success rate; landing dispersion over the terrain and its
slope, with its tolerance bound; touchdown state against the limits; trajectories; how the
failures came about (class by phase and by fault, and the command that replays each); the
ground's hazards and their avoidance (`sims.analysis.report_hazards`); the
navigation (its consistency at the checkpoints and over time, its errors against its own
3 sigma); what the faults did; what drives failures and landing error
(`sims.analysis.report_sensitivity`); and, for a campaign
that estimates a failure probability, the estimate (`sims.analysis.report_tail`). `descent compare`:
two campaigns side by side, B against A both ways.

Plots are matplotlib (Agg, `sims.analysis.report_figures`), sized and labelled to read on
screen and in print; a 10,000-run campaign stays a few MB (scatter plots are rasterised, traces and
recordings exist only for the runs a campaign keeps them of).
"""

import html
import json
import math
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from sims.analysis import (
    campaign_statistics,
    report_figures,
    report_hazards,
    report_sensitivity,
    report_tail,
)
from sims.analysis.html_page import STYLE, figure, percent, table
from sims.campaigns import tail
from sims.errors import CampaignError
from sims.run import consistency

CHOSEN_RUNS = 1  # runs drawn one by one in the navigation figures, by default the worst


def _table_of(store, name, default_columns):
    """A campaign's optional table (pandas), empty with default_columns if absent."""
    path = store.out / f"{name}.parquet"
    try:
        frame = pq.read_table(path).to_pandas() if path.is_file() else None
    except (OSError, ValueError) as exc:
        raise CampaignError(f"{path}: cannot be read ({exc})") from None
    return frame if frame is not None and not frame.empty else pd.DataFrame(columns=default_columns)


def load(folder):
    """(manifest, scenario, runs, traces, recordings) of a finished campaign folder (the
    recordings empty if it recorded none); CampaignError if it is not one."""
    from sims.campaigns import campaign, results_folder

    store = results_folder.Results(folder)
    manifest, runs = store.manifest(), store.runs()
    traces = _table_of(store, "traces", ["t_s", "run", "altitude_m", "altitude_est_m"])
    recordings = _table_of(store, "recordings", ["t_s", "run"])
    return manifest, campaign.plan_of(manifest).scenario, runs, traces, recordings


def overview(manifest, sc, runs):
    n = len(runs)
    landed = int((runs.outcome == campaign_statistics.LANDED).sum())
    low, high = campaign_statistics.wilson_interval(landed, n)
    outcomes, causes = campaign_statistics.outcome_table(runs)
    label = manifest["scenario"]
    named = label if sc.meta.name in label else f"{sc.meta.name} ({label})"
    versions = manifest.get("versions") or {}
    facts = [
        ("scenario", named),
        ("campaign seed", manifest["campaign_seed"]),
        ("runs", n),
        ("landed", f"{landed} of {n}: {percent(landed / n, low, high)}, 95 % Wilson interval"),
        ("code", f"{manifest.get('code_digest')} (git {manifest.get('git_revision') or '-'})"),
        ("flown", f"{manifest.get('started')} to {manifest.get('finished')}"),
        ("flight software", manifest.get("flight_software") or "open loop"),
        ("package versions", ", ".join(f"{k} {v}" for k, v in versions.items() if v)),
    ]
    return (
        "<h2>Campaign</h2>"
        + table(None, facts)
        + "<h3>Outcomes</h3>"
        + table(("outcome", "runs", "share"), [(o, c, percent(c / n)) for o, c in outcomes.items()])
        + "<h3>Causes of failure</h3>"
        + (
            table(
                ("outcome", "why (failure class)", "limit broken", "runs"),
                [(o, w, c, k) for (o, w, c), k in causes.items()],
            )
            if len(causes)
            else '<p class="note">every run landed</p>'
        )
    )


def _reach(touched):
    x, y = touched.touchdown_downrange_m, touched.touchdown_crossrange_m
    return 1.2 * max(np.abs(x).max(), np.abs(y).max(), 50.0)


def _spread(ax, touched, colour, failed, label="", hollow=False):
    """Touchdown points of one campaign, failures marked x; the 3-sigma ellipse when the
    spread looks Gaussian, else the distribution-free 99 %/95 % circle (when there are enough
    points). Returns what was drawn around them."""
    x, y = touched.touchdown_downrange_m, touched.touchdown_crossrange_m
    report_figures.outcomes(
        ax,
        touched,
        "touchdown_downrange_m",
        "touchdown_crossrange_m",
        colour,
        failed,
        label,
        hollow,
    )
    if campaign_statistics.looks_gaussian(x, y):
        ex, ey = campaign_statistics.covariance_ellipse(x, y, 3)
        ax.plot(ex, ey, color=colour, lw=1.2, label=f"{label}3 sigma")
        return "ellipse"
    bound, _ = campaign_statistics.tolerance_bound(touched.landing_error_m)
    if bound is not None:
        angle = np.linspace(0, 2 * np.pi, 200)
        circle = (bound * np.cos(angle), bound * np.sin(angle))
        ax.plot(*circle, color=colour, lw=1.2, ls="--", label=f"{label}99 % in {bound:.0f} m")
        return "circle"
    return "none"


def dispersion(sc, runs):
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    if touched.empty:
        return "<h2>Landing dispersion</h2><p class='note'>no run touched down</p>"
    x, y = touched.touchdown_downrange_m, touched.touchdown_crossrange_m
    reach = _reach(touched)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    report_figures.hillshade(ax, sc, reach)
    drawn = _spread(ax, touched, "tab:blue", "tab:red")
    report_figures.site_axes(
        ax, reach, "Touchdown points over the terrain (hillshade, height in colour)"
    )
    bound, k = campaign_statistics.tolerance_bound(touched.landing_error_m)
    if bound is None:
        sentence = f"A distribution-free 99 %/95 % tolerance bound needs {k} touchdowns."
    else:
        sentence = (
            f"99 % of touchdowns are within {bound:.0f} m of the target at 95 % confidence "
            f"(order statistic {k} of {len(touched)}, distribution-free)."
        )
    if drawn != "ellipse":
        sentence += (
            " The spread is not Gaussian (D'Agostino-Pearson at 1 %, or under 20 points): no "
            "covariance ellipse is drawn over it."
        )
    stats_rows = [
        ("mean downrange / crossrange [m]", f"{x.mean():.1f} / {y.mean():.1f}"),
        ("sigma downrange / crossrange [m]", f"{x.std():.1f} / {y.std():.1f}"),
        (ELLIPSE_LABEL, _ellipse(x, y)),
        ("landing error median / 90th / max [m]", _quantiles(touched.landing_error_m, "0f")),
    ]
    return (
        "<h2>Landing dispersion</h2>"
        + figure(fig, "touchdown points over the terrain")
        + f"<p>{sentence}</p>"
        + table(None, stats_rows)
        + report_figures.slope_map(sc, runs, reach)
    )


ELLIPSE_LABEL = "3-sigma ellipse: semi-axes [m], major axis from downrange toward crossrange"


def _ellipse(x, y):
    """The 3-sigma ellipse's figures as the report and the comparison write them."""
    if len(x) < 3:
        return "-"
    major, minor, angle = campaign_statistics.ellipse_axes(x, y, 3)
    return f"{major:.1f} / {minor:.1f}, {angle:.1f} deg"


def _quantiles(values, fmt, worse="higher"):
    """median / worst decile / worst of the values, worse being higher or lower."""
    q = np.nanpercentile(values, [50, 90, 100] if worse == "higher" else [50, 10, 0])
    return " / ".join(format(v, f".{fmt}") for v in q)


LIMITED = (
    ("descent_rate_mps", "descent rate [m/s]", "vertical_speed", 1.0),
    ("horizontal_speed_mps", "horizontal speed [m/s]", "horizontal_speed", 1.0),
    ("tilt_deg", "tilt [deg]", "tilt", 180.0 / math.pi),
    ("slope_deg", "terrain slope [deg]", "slope", 180.0 / math.pi),
    ("body_rate_dps", "body rate [deg/s]", "body_rate", 180.0 / math.pi),
)
CLIP_LIMITS = 3.0  # histograms run to this many times the limit; beyond is counted


def _split_histogram(ax, touched, column, limit, label):
    """Landed and failed runs stacked in two colours up to CLIP_LIMITS times the limit (or the
    landed runs' largest value); the runs beyond are counted in the title, not drawn."""
    values = touched[column]
    landed = touched.outcome == campaign_statistics.LANDED
    top = max(CLIP_LIMITS * limit, values[landed].max() if landed.any() else 0.0)
    bottom = min(0.0, values.min())
    beyond = int((values > top).sum())
    bins = np.linspace(bottom, top, 41)
    ax.hist(
        [values[landed & (values <= top)], values[~landed & (values <= top)]],
        bins=bins,
        stacked=True,
        color=["tab:blue", "tab:red"],
        label=["landed", "failed"],
    )
    ax.axvline(limit, color="k", ls="--", label="limit")
    ax.set(xlabel=label, ylabel="runs", title=f"{beyond} beyond {top:.3g}" if beyond else "")
    ax.legend(fontsize=7)


def touchdown_state(sc, runs):
    touched = runs.dropna(subset=["descent_rate_mps"])
    if touched.empty:
        return ""
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.5))
    limits = sc.touchdown_limits
    for ax, (column, label, limit, scale) in zip(axes.flat, LIMITED, strict=False):
        _split_histogram(ax, touched, column, getattr(limits, limit) * scale, label)
    ax = axes.flat[-1]
    ax.hist(runs.propellant_remaining_kg.dropna(), bins=40, color="tab:green")
    ax.set(xlabel="propellant left at the end [kg]", ylabel="runs")
    fig.suptitle("Touchdown state against the limits (runs that touched down)")
    fig.tight_layout()
    rows = [
        (label, _quantiles(touched[c], "2f"), f"{getattr(limits, limit) * scale:.2f}")
        for c, label, limit, scale in LIMITED
    ]
    margin = runs.propellant_remaining_kg.dropna()
    rows.append(("propellant left [kg] (least is worst)", _quantiles(margin, "1f", "lower"), "-"))
    return (
        "<h2>Touchdown state</h2>"
        + figure(fig, "touchdown state histograms")
        + table(("", "median / worst 10 % / worst", "limit"), rows)
        + report_figures.touchdown_scatter(sc, runs)
    )


def failures(runs, folder):
    """How the failures came about: failure class by the phase the run ended in, and by the
    faults that occurred in it; and the command that replays each failed run."""
    failed = runs[runs.outcome != campaign_statistics.LANDED]
    if failed.empty:
        return "<h2>Failures</h2><p class='note'>every run landed</p>"
    by_phase = campaign_statistics.failure_table(runs)
    by_fault = campaign_statistics.fault_failure_table(runs)
    phases = list(by_phase.columns)
    replays = [
        (
            int(r.run),
            r.outcome,
            getattr(r, "failure_class", "-"),
            campaign_statistics.final_phase(r.events),
            f"descent run --from-campaign {folder} --index {int(r.run)}",
        )
        for r in failed.itertuples()
    ]
    return (
        "<h2>Failures</h2><h3>Failure class by the phase the run ended in</h3>"
        + table(("failure class", *phases), [(c, *row) for c, row in by_phase.iterrows()])
        + (
            "<h3>Failure class by the faults that occurred</h3>"
            + table(
                ("failure class", *by_fault.columns),
                [(c, *row) for c, row in by_fault.iterrows()],
            )
            if not by_fault.empty
            else ""
        )
        + "<h3>Replay a failed run, bit for bit</h3>"
        + table(("run", "outcome", "failure class", "ended in", "command"), replays)
    )


def consistency_table(runs):
    """Mean NEES at each checkpoint over the runs that reached it, against the band a filter
    that knows what it does not know keeps its mean in (95 %)."""
    rows = []
    for checkpoint in consistency.CHECKPOINTS:
        columns = [f"nees_{block}_{checkpoint}" for block in consistency.BLOCKS]
        if not set(columns) <= set(runs):
            return ""  # a campaign from before the NEES was kept
        reached = runs[columns].dropna()
        if reached.empty:
            continue
        low, high = consistency.band(len(reached))
        means = [f"{reached[c].mean():.2f}" for c in columns]
        rows.append([checkpoint.replace("_", " "), len(reached), *means, f"{low:.2f}-{high:.2f}"])
    return (
        "<p>Does the filter know what it does not know? The mean NEES (its errors against the "
        "covariance it claims) is 3 for a consistent filter; above the band it claims more "
        "than it knows, below it less.</p>"
        + table(("checkpoint", "runs", "position", "velocity", "attitude", "95 % band"), rows)
    )


def _worst_runs(recordings, count):
    """The recorded runs with the largest position error over the 3 sigma claimed."""
    if recordings.empty or "nav.error_up_m" not in recordings:
        return []
    ratio = np.max(
        [
            (recordings[f"nav.error_{a}"] / recordings[f"nav.sigma_{a}"]).abs()
            for a in ("east_m", "north_m", "up_m")
        ],
        axis=0,
    )
    worst = recordings.assign(ratio=ratio).groupby("run").ratio.max()
    return list(worst.sort_values(ascending=False).index[:count])


def navigation(runs, traces, recordings, manifest, chosen=None):
    if "nav_position_error_m" in runs and runs.nav_position_error_m.isna().all():
        kind = manifest.get("flight_software") or "its"
        return (
            "<h2>Navigation</h2><p>The flight software (" + html.escape(str(kind)) + ") reports "
            "no navigation estimate: its errors and their consistency (NEES) are absent, not "
            "zero.</p>"
        )
    claims = consistency_table(runs)
    chosen = chosen if chosen is not None else _worst_runs(recordings, CHOSEN_RUNS)
    nees_columns = [f"nav.nees_{b}" for b in consistency.BLOCKS]
    if set(nees_columns) <= set(recordings):
        over_time = report_figures.nees_over_time(recordings, nees_columns, "recorded")
    else:
        columns = [f"nees_{b}" for b in consistency.BLOCKS]
        over_time = report_figures.nees_over_time(traces, columns, "traced (first and failed)")
    errors = report_figures.estimation_errors(recordings if not recordings.empty else None, chosen)
    if traces.empty or "altitude_est_m" not in traces:
        return "<h2>Navigation</h2>" + claims + over_time + errors
    traces = traces.assign(altitude_error_m=traces.altitude_est_m - traces.altitude_m)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, (column, label) in zip(
        axes,
        (
            ("altitude_error_m", "altitude error, estimated - true [m]"),
            ("nav_velocity_error_mps", "velocity error |estimated - true| [m/s]"),
        ),
        strict=True,
    ):
        times, bands = campaign_statistics.envelopes(traces, column)
        ax.fill_between(times, bands[5], bands[95], alpha=0.3, label="5th to 95th percentile")
        ax.plot(times, bands[50], label="median")
        ax.set(xlabel="time from PDI [s]", ylabel=label)
        ax.legend()
    fig.suptitle(f"Navigation errors over the {traces.run.nunique()} runs with traces")
    fig.tight_layout()
    worst = (
        traces.assign(e=traces.altitude_error_m.abs())
        .groupby("run")
        .e.max()
        .sort_values(ascending=False)
        .head(3)
    )
    fig2, ax = plt.subplots(figsize=(11, 4))
    for run in worst.index:
        t = traces[traces.run == run]
        ax.plot(t.t_s, t.altitude_error_m, lw=1.0, label=f"run {run}")
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set(
        xlabel="time from PDI [s]",
        ylabel="altitude estimated - true [m]",
        title="The three runs with the largest altitude error: their error over time",
    )
    ax.legend(fontsize=8)
    return (
        "<h2>Navigation</h2>"
        + claims
        + over_time
        + errors
        + figure(fig, "navigation error envelopes")
        + figure(fig2, "altitude error of the worst runs")
        + '<p class="note">Traces are kept for the first runs and for every failure, so the '
        "envelopes lean toward the failures.</p>"
    )


def trajectories(traces, runs):
    tracks = report_figures.ground_tracks(traces, runs)
    return "<h2>Trajectories</h2>" + tracks if tracks else ""


def faults(sc, runs):
    units = {f.name: "s" if f.trigger.time is not None else "m" for f in sc.faults}
    effects = campaign_statistics.fault_effects(runs, units)
    if not effects:
        return "<h2>Faults</h2><p class='note'>no faults declared</p>"
    rows = [
        (
            e.name,
            e.occurred,
            percent(*e.landed_when_occurred),
            percent(*e.landed_otherwise),
            f"{100 * e.damage:.1f} points" if math.isfinite(e.damage) else "-",
            f"{e.first_reaction_s:.1f}" if math.isfinite(e.first_reaction_s) else "-",
            f"{e.recovery_s:.1f}" if math.isfinite(e.recovery_s) else "-",
        )
        for e in effects
    ]
    windows = [(e.name, label, n, percent(rate)) for e in effects for label, n, rate in e.windows]
    return (
        "<h2>Faults</h2><p>Most damaging first: the drop in landing rate when the fault occurs "
        "(95 % Wilson intervals), and the median times from its activation to the first reaction "
        "of a sensor gate (rejection, latch-off or recovery) and to the first recovery.</p>"
        + table(
            (
                "fault",
                "runs with it",
                "landed with it",
                "landed without",
                "drop",
                "first reaction [s]",
                "recovery [s]",
            ),
            rows,
        )
        + (
            "<h3>By trigger window (quartiles of the dispersed trigger, over the runs it "
            "occurred in)</h3>" + table(("fault", "trigger", "runs", "landed"), windows)
            if windows
            else ""
        )
    )


def page(title, body):
    made = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='note'>descent, {made}</p>" + body + "</body></html>"
    )


def build(folder, chosen=None):
    """The HTML text of a campaign's report; chosen: runs drawn one by one in the navigation
    figures (default: the worst recorded one)."""
    manifest, sc, runs, traces, recordings = load(folder)
    estimate = tail.load(Path(folder))
    head = [report_tail.section(estimate, sc, runs, folder)] if estimate else []
    if "level" in runs.columns:  # a subset simulation's: level 0 is its plain Monte Carlo
        runs = runs[runs.level == 0]
    if manifest.get("sweep"):
        head.append(report_sensitivity.sweep(runs, json.dumps(manifest["sweep"]), sc))
    sections = [
        overview(manifest, sc, runs),
        *head,
        dispersion(sc, runs),
        touchdown_state(sc, runs),
        trajectories(traces, runs),
        failures(runs, folder),
        report_hazards.section(sc, runs),
        navigation(runs, traces, recordings, manifest, chosen),
        faults(sc, runs),
        report_sensitivity.sensitivity(runs, sc, manifest),
    ]
    title = f"{sc.meta.name}: {len(runs)} runs, seed {manifest['campaign_seed']}"
    return page(title, "".join(sections))


PAIRED = (("propellant_used_kg", "propellant used [kg]"), ("delta_v_mps", "delta-v [m/s]"))


def paired(a, b):
    """The HTML of B against A run by run, when both flew the same dispersed runs (the same
    campaign seed, and every dispersed value both draw equal in the runs both have): what
    landed in one and not the other, and the mean difference B - A of each PAIRED figure
    with its 95 % interval (normal, over the runs both flew); empty otherwise."""
    (manifest_a, _, runs_a, _, _), (manifest_b, _, runs_b, _, _) = a, b
    if manifest_a["campaign_seed"] != manifest_b["campaign_seed"]:
        return ""
    both = runs_a.merge(runs_b, on="run", suffixes=("_a", "_b"))
    drawn = [c for c in runs_a.columns if "." in c and c in runs_b.columns]
    if both.empty or any(not np.array_equal(both[f"{c}_a"], both[f"{c}_b"]) for c in drawn):
        return ""
    landed_a = both.outcome_a == campaign_statistics.LANDED
    landed_b = both.outcome_b == campaign_statistics.LANDED
    rows = []
    for column, label in PAIRED:
        d = (both[f"{column}_b"] - both[f"{column}_a"]).dropna()
        half = 1.96 * d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
        rows.append((label, len(d), f"{d.mean():+.3g}", f"{half:.2g}", f"{d.median():+.3g}"))
    return (
        f"<h2>The same runs</h2><p>Both flew the same {len(both)} dispersed runs: landed in A "
        f"only {int((landed_a & ~landed_b).sum())}, in B only {int((landed_b & ~landed_a).sum())}"
        ". B - A run by run:</p>"
        + table(("figure", "runs", "mean", "95 % half-width", "median"), rows)
    )


def _verdict(worse, better):
    return "B worse" if not worse.passed else "B better" if not better.passed else "-"


def compare(first, second):
    """The HTML text comparing two campaigns: B against A (the reference), side by side, each
    metric tested both ways (worse and better)."""
    from sims.analysis import regression

    a, b = load(first), load(second)
    rows = []
    for label, (manifest, _, runs, _, _) in (("A", a), ("B", b)):
        n, landed = len(runs), int((runs.outcome == campaign_statistics.LANDED).sum())
        touched = runs.dropna(subset=["touchdown_downrange_m"])
        rows.append(
            (
                label,
                f"{manifest['scenario']}",
                manifest["campaign_seed"],
                n,
                percent(landed / n, *campaign_statistics.wilson_interval(landed, n)),
                _ellipse(touched.touchdown_downrange_m, touched.touchdown_crossrange_m),
            )
        )
    spreads = [r.dropna(subset=["touchdown_downrange_m"]) for _, _, r, _, _ in (a, b)]
    reach = max((_reach(t) for t in spreads if not t.empty), default=100.0)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    report_figures.hillshade(ax, b[1], reach)
    drawn = [
        _spread(ax, t, colour, colour, f"{label}: ", hollow)
        for t, colour, label, hollow in (
            (spreads[0], "tab:blue", "A", True),
            (spreads[1], "tab:orange", "B", False),
        )
        if not t.empty
    ]
    report_figures.site_axes(
        ax, reach, "Touchdown points over B's terrain (A hollow, B filled, failures x)"
    )
    cdf, axc = plt.subplots(figsize=(7.5, 4.5))
    for t, colour, label in ((spreads[0], "tab:blue", "A"), (spreads[1], "tab:orange", "B")):
        errors = np.sort(t.landing_error_m.dropna().to_numpy())
        if errors.size:
            axc.step(errors, np.arange(1, errors.size + 1) / errors.size, color=colour, label=label)
    axc.set(
        xlabel="landing error [m]",
        ylabel="share of touchdowns within",
        title="Landing error, cumulative",
    )
    axc.legend()
    reference, current = (regression.baseline_of(m, r) for m, _, r, _, _ in (a, b))
    worse = regression.verdicts(current, reference)
    better = {v.metric: v for v in regression.verdicts(reference, current)}
    metrics = [
        (
            v.metric,
            f"{v.baseline:.4g}",
            f"{v.campaign:.4g}",
            v.test,
            v.p_text,
            better[v.metric].p_text if v.metric in better else "-",
            _verdict(v, better[v.metric]) if v.metric in better else _verdict(v, v),
        )
        for v in worse
    ]
    note = (
        "<p class='note'>Where a spread is not Gaussian (D'Agostino-Pearson at 1 %, or under 20 "
        "touchdowns) no ellipse is drawn over it: the dashed circle holds 99 % of its landings "
        "at 95 % confidence (order statistics).</p>"
        if any(d != "ellipse" for d in drawn)
        else ""
    )
    return page(
        f"{first} (A) and {second} (B)",
        table(("", "scenario", "seed", "runs", "landed (95 % Wilson)", ELLIPSE_LABEL), rows)
        + figure(fig, "touchdown points of A and B")
        + note
        + figure(cdf, "landing error CDFs")
        + paired(a, b)
        + "<h2>B against A</h2><p>One-sided tests at alpha = 0.01 both ways, toward worse and "
        "toward better: Fisher exact on rates, Anderson-Darling on distributions, bootstrap "
        "intervals on percentiles (`descent regress`).</p>"
        + table(("metric", "A", "B", "test", "p (worse)", "p (better)", "verdict"), metrics),
    )
