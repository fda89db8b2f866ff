"""Landing statistics of the bundled closed-loop scenarios over a dispersed campaign: landing rate
and the mean and spread of the touchdown state, each with its standard error, so that two
versions of the code can be compared run for run (same scenario, dispersions and seed).

    python benchmarks/landing_statistics.py [--runs N] [--seed S] [--json FILE]
        [--scenarios NAME ...]

The dispersions are those of `bench_campaign.py` (dry mass, thrust, engine misalignment, PDI
downrange), scaled to each vehicle. With --json the figures are also written to FILE, and
`--compare A.json B.json` prints two such files side by side with the difference in standard
errors.
"""

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import bench_campaign
from sims.campaigns import campaign
from sims.scenarios import scenario

DISPERSIONS = {
    "nominal": bench_campaign.DISPERSIONS,
    # the sensor suites and the rough sites fly the nominal's lander
    **{
        name: bench_campaign.DISPERSIONS
        for name in (
            "nominal_doppler_lidar",
            "nominal_radar_camera",
            "nominal_full_suite",
            "rough_site",
            "rough_site_hda",
        )
    },
    "apollo11": {
        "vehicle.dry_mass": {"distribution": "norm", "scale": "30 kg"},
        "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "200 N"},
        "vehicle.main_engine.misalignment": {
            "distribution": "uniform",
            "loc": "0 deg",
            "scale": "0.1 deg",
        },
        "initial.descent_orbit.downrange_to_site": {"distribution": "norm", "scale": "1 km"},
    },
}
COLUMNS = (
    "descent_rate_mps",
    "horizontal_speed_mps",
    "landing_error_m",
    "propellant_used_kg",
    "max_velocity_error_mps",
)


def statistics(name, runs, seed):
    """{measure: (mean, standard error of the mean, standard deviation)} of one campaign."""
    data = scenario.read_data(name)[1]
    data["dispersions"] = DISPERSIONS[name]
    table = campaign.run(data, runs=runs, seed=seed).to_pandas()
    landed = float((table.outcome == "landed").mean())
    out = {"landed": (landed, math.sqrt(landed * (1 - landed) / len(table)), None)}
    for column in COLUMNS:
        x = table[column].astype(float).dropna()
        out[column] = (float(x.mean()), float(x.std() / np.sqrt(len(x))), float(x.std()))
    return out


def show(name, stats):
    print(name)
    for measure, (mean, error, std) in stats.items():
        spread = f", std {std:8.3f}" if std is not None else ""
        print(f"  {measure:24s} {mean:9.3f} +- {error:.3f}{spread}")


def compare(path_a, path_b):
    a, b = json.loads(Path(path_a).read_text()), json.loads(Path(path_b).read_text())
    for name in a:
        print(f"{name}: {path_a} | {path_b} | difference in standard errors")
        for measure, (mean_a, error_a, _) in a[name].items():
            mean_b, error_b, _ = b[name][measure]
            error = math.hypot(error_a, error_b)  # 0 where both campaigns landed every run
            z = (mean_b - mean_a) / error if error else 0.0 if mean_b == mean_a else math.inf
            print(
                f"  {measure:24s} {mean_a:9.3f} +- {error_a:.3f} | {mean_b:9.3f} +- {error_b:.3f}"
                f" | {z:+.1f}"
            )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--json")
    parser.add_argument("--compare", nargs=2)
    parser.add_argument("--scenarios", nargs="+", choices=list(DISPERSIONS), default=DISPERSIONS)
    args = parser.parse_args()
    if args.compare:
        compare(*args.compare)
        return
    results = {}
    for name in args.scenarios:
        results[name] = statistics(name, args.runs, args.seed)
        show(name, results[name])
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
