"""Failure probabilities by subset simulation against plain Monte Carlo, on descents:

- `--case short` (default): the first 5 s of the nominal's braking with the dry mass, the
  engine's thrust and its specific impulse dispersed, failing when it burns more propellant
  than a limit set --sigmas standard deviations out (from a 2,000-run pilot campaign,
  about 1e-4 at 3.72); subset simulation of --per-level runs a level, repeated --repeats times
  with other seeds, against one plain campaign of --plain-runs runs (the reference);
- `--case nominal`: the dispersed nominal descent, P(outcome != "landed") by subset
  simulation of --per-level runs a level, against plain Monte Carlo of --plain-runs (about
  2 % fail: tip-overs on crater slopes, so 2,000 plain runs measure it).

Prints each estimate with its CV, interval and run count, and the wall time.

    python benchmarks/bench_tail.py [--per-level N] [--repeats R] [--plain-runs M] [--sigmas S]
    python benchmarks/bench_tail.py --case nominal [--per-level N] [--plain-runs M]
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims.campaigns import campaign, tail
from tests.sims.scenarios import closed_loop

DISPERSED = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.main_engine.max_thrust": {"distribution": "norm", "scale": "20 N"},
    "vehicle.main_engine.isp": {"distribution": "norm", "scale": "2 s"},
}
SHORT = {"time_step": "10 ms", "max_time": "5 s", "output_rate": "1 Hz"}


def timed(what, fn):
    start = time.perf_counter()
    out = fn()
    print(f"  {what}: {time.perf_counter() - start:.1f} s", flush=True)
    return out


def short_case(args):
    d = closed_loop(simulation=SHORT, dispersions=DISPERSED)
    pilot = campaign.run(d, runs=2000, seed=1000, traces_first=0).to_pandas()
    used = pilot.propellant_used_kg
    limit = used.mean() + args.sigmas * used.std()
    failure = f"propellant_used_kg > {limit:.6f}"
    print(f"{failure} ({args.sigmas} sigma of a 2,000-run pilot)")
    estimates = []
    for r in range(args.repeats):
        _, record = timed(
            f"subset simulation, seed {r}",
            lambda r=r: tail.run(d, failure, args.per_level, seed=r, traces_first=0),
        )
        print(f"    {tail.describe(record)}")
        estimates.append(record["probability"])
    p = np.array(estimates)
    print(
        f"subset simulation over {args.repeats} seeds: mean {p.mean():.3g}, scatter (CV) "
        f"{p.std(ddof=1) / p.mean():.2f}"
    )
    if args.plain_runs:
        _, plain = timed(
            f"plain Monte Carlo, {args.plain_runs} runs",
            lambda: tail.run(
                d, failure, args.plain_runs, method="plain", seed=10_000, traces_first=0
            ),
        )
        print(f"    {tail.describe(plain)}")


def nominal_case(args):
    failure = 'outcome != "landed"'
    _, record = timed(
        "subset simulation",
        lambda: tail.run("nominal", failure, args.per_level, traces_first=0),
    )
    print(f"  {tail.describe(record)}")
    for i, level in enumerate(record["levels"]):
        print(f"    level {i}: threshold {level['threshold']:.4g}, runs {level['runs']}")
    for driver in record["drivers"][:5]:
        print(f"    {driver['component']}: mean z {np.round(driver['mean_z'], 2).tolist()}")
    if args.plain_runs:
        _, plain = timed(
            f"plain Monte Carlo, {args.plain_runs} runs",
            lambda: tail.run(
                "nominal", failure, args.plain_runs, method="plain", seed=10_000, traces_first=0
            ),
        )
        print(f"    {tail.describe(plain)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("short", "nominal"), default="short")
    parser.add_argument("--per-level", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--plain-runs", type=int, help="plain Monte Carlo's (default 100,000 short, 2,000 nominal)"
    )
    parser.add_argument("--sigmas", type=float, default=3.72)
    args = parser.parse_args()
    if args.plain_runs is None:
        args.plain_runs = 100_000 if args.case == "short" else 2000
    (short_case if args.case == "short" else nominal_case)(args)


if __name__ == "__main__":
    main()
