"""The bundled sensor suites compared on the same dispersed runs: the nominal (laser
rangefinder only), nominal_doppler_lidar, nominal_radar_camera and nominal_full_suite share the
nominal's lander, profile, terrain and dispersions, and with one campaign seed fly the same
dispersed vehicles and PDI states.

    python benchmarks/sensor_suites.py [--runs N] [--seed S] [--suites a,b,...]

Per suite: landing rate with its 95 % Wilson interval and the failures by cause; landing
error, touchdown vertical and horizontal speed and the navigation's velocity error at
touchdown (median and 99th percentile over the runs that touched down); wall time per run.
"""

import argparse
import collections
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims.analysis import campaign_statistics
from sims.campaigns import campaign

SUITES = ("nominal", "nominal_doppler_lidar", "nominal_radar_camera", "nominal_full_suite")
MEASURES = (
    ("landing_error_m", "landing error [m]"),
    ("descent_rate_mps", "vertical speed [m/s]"),
    ("horizontal_speed_mps", "horizontal speed [m/s]"),
    ("nav_velocity_error_mps", "velocity knowledge error [m/s]"),
)


def compare(suite, runs, seed):
    """The figures of one suite's campaign (a dict, printed by `show`)."""
    start = time.perf_counter()
    table = campaign.run(suite, runs=runs, seed=seed).to_pandas()
    seconds = time.perf_counter() - start
    landed = int((table.outcome == "landed").sum())
    touched = table[table.descent_rate_mps.notna()]
    failed = table[table.outcome != "landed"]
    return {
        "suite": suite,
        "runs": len(table),
        "landed": landed,
        "interval": campaign_statistics.wilson_interval(landed, len(table)),
        "causes": collections.Counter(failed.failure_class.fillna(failed.outcome)),
        "failed_runs": failed.run.tolist(),
        "measures": {
            column: (float(np.median(touched[column])), float(np.percentile(touched[column], 99)))
            for column, _ in MEASURES
        },
        "seconds_per_run": seconds / len(table),
    }


def show(figures):
    low, high = figures["interval"]
    n = figures["runs"]
    print(
        f"{figures['suite']}: landed {figures['landed']} of {n} "
        f"({100 * figures['landed'] / n:.2f} %, 95 % Wilson {100 * low:.2f}-{100 * high:.2f} %), "
        f"{1000 * figures['seconds_per_run']:.0f} ms a run on this machine's cores"
    )
    if figures["causes"]:
        causes = ", ".join(f"{cause} {count}" for cause, count in figures["causes"].items())
        print(f"  failures: {causes} (runs {figures['failed_runs'][:20]})")
    for column, label in MEASURES:
        median, p99 = figures["measures"][column]
        print(f"  {label:32s} median {median:9.3f}   99th percentile {p99:9.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--suites", default=",".join(SUITES))
    args = parser.parse_args()
    for suite in args.suites.split(","):
        show(compare(suite, args.runs, args.seed))


if __name__ == "__main__":
    main()
