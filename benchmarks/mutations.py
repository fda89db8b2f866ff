"""Do the tests catch what matters? Small deliberate bugs (signs, units, thresholds, dropped
terms, off-by-one), put one at a time into a scratch copy of the checkout, each run against
the tests that should catch it; prints which caught which.

    python benchmarks/mutations.py [--jobs N] [--only NAME ...] [--list]

Not in CI: every mutation is tested in a scratch copy that compiles from an empty Numba cache
of its own (deleted after it), about a minute each. Run it before saying a change to the
filter, the gates, the touchdown classification or the report's statistics is done; a
mutation that survives is a test to write. Exit status 1 when one survives.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
DEGREES_PER_RAD = "57.29577951308232"


class Mutation(NamedTuple):
    name: str
    path: str  # file, from the repository root
    old: str  # text replaced (must occur exactly once)
    new: str
    tests: tuple[str, ...]  # pytest node ids that should catch it


ERROR_MODEL = "tests/gnc/test_error_model.py"
HAZARDS = "tests/dynamics/test_hazards.py"
TERRAIN = "tests/dynamics/test_terrain.py"
HAZARD_LIDAR = "tests/sensors/test_hazard_lidar.py"
HDA = "tests/gnc/test_hazard_avoidance.py"
CONSISTENCY = "tests/sims/test_navigation_consistency.py::"
IMU_ERRORS = CONSISTENCY + "test_the_filter_estimates_imu_errors_that_matter"
BAND = CONSISTENCY + "test_the_band_is_chi_square_of_runs_times_dof_over_runs"
NIS = CONSISTENCY + "test_every_channels_nis_is_chi_square_in_every_phase"
GATES = "tests/gnc/test_gates.py"
TOUCHDOWN = "tests/sims/test_touchdown_limits.py"
REPORT = "tests/sims/test_report_numbers.py"
FAILURES = "tests/sims/test_failure_class.py"
JACOBIANS = "tests/sensors/test_measurement_jacobians.py"
FILTER = "gnc/navigation/filter.py"
LIMITS = "dynamics/touchdown.py"
RECORDER = "sims/run/recorder.py"
RECORDER_TESTS = "tests/sims/test_recorder.py::"
SUBSET = "uncertainty/subset.py"
TAIL = "tests/sims/test_tail.py::"

MUTATIONS = (
    Mutation(
        "gyro-bias column of the error dynamics: wrong sign",
        FILTER,
        "f[DTH + i, DBG + i] = -1.0",
        "f[DTH + i, DBG + i] = 1.0",
        (ERROR_MODEL, IMU_ERRORS),
    ),
    Mutation(
        "gyro scale-factor and misalignment columns: wrong sign",
        FILTER,
        "f[DTH + i, DKG + 3 * i + j] = -w[j]",
        "f[DTH + i, DKG + 3 * i + j] = w[j]",
        (ERROR_MODEL, IMU_ERRORS),
    ),
    Mutation(
        "attitude error's rotation coupling -[w]x: wrong sign",
        FILTER,
        "_skew_into(f, DTH, DTH, w, -1.0)",
        "_skew_into(f, DTH, DTH, w, 1.0)",
        (ERROR_MODEL,),
    ),
    Mutation(
        "gravity gradient: the 3 r r' / r^2 term dropped",
        FILTER,
        "k * (3.0 * r[i] * r[j]",
        "k * (0.0 * r[i] * r[j]",
        (ERROR_MODEL,),
    ),
    Mutation(
        "accelerometer bias column: wrong sign",
        FILTER,
        "f[DV + i, DBA + j] = -col[i]",
        "f[DV + i, DBA + j] = col[i]",
        (ERROR_MODEL,),
    ),
    Mutation(
        "accelerometer thrust-axis column: the specific force f_z dropped",
        FILTER,
        "f[DV + i, DKA + j] = -col[i] * f_z",
        "f[DV + i, DKA + j] = -col[i]",
        (ERROR_MODEL,),
    ),
    Mutation(
        "covariance propagation: the second-order term F^2 dt^2 / 2 with the wrong sign",
        FILTER,
        "c = 0.5 * dt * dt * f[i, k]",
        "c = -0.5 * dt * dt * f[i, k]",
        ("tests/gnc/test_covariance_propagation.py",),
    ),
    Mutation(
        "covariance propagation: the gyro matrix error's columns left out of A's pattern",
        FILTER,
        "    f[DTH : DTH + 3, DKG : DKG + 9] = True\n",
        "",
        ("tests/gnc/test_covariance_propagation.py",),
    ),
    Mutation(
        "covariance propagation: the last tile of A P one column short",
        FILTER,
        "_three_rows_times_p(a, p, ap, 3 * b, columns, n, N_ERR - 4)",
        "_three_rows_times_p(a, p, ap, 3 * b, columns, n, N_ERR - 5)",
        ("tests/gnc/test_covariance_propagation.py",),
    ),
    Mutation(
        "gate: a measurement at the threshold rejected (strict comparison)",
        "gnc/navigation/gating.py",
        "nis <= gate.threshold[m]",
        "nis < gate.threshold[m]",
        (GATES,),
    ),
    Mutation(
        "gate: accepting at half its threshold",
        "gnc/navigation/gating.py",
        "nis <= gate.threshold[m]",
        "nis <= 0.5 * gate.threshold[m]",
        (GATES,),
    ),
    Mutation(
        "gate: reject limit off by one",
        "gnc/navigation/gating.py",
        "if state.streak < gate.reject_limit:",
        "if state.streak <= gate.reject_limit:",
        (GATES,),
    ),
    Mutation(
        "gate: chi-square threshold with one degree of freedom whatever the dimension",
        "gnc/configuration.py",
        "chi_square.quantile(gate.probability, np.maximum(dims, 1))",
        "chi_square.quantile(gate.probability, np.ones_like(dims))",
        (GATES,),
    ),
    Mutation(
        "consistency band: upper edge widened by half",
        "sims/run/consistency.py",
        "chi_square.quantile(1.0 - tail, n) / runs",
        "1.5 * chi_square.quantile(1.0 - tail, n) / runs",
        (BAND,),
    ),
    Mutation(
        "consistency band: degrees of freedom of one run, not of all",
        "sims/run/consistency.py",
        "n = runs * dof",
        "n = dof",
        (BAND,),
    ),
    Mutation(
        "consistency: the attitude NEES taken against the velocity block of the covariance",
        "sims/run/consistency.py",
        "_block_nees(p, DTH, attitude_error(telemetry, x))",
        "_block_nees(p, DV, attitude_error(telemetry, x))",
        (CONSISTENCY + "test_the_runs_carry_the_nees_the_final_states_give",),
    ),
    Mutation(
        "star tracker: its noise taken as a variance in the filter's model",
        "sensors/star_tracker.py",
        "spec.noise_rad**2 if i == j",
        "spec.noise_rad if i == j",
        (NIS,),
    ),
    Mutation(
        "rangefinder: noisier than it says (1.5 times)",
        "sensors/laser_rangefinder.py",
        "bus.put_value(out, 0, rho, sigma, sigma, state.stream)",
        "bus.put_value(out, 0, rho, sigma, 1.5 * sigma, state.stream)",
        (NIS,),
    ),
    Mutation(
        "touchdown: tilt limit stored in degrees where radians are meant",
        LIMITS,
        "tilt_rad=limits.tilt,",
        f"tilt_rad=limits.tilt * {DEGREES_PER_RAD},",
        (TOUCHDOWN,),
    ),
    Mutation(
        "touchdown: body-rate limit stored in degrees per second",
        LIMITS,
        "body_rate_radps=limits.body_rate,",
        f"body_rate_radps=limits.body_rate * {DEGREES_PER_RAD},",
        (TOUCHDOWN,),
    ),
    Mutation(
        "touchdown: the hard vertical-speed limit packed as the soft one",
        LIMITS,
        "vertical_speed_mps=limits.vertical_speed,",
        "vertical_speed_mps=limits.vertical_speed_hard,",
        (TOUCHDOWN,),
    ),
    Mutation(
        "touchdown: slope compared with twice its limit",
        "dynamics/touchdown.py",
        "slope_rad > limits.slope_rad",
        "slope_rad > 2.0 * limits.slope_rad",
        (TOUCHDOWN,),
    ),
    Mutation(
        "touchdown: the odd pad's median of an even count taken as its upper middle value",
        LIMITS,
        "return (s[half - 1] + s[half]) / 2 if n % 2 == 0 else s[half]",
        "return s[half]",
        (HAZARDS + "::test_the_odd_pad_is_the_farthest_from_numpys_median",),
    ),
    Mutation(
        "failure class: a partial thrust loss called an engine out",
        "faults/main_engine.py",
        '"loses a `fraction` of its thrust", "thrust_loss"',
        '"loses a `fraction` of its thrust", "engine_out"',
        (FAILURES,),
    ),
    Mutation(
        "failure class: short and long told by the wrong sign",
        "sims/analysis/failure_class.py",
        '"lands_long" if downrange > 0.0 else "lands_short"',
        '"lands_long" if downrange < 0.0 else "lands_short"',
        (FAILURES,),
    ),
    Mutation(
        "failure class: lateness against a 5-s margin before the high gate",
        "sims/analysis/failure_class.py",
        "LATE_ACQUISITION_MARGIN_S = 20.0",
        "LATE_ACQUISITION_MARGIN_S = 5.0",
        (FAILURES,),
    ),
    Mutation(
        "report: the Wilson interval at 90 % where 95 % is printed",
        "sims/analysis/campaign_statistics.py",
        'ci = stats.binomtest(successes, n).proportion_ci(confidence, method="wilson")',
        'ci = stats.binomtest(successes, n).proportion_ci(0.9, method="wilson")',
        (REPORT,),
    ),
    Mutation(
        "report: the tolerance bound one order statistic low",
        "sims/analysis/campaign_statistics.py",
        "return float(x[k - 1]), k",
        "return float(x[k - 2]), k",
        (REPORT,),
    ),
    Mutation(
        "report: the ellipse's semi-axes from the variances, not their square roots",
        "sims/analysis/campaign_statistics.py",
        "return n_sigma * math.sqrt(values[1]), n_sigma * math.sqrt(values[0]), angle",
        "return n_sigma * values[1], n_sigma * values[0], angle",
        (REPORT,),
    ),
    Mutation(
        "guidance: time to go chosen without the propellant burnt on the way",
        "gnc/guidance/laws.py",
        "mass_kg -= mass_kg * un / (isp_s * STANDARD_GRAVITY_MPS2) * dt",
        "mass_kg -= 0.0 * un",
        (
            "tests/gnc/test_guidance.py::test_the_selected_time_to_go_flies_at_the_design_throttle_in_closed_form",
        ),
    ),
    Mutation(
        "radar altimeter: its ranging direction (the vertical) taken as fixed in the body",
        "sensors/radar_altimeter.py",
        "        _direction_follows_the_vertical(",
        "        0 and _direction_follows_the_vertical(",  # never called
        (JACOBIANS,),
    ),
    Mutation(
        "range model: the lever arm's cross product reversed",
        "sensors/terrain_range.py",
        "vector.cross(n_body, vector.add(vector.scale(b, rho), arm))",
        "vector.cross(vector.add(vector.scale(b, rho), arm), n_body)",
        (JACOBIANS,),
    ),
    Mutation(
        "sensors: a beam turned to Moon-fixed axes by the inverse attitude",
        "sensors/bus.py",
        "return quaternion.rotate((q[0], q[1], q[2], q[3]), v_body)",
        "return quaternion.rotate((q[0], -q[1], -q[2], -q[3]), v_body)",
        (
            "tests/sensors/test_sensor_models.py::test_a_narrow_footprint_over_a_tilted_plane_reads_the_analytic_range",
        ),
    ),
    Mutation(
        "recorder: a navigation error taken truth minus estimate",
        RECORDER,
        "e_r, e_v = vector.sub(r_est, r_mci), vector.sub(v_est, v_mci)",
        "e_r, e_v = vector.sub(r_mci, r_est), vector.sub(v_est, v_mci)",
        (RECORDER_TESTS + "test_navigation_errors_and_sigmas_are_the_telemetrys_in_site_axes",),
    ),
    Mutation(
        "recorder: sigmas along the site's axes taken in MCI axes",
        RECORDER,
        "acc += m[row, i] * p[first + i, first + k] * m[row, k]",
        "acc += (i == row) * p[first + i, first + k] * (k == row)",
        (
            RECORDER_TESTS + "test_navigation_errors_and_sigmas_are_the_telemetrys_in_site_axes",
            RECORDER_TESTS + "test_errors_over_seeds_are_inside_the_sigmas_claimed",
        ),
    ),
    Mutation(
        "recorder: a body rate in rad/s under a deg/s name",
        RECORDER,
        "out[12 + i] = math.degrees(x[X_W + i])",
        "out[12 + i] = x[X_W + i]",
        (RECORDER_TESTS + "test_truth_signals_are_the_final_truth_state",),
    ),
    Mutation(
        "recorder: a flight-software float read one field over",
        RECORDER,
        "row[out] = fsw_state[index : index + 8].view(np.float64)[0]",
        "row[out] = fsw_state[index + 8 : index + 16].view(np.float64)[0]",
        (RECORDER_TESTS + "test_flight_software_fields_are_its_state",),
    ),
    Mutation(
        "updates: the innovation variance of the state, not of the innovation",
        "gnc/navigation/gating.py",
        "state.innovation[i], state.innovation_variance[i] = y[i], nav.s[i, i]",
        "state.innovation[i], state.innovation_variance[i] = y[i], nav.s[i, i] - r[i, i]",
        (RECORDER_TESTS + "test_the_update_log_is_the_flight_softwares_gating",),
    ),
    Mutation(
        "updates: an update counted in the phase the cycle enters",
        RECORDER,
        'at = np.maximum(np.searchsorted(times, updates["t_s"], side="left") - 1, 0)',
        'at = np.maximum(np.searchsorted(times, updates["t_s"], side="right") - 1, 0)',
        (RECORDER_TESTS + "test_the_update_log_is_the_flight_softwares_gating",),
    ),
    Mutation(
        "subset simulation: the Metropolis ratio upside down",
        SUBSET,
        "ratio = np.exp(0.5 * (current**2 - xi**2))",
        "ratio = np.exp(0.5 * (xi**2 - current**2))",
        (TAIL + "test_subset_simulation_of_a_linear_limit_state_finds_phi_of_minus_beta",),
    ),
    Mutation(
        "subset simulation: the chains' correlation left out of the CV",
        SUBSET,
        "(1.0 - share) / (share * n) * (1.0 + gamma)",
        "(1.0 - share) / (share * n)",
        (TAIL + "test_subset_simulation_of_a_linear_limit_state_finds_phi_of_minus_beta",),
    ),
    Mutation(
        "subset simulation: the last level counted below its quantile, not below zero",
        SUBSET,
        "bound = 0.0 if threshold <= 0.0 else threshold",
        "bound = threshold",
        (TAIL + "test_subset_simulation_of_a_quadratic_limit_state_finds_the_chi_square_tail",),
    ),
    Mutation(
        "failure expression: the slack of 'x > c' the wrong way",
        "sims/campaigns/limit_state.py",
        'slack = (value - x) / scale if op in (">", ">=") else (x - value) / scale',
        'slack = (x - value) / scale if op in (">", ">=") else (x - value) / scale',
        (TAIL + "test_margins_are_the_slack_as_a_share_of_the_limit",),
    ),
    Mutation(
        "subset campaign: a level's points off the chains' (u = Phi(-z))",
        "sims/campaigns/tail.py",
        "u = level0 if level == 0 else designs.from_normal(z)",
        "u = level0 if level == 0 else designs.from_normal(-z)",
        (TAIL + "test_subset_simulation_of_a_descent_agrees_with_plain_monte_carlo",),
    ),
    Mutation(
        "correlated dispersions: the normal scores mixed by L' for L",
        "uncertainty/copula.py",
        "from_normal(z @ self.lower.T)",
        "from_normal(z @ self.lower)",
        (
            "tests/sims/test_copula.py::test_the_draws_have_the_correlation_asked_for_and_keep_their_marginals",
        ),
    ),
    Mutation(
        "saltelli design: the runs' points in reverse order",
        "uncertainty/designs.py",
        "out = _saltelli(campaign_seed, dimensions, runs)[indices]",
        "out = _saltelli(campaign_seed, dimensions, runs)[::-1][indices]",
        (
            "tests/sims/test_sobol_indices.py::"
            "test_the_ishigami_functions_indices_are_found_within_their_intervals",
        ),
    ),
    Mutation(
        "sweep: run k flown at grid point k mod P, not k // R",
        "sims/campaigns/campaign.py",
        "**grid[i // each]}",
        "**grid[i % len(grid)]}",
        (
            "tests/sims/test_sweeps.py::test_a_sweep_flies_each_points_values_and_gives_its_statistics",
        ),
    ),
    Mutation(
        "worst case: the corners of the weakest components, not the strongest",
        "sims/campaigns/worst_case.py",
        'strongest = np.argsort(worse, kind="stable")',
        'strongest = np.argsort(-worse, kind="stable")',
        (
            "tests/sims/test_worst_case.py::"
            "test_a_plane_is_worst_at_the_corner_against_its_gradient",
        ),
    ),
    Mutation(
        "support plane: a pad's ground above the plane allowed (the plane through the lowest)",
        "dynamics/touchdown.py",
        "if ground[i, 2] > plane + 1e-6:",
        "if ground[i, 2] < plane - 1e-6:",
        (f"{HAZARDS}::test_the_support_plane_of_a_pad_on_a_rock",),
    ),
    Mutation(
        "boulders: D^-b law drawn with the exponent halved",
        "dynamics/hazards.py",
        "diameter = (a - rng.random(n) * (a - b)) ** (-1.0 / exponent)",
        "diameter = (a - rng.random(n) * (a - b)) ** (-2.0 / exponent)",
        (f"{HAZARDS}::test_boulder_counts_follow_the_power_law",),
    ),
    Mutation(
        "hazard map: a cell holds its lowest point, not its highest",
        "sensors/hazard_lidar.py",
        "if math.isnan(grid[i, j]) or z > grid[i, j]:",
        "if math.isnan(grid[i, j]) or z < grid[i, j]:",
        (f"{HAZARD_LIDAR}::test_the_elevation_map_keeps_each_cells_highest_point",),
    ),
    Mutation(
        "hazard map: the slope's margin without its noise",
        "sensors/hazard_lidar.py",
        "by_slope = 1.0 - (tilt_rad + SIGMAS * sigma_slope) / spec.max_slope_rad",
        "by_slope = 1.0 - tilt_rad / spec.max_slope_rad",
        (f"{HAZARD_LIDAR}::test_a_planes_slope_within_the_bound_its_noise_sets",),
    ),
    Mutation(
        "divert: flown away from the site, not toward it",
        "gnc/guidance/phases.py",
        "ex, ey = state.site_offset_m[0] - r_site[0], state.site_offset_m[1] - r_site[1]",
        "ex, ey = r_site[0] - state.site_offset_m[0], r_site[1] - state.site_offset_m[1]",
        (f"{HDA}::test_it_diverts_to_a_safe_site_and_lands_there",),
    ),
    Mutation(
        "height bounds: a cell's bound from two of its four nodes",
        "dynamics/terrain.py",
        "np.maximum(h[:-1, :-1], h[1:, :-1]), np.maximum(h[:-1, 1:], h[1:, 1:]))]",
        "h[:-1, :-1], h[1:, 1:])]",
        (f"{TERRAIN}::test_a_hazard_fields_height_bounds_hold_its_terrain_over_every_block",),
    ),
    Mutation(
        "ray march: the block's height left as the ray climbs, not as it sinks",
        "dynamics/terrain.py",
        "sink = vector.dot(point, direction) / radius",
        "sink = -vector.dot(point, direction) / radius",
        (f"{TERRAIN}::test_ray_cast_meets_what_a_fine_march_meets_over_stacked_tiles",),
    ),
    Mutation(
        "ray march: the block's crossrange edges not looked at",
        "dynamics/terrain.py",
        "go = min(go, _to_edges(y, y0, min(y0 + width, y_end), vy, spread_y))",
        "pass",
        (f"{TERRAIN}::test_ray_cast_meets_what_a_fine_march_meets_over_stacked_tiles",),
    ),
)


class Outcome(NamedTuple):
    mutation: Mutation
    caught: bool
    seconds: float
    detail: str  # the failing tests, or why the mutation could not be applied


def _scratch_copy(where):
    """The checkout's tracked and new files (not ignored ones) copied to `where`."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in listed:
        source = ROOT / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


