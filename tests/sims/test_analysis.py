"""Campaign analysis: the runs table's touchdown point and events, the statistics of the report
against known answers, the report rendering in a real browser, and regression verdicts: a
campaign identical to its baseline passes, one with a degraded rangefinder fails on the
metrics a late rangefinder hurts."""

import html
import json
import math
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sims import cli
from sims.analysis import campaign_statistics, regression, report
from sims.campaigns import campaign
from sims.run import consistency
from tests.sims.scenarios import closed_loop

DEGRADED = [
    {
        "name": "late_rangefinder",
        "target": "laser_rangefinder",
        "mode": "degraded",
        "factor": 0.0143,
    }
]


@pytest.fixture(scope="module")
def campaigns(tmp_path_factory):
    """A nominal campaign and the same with the rangefinder's received power at 1.43 %: it
    reaches 420 m instead of 3.5 km (ispace M2's late acquisition); 120 runs each, same seed."""
    root = tmp_path_factory.mktemp("campaigns")
    out = {}
    for name, faults in (("nominal", []), ("degraded", DEGRADED)):
        d = closed_loop(faults=faults)
        d["dispersions"] = {"vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"}}
        record = {"signals": ["nav.*"], "rate": "1 Hz", "runs": "failures", "first": 10}
        campaign.run(d, runs=120, seed=3, out=root / name, traces_first=5, record=record)
        out[name] = root / name
    return out


def test_the_runs_table_holds_the_touchdown_point_contact_and_events(campaigns):
    runs = pd.read_parquet(campaigns["nominal"] / "runs.parquet")
    assert list(runs.run) == list(range(120))
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    # the landing error is the touchdown point's distance along the ground (track coordinates)
    along = np.hypot(touched.touchdown_downrange_m, touched.touchdown_crossrange_m)
    assert np.allclose(along, touched.landing_error_m, rtol=1e-12)
    # and the site's East-North plane agrees with it within the curvature over < 1 km
    flat = np.hypot(touched.touchdown_east_m, touched.touchdown_north_m)
    assert np.allclose(flat, touched.landing_error_m, rtol=1e-4)
    assert set(touched.contact) <= {f"footpad {k}" for k in range(1, 5)} | {"engine nozzle"}
    assert runs.nav_position_error_m.notna().all() and (runs.descent_rate_mps.dropna() > 0).all()
    kinds = [e["kind"] for e in runs.events[0]]
    assert kinds[:2] == ["sensor_acquired", "phase_change"] and "engine_cutoff" in kinds
    phase = next(e for e in runs.events[0] if e["kind"] == "phase_change")
    assert phase["subject"] == "braking" and phase["value"] > 14_000.0  # estimated altitude


def test_wilson_interval_matches_its_formula_and_known_values():
    # Agresti & Coull (1998): 95 % interval of 0 successes in 10 is (0, 0.2775)
    low, high = campaign_statistics.wilson_interval(0, 10)
    assert low == pytest.approx(0.0, abs=1e-12) and high == pytest.approx(0.2775, abs=1e-4)
    low, high = campaign_statistics.wilson_interval(97, 100)
    assert low < 0.97 < high and high - low == pytest.approx(0.0731, abs=2e-3)


def test_the_tolerance_bound_covers_what_it_says():
    """299 samples is the least for 99 % at 95 % (1 - 0.99^299 = 0.9505: the maximum); with
    more, the bound is the order statistic whose coverage is at least 99 % with probability
    95 %, checked by simulation."""
    assert campaign_statistics.tolerance_bound(np.arange(298.0)) == (None, 299)
    assert campaign_statistics.tolerance_bound(np.arange(299.0)) == (298.0, 299)
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(2000):
        x = rng.exponential(size=1000)
        bound, _ = campaign_statistics.tolerance_bound(x)
        covered += stats.expon.cdf(bound) >= 0.99
    assert covered / 2000 == pytest.approx(0.95, abs=3 * math.sqrt(0.95 * 0.05 / 2000) + 0.02)


