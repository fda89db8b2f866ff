"""`descent report`: one self-contained HTML file (plots embedded as PNG, no network) of a
campaign, for a review: overview and success rate, landing dispersion over the terrain with
its tolerance bound, touchdown state against the limits, navigation-error envelopes, what the
faults did, and which dispersed parameters drive failures and landing error.

Plots are matplotlib (Agg), sized and labelled to read on screen and in print; a 10,000-run
campaign stays a few MB (scatter plots are rasterised, traces exist only for the first runs
and the failures).
"""

import base64
import html
import io
import json
import math
from datetime import UTC, datetime

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from matplotlib.colors import LightSource

from sims import analysis, consistency, model
from sims.errors import CampaignError

DPI = 110
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
.note { color: #555; }
"""


def load(folder):
    """(manifest, scenario, runs, traces) of a finished campaign folder; CampaignError if it is
    not one."""
    from sims import campaign

    store = campaign.Results(folder)
    manifest, runs = store.manifest(), store.runs()
    traces_path = store.out / "traces.parquet"
    try:
        traces = pq.read_table(traces_path).to_pandas() if traces_path.is_file() else None
    except (OSError, ValueError) as exc:
        raise CampaignError(f"{traces_path}: cannot be read ({exc})") from None
    if traces is None or traces.empty:
        traces = pd.DataFrame(columns=["t_s", "run", "altitude_m", "altitude_est_m"])
    return manifest, campaign.plan_of(manifest).scenario, runs, traces


def figure(fig):
    """An <img> of a matplotlib figure, as a PNG data URL."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img alt="figure" src="data:image/png;base64,{data}">'


def table(header, rows):
    """An HTML table; header None for a two-column list of facts."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header) if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def percent(p, low=None, high=None):
    if not math.isfinite(p):
        return "-"
    return f"{100 * p:.1f} %" + (
        f" ({100 * low:.1f} to {100 * high:.1f})" if low is not None else ""
    )


def overview(manifest, sc, runs):
    n = len(runs)
    landed = int((runs.outcome == analysis.LANDED).sum())
    low, high = analysis.wilson_interval(landed, n)
    outcomes, causes = analysis.outcome_table(runs)
    facts = [
        ("scenario", f"{manifest['scenario']} ({sc.meta.name})"),
        ("campaign seed", manifest["campaign_seed"]),
        ("runs", n),
        ("landed", f"{landed} of {n}: {percent(landed / n, low, high)}, 95 % Wilson interval"),
        ("code", f"{manifest.get('code_digest')} (git {manifest.get('git_revision') or '-'})"),
        ("flown", f"{manifest.get('started')} to {manifest.get('finished')}"),
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


def dispersion(sc, runs):
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    if touched.empty:
        return "<h2>Landing dispersion</h2><p class='note'>no run touched down</p>"
    x, y = touched.touchdown_downrange_m, touched.touchdown_crossrange_m
    reach = 1.2 * max(np.abs(x).max(), np.abs(y).max(), 50.0)
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    _terrain(ax, sc, reach)
    landed = touched.outcome == analysis.LANDED
    ax.scatter(x[landed], y[landed], s=6, c="tab:blue", label="landed", rasterized=True)
    ax.scatter(x[~landed], y[~landed], s=14, c="tab:red", marker="x", label="failed")
    if len(touched) >= 3:
        for n_sigma in (1, 2, 3):
            ex, ey = analysis.covariance_ellipse(x, y, n_sigma)
            ax.plot(ex, ey, "k-", lw=1.0)
            ax.annotate(f"{n_sigma} sigma", (ex[12], ey[12]), fontsize=8)
    ax.plot(0, 0, "y*", ms=14, mec="k", label="target")
    ax.set(
        xlim=(-reach, reach),
        ylim=(-reach, reach),
        xlabel="downrange from the target [m]",
        ylabel="crossrange (left) from the target [m]",
        title="Touchdown points over the terrain (hillshade, height in colour)",
    )
    ax.set_aspect("equal")
    ax.legend(loc="upper right")
    bound, k = analysis.tolerance_bound(touched.landing_error_m)
    if bound is None:
        sentence = f"A distribution-free 99 %/95 % tolerance bound needs {k} touchdowns."
    else:
        sentence = (
            f"99 % of touchdowns are within {bound:.0f} m of the target at 95 % confidence "
            f"(order statistic {k} of {len(touched)}, distribution-free)."
        )
    stats_rows = [
        ("mean downrange / crossrange [m]", f"{x.mean():.1f} / {y.mean():.1f}"),
        ("sigma downrange / crossrange [m]", f"{x.std():.1f} / {y.std():.1f}"),
        (ELLIPSE_LABEL, _ellipse(x, y)),
        ("landing error median / 90th / max [m]", _quantiles(touched.landing_error_m, "0f")),
    ]
    return (
        "<h2>Landing dispersion</h2>" + figure(fig) + f"<p>{sentence}</p>" + table(None, stats_rows)
    )


ELLIPSE_LABEL = "3-sigma ellipse: semi-axes [m], major axis from downrange toward crossrange"


def _ellipse(x, y):
    """The 3-sigma ellipse's figures as the report and the comparison write them."""
    if len(x) < 3:
        return "-"
    major, minor, angle = analysis.ellipse_axes(x, y, 3)
    return f"{major:.1f} / {minor:.1f}, {angle:.1f} deg"


def _quantiles(values, fmt):
    q = np.nanpercentile(values, [50, 90, 100])
    return " / ".join(format(v, f".{fmt}") for v in q)


def _terrain(ax, sc, reach):
    """Hillshade of the finest tile covering the area around the site, in track coordinates."""
    _, tiles, heights = model.build_terrain(sc.site, sc.terrain)
    for t in tiles[::-1]:
        x0, y0, d = t["downrange_min_m"], t["crossrange_min_m"], t["spacing_m"]
        nx, ny = int(t["n_downrange"]), int(t["n_crossrange"])
        if x0 <= -reach and y0 <= -reach and x0 + (nx - 1) * d >= reach:
            grid = heights[t["offset"] : t["offset"] + nx * ny].reshape(nx, ny)
            shade = LightSource(azdeg=315, altdeg=35).shade(
                grid.T,
                cmap=plt.get_cmap("gist_earth"),
                vert_exag=3.0,
                dx=d,
                dy=d,
                blend_mode="soft",
            )
            extent = (x0, x0 + (nx - 1) * d, y0, y0 + (ny - 1) * d)
            ax.imshow(shade, origin="lower", extent=extent, interpolation="bilinear")
            return


LIMITED = (
    ("descent_rate_mps", "descent rate [m/s]", "vertical_speed", 1.0),
    ("horizontal_speed_mps", "horizontal speed [m/s]", "horizontal_speed", 1.0),
    ("tilt_deg", "tilt [deg]", "tilt", 180.0 / math.pi),
    ("slope_deg", "terrain slope [deg]", "slope", 180.0 / math.pi),
    ("body_rate_dps", "body rate [deg/s]", "body_rate", 180.0 / math.pi),
)


def touchdown_state(sc, runs):
    touched = runs.dropna(subset=["descent_rate_mps"])
    if touched.empty:
        return ""
    fig, axes = plt.subplots(2, 3, figsize=(11, 6.5))
    limits = sc.touchdown_limits
    for ax, (column, label, limit, scale) in zip(axes.flat, LIMITED, strict=False):
        ax.hist(touched[column], bins=40, color="tab:blue")
        ax.axvline(getattr(limits, limit) * scale, color="tab:red", ls="--", label="limit")
        ax.set(xlabel=label, ylabel="runs")
        ax.legend()
    ax = axes.flat[-1]
    ax.hist(runs.propellant_remaining_kg.dropna(), bins=40, color="tab:green")
    ax.set(xlabel="propellant left at the end [kg]", ylabel="runs")
    fig.suptitle("Touchdown state against the limits")
    fig.tight_layout()
    rows = [
        (label, _quantiles(touched[c], "2f"), f"{getattr(limits, limit) * scale:.2f}")
        for c, label, limit, scale in LIMITED
    ]
    margin = runs.propellant_remaining_kg.dropna()
    rows.append(("propellant left [kg]", _quantiles(-margin, "1f").replace("-", ""), "-"))
    return (
        "<h2>Touchdown state</h2>" + figure(fig) + table(("", "median / 90th / max", "limit"), rows)
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


def navigation(runs, traces, manifest):
    if "nav_position_error_m" in runs and runs.nav_position_error_m.isna().all():
        kind = manifest.get("flight_software") or "its"
        return (
            "<h2>Navigation</h2><p>The flight software (" + html.escape(str(kind)) + ") reports "
            "no navigation estimate: its errors and their consistency (NEES) are absent, not "
            "zero.</p>"
        )
    claims = consistency_table(runs)
    if traces.empty or "altitude_est_m" not in traces:
        return "<h2>Navigation</h2>" + claims + "<p class='note'>no traces kept</p>"
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
        times, bands = analysis.envelopes(traces, column)
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
        (line,) = ax.plot(t.t_s, t.altitude_m, label=f"run {run}: true")
        ax.plot(t.t_s, t.altitude_est_m, ls="--", color=line.get_color(), label="estimated")
    ax.set(
        xlabel="time from PDI [s]",
        ylabel="altitude above the terrain [m]",
        yscale="symlog",
        title="The three runs with the largest altitude error: truth and estimate",
    )
    ax.legend(ncol=3, fontsize=8)
    return (
        "<h2>Navigation</h2>"
        + claims
        + figure(fig)
        + figure(fig2)
        + '<p class="note">Traces are kept for the first runs and for every failure, so the '
        "envelopes lean toward the failures.</p>"
    )


def faults(runs):
    effects = analysis.fault_effects(runs)
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
            "<h3>By trigger window (quartiles of the dispersed trigger)</h3>"
            + table(("fault", "trigger", "runs", "landed"), windows)
            if windows
            else ""
        )
    )


