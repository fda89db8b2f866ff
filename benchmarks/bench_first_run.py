"""What a user waits for: `descent run nominal` end to end (a fresh process, its imports, its
compilation or its cache, the run, the results written), in a copy of this checkout with an
empty cache:

1. cold: the first run after installing (everything compiles);
2. warm: the same again (everything loads from the cache);
3. after an edit (a comment appended) to one module, each in turn: a sensor kind
   (sensors/star_tracker.py: its entry points recompile), a guidance law's module
   (gnc/guidance/laws.py: the flight software's entry points), the loop's bookkeeping
   (sims/run/bookkeeping.py: the run loop) and dynamics/vector.py (nearly everything);
   a warm run follows each, so each edit is timed from a cache up to date.

With --baseline DIR (another checkout, e.g. `git worktree add DIR REV`), its cold and warm
runs are timed too, in a copy of it with its own empty cache.

    python benchmarks/bench_first_run.py [--baseline DIR] [--warm N]
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dynamics", "sensors", "gnc", "faults", "uncertainty", "sims")
EDITS = (
    "sensors/star_tracker.py",
    "gnc/guidance/laws.py",
    "sims/run/bookkeeping.py",
    "dynamics/vector.py",
)


def copy_of(checkout, into):
    """The project's packages and pyproject.toml copied into a folder (no results, no .git)."""
    for package in PACKAGES:
        if (checkout / package).is_dir():
            shutil.copytree(checkout / package, into / package)
    shutil.copy(checkout / "pyproject.toml", into / "pyproject.toml")
    return into


def timed_run(copy, cache, out):
    """Seconds of `descent run nominal` in the copy (python -m sims.cli, the copy first on the
    path), with XDG_CACHE_HOME at cache."""
    env = dict(os.environ, XDG_CACHE_HOME=str(cache), PYTHONPATH=str(copy))
    env.pop("NUMBA_CACHE_DIR", None)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "sims.cli", "run", "nominal", "--out", str(out)],
        cwd=copy,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - t0


def first_runs(checkout, folder, warm):
    """(cold, [warm ...]) seconds of a checkout's copy with an empty cache."""
    copy = copy_of(checkout, folder / "src")
    cache = folder / "cache"
    cold = timed_run(copy, cache, folder / "out")
    return copy, cache, cold, [timed_run(copy, cache, folder / "out") for _ in range(warm)]


def spread(values):
    return f"{statistics.median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--warm", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy, cache, cold, warm = first_runs(ROOT, tmp / "here", args.warm)
        print(f"this checkout: cold {cold:.1f} s, warm {spread(warm)}")
        for path in EDITS:
            with open(copy / path, "a") as f:
                f.write("\n# edited\n")
            edited = timed_run(copy, cache, tmp / "out")
            again = timed_run(copy, cache, tmp / "out")
            print(f"  after editing {path}: {edited:.1f} s (then warm {again:.2f} s)")
        if args.baseline:
            _, _, cold_b, warm_b = first_runs(args.baseline.resolve(), tmp / "base", args.warm)
            print(f"{args.baseline}: cold {cold_b:.1f} s, warm {spread(warm_b)}")


if __name__ == "__main__":
    main()
