"""What flying a flight software through the interface costs, in one run of this script:

- milliseconds per run of the high-gate descent (`nominal_high_gate`, ~100 s of flight) for
  our flight software and for the tests' ZEM/ZEV flight software in each of its forms: a
  compiled module, an FMU built from C, a Python class (tests/gnc/three_forms.py), each the
  median (min, max) of R repeats of one compiled call over N runs, taken in turn;
- with --baseline DIR (a checkout of a revision before the interface, `git worktree add DIR
  REV`), the nominal's compiled call in this checkout against that one's, in processes
  alternating pair by pair (`bench_closed_loop.against`): what the interface costs our
  flight software.

    python benchmarks/bench_flight_software.py [--runs N] [--repeats R] [--baseline DIR]
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import bench_closed_loop  # noqa: E402
from sims import api  # noqa: E402
from sims.scenarios import scenario  # noqa: E402
from tests.gnc import fmu_build, three_forms  # noqa: E402


def ms_per_run(d, runs, repeat):
    b = api.prepare(d, seeds=range(repeat * runs, (repeat + 1) * runs))
    t0 = time.perf_counter()
    api.execute(b)
    return (time.perf_counter() - t0) / runs * 1e3


def forms(runs, repeats):
    with tempfile.TemporaryDirectory() as folder:
        path = fmu_build.build(Path(folder) / "zem_zev.fmu")
        cases = {
            "ours (gnc)": scenario.read_data("nominal_high_gate")[1],
            "compiled module": three_forms.compiled(),
            "FMU": three_forms.fmu(path),
            "Python class": three_forms.python_class(),
        }
        for d in cases.values():
            api.execute(api.prepare(d, seeds=[99]))  # compile and load
        times = {name: [] for name in cases}
        for r in range(repeats):
            for name, d in cases.items():
                times[name].append(ms_per_run(d, runs, r))
    for name, values in times.items():
        print(
            f"{name:16s} {statistics.median(values):8.2f} ms per run "
            f"(min {min(values):.2f}, max {max(values):.2f}; {repeats} x {runs} runs, "
            "nominal_high_gate)"
        )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--pairs", type=int, default=10)
    args = parser.parse_args()
    forms(args.runs, args.repeats)
    if args.baseline:
        bench_closed_loop.against(args.baseline.resolve(), 10, 3, args.pairs)


if __name__ == "__main__":
    main()
