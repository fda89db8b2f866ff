"""Hazard detection and avoidance over the bundled rough site (issue 30's proof):

1. the safety map against the truth: images of the rough site from 60 m (upright, over random
   points of its hazard field), every site the hazard lidar's processing judges compared with
   the truth's verdict by the same thresholds (the slope of the plane fitted to the true ground
   over the footprint, the true ground's largest distance from it: `dynamics.touchdown.
   footprint_plane`): false-safe (judged safe, truly beyond a threshold) and false-hazard
   (judged unsafe, truly within both) rates, with 95 % Wilson intervals; and false-safe by
   consequence: the lander resting there in the truth (its pads, twelve headings) beyond the
   touchdown slope limit;
2. the same dispersed runs of `rough_site` (no HDA) and `rough_site_hda` (campaign seed 0):
   landing rates, failure classes, and what HDA costs, run by run (the runs are the same until
   the low gate: paired differences of propellant and delta-v), the divert distances and the
   chosen sites' true slope and roughness.

    python benchmarks/hazard_avoidance.py [--images N] [--runs N] [--workers W] [--out DIR]
"""

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dynamics import terrain, terrain_section, touchdown  # noqa: E402
from sensors import bus, hazard_lidar  # noqa: E402
from sims.analysis import campaign_statistics, report_hazards  # noqa: E402
from sims.scenarios import scenario  # noqa: E402
from tests.sims.scenarios import upright_pose  # noqa: E402


def resting_tilt(truth, pads, x, y, headings=12):
    """Largest tilt [rad] of the lander resting on the true ground at (x, y) over headings
    (pads: their horizontal positions from the centre of mass [m])."""
    worst = 0.0
    for heading in np.arange(headings) * (2 * math.pi / headings):
        c, s = math.cos(heading), math.sin(heading)
        ground = np.array([(px * c - py * s, px * s + py * c, 0.0) for px, py in pads])
        for g in ground:
            g[2] = terrain.height_and_gradient(truth.tiles, truth.heights, x + g[0], y + g[1])[0]
        worst = max(worst, touchdown.support_tilt(ground))
    return worst


def safety_map_rates(images, seed=0):
    """(judged safe, false safe, judged unsafe, false hazard, false safe by consequence) site
    counts over images."""
    sc = scenario.load("rough_site_hda")
    spec_model = sc.sensors.channels["hazard_lidar"]
    spec = hazard_lidar.pack(spec_model)
    truth = terrain_section.truth_terrain(sc.site, sc.terrain)
    field = sc.terrain.hazards
    state = np.zeros(1, bus.CHANNEL_STATE_DTYPE)[0]
    state["stream"] = (seed, 1, 2, 3)
    state["performance"] = 1.0
    rng = np.random.default_rng(seed)
    counts = np.zeros(5, int)
    pads = [(p[0], p[1]) for p in sc.vehicle.landing_gear]
    slope_limit = sc.touchdown_limits.slope
    reach = field.downrange[1] - 40.0
    for x, y in rng.uniform(-reach, reach, (images, 2)):
        pose = upright_pose(truth.site, x, y, 60.0)
        points, sigma_h = hazard_lidar.range_image(spec, pose, truth, state)
        grid, x0, y0 = hazard_lidar.elevation_map(points, spec["cell_m"])
        sites = hazard_lidar.judge_sites(spec, grid, (x0, y0), sigma_h)
        for sx, sy, margin, _, _ in sites:
            # the map's site is from the sensor (at the body origin here): on the ground
            tilt, rough = touchdown.footprint_plane(
                truth.tiles,
                truth.heights,
                (x + sx, y + sy),
                spec["footprint_radius_m"],
                field.spacing,
            )
            hazardous = tilt > spec["max_slope_rad"] or rough > spec["leg_clearance_m"]
            if margin > 0.0:
                counts[0] += 1
                counts[1] += hazardous
                counts[4] += resting_tilt(truth, pads, x + sx, y + sy) > slope_limit
            else:
                counts[2] += 1
                counts[3] += not hazardous
    return counts


def rate(k, n):
    lo, hi = campaign_statistics.wilson_interval(k, n)
    return f"{k / n:.2%} ({lo:.2%}-{hi:.2%}), {k} of {n}"


def campaign(name, runs, workers, out):
    folder = Path(out) / name
    subprocess.run(
        [
            sys.executable,
            "-m",
            "sims.cli",
            "mc",
            name,
            "--runs",
            str(runs),
            "--workers",
            str(workers),
            "--out",
            str(folder),
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    return pq.read_table(folder / "runs.parquet").to_pandas()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()

    if args.images:
        safe, false_safe, unsafe, false_hazard, tipping = safety_map_rates(args.images)
        print(f"safety map, {args.images} images of the rough site from 60 m:")
        print(f"  false safe:   {rate(false_safe, safe)} sites judged safe")
        print(f"  false hazard: {rate(false_hazard, unsafe)} sites judged unsafe")
        print(f"  judged safe, the lander would tip there: {rate(tipping, safe)}")
    if not args.runs:
        return
    out = args.out or tempfile.mkdtemp(prefix="hda-")
    without = campaign("rough_site", args.runs, args.workers, out)
    with_hda = campaign("rough_site_hda", args.runs, args.workers, out)
    for label, runs in (("without HDA", without), ("with HDA", with_hda)):
        landed = int((runs.outcome == "landed").sum())
        print(f"{label}: landed {rate(landed, len(runs))}")
        print("  failure classes:", runs.failure_class.value_counts().to_dict())
    both = without.merge(with_hda, on="run", suffixes=("_without", "_with"))
    for column, unit in (("propellant_used_kg", "kg"), ("delta_v_mps", "m/s")):
        d = both[f"{column}_with"] - both[f"{column}_without"]
        half = 1.96 * d.std(ddof=1) / math.sqrt(len(d))
        print(
            f"HDA's cost, {column}: mean {d.mean():.2f} {unit} (+-{half:.2f}, 95 %), "
            f"median {d.median():.2f}, 99th percentile {d.quantile(0.99):.2f}"
        )
    choices = [report_hazards.site_choice(e) for e in with_hda.events]
    kinds = {}
    for choice, _ in choices:
        kinds[choice] = kinds.get(choice, 0) + 1
    diverts = np.array([d for c, d in choices if c == "safe_site"])
    print("site choices:", kinds)
    print(
        f"divert distance [m]: median {np.median(diverts):.1f}, 95th percentile "
        f"{np.percentile(diverts, 95):.1f}, largest {diverts.max():.1f}"
    )
    touched = with_hda.dropna(subset=["slope_deg"])
    print(
        f"chosen sites in the truth: slope median {touched.slope_deg.median():.2f} deg, "
        f"largest {touched.slope_deg.max():.2f}; roughness median "
        f"{touched.ground_roughness_m.median():.3f} m, largest "
        f"{touched.ground_roughness_m.max():.3f}"
    )
    print(f"campaigns in {out}")


if __name__ == "__main__":
    main()
