"""Navigation consistency over full descents: the mean NEES of position, velocity and attitude
at the end of braking, of the approach and of the run, over N seeds of the nominal and of
terrain variants (no craters, craters at the equilibrium density, the map at 5 m and at
50 m), of two rangefinders and a Doppler lidar ungated and on recovering gates, and of the
bundled rangefinder + Doppler lidar and full suites, with the two-sided 95 % band of a
consistent filter for that many runs, the median position error against the filter's
claimed position sigma at the end, and how many runs end braking or the run with a position
NEES above chi-square(3)'s 99.9 % point (16.3; a consistent filter: 1 in 1,000), the runs
locked onto the wrong craters that one draw of seeds has and another has not. --first-seed
flies another draw (seeds S to S + N - 1); --only the variants whose names contain a text.

    python benchmarks/nav_consistency.py [--runs N] [--first-seed S] [--only TEXT ...]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dynamics import chi_square
from sims import api
from sims.run import consistency
from tests.sims.scenarios import RECOVERING_GATE, full_suite, terrain_variant


def variants():
    """{name: scenario dict or bundled name}: the nominal, its terrain and map variants, and
    the sensor suites."""
    return {
        "nominal": terrain_variant(),
        "no craters": terrain_variant(density=0.0),
        "dense craters": terrain_variant(density=1.0),
        "map at 5 m": terrain_variant(map_resolution="5 m"),
        "map at 50 m": terrain_variant(map_resolution="50 m"),
        "2 rangefinders and a 3-beam Doppler lidar, ungated": full_suite(),
        "the same, recovering gates": full_suite(gate=RECOVERING_GATE),
        "bundled nominal_doppler_lidar (recovering gates)": "nominal_doppler_lidar",
        "bundled nominal_full_suite": "nominal_full_suite",
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--only", nargs="+", default=[""])
    args = parser.parse_args()
    low, high = consistency.band(args.runs)
    tail = chi_square.quantile(0.999, 3)
    seeds = range(args.first_seed, args.first_seed + args.runs)
    band = f"{low:.2f}-{high:.2f}"
    print(f"seeds {seeds.start}-{seeds.stop - 1}; 95 % band of a mean NEES (3 dof): {band}")
    header = " | ".join(f"{c} pos/vel/att" for c in consistency.CHECKPOINTS)
    print(
        f"| terrain | landed | {header} | position error / sigma at the end (median, m) "
        f"| runs above {tail:.1f} (braking, end) |"
    )
    chosen = {n: d for n, d in variants().items() if any(text in n for text in args.only)}
    for name, d in chosen.items():
        b = api.prepare(d, seeds=seeds)
        api.execute(b)
        s = b.summary
        means = consistency.mean_nees(s["nees"])
        cells = [
            "/".join(f"{means[checkpoint, block][0]:.2f}" for block in consistency.BLOCKS)
            for checkpoint in consistency.CHECKPOINTS
        ]
        landed = np.mean(s["outcome"] == 0)
        error = np.median(s["nav_position_error_m"])
        sigma = np.median(s["nav_position_3sigma_m"]) / 3
        position = s["nees"]["position"]
        braking = np.sum(position[:, consistency.CHECKPOINTS.index("end_braking")] > tail)
        end = np.sum(position[:, consistency.CHECKPOINTS.index("end")] > tail)
        print(
            f"| {name} | {landed:.3f} | {' | '.join(cells)} | {error:.1f} / {sigma:.1f} "
            f"| {braking}, {end} |"
        )


if __name__ == "__main__":
    main()
