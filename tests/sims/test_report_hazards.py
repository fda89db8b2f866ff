"""The report's hazards section (`sims.analysis.report_hazards`) counts what the runs say:
choices and how many of each landed, tip-overs by what tipped them, and the chosen sites the
truth puts beyond the map's thresholds (a false safe), with their Wilson intervals computed
here by the textbook formula."""

import math

import pandas as pd

from sims.analysis import report_hazards
from sims.scenarios import scenario


def events(choice, divert):
    return [
        {"t_s": 540.0, "kind": "hazard_map", "subject": "hazard_lidar", "value": 0.3},
        {"t_s": 540.0, "kind": "site_selected", "subject": choice, "value": divert},
    ]


def wilson(k, n, z=1.959963984540054):
    centre = (k + z * z / 2) / (n + z * z)
    half = z / (n + z * z) * math.sqrt(k * (n - k) / n + z * z / 4)
    return f"{100 * k / n:.1f} % ({100 * (centre - half):.1f} to {100 * (centre + half):.1f})"


def test_the_section_counts_choices_landings_and_false_safes():
    sc = scenario.load("rough_site_hda")
    runs = pd.DataFrame(
        {
            "outcome": ["landed", "landed", "tipped_over", "landed", "landed"],
            "failure_class": [None, None, "tipped_on_boulder", None, None],
            "slope_deg": [1.0, 9.0, 14.0, 2.0, 0.5],  # the map's threshold: 8 deg
            "ground_roughness_m": [0.05, 0.1, 0.4, 0.3, 0.02],  # its clearance: 0.25 m
            "events": [
                events("safe_site", 3.0),
                events("safe_site", 5.0),
                events("safe_site", 7.0),
                events("safe_site", 2.0),
                events("no_safe_site", 0.0),
            ],
        }
    )
    html = report_hazards.section(sc, runs)
    assert "Tipped on a boulder: 1; in a fresh crater: 0; on a slope elsewhere: 0 of 5" in html
    # four chose a safe site, three of them landed; one kept the target and landed
    assert f"<td>a safe site</td><td>4</td><td>{wilson(3, 4)}</td>" in html
    assert f"<td>none safe: the target</td><td>1</td><td>{wilson(1, 1)}</td>" in html
    # beyond a threshold in the truth: 9 deg, 14 deg and 0.4 m, 0.3 m: three of the four
    assert f"(a false safe): {wilson(3, 4)} of 4." in html
    assert html.count("<img") == 2  # divert distances, chosen sites


def test_no_section_without_hazards():
    assert report_hazards.section(scenario.load("nominal"), pd.DataFrame()) == ""
