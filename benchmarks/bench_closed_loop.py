"""Closed-loop speed: milliseconds per full descent of the nominal scenario (flight software at
10 Hz with star tracker, rangefinder and probes), with its 20-ms truth step and 50-Hz IMU and
with a 10-ms step and 100-Hz IMU; the compiled call alone (a batch of runs, one call) and a
whole `api.run` (packing and result tables included). Then the cost of sensors on the bus:
each bundled sensor suite (nominal_doppler_lidar, nominal_radar_camera, nominal_full_suite)
against the nominal, as a ratio repeat by repeat in this process, what each channel
costs, the nominal and the full suite against the truth-only loop (issue 29's targets), and
what the filter's arithmetic costs a call (covariance propagation, updates of 1, 3
and 6 values).

With --baseline DIR (a checkout of another revision, e.g. `git worktree add DIR HEAD~1`), the
nominal's compiled call is also timed there, in processes alternating with this checkout's,
and the ratio is taken pair by pair (machine speed drifts; pairs keep the ratio honest).

    python benchmarks/bench_closed_loop.py [--runs N] [--repeats R] [--baseline DIR]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from gnc.navigation import filter as ekf  # noqa: E402
from sims import api  # noqa: E402
from sims.scenarios import scenario  # noqa: E402

RATES = (("20 ms", "50 Hz"), ("10 ms", "100 Hz"))
SUITES = ("nominal_doppler_lidar", "nominal_radar_camera", "nominal_full_suite")

# Milliseconds per run of the nominal's compiled call, written for any revision's API.
NOMINAL_IN_A_PROCESS = """
import json, sys, time
from sims import api
api.execute(api.prepare("nominal", seeds=range(2)))
best = float("inf")
for r in range({repeats}):
    b = api.prepare("nominal", seeds=range(100 + r * {runs}, 100 + (r + 1) * {runs}))
    t0 = time.perf_counter()
    api.execute(b)
    best = min(best, (time.perf_counter() - t0) / {runs})
print(json.dumps(best * 1e3))
"""


def nominal_at(step, imu_rate):
    data = scenario.read_data("nominal")[1]
    data["simulation"]["time_step"] = step
    data["sensors"]["imu"]["rate"] = imu_rate
    return scenario.load(data)


def per_run_seconds(sc, runs, repeat):
    """Seconds per run of one compiled call over `runs` seeds (repeat picks the seeds)."""
    b = api.prepare(sc, seeds=range(repeat * runs, (repeat + 1) * runs))
    t0 = time.perf_counter()
    api.execute(b)
    return (time.perf_counter() - t0) / runs, b


def spread(values):
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


def rates(runs, repeats):
    for step, imu_rate in RATES:
        sc = nominal_at(step, imu_rate)
        api.execute(api.prepare(sc, seed=99))  # load the compiled code
        times = [per_run_seconds(sc, runs, r)[0] for r in range(repeats)]
        b = per_run_seconds(sc, runs, 0)[1]
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


def suite_ratio(runs, repeats, suites=SUITES):
    """Each bundled sensor suite's milliseconds per run against the nominal's (rangefinder
    only), and their ratio repeat by repeat."""
    nominal = scenario.load("nominal")
    flown = {name: scenario.load(name) for name in suites}
    for sc in (nominal, *flown.values()):
        api.execute(api.prepare(sc, seed=99))
    for name, sc in flown.items():
        ratios, ms_nominal, ms_suite = [], [], []
        for r in range(repeats):
            t_nominal = per_run_seconds(nominal, runs, r)[0]
            t_suite = per_run_seconds(sc, runs, r)[0]
            ms_nominal.append(t_nominal * 1e3)
            ms_suite.append(t_suite * 1e3)
            ratios.append(t_suite / t_nominal)
        print(
            f"{name}: {spread(ms_suite)} ms per run against the nominal's "
            f"{spread(ms_nominal)} ms; ratio {spread(ratios)}"
        )


def channel_costs(runs, repeats):
    """Milliseconds per run of the nominal with its channels removed, and with each of the
    full suite's other channels alone for its rangefinder: what each costs."""
    nominal = scenario.read_data("nominal")[1]
    suite = scenario.read_data("nominal_full_suite")[1]["sensors"]

    def flown(remove=(), add=None):
        data = json.loads(json.dumps(nominal))
        data.pop("dispersions")
        for name in remove:
            del data["sensors"][name]
        if add:
            data["sensors"][add] = suite[add]
        return scenario.load(data)

    cases = {
        "truth, IMU and strapdown": flown(("laser_rangefinder", "star_tracker")),
        "+ star tracker": flown(("laser_rangefinder",)),
        "+ star tracker, rangefinder (the nominal)": flown(),
        **{
            f"+ star tracker, {name}": flown(("laser_rangefinder",), name)
            for name in ("radar_altimeter", "doppler_lidar", "camera")
        },
    }
    for sc in cases.values():
        api.execute(api.prepare(sc, seed=99))
    for label, sc in cases.items():
        best = min(per_run_seconds(sc, runs, r)[0] for r in range(repeats))
        print(f"{label}: {best * 1e3:.1f} ms per run (best of {repeats} x {runs})")