def sensitivity(runs):
    rows = analysis.sensitivity(runs)
    if not rows:
        return "<h2>Sensitivity</h2><p class='note'>no dispersed parameters</p>"
    top = rows[:15]
    fig, ax = plt.subplots(figsize=(9, 0.4 * len(top) + 1.5))
    names = [r[0] for r in top][::-1]
    position = np.arange(len(top))
    ax.barh(position + 0.2, [r[1] for r in top][::-1], height=0.4, label="failure")
    ax.barh(position - 0.2, [r[3] for r in top][::-1], height=0.4, label="landing error (landed)")
    ax.set_yticks(position, names, fontsize=8)
    ax.axvline(0, color="k", lw=0.8)
    ax.set(xlabel="Spearman rank correlation", title="What drives failures and landing error")
    ax.legend()
    fig.tight_layout()
    return (
        "<h2>Sensitivity</h2>"
        + figure(fig)
        + table(
            ("dispersed value", "rho: failure", "p", "rho: landing error", "p"),
            [(c, f"{a:+.3f}", f"{pa:.2g}", f"{b:+.3f}", f"{pb:.2g}") for c, a, pa, b, pb in rows],
        )
    )


def build(folder):
    """The HTML text of a campaign's report."""
    manifest, sc, runs, traces = load(folder)
    sections = [
        overview(manifest, sc, runs),
        dispersion(sc, runs),
        touchdown_state(sc, runs),
        navigation(runs, traces, manifest),
        faults(runs),
        sensitivity(runs),
    ]
    title = html.escape(
        f"{manifest['scenario']}: {len(runs)} runs, seed {manifest['campaign_seed']}"
    )
    made = datetime.now(UTC).isoformat(timespec="seconds")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f"<p class='note'>descent report, {made}; campaign manifest: "
        f"{html.escape(json.dumps({k: manifest.get(k) for k in ('versions',)}))}</p>"
        + "".join(sections)
        + "</body></html>"
    )


