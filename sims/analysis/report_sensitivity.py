"""The report's sections on what drives the outcome (`sims.analysis.report`): Spearman rank
correlations of each dispersed value against failure and landing error, Sobol indices for a
campaign of the saltelli design (`uncertainty.sobol_indices`), and a sweep's statistics with
a figure per swept field (`sims.campaigns.sweeps`).
"""

import matplotlib.pyplot as plt
import numpy as np

from sims.analysis import campaign_statistics
from sims.analysis.html_page import figure, percent, table
from sims.campaigns import limit_state, sweeps
from sims.scenarios import field_paths
from uncertainty import sobol_indices

LANDING = limit_state.parse('outcome != "landed"')  # its margin: the Sobol indices' output
NOISE = "the run's noise (sensors, faults)"  # the saltelli design's last input


def sensitivity(runs, sc, manifest):
    rows = campaign_statistics.sensitivity(runs)
    if not rows:
        return "<h2>Sensitivity</h2><p class='note'>no dispersed parameters</p>"
    sobol = sobol_table(runs, sc) if manifest.get("design") == "saltelli" else ""
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
        "<h2>Sensitivity</h2><p>Each dispersed value, and whether each fault occurred (0 or 1), "
        "against failure and landing error; a fault's trigger and magnitude over the runs it "
        "occurred in.</p>"
        + figure(fig, "sensitivity")
        + table(
            ("dispersed value", "rho: failure", "p", "rho: landing error", "p"),
            [(c, f"{a:+.3f}", f"{pa:.2g}", f"{b:+.3f}", f"{pb:.2g}") for c, a, pa, b, pb in rows],
        )
        + sobol
    )


def sweep(runs, spec, sc):
    """A sweep's statistics at each grid point, and a figure per swept field: the landed
    share with its 95 % Wilson interval and the landing error's median against its value."""
    rows = sweeps.statistics(runs, spec)
    paths = sweeps.paths(spec)
    figures = []
    for path in paths:
        at = [r for r in rows if path in r]
        x = np.array([r[path] for r in at])
        landed = np.array([r["landed"] for r in at])
        bars = np.array(
            [[r["landed"] - r["landed_low"], r["landed_high"] - r["landed"]] for r in at]
        )
        fig, ax = plt.subplots(figsize=(7, 3.8))
        ax.errorbar(x, 100 * landed, yerr=100 * bars.T, fmt="o-", capsize=3, label="landed")
        unit = field_paths.unit(sc, path) or "-"
        ax.set(xlabel=f"{path} [{unit}]", ylabel="landed [%]", title=f"Sweep of {path}")
        twin = ax.twinx()
        twin.plot(x, [r["landing_error_median_m"] for r in at], "s--", color="tab:orange")
        twin.set_ylabel("landing error median [m]", color="tab:orange")
        fig.tight_layout()
        figures.append(figure(fig, f"sweep of {path}"))
    return (
        "<h2>Sweep</h2><p>Each grid point's runs (its fields set, the other dispersions as "
        "the scenario's); landed with its 95 % Wilson interval. The other sections read all "
        "the points' runs together.</p>"
        + "".join(figures)
        + table(
            ("point", *paths, "runs", "landed", "landing error median / 99 % [m]"),
            [
                (
                    r["point"],
                    *(f"{r[p]:.6g}" if p in r else "nominal" for p in paths),
                    r["runs"],
                    percent(r["landed"], r["landed_low"], r["landed_high"]),
                    f"{r['landing_error_median_m']:.1f} / {r['landing_error_p99_m']:.1f}",
                )
                for r in rows
            ],
        )
    )


def sobol_table(runs, sc):
    """First-order and total Sobol indices (`uncertainty.sobol_indices`) of the landing
    margin (the smallest slack of the landing limits, `sims.campaigns.limit_state`) and, when
    every run touched down, of the landing error, for a campaign of the saltelli design."""
    components = [*field_paths.components(sc, sc.dispersions), NOISE]
    outputs = {"landing margin": LANDING.margin(runs, sc.touchdown_limits)}
    if runs.landing_error_m.notna().all():
        outputs["landing error"] = runs.landing_error_m.to_numpy()
    found = {
        name: sobol_indices.indices(y, len(components))
        for name, y in outputs.items()
        if np.ptp(y) > 0.0  # a constant has no variance to apportion
    }
    if not found:
        return "<h3>Sobol indices</h3><p class='note'>every run had the same landing margin</p>"
    order = np.argsort(-next(iter(found.values()))["ST"], kind="stable")

    def cell(got, key, j):
        return f"{got[key][j]:.3f} ± {got[f'{key}_conf'][j]:.3f}"

    return (
        "<h3>Sobol indices</h3><p>The share of each output's variance a component explains "
        "alone (S1) and with its interactions (ST), with 95 % bootstrap half-widths (Saltelli "
        "sampling, SALib), the run's own noise (its sensors' streams, whether its faults "
        "occur) among them as one more input. S1 sums to less than one where inputs "
        "interact.</p>"
        + table(
            ("component", *(f"{k} {name}" for name in found for k in ("S1", "ST"))),
            [
                (components[j], *(cell(got, k, j) for got in found.values() for k in ("S1", "ST")))
                for j in order
            ],
        )
    )