def test_the_covariance_ellipse_has_the_sigma_radii():
    rng = np.random.default_rng(2)
    x, y = rng.normal(10.0, 3.0, 20_000), rng.normal(-5.0, 1.0, 20_000)
    ex, ey = campaign_statistics.covariance_ellipse(x, y, 2)
    assert ex.max() - 10.0 == pytest.approx(6.0, rel=0.03)
    assert ey.max() + 5.0 == pytest.approx(2.0, rel=0.03)


def test_sensitivity_ranks_the_parameter_that_drives_failures_first():
    rng = np.random.default_rng(3)
    n = 400
    runs = pd.DataFrame(
        {
            "vehicle.dry_mass": rng.normal(340, 3, n),
            "vehicle.main_engine.max_thrust": rng.normal(2500, 25, n),
            "landing_error_m": rng.exponential(200, n),
        }
    )
    runs["outcome"] = np.where(runs["vehicle.main_engine.max_thrust"] < 2460, "crashed", "landed")
    ranked = campaign_statistics.sensitivity(runs)
    assert ranked[0][0] == "vehicle.main_engine.max_thrust" and ranked[0][1] < -0.2
    assert abs(ranked[1][1]) < 0.15


def test_a_campaign_identical_to_its_baseline_passes(campaigns, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    assert cli.main(["baseline", str(campaigns["nominal"]), "--out", str(base)]) == 0
    capsys.readouterr()
    assert cli.main(["regress", str(campaigns["nominal"]), "--baseline", str(base)]) == 0
    assert "0 of " in capsys.readouterr().out


def test_a_degraded_rangefinder_fails_on_the_metrics_it_hurts(campaigns, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(regression.baseline(campaigns["nominal"])))
    junit, md = tmp_path / "regress.xml", tmp_path / "regress.md"
    args = ["regress", str(campaigns["degraded"]), "--baseline", str(base)]
    assert cli.main([*args, "--junit", str(junit), "--markdown", str(md)]) == 1
    failed = {
        line.split()[0] for line in capsys.readouterr().out.splitlines() if "REGRESSION" in line
    }
    # acquired at 420 m the rangefinder comes too late: landings fail with speed and tilt, and
    # the typical landing error grows (ranging over the relief no longer narrows the horizontal
    # position); the typical descent rate, held by the terminal loop, does not change
    assert {"success_rate", "cause.vertical_speed", "horizontal_speed_mps.p99"} <= failed
    assert "landing_error_m.p50" in failed and "descent_rate_mps.p50" not in failed
    suite = ET.parse(junit).getroot()
    assert int(suite.get("failures")) == len(failed) == len(suite.findall("testcase/failure"))
    assert "| success_rate |" in md.read_text() and "**regression**" in md.read_text()
    # a tolerance on a metric lets its change pass
    drop = float(
        next(
            v.interval[0]
            for v in regression.regress(campaigns["degraded"], regression.read_baseline(base))[0]
            if v.metric == "success_rate"
        )
    )
    assert cli.main([*args, "--tolerance", f"success_rate={drop + 0.01}"]) == 1
    assert "success_rate" not in {
        line.split()[0] for line in capsys.readouterr().out.splitlines() if "REGRESSION" in line
    }


def test_regress_says_what_it_compared_and_refuses_unlike_with_strict(campaigns, tmp_path, capsys):
    """A degraded campaign against the nominal's baseline: another scenario (a warning, or with
    --strict a refusal); the summaries open with what was compared and the verdict and print
    numbers, with p values at their resampling's resolution shown as bounds."""
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps(regression.baseline(campaigns["nominal"])))
    args = ["regress", str(campaigns["degraded"]), "--baseline", str(base)]
    assert cli.main([*args, "--strict"]) == 2
    err = capsys.readouterr().err
    assert "the scenario differs from the baseline's" in err and "--strict refuses" in err
    junit, md = tmp_path / "r.xml", tmp_path / "r.md"
    assert cli.main([*args, "--junit", str(junit), "--markdown", str(md)]) == 1
    assert "warning" in capsys.readouterr().err
    summary = md.read_text()
    head = summary.splitlines()
    assert head[0] == "## Landing regression: **REGRESSION**" and "metrics regressed" in head[2]
    assert head[4].startswith("- campaign: ") and "seed 3, 120 runs" in head[4]
    assert head[5].startswith("- baseline: ") and head[6].startswith("- warning: the scenario")
    xml = junit.read_text()
    for text in (summary, xml):
        assert "np.float64" not in text and "(np." not in text
    assert "| bootstrap | < 0.0005 |" in summary  # no resample came out better
    assert "| Anderson-Darling | ≤ 0.001 |" in summary  # no permutation came out as far apart
    properties = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert properties["campaign"].startswith(head[4].removeprefix("- campaign: ")[:20])
    # like for like but another seed and run count: both named
    other = json.loads(base.read_text())
    other["campaign"] |= {"campaign_seed": 4, "runs": 100}
    base.write_text(json.dumps(other))
    same = ["regress", str(campaigns["nominal"]), "--baseline", str(base)]
    assert cli.main(same) == 0
    err = capsys.readouterr().err
    assert "the seed differs from the baseline's (3 against 4)" in err
    assert "the run count differs from the baseline's (120 against 100)" in err


