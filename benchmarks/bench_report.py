"""Report speed and size on a large campaign: flies N dispersed runs of the nominal (the
dispersions of `bench_campaign.py`, and a rangefinder degradation that occurs in a tenth of
the runs at a dispersed time) into a temporary folder, then times `descent report` on it and
prints the HTML's size.

    python benchmarks/bench_report.py [--runs N]
"""

import argparse
import sys
import tempfile
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_campaign import DISPERSIONS
from sims.analysis import report
from sims.campaigns import campaign
from sims.scenarios import scenario


def scenario_with_faults():
    data = tomllib.loads(scenario.read_text("nominal")[1])
    data["faults"] = [
        {
            "name": "rangefinder_degraded",
            "target": "laser_rangefinder",
            "mode": "degraded",
            "factor": 0.04,
            "probability": 0.1,
            "trigger": {"time": "300 s"},
        }
    ]
    data["dispersions"] = DISPERSIONS | {
        "faults.rangefinder_degraded.trigger": {
            "distribution": "uniform",
            "loc": "0 s",
            "scale": "400 s",
        }
    }
    return data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "c"
        t0 = time.perf_counter()
        campaign.run(scenario_with_faults(), runs=args.runs, seed=5, out=out)
        flown = time.perf_counter() - t0
        t0 = time.perf_counter()
        text = report.build(out)
        seconds = time.perf_counter() - t0
    print(
        f"{args.runs} runs flown in {flown:.0f} s; report built in {seconds:.1f} s, "
        f"{len(text.encode()) / 2**20:.2f} MiB of HTML"
    )


if __name__ == "__main__":
    main()
