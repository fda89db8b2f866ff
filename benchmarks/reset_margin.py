"""How long the engine may stay off after a computer reset at 14 km and the lander still land
(historical pair 5, Beresheet): `beresheet_reset_improved` flown with the engine kept off for
each delay, on the same seeds (the restart replans braking on the engine's full range).

    python benchmarks/reset_margin.py [--runs N] [--delays 5,20,...]

Per delay: runs landed (95 % Wilson interval), the median altitude and speeds when the engine
comes back, and the median touchdown descent rate.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api
from sims.analysis import campaign_statistics
from sims.scenarios import scenario


def flown(delay_s):
    """beresheet_reset_improved with the engine kept off delay_s [s] after the reset."""
    d = scenario.read_data("beresheet_reset_improved")[1]
    for fault in d["faults"]:
        if fault["mode"] == "reset":
            fault["relight_delay"] = f"{delay_s} s"
    return d


def at_relight(run, delay_s):
    """(altitude [m], descent rate [m/s], horizontal speed [m/s]) when the engine may relight."""
    trace = run.trajectory.to_pandas()
    reset = next(e["t_s"] for e in run.summary["events"] if e.get("mode") == "reset")
    row = trace.iloc[int(np.argmin(np.abs(trace.t_s.to_numpy() - reset - delay_s)))]
    return row.altitude_m, -row.vertical_speed_mps, row.horizontal_speed_mps


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--delays", default="5,20,30,40,50,60,120")
    args = parser.parse_args()
    for delay in (float(x) for x in args.delays.split(",")):
        runs = api.run_seeds(flown(delay), range(args.runs))
        landed = sum(r.outcome == "landed" for r in runs)
        low, high = campaign_statistics.wilson_interval(landed, len(runs))
        altitude, down, across = np.median([at_relight(r, delay) for r in runs], axis=0)
        touchdown = np.median([r.summary["touchdown"]["descent_rate_mps"] for r in runs])
        print(
            f"engine off {delay:4.0f} s: {landed}/{len(runs)} landed ({100 * low:.0f}-"
            f"{100 * high:.0f} %); relit at {altitude:.0f} m, {down:.0f} m/s down, "
            f"{across:.0f} m/s sideways; touchdown {touchdown:.1f} m/s down"
        )


if __name__ == "__main__":
    main()
