"""What recording costs: a campaign of the dispersed nominal recording 20 signals at 10 Hz
(and every measurement update) of all its runs, against the same campaign recording nothing,
each in its own process: peak resident memory, wall time and what it wrote.

    python benchmarks/bench_recorder.py [--runs N] [--workers W]

The issue's target: 1,000 runs recorded at 10 Hz keep the peak under 1 GiB.
"""

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SIGNALS = [
    "truth.east_m",
    "truth.north_m",
    "truth.up_m",
    "truth.v_east_mps",
    "truth.v_north_mps",
    "truth.v_up_mps",
    "truth.altitude_m",
    "truth.mass_kg",
    "truth.throttle",
    "truth.tilt_deg",
    "nav.error_east_m",
    "nav.error_north_m",
    "nav.error_up_m",
    "nav.error_v_east_mps",
    "nav.error_v_north_mps",
    "nav.error_v_up_mps",
    "nav.sigma_east_m",
    "nav.sigma_north_m",
    "nav.sigma_up_m",
    "cmd.throttle",
]

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
from benchmarks.bench_campaign import nominal_dispersed
from sims.campaigns import campaign
record = json.loads({record!r})
t0 = time.perf_counter()
campaign.run(nominal_dispersed(), runs={runs}, seed=1, workers={workers}, out={out!r},
             record=record or None)
print(json.dumps({{"wall_s": time.perf_counter() - t0,
                   "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def measure(runs, workers, record, out):
    code = CHILD.format(
        root=str(ROOT), record=json.dumps(record), runs=runs, workers=workers, out=str(out)
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        sys.exit(done.stderr)
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["written_mib"] = sum(p.stat().st_size for p in out.glob("*.parquet")) / 2**20
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    record = {"signals": SIGNALS, "rate": "10 Hz", "runs": "all"}
    with tempfile.TemporaryDirectory() as tmp:
        measure(2, 1, {}, Path(tmp) / "warm")  # compile, outside the figures
        plain = measure(args.runs, args.workers, {}, Path(tmp) / "plain")
        recorded = measure(args.runs, args.workers, record, Path(tmp) / "recorded")
    print(f"{args.runs} runs of the dispersed nominal, {args.workers} workers")
    for label, f in (("no recorder", plain), ("20 signals at 10 Hz, all runs", recorded)):
        print(
            f"  {label:30s} peak {f['peak_mib']:7.0f} MiB  wall {f['wall_s']:6.1f} s  "
            f"wrote {f['written_mib']:7.1f} MiB"
        )
    print(f"  recording costs {recorded['wall_s'] / plain['wall_s']:.2f}x the wall time")


if __name__ == "__main__":
    main()