def test_anderson_darling_p_values_are_not_capped(campaigns):
    """The tabled p value is clipped to [0.001, 0.25]; by permutation, identical samples give
    p = 1 and far apart ones the permutation floor."""
    base = regression.baseline(campaigns["nominal"])
    verdicts = {v.metric: v for v in regression.verdicts(base, base)}
    assert verdicts["landing_error_m.distribution"].p_value == 1.0
    a = {**base, "samples": {**base["samples"]}}
    a["samples"]["landing_error_m"] = [x + 50.0 for x in base["samples"]["landing_error_m"]]
    shifted = {v.metric: v for v in regression.verdicts(a, base)}["landing_error_m.distribution"]
    assert shifted.p_value == pytest.approx(1 / (regression.PERMUTATIONS + 1))
    assert shifted.p_text == "≤ 0.001" and not shifted.passed


def test_bad_regression_input_is_one_sentence(campaigns, tmp_path, capsys):
    base = tmp_path / "baseline.json"
    base.write_text("{}")
    assert cli.main(["regress", str(campaigns["nominal"]), "--baseline", str(base)]) == 2
    assert "not a baseline written by 'descent baseline'" in capsys.readouterr().err
    base.write_text(json.dumps(regression.baseline(campaigns["nominal"])))
    args = ["regress", str(campaigns["nominal"]), "--baseline", str(base)]
    assert cli.main([*args, "--tolerance", "speed=1"]) == 2
    assert "--tolerance speed: no such metric" in capsys.readouterr().err
    assert cli.main([*args, "--tolerance", "success_rate=-1"]) == 2
    md = tmp_path / "regress.md"
    assert cli.main([*args, "--junit", str(tmp_path / "no" / "r.xml"), "--markdown", str(md)]) == 2
    assert "--junit" in capsys.readouterr().err and not md.exists()  # nothing half-written
    assert cli.main(["report", str(tmp_path)]) == 2
    assert "not a campaign folder" in capsys.readouterr().err


