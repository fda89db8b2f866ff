"""Truth-dynamics speed: microseconds per 6-DOF step, milliseconds per 600-s descent at 100 Hz,
the full open-loop verification run (nominal_open_loop), the plain NumPy/SciPy reference for
the same dynamics, and Numba compile time cold (empty cache) and cached.

    python benchmarks/bench_truth.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import reference_numpy
from dynamics import truth
from sims import api
from sims.run import packing
from sims.scenarios import scenario

DT_S = 0.01
DESCENT_S = 600.0


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def nominal_model():
    m = packing.build(scenario.load("nominal"))
    x0 = m.x0.copy()
    x0[truth.X_THROTTLE] = 0.6
    return m, x0


def bench_truth_step():
    m, x0 = nominal_model()

    def descent():
        x = x0.copy()
        truth.propagate(
            x,
            0.0,
            DT_S,
            round(DESCENT_S / DT_S),
            m.gravity,
            m.mass,
            m.engines,
            0.6,
        )
        return x

    x_ours = descent()
    seconds = best_of(descent, 5)
    return seconds, x_ours, m, x0


def bench_reference(m, x0, x_ours):
    rhs = reference_numpy.make_rhs(
        m.gravity.params["gm_m3ps2"],
        m.gravity.params["reference_radius_m"],
        m.gravity.params["j2"],
        m.mass,
        m.engines[0],
        0.6,
    )
    t0 = time.perf_counter()
    x_ref, n_steps = reference_numpy.propagate(x0.copy(), DESCENT_S, DT_S, rhs)
    seconds = time.perf_counter() - t0
    return seconds, n_steps, np.linalg.norm(x_ref[0:3] - x_ours[0:3])


def bench_full_run():
    api.run("nominal_open_loop")
    return best_of(lambda: api.run("nominal_open_loop"), 5)


def compile_times():
    """Seconds for a fresh process to import and run a short scenario, with an empty Numba
    cache (cold) and then with the cache that run left (cached)."""
    code = (
        "import time; t0 = time.perf_counter();"
        "from sims import api; from tests.sims.scenarios import free_fall;"
        "api.run(free_fall('10 ms')); print(time.perf_counter() - t0)"
    )
    root = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=str(root))
        out = [
            float(
                subprocess.run(
                    [sys.executable, "-c", code],
                    env=env,
                    cwd=root,
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
            )
            for _ in range(2)
        ]
    return out


def main():
    seconds, x_ours, m, x0 = bench_truth_step()
    n = round(DESCENT_S / DT_S)
    ref_seconds, ref_steps, diff_m = bench_reference(m, x0, x_ours)
    full = bench_full_run()
    cold, cached = compile_times()
    print(f"truth step (RK4, J2, engine, variable mass): {seconds / n * 1e6:8.3f} us/step")
    print(f"600-s descent at 100 Hz, truth only:         {seconds * 1e3:8.2f} ms")
    print(
        f"NumPy + solve_ivp reference, same 600 s:     {ref_seconds * 1e3:8.0f} ms "
        f"({ref_steps} RK45 steps, max step {DT_S} s)"
    )
    print(f"speed ratio, reference / compiled:           {ref_seconds / seconds:8.0f} x")
    print(f"final position difference, ours vs ref:      {diff_m:8.3f} m")
    print(f"open-loop verification run, PDI to landing:  {full * 1e3:8.2f} ms per run")
    print(f"start-up to first run, cold Numba cache:     {cold:8.1f} s")
    print(f"start-up to first run, cached:               {cached:8.1f} s")


if __name__ == "__main__":
    main()
