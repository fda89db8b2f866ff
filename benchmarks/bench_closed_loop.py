"""Closed-loop speed: milliseconds per full descent of the nominal scenario (truth at 100 Hz,
IMU at 100 Hz, flight software at 10 Hz, star tracker, rangefinder and probes), the compiled
call alone and the whole `api.run` (packing and result tables included), and runs per second
on all cores with one process per core.

    python benchmarks/bench_closed_loop.py [--runs N]
"""

import argparse
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api

SCENARIO = "nominal"


def best_of(fn, repeats):
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def compiled_call_seconds():
    prepared = [api.prepare(SCENARIO, seed=s) for s in range(5)]
    api.execute(api.prepare(SCENARIO, seed=99))  # warm
    times = []
    for r in prepared:
        t0 = time.perf_counter()
        api.execute(r)
        times.append(time.perf_counter() - t0)
    return min(times), sum(times) / len(times), prepared[0].summary[0]["time_s"]


def _worker(seeds):
    api.run(SCENARIO, seed=10_000)  # load the compiled code in this process first
    t0 = time.perf_counter()
    outcomes = [api.run(SCENARIO, seed=s).outcome for s in seeds]
    return time.perf_counter() - t0, outcomes


def runs_per_second(n_runs, workers):
    chunks = [list(range(w, n_runs, workers)) for w in range(workers)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers) as pool:
        t0 = time.perf_counter()
        results = pool.map(_worker, chunks)
        wall = time.perf_counter() - t0
    busy = max(r[0] for r in results)
    landed = sum(o == "landed" for r in results for o in r[1])
    return n_runs / busy, n_runs / wall, landed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()
    api.run(SCENARIO)
    best, mean, flight_s = compiled_call_seconds()
    full = best_of(lambda: api.run(SCENARIO, seed=1), 5)
    cores = os.cpu_count() or 1
    one_rate, _, _ = runs_per_second(max(8, args.runs // 4), 1)
    rate, rate_wall, landed = runs_per_second(args.runs, cores)
    print(
        f"closed-loop descent ({flight_s:.0f} s flown), compiled call: best {best * 1e3:7.1f} ms, "
        f"mean {mean * 1e3:7.1f} ms"
    )
    print(f"closed-loop descent, whole api.run:             {full * 1e3:7.1f} ms")
    print(f"runs per second, 1 process:                      {one_rate:7.1f}")
    print(
        f"runs per second, {cores} processes (all cores):        {rate:7.1f} "
        f"({rate_wall:.1f} including process start-up; {landed}/{args.runs} landed)"
    )


if __name__ == "__main__":
    main()