def test_the_report_and_the_comparison_render_in_a_browser(campaigns, tmp_path, capsys):
    """A real headless Chromium opens each HTML file from disk: every image loads, no console
    errors, and the page is not blank."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    chromium = shutil.which("chromium")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it with apt-get)")
    out = tmp_path / "report.html"
    assert cli.main(["report", str(campaigns["degraded"]), "--out", str(out)]) == 0
    compare = tmp_path / "compare.html"
    assert (
        cli.main(
            [
                "compare",
                str(campaigns["nominal"]),
                str(campaigns["degraded"]),
                "--out",
                str(compare),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "late_rangefinder" in text and "Landing dispersion" in text and "<script" not in text
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        for page_file in (out, compare):
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            errors = []
            page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            page.goto(page_file.as_uri())
            loaded = page.evaluate(
                "Array.from(document.images).map(i => i.complete && i.naturalWidth > 0)"
            )
            assert loaded and all(loaded), page_file
            assert errors == []
            shot = np.frombuffer(page.screenshot(full_page=True, type="jpeg"), np.uint8)
            assert len(shot) > 20_000  # a blank page compresses to a few kB
        browser.close()
    sizes = {"report": out.stat().st_size, "compare": compare.stat().st_size}
    assert all(s < 10 * 2**20 for s in sizes.values()), sizes


def test_fault_effects_rank_the_damaging_fault_and_time_the_gate_reactions():
    rng = np.random.default_rng(4)
    n = 200
    runs = pd.DataFrame(
        {
            "faults.harmless.occurs": rng.random(n) < 0.5,
            "faults.bad.occurs": rng.random(n) < 0.5,
            "faults.bad.trigger": rng.uniform(100.0, 500.0, n),
        }
    )
    runs["outcome"] = np.where(runs["faults.bad.occurs"], "crashed", "landed")

    def events(row):
        out = []
        if row["faults.bad.occurs"]:
            t = row["faults.bad.trigger"]
            out += [
                {"t_s": t, "kind": "fault_activated", "subject": "bad", "value": 0.0},
                {"t_s": t + 2.0, "kind": "measurement_rejected", "subject": "lrf", "value": 30.0},
                {"t_s": t + 5.0, "kind": "sensor_recovered", "subject": "lrf", "value": 30.0},
            ]
        return out

    runs["events"] = [events(row) for _, row in runs.iterrows()]
    bad, harmless = campaign_statistics.fault_effects(runs)
    assert (bad.name, harmless.name) == ("bad", "harmless")
    assert bad.landed_when_occurred[0] == 0.0 and bad.landed_otherwise[0] == 1.0
    assert bad.damage == 1.0 and abs(harmless.damage) < 0.2
    assert (bad.first_reaction_s, bad.recovery_s) == (2.0, 5.0)
    assert len(bad.windows) == 4 and all(rate == 0.0 for _, _, rate in bad.windows)
    # the windows' labels carry the trigger's unit
    bad, _ = campaign_statistics.fault_effects(runs, {"bad": "s"})
    assert all(label.endswith(" s") for label, _, _ in bad.windows)


def test_the_report_sets_the_filter_s_claims_against_its_errors(campaigns):
    """The navigation section's table: per checkpoint, the runs that reached it and their mean
    NEES, which is the runs table's, beside the band of a consistent filter for that count."""
    runs = pd.read_parquet(campaigns["nominal"] / "runs.parquet")
    text = report.consistency_table(runs)
    for checkpoint in consistency.CHECKPOINTS:
        reached = runs[f"nees_position_{checkpoint}"].dropna()
        low, high = consistency.band(len(reached))
        row = f"<td>{checkpoint.replace('_', ' ')}</td><td>{len(reached)}</td>"
        row += f"<td>{reached.mean():.2f}</td>"
        assert row in text and f"{low:.2f}-{high:.2f}" in text
    assert report.consistency_table(runs.drop(columns="nees_position_end")) == ""


def test_sensitivity_sees_a_deciding_fault_and_its_trigger_where_it_fired():
    """A fault that decides every failure is a 0/1 column (not skipped for having two values);
    its trigger time matters only in the runs it fired in: there, early triggers fail."""
    rng = np.random.default_rng(8)
    n = 300
    occurs = rng.random(n) < 0.4
    trigger = rng.uniform(0.0, 100.0, n)
    runs = pd.DataFrame(
        {
            "faults.f.occurs": occurs,
            "faults.f.trigger": trigger,
            "vehicle.dry_mass": rng.normal(340, 3, n),
            "landing_error_m": rng.exponential(50, n),
        }
    )
    runs["outcome"] = np.where(occurs & (trigger < 60.0), "crashed", "landed")
    ranked = {row[0]: row for row in campaign_statistics.sensitivity(runs)}
    assert "faults.f.occurs" in ranked and ranked["faults.f.occurs"][1] > 0.5
    fired = runs[occurs]
    expected = stats.spearmanr(fired["faults.f.trigger"], fired.outcome != "landed").statistic
    assert ranked["faults.f.trigger"][1] == pytest.approx(expected, rel=1e-12)
    assert ranked["faults.f.trigger"][1] < -0.7  # over all runs it would be diluted


