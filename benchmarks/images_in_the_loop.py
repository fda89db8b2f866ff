"""Image navigation flown two ways on the same seeds: the calibrated statistical model (the
campaign mode) and the real pipeline on rendered frames in the loop (`descent run --images`).

    python benchmarks/in_the_loop.py FIT.toml [--seeds N] [--pixels P]

FIT.toml is the scenario `descent calibrate-trn SCENARIO --out FIT.json --pixels P` wrote.
Per seed and mode: outcome, distance from the target at touchdown, the navigation's
position error at touchdown and its horizontal error when the camera's window closes (the
last image time), and, in the loop, the images, fixes and the fixes' RMS per-axis error
against the 1 sigma they were reported with.
"""

import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api
from sims.images import in_the_loop
from sims.scenarios import scenario


def horizontal_error_at(trajectory, t_s):
    """The navigation's position error [m] at the trace sample nearest t_s."""
    t = trajectory.column("t_s").to_numpy()
    k = int(np.argmin(np.abs(t - t_s)))
    return float(trajectory.column("nav_position_error_m").to_numpy()[k])


def row(mode, seed, result, window_end_s, log=None):
    s = result.summary
    td = s["touchdown"] or {}
    cells = [
        mode,
        str(seed),
        s["outcome"],
        f"{td.get('position_error_m', math.nan):.1f}",
        f"{s['navigation']['final_position_error_m']:.2f}",
        f"{horizontal_error_at(result.trajectory, window_end_s):.2f}",
    ]
    if log is None:
        cells += ["", "", ""]
    else:
        fixes = [r for r in log if not r["reason"]]
        e = np.array([[r["fix_error_downrange_m"], r["fix_error_crossrange_m"]] for r in fixes])
        sigma = np.array([r["fix_sigma_m"] for r in fixes])
        cells += [
            f"{len(log)} / {len(fixes)}",
            f"{np.sqrt(np.mean(e**2)):.1f}" if fixes else "",
            f"{np.sqrt(np.mean(sigma**2)):.1f}" if fixes else "",
        ]
    return "| " + " | ".join(cells) + " |"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("fit", help="the calibrated scenario calibrate-trn wrote")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--pixels", type=int, default=256)
    args = parser.parse_args()
    sc = scenario.load(args.fit)
    print(
        "| mode | seed | outcome | from target [m] | nav error at touchdown [m] "
        "| nav error at the last image [m] | images / fixes | fix RMS error per axis [m] "
        "| reported 1 sigma (RMS) [m] |"
    )
    print("| --- |" + " --- |" * 8)
    with tempfile.TemporaryDirectory() as folder:
        for seed in range(args.seeds):
            result, log = in_the_loop.run(sc, seed, Path(folder) / f"seed{seed}", args.pixels)
            last_image_s = log[-1]["t_s"] if log else 0.0
            print(row("statistical", seed, api.run(sc, seed), last_image_s), flush=True)
            print(row("pipeline", seed, result, last_image_s, log), flush=True)


if __name__ == "__main__":
    main()
