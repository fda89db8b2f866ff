"""Navigation consistency over full descents: the mean NEES of position, velocity and attitude
at the end of braking, of the approach and of the run, over N seeds of the nominal and of
terrain variants (no craters, craters at the equilibrium density, the map at 5 m and at
50 m), of two rangefinders and a Doppler lidar ungated and on recovering gates, and of the
bundled rangefinder + Doppler lidar and full suites, with the two-sided 95 % band of a
consistent filter for that many runs, and the median position error against the filter's
claimed position sigma at the end.

    python benchmarks/nav_consistency.py [--runs N]
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

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
    args = parser.parse_args()
    low, high = consistency.band(args.runs)
    print(f"{args.runs} runs; 95 % band of a mean NEES (3 dof): {low:.2f}-{high:.2f}")
    header = " | ".join(f"{c} pos/vel/att" for c in consistency.CHECKPOINTS)
    print(f"| terrain | landed | {header} | position error / sigma at the end (median, m) |")
    for name, d in variants().items():
        b = api.prepare(d, seeds=range(args.runs))
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
        print(f"| {name} | {landed:.3f} | {' | '.join(cells)} | {error:.1f} / {sigma:.1f} |")


if __name__ == "__main__":
    main()