def compare(first, second):
    """The HTML text comparing two campaigns: B against A (the reference), side by side."""
    from sims import regression

    a, b = load(first), load(second)
    rows = []
    for label, (manifest, sc, runs, _) in (("A", a), ("B", b)):
        n, landed = len(runs), int((runs.outcome == analysis.LANDED).sum())
        touched = runs.dropna(subset=["touchdown_downrange_m"])
        rows.append(
            (
                label,
                f"{manifest['scenario']} ({sc.meta.name})",
                manifest["campaign_seed"],
                n,
                percent(landed / n, *analysis.wilson_interval(landed, n)),
                _ellipse(touched.touchdown_downrange_m, touched.touchdown_crossrange_m),
            )
        )
    fig, ax = plt.subplots(figsize=(7.5, 7.5))
    for label, (_, _, runs, _), colour in (("A", a, "tab:blue"), ("B", b, "tab:orange")):
        touched = runs.dropna(subset=["touchdown_downrange_m"])
        ax.scatter(
            touched.touchdown_downrange_m,
            touched.touchdown_crossrange_m,
            s=6,
            c=colour,
            label=label,
            rasterized=True,
        )
        if len(touched) >= 3:
            ex, ey = analysis.covariance_ellipse(
                touched.touchdown_downrange_m, touched.touchdown_crossrange_m, 3
            )
            ax.plot(ex, ey, color=colour, lw=1.2, label=f"{label}: 3 sigma")
    ax.plot(0, 0, "y*", ms=14, mec="k", label="target")
    ax.set(
        xlabel="downrange from the target [m]",
        ylabel="crossrange (left) from the target [m]",
        title="Touchdown points",
    )
    ax.set_aspect("equal")
    ax.legend()
    reference, current = (regression.baseline_of(manifest, runs) for manifest, _, runs, _ in (a, b))
    verdicts = regression.verdicts(current, reference)
    metrics = [
        (
            v.metric,
            f"{v.baseline:.4g}",
            f"{v.campaign:.4g}",
            v.test,
            f"{v.p_value:.3g}" if math.isfinite(v.p_value) else "-",
            "worse" if not v.passed else "-",
        )
        for v in verdicts
    ]
    title = html.escape(f"{first} (A) and {second} (B)")
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        + table(("", "scenario", "seed", "runs", "landed (95 % Wilson)", ELLIPSE_LABEL), rows)
        + figure(fig)
        + "<h2>B against A</h2><p>One-sided tests toward worse at alpha = 0.01: Fisher exact on "
        "rates, Anderson-Darling on distributions, bootstrap intervals on percentiles "
        "(`descent regress`).</p>"
        + table(("metric", "A", "B", "test", "p", "B significantly worse"), metrics)
        + "</body></html>"
    )
