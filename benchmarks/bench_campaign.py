"""Campaign throughput and scale for the nominal scenario with four dispersed fields:

- runs per second with the local executor on 1 worker and on all cores, and with the Dask
  executor on a local cluster of 1 and of 2 worker processes (started and warmed before the
  clock starts), with the efficiency of 2 workers against 1; each the median and the best of
  --repeats campaigns of --runs runs, written to Parquet as a user's would be;
- with --scale-runs N: N short runs (30 s of flight) to disk, with the peak resident memory
  of the process (driver and local workers are one process);
- with --compare-steps N: N dispersed runs with the truth at 20 ms and IMU at 50 Hz (the
  nominal) and at 10 ms / 100 Hz, and their landing statistics side by side.

    python benchmarks/bench_campaign.py [--runs N] [--repeats R]
    python benchmarks/bench_campaign.py --scale-runs 100000
    python benchmarks/bench_campaign.py --compare-steps 400
"""

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
import tomllib
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims.campaigns import campaign
from sims.scenarios import scenario

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


def nominal_dispersed(**simulation):
    data = tomllib.loads(scenario.read_text("nominal")[1])
    data["dispersions"] = DISPERSIONS
    data["simulation"].update(simulation)
    return data


def campaign_rate(data, runs, seed, **kwargs):
    """(runs per second, runs landed) of one campaign written to a temporary folder."""
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        table = campaign.run(data, runs=runs, seed=seed, out=Path(out) / "c", **kwargs)
        seconds = time.perf_counter() - t0
    return runs / seconds, table.column("outcome").to_pylist().count("landed")


def rates(label, runs, repeats, **kwargs):
    values = [campaign_rate(nominal_dispersed(), runs, seed, **kwargs) for seed in range(repeats)]
    per_second = [v[0] for v in values]
    landed = sum(v[1] for v in values)
    print(
        f"{label:28s} {statistics.median(per_second):6.1f} runs/s median, "
        f"{max(per_second):6.1f} best ({landed}/{runs * repeats} landed)"
    )
    return statistics.median(per_second)


def dask_rates(runs, repeats):
    from dask.distributed import LocalCluster

    medians = {}
    for workers in (1, 2):
        with LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.CRITICAL,
        ) as cluster:
            address = cluster.scheduler_address
            # every worker loads the compiled code before the clock starts
            campaign.run(
                nominal_dispersed(),
                runs=4 * workers,
                batch_size=1,
                scheduler=address,
                executor="dask",
                workers=workers,
            )
            medians[workers] = rates(
                f"dask, {workers} worker(s):",
                runs,
                repeats,
                executor="dask",
                scheduler=address,
                workers=workers,
            )
    print(f"dask efficiency of 2 workers against 1: {medians[2] / (2 * medians[1]):.0%}")


def scale(runs):
    data = nominal_dispersed(max_time="30 s", output_rate="1 Hz")
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        table = campaign.run(data, runs=runs, out=Path(out) / "c", traces_first=1000)
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in (Path(out) / "c").rglob("*.parquet")) / 2**20
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"scale: {table.num_rows} runs of 30 s in {seconds:.0f} s ({table.num_rows / seconds:.0f}"
        f" runs/s), {size:.0f} MiB of Parquet, peak resident memory {peak_mib:.0f} MiB"
    )


def compare_steps(runs):
    columns = (
        "descent_rate_mps",
        "horizontal_speed_mps",
        "landing_error_m",
        "propellant_used_kg",
        "max_velocity_error_mps",
    )
    for step, imu_rate in (("20 ms", "50 Hz"), ("10 ms", "100 Hz")):
        data = nominal_dispersed(time_step=step)
        data["sensors"]["imu"]["rate"] = imu_rate
        table = campaign.run(data, runs=runs, seed=7).to_pandas()
        print(f"truth {step}, IMU {imu_rate}: landed {(table.outcome == 'landed').mean():.1%}")
        for name in columns:
            x = table[name].astype(float)
            error = x.std() / np.sqrt(x.count())
            print(f"  {name:24s} mean {x.mean():9.3f} +- {error:.3f}, std {x.std():8.3f}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scale-runs", type=int, default=0)
    parser.add_argument("--compare-steps", type=int, default=0)
    args = parser.parse_args()
    campaign.run(nominal_dispersed(), runs=2, workers=1)  # compile / load the cache
    if args.scale_runs:
        scale(args.scale_runs)
        return
    if args.compare_steps:
        compare_steps(args.compare_steps)
        return
    cores = campaign.default_workers()
    rates("local, 1 worker:", args.runs // 2, args.repeats, workers=1)
    rates(f"local, {cores} workers (all cores):", args.runs, args.repeats, workers=cores)
    dask_rates(args.runs, args.repeats)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak_mib:.0f} MiB")


if __name__ == "__main__":
    main()