def test_a_gaussian_spread_is_told_from_one_that_is_not():
    rng = np.random.default_rng(2)
    x, y = rng.normal(0, 30, 500), rng.normal(0, 20, 500)
    assert campaign_statistics.looks_gaussian(x, y)
    crashed = np.concatenate([x, rng.normal(1500, 30, 40)])  # a cluster 1.5 km long
    assert not campaign_statistics.looks_gaussian(
        crashed, np.concatenate([y, rng.normal(0, 20, 40)])
    )
    assert not campaign_statistics.looks_gaussian(x[:10], y[:10])  # too few to tell


def images(text):
    """{alt: RGB(A) array} of the page's embedded figures."""
    import base64
    import io
    import re

    from matplotlib import image

    return {
        html.unescape(alt): image.imread(io.BytesIO(base64.b64decode(data)), format="png")
        for alt, data in re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', text)
    }


def test_the_report_holds_the_figures_and_tables_a_review_expects(campaigns):
    folder = campaigns["degraded"]
    text = report.build(folder)
    figures = images(text)
    for alt in (
        "touchdown points over the terrain",
        "slope map",
        "touchdown state histograms",
        "descent rate against horizontal speed",
        "ground tracks",
        "estimation error against 3 sigma",
        "NEES over time",
        "altitude error of the worst runs",
        "sensitivity",
    ):
        picture = figures[alt]
        colours = np.unique(picture.reshape(-1, picture.shape[-1]).round(2), axis=0)
        assert picture.std() > 0.05 and len(colours) > 30, alt  # not blank
    runs = pd.read_parquet(folder / "runs.parquet")
    failed = runs[runs.outcome != "landed"]
    assert len(failed) > 5
    # class by phase: counted here from the events
    for failure_class, group in failed.groupby("failure_class"):
        phases = [
            [e["subject"] for e in events if e["kind"] == "phase_change"][-1]
            for events in group.events
        ]
        row = [failure_class] + [str(phases.count(p)) for p in sorted(set(phases))]
        for cell in row:
            assert f"<td>{html.escape(cell)}</td>" in text
    for k in failed.run:
        assert f"descent run --from-campaign {folder} --index {k}" in text
    assert "<th>median / worst 10 % / worst</th>" in text
    assert '{"versions"' not in text and "numpy " in text  # versions as fields
    assert text.count("nominal (nominal)") == 0  # the scenario named once


def test_the_comparison_marks_failures_and_judges_both_ways(campaigns, tmp_path):
    worse = report.compare(campaigns["nominal"], campaigns["degraded"])
    better = report.compare(campaigns["degraded"], campaigns["nominal"])
    for text in (worse, better):
        figures = images(text)
        assert {"touchdown points of A and B", "landing error CDFs"} <= set(figures)
    assert "<td>success_rate</td>" in worse
    row = re.search(r"<tr><td>success_rate</td>(.*?)</tr>", worse).group(1)
    assert row.endswith("<td>B worse</td>")
    row = re.search(r"<tr><td>success_rate</td>(.*?)</tr>", better).group(1)
    assert row.endswith("<td>B better</td>")
    runs = pd.read_parquet(campaigns["degraded"] / "runs.parquet").dropna(
        subset=["touchdown_downrange_m"]
    )
    if not campaign_statistics.looks_gaussian(
        runs.touchdown_downrange_m, runs.touchdown_crossrange_m
    ):
        assert "no ellipse is drawn over it" in worse
