"""Closed-loop speed: milliseconds per full descent of the nominal scenario (flight software
at 10 Hz with star tracker, rangefinder and probes), with its 20-ms truth step and 50-Hz IMU
and with a 10-ms step and 100-Hz IMU for comparison; the compiled call alone (a batch of
runs, one call) and a whole `api.run` (packing and result tables included).

    python benchmarks/bench_closed_loop.py [--runs N] [--repeats R]
"""

import argparse
import statistics
import sys
import time
import tomllib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api, scenario

RATES = (("20 ms", "50 Hz"), ("10 ms", "100 Hz"))


def nominal_at(step, imu_rate):
    data = tomllib.loads(scenario.read_text("nominal")[1])
    data["simulation"]["time_step"] = step
    data["sensors"]["imu"]["rate"] = imu_rate
    return scenario.load(data)


def per_run_seconds(sc, runs, repeats):
    """Seconds per run of one compiled call over `runs` seeds, for each repeat."""
    times = []
    for r in range(repeats):
        b = api.prepare(sc, seeds=range(r * runs, (r + 1) * runs))
        t0 = time.perf_counter()
        api.execute(b)
        times.append((time.perf_counter() - t0) / runs)
    return times, b


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for step, imu_rate in RATES:
        sc = nominal_at(step, imu_rate)
        api.execute(api.prepare(sc, seed=99))  # load the compiled code
        times, b = per_run_seconds(sc, args.runs, args.repeats)
        whole = float("inf")
        for seed in range(3):
            t0 = time.perf_counter()
            api.run(sc, seed=seed)
            whole = min(whole, time.perf_counter() - t0)
        flown = statistics.mean(b.summary["time_s"])
        print(
            f"truth {step}, IMU {imu_rate} ({flown:.0f} s flown): compiled call "
            f"{min(times) * 1e3:6.1f} ms best, {statistics.median(times) * 1e3:6.1f} ms median "
            f"per run; whole api.run {whole * 1e3:6.1f} ms"
        )


if __name__ == "__main__":
    main()
