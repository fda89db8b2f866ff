"""The report's section on landing hazards (`dynamics.hazards`) and hazard avoidance
(`gnc.fdir.hazard_avoidance`): what the ground held and what tipped landers over; where the
flight software avoided hazards, what it chose (a safe site, none safe, no map), how far it
diverted, and the chosen sites as the truth has them (the slope the pads rest on, the
ground's roughness under the lander) against the safety map's thresholds and the touchdown
limits, with the share of chosen sites the truth puts beyond the map's thresholds (a false
safe). The safety map's rates over every site it judges need the truth at each: measured by
`benchmarks/hazard_avoidance.py`."""

import math

import matplotlib.pyplot as plt
import numpy as np

from sims.analysis import campaign_statistics
from sims.analysis.html_page import figure, percent, table

CHOICE_LABELS = {
    "safe_site": "a safe site",
    "no_safe_site": "none safe: the target",
    "no_hazard_map": "no map: the target",
}


def section(sc, runs):
    """The section's HTML, empty when the scenario has neither hazards nor their avoidance."""
    field = sc.terrain.hazards
    functions = getattr(sc.flight_software, "fdir", {})  # ours has FDIR functions, others none
    hda = functions.get("hazard_avoidance")
    if field is None and hda is None:
        return ""
    parts = ["<h2>Hazards</h2>"]
    if field is not None:
        tipped = runs.failure_class.value_counts()
        parts.append(
            f"<p>Hazard field {field.downrange[1] - field.downrange[0]:.0f} x "
            f"{field.crossrange[1] - field.crossrange[0]:.0f} m at {field.spacing:g} m: boulders "
            f"N(&ge; D) = {field.boulder_density:g} D<sup>-{field.boulder_exponent:g}</sup> per "
            f"m<sup>2</sup> from {field.min_boulder_diameter:g} to "
            f"{field.max_boulder_diameter:g} m (rock abundance {field.rock_abundance:.1%}), "
            f"fresh craters at {field.fresh_crater_density:g} of the equilibrium density from "
            f"{field.min_fresh_crater_diameter:g} to {field.max_fresh_crater_diameter:g} m. "
            f"Tipped on a boulder: {int(tipped.get('tipped_on_boulder', 0))}; in a fresh crater: "
            f"{int(tipped.get('tipped_in_fresh_crater', 0))}; on a slope elsewhere: "
            f"{int(tipped.get('tipped_on_slope', 0))} of {len(runs)} runs.</p>"
        )
    if hda is None:
        return "".join(parts)
    choices = [site_choice(events) for events in runs.events]
    n = len(runs)
    rows = []
    for choice, label in CHOICE_LABELS.items():
        mask = np.array([c == choice for c, _ in choices])
        if not mask.any():
            continue
        landed = int((runs.outcome[mask] == campaign_statistics.LANDED).sum())
        rows.append(
            (label, int(mask.sum()), percent(landed / mask.sum(), *_wilson(landed, mask.sum())))
        )
    undecided = sum(c is None for c, _ in choices)
    if undecided:
        rows.append(("never chose (no terminal descent)", undecided, "-"))
    parts.append(
        f"<p>Hazard avoidance ({hda.mode}) on the channel '{hda.sensor}': what each of {n} runs "
        "chose, and how many of those landed (95 % Wilson).</p>"
        + table(("choice", "runs", "landed"), rows)
    )
    diverts = np.array([d for c, d in choices if c == "safe_site"])
    spec = sc.sensors.channels[hda.sensor]
    chosen = runs[[c == "safe_site" for c, _ in choices]].dropna(subset=["slope_deg"])
    if diverts.size:
        parts.append(figure(_divert_figure(diverts), "divert distances"))
    if not chosen.empty:
        slope_limit = math.degrees(spec.max_slope)
        beyond = (chosen.slope_deg > slope_limit) | (chosen.ground_roughness_m > spec.leg_clearance)
        k = int(beyond.sum())
        share = percent(k / len(chosen), *_wilson(k, len(chosen)))
        parts.append(
            "<p>The chosen sites in the truth: the slope the lander's pads rest on and the "
            "ground's largest distance from its plane under the lander, against the map's "
            f"thresholds ({slope_limit:.1f} deg, {spec.leg_clearance:g} m) and the touchdown "
            f"slope limit ({math.degrees(sc.touchdown_limits.slope):.1f} deg). Beyond a "
            f"threshold of the map (a false safe): {share} of {len(chosen)}.</p>"
        )
        parts.append(figure(_site_figure(chosen, spec, sc), "chosen sites in the truth"))
    return "".join(parts)


def site_choice(events):
    """(choice, divert [m]) of a run's site_selected event (runs table events), or (None, NaN)."""
    for e in events:
        if e["kind"] == "site_selected":
            return e["subject"], e["value"]
    return None, math.nan


def _wilson(k, n):
    return campaign_statistics.wilson_interval(int(k), int(n))


def _divert_figure(diverts):
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    ax.hist(diverts, bins=30, color="tab:blue")
    ax.set(
        xlabel="divert distance [m]",
        ylabel="runs",
        title=f"Divert to the chosen site (median {np.median(diverts):.1f} m)",
    )
    return fig


def _site_figure(chosen, spec, sc):
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.5))
    a.hist(chosen.slope_deg, bins=30, color="tab:green")
    a.axvline(math.degrees(spec.max_slope), color="k", ls="--", label="map's threshold")
    a.axvline(math.degrees(sc.touchdown_limits.slope), color="tab:red", label="touchdown limit")
    a.set(xlabel="slope under the pads [deg]", ylabel="runs", title="Chosen sites: slope")
    a.legend()
    b.hist(chosen.ground_roughness_m, bins=30, color="tab:green")
    b.axvline(spec.leg_clearance, color="k", ls="--", label="map's threshold")
    b.set(xlabel="roughness under the lander [m]", title="Chosen sites: roughness")
    b.legend()
    fig.tight_layout()
    return fig