def target_ratios(runs, repeats):
    """Issue 29's ratios, repeat by repeat in this process: the nominal's and the full suite's
    milliseconds per run against the truth-only loop's (the nominal without its channels:
    truth, IMU, strapdown, the flight software's cycles)."""
    nominal = scenario.read_data("nominal")[1]
    data = json.loads(json.dumps(nominal))
    data.pop("dispersions")
    for name in ("laser_rangefinder", "star_tracker"):
        del data["sensors"][name]
    cases = {
        "truth-only loop": scenario.load(data),
        "nominal": scenario.load("nominal"),
        "full suite": scenario.load("nominal_full_suite"),
    }
    for sc in cases.values():
        api.execute(api.prepare(sc, seed=99))
    ms = {label: [] for label in cases}
    for r in range(repeats):
        for label, sc in cases.items():
            ms[label].append(per_run_seconds(sc, runs, r)[0] * 1e3)
    base = ms["truth-only loop"]
    print(f"truth-only loop: {spread(base)} ms per run ({repeats} repeats of {runs} runs)")
    for label in ("nominal", "full suite"):
        ratios = [a / b for a, b in zip(ms[label], base, strict=True)]
        print(f"{label}: {spread(ms[label])} ms per run; / truth-only loop {spread(ratios)}")


@njit
def _restores(nav, p0, calls):
    for _ in range(calls):
        nav.P[:, :] = p0


@njit
def _propagations(nav, noise, p0, calls):
    for _ in range(calls):
        nav.P[:, :] = p0
        nav.uncovered_s = 0.1
        ekf.propagate_covariance(nav, noise, 4.9e12)


@njit
def _updates(nav, y, h, r, m, p0, calls):
    for _ in range(calls):
        nav.P[:, :] = p0
        ekf.normalized_innovation_squared(nav, y, h, r, m)
        ekf.apply_update(nav, y, h, r, m)


def filter_costs(calls=20_000, repeats=5):
    """Microseconds a call (best of repeats) of the 27-state covariance propagation and of a
    measurement update (NIS and covariance) of 1, 3 and 6 values with position, velocity and
    attitude in their Jacobian, on a random covariance a range update shrinks 100-fold; each
    call includes restoring the covariance, timed alone too."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((ekf.N_ERR, ekf.N_ERR))
    p0 = a @ a.T + ekf.N_ERR * np.eye(ekf.N_ERR)
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    nav["r_mci_m"] = (1742e3, 0.0, 0.0)
    nav["q_body_to_mci"] = (1.0, 0.0, 0.0, 0.0)
    nav["specific_force_body_mps2"] = (0.0, 0.0, 3.0)
    noise = np.zeros(1, ekf.NAV_NOISE_DTYPE)[0]
    h = np.zeros((6, ekf.N_ERR))
    h[:, : ekf.N_NAV] = rng.standard_normal((6, ekf.N_NAV))
    r, y = np.eye(6), 0.1 * rng.standard_normal(6)
    cases = {"restoring P alone": (_restores, (nav, p0))}
    cases["covariance propagation"] = (_propagations, (nav, noise, p0))
    for m in (1, 3, 6):
        cases[f"update of {m}"] = (_updates, (nav, y, h, r, m, p0))
    for label, (f, args) in cases.items():
        f(*args, 10)
        best = min(_seconds(f, *args, calls) for _ in range(repeats))
        print(f"{label}: {best / calls * 1e6:.2f} us a call (best of {repeats} x {calls})")


def _seconds(f, *args):
    t0 = time.perf_counter()
    f(*args)
    return time.perf_counter() - t0


def in_process(root, runs, repeats):
    code = NOMINAL_IN_A_PROCESS.format(runs=runs, repeats=repeats)
    env = dict(os.environ, PYTHONPATH=str(root))
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def against(baseline, runs, repeats, pairs):
    here, there, ratios = [], [], []
    in_process(baseline, 2, 1)  # compile both once before the clock matters
    in_process(ROOT, 2, 1)
    for _ in range(pairs):
        a, b = in_process(ROOT, runs, repeats), in_process(baseline, runs, repeats)
        here.append(a)
        there.append(b)
        ratios.append(a / b)
    print(
        f"nominal compiled call, this checkout {spread(here)} ms, {baseline} {spread(there)} ms "
        f"per run (best of {repeats} x {runs} runs a process); ratio this / that, pair by pair, "
        f"over {pairs} pairs: {spread(ratios)}"
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline", type=Path)
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args()
    rates(args.runs, args.repeats)
    suite_ratio(args.runs, args.repeats)
    channel_costs(args.runs, args.repeats)
    target_ratios(args.runs, args.repeats)
    filter_costs()
    if args.baseline:
        against(args.baseline.resolve(), args.runs, args.repeats, args.pairs)


if __name__ == "__main__":
    main()
