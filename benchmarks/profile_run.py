"""Where a run's time goes, by compiled function: the CPU sampled (Linux perf, software clock,
4 kHz) while one compiled call flies a batch of runs, Numba's functions named through a perf
map this script writes, the samples summed into groups (terrain, filter, truth and loop, ...)
and shown in milliseconds per run for each scenario, with their difference from the first.

    python benchmarks/profile_run.py [--runs N] SCENARIO [SCENARIO ...]

Needs `perf` (Debian's linux-perf). Each scenario is profiled in its own process with an
empty Numba cache, so that its functions are compiled there and their addresses known (one to
two minutes each). Functions LLVM inlined count in their caller. Perf's sampling adds a few
per cent to a run's time; compare scenarios profiled alike, not with other benchmarks.
"""

import argparse
import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# First match wins; a function named by none is "other (libm, Python, Numba's runtime)".
GROUPS = (
    ("terrain: map planes", r"plane_over_region|map_plane|unseen_relief"),
    (
        "terrain: lookups and rays",
        r"dynamics\.terrain|track_coordinates|atan2|asin|local_track_axes|terrain_range"
        r"|lidar_return|radar_altimeter\.(_ray|toward|_nearest_vertical)",
    ),
    ("filter: covariance propagation", r"propagate_covariance|error_dynamics"),
    (
        "filter: updates and gates",
        r"apply_update|normalized_innovation|_cholesky|_inject|gating|updates\.update"
        r"|reacquisition|forget_",
    ),
    ("flight software, other", r"gnc\."),
    ("sensor kinds, other", r"sensors\."),
    ("truth and run loop", r"sims\.|dynamics\."),
    ("kernel (mostly zeroing pages)", r"^\[k\]"),
)
OTHER = "other (libm, Python, Numba's runtime)"


def child(name, runs, control):
    """Compile, then fly `runs` seeds in one compiled call with perf enabled; write the perf
    map of every compiled function; print milliseconds per run."""
    from sims import api
    from sims.scenarios import scenario

    sc = scenario.load(name)
    api.execute(api.prepare(sc, seed=99))
    batch = api.prepare(sc, seeds=range(runs))
    with open(control, "w") as f:
        f.write("enable\n")
    t0 = time.perf_counter()
    api.execute(batch)
    seconds = time.perf_counter() - t0
    with open(control, "w") as f:
        f.write("disable\n")
    _write_perf_map()
    print(os.getpid(), f"{seconds / runs * 1e3:.3f}")


def _write_perf_map():
    """/tmp/perf-PID.map: start, size and name of every function Numba compiled in this
    process (sizes: up to the next function)."""
    from numba.core.ccallback import CFunc
    from numba.core.registry import CPUDispatcher

    libraries = set()
    for obj in gc.get_objects():
        if isinstance(obj, CPUDispatcher):
            libraries.update(c.library for c in obj.overloads.values())
        elif isinstance(obj, CFunc):
            libraries.add(obj._library)
    functions = set()
    for library in libraries:
        for fn in library._final_module.functions:
            if not fn.is_declaration:
                address = library.get_pointer_to_function(fn.name)
                if address:
                    functions.add((address, _demangle(fn.name)))
    functions = sorted(functions)
    ends = [address for address, _ in functions[1:]] + [functions[-1][0] + 4096]
    with open(f"/tmp/perf-{os.getpid()}.map", "w") as f:
        for (address, name), end in zip(functions, ends, strict=True):
            f.write(f"{address:x} {end - address:x} {name}\n")


def _demangle(symbol):
    """module.function of a Numba symbol (_ZN, then length-prefixed parts)."""
    if not symbol.startswith("_ZN"):
        return symbol
    rest, parts = symbol[3:], []
    while rest[:1].isdigit():
        digits = re.match(r"\d+", rest).group()
        start = len(digits)
        parts.append(rest[start : start + int(digits)])
        rest = rest[start + int(digits) :]
    return ".".join(parts) or symbol


def profile(name, runs, folder):
    """(milliseconds per run, {function: share of samples}) of one scenario."""
    from sims.run import loop_compiler

    control, data = folder / f"{name}.ctl", folder / f"{name}.data"
    os.mkfifo(control)
    env = dict(os.environ, NUMBA_CACHE_DIR=str(folder / f"{name}.cache"), PYTHONPATH=str(ROOT))
    env[loop_compiler.COMPILING] = "1"  # the loop compiled here, so that perf can name it
    record = [
        "perf", "record", "-e", "cpu-clock", "-F", "4000", "--control", f"fifo:{control}",
        "--delay=-1", "-o", str(data), "--",
        sys.executable, __file__, "--child", name, str(runs), str(control),
    ]  # fmt: skip
    out = subprocess.run(record, env=env, capture_output=True, text=True, check=True)
    pid, ms = out.stdout.strip().splitlines()[-1].split()
    report = subprocess.run(
        ["perf", "report", "-i", str(data), "--stdio", "--sort", "sym"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    Path(f"/tmp/perf-{pid}.map").unlink()
    shares = {}
    for line in report.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(\[.\] .*)", line)
        if m:
            shares[m.group(2).strip()] = float(m.group(1)) / 100.0
    return float(ms), shares


def group_of(function):
    for label, pattern in GROUPS:
        if re.search(pattern, function):
            return label
    return OTHER


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        name, runs, control = args.child
        child(name, int(runs), control)
        return
    if not args.scenarios:
        parser.error("name at least one scenario")
    if shutil.which("perf") is None:
        parser.error("perf is not installed (Debian: apt-get install linux-perf)")
    if args.runs < 1:
        parser.error(f"--runs {args.runs}: at least 1")
    from sims.scenarios import scenario

    for name in args.scenarios:  # a mistyped one is told before minutes of compiling
        try:
            scenario.load(name)
        except scenario.ScenarioError as exc:
            parser.error(str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: profile(name, args.runs, Path(tmp)) for name in args.scenarios}
    labels = [label for label, _ in GROUPS] + [OTHER]
    first = args.scenarios[0]
    by_group = {}
    for name, (ms, shares) in results.items():
        totals = dict.fromkeys(labels, 0.0)
        for function, share in shares.items():
            totals[group_of(function)] += share * ms
        by_group[name] = totals
    print("ms per run (under perf): " + ", ".join(f"{n} {results[n][0]:.1f}" for n in results))
    print(f"{'group':40s}" + "".join(f"{n[:22]:>24s}" for n in results))
    for label in labels:
        cells = []
        for name in results:
            value = by_group[name][label]
            more = value - by_group[first][label]
            cells.append(f"{value:.1f}" + (f" ({more:+.1f})" if name != first else ""))
        print(f"{label:40s}" + "".join(f"{cell:>24s}" for cell in cells))
    for name, (ms, shares) in results.items():
        top = sorted(shares.items(), key=lambda item: -item[1])[:12]
        print(f"\n{name}: the twelve costliest functions, ms per run")
        for function, share in top:
            print(f"  {share * ms:6.2f}  {function[4:90]}")


if __name__ == "__main__":
    main()