def _mutate(where, mutation):
    path = where / mutation.path
    text = path.read_text()
    found = text.count(mutation.old)
    if found != 1:
        return f"{mutation.path}: the text to mutate occurs {found} times, not once"
    path.write_text(text.replace(mutation.old, mutation.new))
    return ""


def run_one(mutation):
    """Apply one mutation to a fresh scratch copy and run its tests there, with its own empty
    Numba cache; caught when they fail."""
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mutation-") as scratch:
        where = Path(scratch) / "checkout"
        _scratch_copy(where)
        problem = _mutate(where, mutation)
        if problem:
            return Outcome(mutation, False, 0.0, problem)
        env = dict(os.environ, PYTHONPATH=str(where), XDG_CACHE_HOME=str(Path(scratch) / "cache"))
        env.pop("NUMBA_CACHE_DIR", None)
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-rf"]
        done = subprocess.run(
            [*command, *mutation.tests],
            cwd=where,
            env=env,
            capture_output=True,
            text=True,
        )
    failed = []  # the failing test functions, their parameters left out
    for line in done.stdout.splitlines():
        if line.startswith("FAILED "):
            name = line.split()[1].split("::")[-1].split("[")[0]
            failed += [] if name in failed else [name]
    if done.returncode not in (0, 1):  # collection or usage errors are not a catch
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:]
        return Outcome(mutation, False, time.perf_counter() - start, " ".join(tail))
    return Outcome(mutation, done.returncode == 1, time.perf_counter() - start, ", ".join(failed))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="mutations at once")
    parser.add_argument("--only", nargs="+", metavar="NAME", help="mutations whose name has NAME")
    parser.add_argument("--list", action="store_true", help="list the mutations and stop")
    args = parser.parse_args(argv)
    chosen = [
        m for m in MUTATIONS if not args.only or any(o.lower() in m.name.lower() for o in args.only)
    ]
    if not chosen:
        print(
            f"mutations.py: --only {' '.join(args.only)}: no mutation's name has it (--list)",
            file=sys.stderr,
        )
        return 2
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name}  [{m.path}]")
        return 0
    print(f"{len(chosen)} mutations, {args.jobs} at a time, each compiling from an empty cache")
    outcomes = []
    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        for outcome in pool.map(run_one, chosen):
            outcomes.append(outcome)
            verdict = "caught" if outcome.caught else "SURVIVED"
            print(f"{verdict:8s} {outcome.seconds:4.0f} s  {outcome.mutation.name}", flush=True)
    print()
    print("| mutation | file | caught | by | s |")
    print("| --- | --- | --- | --- | --- |")
    for o in outcomes:
        by = o.detail or "-"
        verdict = "yes" if o.caught else "**no**"
        print(f"| {o.mutation.name} | {o.mutation.path} | {verdict} | {by} | {o.seconds:.0f} |")
    survived = [o for o in outcomes if not o.caught]
    print(f"\n{len(outcomes) - len(survived)} of {len(outcomes)} caught")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
