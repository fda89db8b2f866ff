"""Campaign throughput and scale: runs per second of the nominal scenario with dispersions on
1 and on all local worker processes, the Dask executor's efficiency with 2 workers against 1,
and the driver's peak resident memory; with --scale-runs N, the driver's peak memory over a
campaign of N short (10-s) runs, to check that results stream to disk.

    python benchmarks/bench_campaign.py [--runs N] [--scale-runs N]
"""

import argparse
import resource
import sys
import tempfile
import time
import tomllib
from importlib import resources
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import campaign

DISPERSIONS = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "25 N"},
    "vehicle.main_engine.misalignment": {
        "distribution": "uniform",
        "loc": "0 deg",
        "scale": "0.1 deg",
    },
    "initial.descent_orbit.downrange_to_site": {"distribution": "norm", "scale": "500 m"},
}


def nominal_dispersed():
    text = (resources.files("sims") / "scenarios" / "nominal.toml").read_text()
    data = tomllib.loads(text)
    data["dispersions"] = DISPERSIONS
    return data


def rate(runs, **kwargs):
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        table = campaign.run(nominal_dispersed(), runs=runs, out=Path(out) / "c", **kwargs)
        seconds = time.perf_counter() - t0
    landed = table.column("outcome").to_pylist().count("landed")
    return runs / seconds, landed


def scale(runs):
    data = nominal_dispersed()
    data["simulation"] = {"time_step": "10 ms", "max_time": "10 s", "output_rate": "1 Hz"}
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        table = campaign.run(data, runs=runs, out=Path(out) / "c", traces_first=1000)
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (Path(out) / "c").rglob("*.parquet")) / 2**20
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"scale: {table.num_rows} short runs in {seconds:.0f} s, {size:.0f} MiB of Parquet, "
        f"driver peak resident memory {peak_mib:.0f} MiB"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--scale-runs", type=int, default=0)
    args = parser.parse_args()
    if args.scale_runs:
        scale(args.scale_runs)
        return
    campaign.run(nominal_dispersed(), runs=2, workers=1)  # compile / load the cache
    cores = campaign.default_workers()
    one, _ = rate(args.runs // 2, workers=1)
    all_cores, landed = rate(args.runs, workers=cores)
    dask_one, _ = rate(args.runs // 2, workers=1, executor="dask")
    dask_two, _ = rate(args.runs, workers=2, executor="dask")
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"local, 1 worker:            {one:6.1f} runs/s")
    print(f"local, {cores} workers (all cores): {all_cores:6.1f} runs/s  ({landed} landed)")
    print(f"dask, 1 worker:             {dask_one:6.1f} runs/s")
    print(
        f"dask, 2 workers:            {dask_two:6.1f} runs/s  (efficiency "
        f"{dask_two / (2 * dask_one):.0%} of 2x one worker)"
    )
    print(f"driver peak resident memory: {peak_mib:6.0f} MiB")


if __name__ == "__main__":
    main()
