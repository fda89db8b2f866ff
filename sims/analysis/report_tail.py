"""The report's section on a campaign's failure probability (`sims.campaigns.tail`): the
estimate and its interval; for subset simulation or importance sampling its levels, where its
runs went in the two components that moved most (the failure region), the components' mean
shift level by level (what drives the tail) and the most probable failure seen, with the
command that replays it."""

import html

import matplotlib.pyplot as plt
import numpy as np
from scipy import stats

from sims.analysis.html_page import figure, table
from sims.campaigns import limit_state, tail

DRIVERS_SHOWN = 10
METHOD_NOTES = {
    "subset": "Subset simulation (Au &amp; Beck 2001): each level holds the runs whose margin "
    "is below the previous threshold; the CV sums the levels' (a lower bound: the levels' "
    "correlation is neglected), the interval is log-normal.",
    "importance": "Importance sampling by cross-entropy (Kurtz &amp; Song 2013): each level "
    "draws around the likelihood-weighted mean of the last one's runs below its threshold, "
    "until the threshold is zero; the last level's runs, weighted by their likelihood ratio, "
    "are the estimate (one design point assumed), the interval is log-normal.",
}


def _figure(value, form):
    return "-" if value is None else form.format(value)


def section(record, sc, runs, folder):
    """HTML of the section; runs: the whole runs table (pandas), every level's runs."""
    head = f"<h2>Failure probability</h2><p>{html.escape(tail.describe(record))}.</p>"
    if record["method"] == "plain":
        return head + (
            "<p class='note'>The exact (Clopper-Pearson) interval of the share of failed runs.</p>"
        )
    levels = table(
        ("level", "runs", "threshold (margin)", "share below", "CV", "gamma", "accepted"),
        [
            (
                i,
                lv["runs"],
                f"{lv['threshold']:.4g}",
                f"{lv['probability']:.3g}",
                _figure(lv["cov"], "{:.2f}"),
                _figure(lv["gamma"], "{:.2f}"),
                _figure(lv["acceptance"], "{:.0%}"),
            )
            for i, lv in enumerate(record["levels"])
        ],
    )
    drivers = record["drivers"][:DRIVERS_SHOWN]
    shifts = table(
        ("component", *(f"mean z, level {i}" for i in range(len(record["levels"])))),
        [(d["component"], *(f"{m:+.2f}" for m in d["mean_z"])) for d in drivers],
    )
    worst = record.get("most_probable_failure")
    seen = (
        f"<p>The most probable failure seen is run {worst['run']}, "
        f"{worst['reliability_index']:.2f} standard deviations from the nominal (its "
        f"reliability index): <code>descent run --from-campaign {html.escape(str(folder))} "
        f"--index {worst['run']}</code>.</p>"
        if worst
        else "<p class='note'>No run failed.</p>"
    )
    return (
        head
        + f"<p class='note'>{METHOD_NOTES[record['method']]} The other sections of this report "
        "read level 0 only, a plain Monte Carlo sample.</p>"
        + levels
        + _region(record, sc, runs)
        + "<h3>What drives the tail: each component's mean, in standard deviations, level by "
        "level</h3>" + shifts + seen
    )


def _region(record, sc, runs):
    """A figure of the runs in the two components that moved most, by level, failures red."""
    if len(record["components"]) < 2:
        return ""
    names = [d["component"] for d in record["drivers"][:2]]
    columns = [record["components"].index(n) for n in names]
    z = stats.norm.ppf(np.array(runs["point"].tolist())[:, columns])
    failed = limit_state.parse(record["failure"]).failed(runs, sc.touchdown_limits)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for level in sorted(runs.level.unique()):
        at = (runs.level == level).to_numpy()
        ax.scatter(*z[at & ~failed].T, s=6, alpha=0.6, label=f"level {level}", rasterized=True)
    ax.scatter(*z[failed].T, s=10, color="tab:red", label="failed", rasterized=True)
    ax.set(xlabel=f"{names[0]} [z]", ylabel=f"{names[1]} [z]", title="Runs by level")
    ax.legend(fontsize=8)
    return figure(fig, "levels and the failure region")
