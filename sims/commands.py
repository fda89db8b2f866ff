"""What each `descent` command does (`sims.cli` parses the command line and calls one of these
handlers): the checks on the folders and files it is given, the runs and campaigns it flies,
and what it prints.

User mistakes raise UsageError (one sentence; `sims.cli` prints it and exits with status 2).
"""

import json
import math
import statistics
import sys
from pathlib import Path

from dynamics import compile_cache
from sims.errors import CampaignError
from sims.scenarios import scenario

EXIT_USAGE = 2
EXIT_REGRESSION = 1
EXIT_BROKEN_PIPE = 141  # as a command killed by SIGPIPE
EXIT_INTERRUPTED = 130  # as a command killed by SIGINT


class UsageError(Exception):
    """A mistake in what the user asked for; the message is one sentence."""


def tolerances(items):
    """{metric: value} of repeated METRIC=VALUE arguments."""
    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        try:
            out[name] = float(value) if sep else math.nan
        except ValueError:
            out[name] = math.nan
        if not math.isfinite(out[name]) or out[name] < 0:
            raise UsageError(f"--tolerance {item}: expected METRIC=VALUE with a value >= 0")
    return out


def campaign_folder(path):
    """path, checked to be a folder (a campaign's), named as given when it is not."""
    if not path.is_dir():
        raise UsageError(f"{path}: no such campaign folder")
    return path


def out_folder(path):
    """UsageError if --out names something that is not a folder."""
    if path.exists() and not path.is_dir():
        raise UsageError(f"--out {path}: exists and is not a folder")


def out_file(path, flag):
    """path, checked to be a file that can be written in an existing folder (given as flag)."""
    if path.is_dir() or not path.parent.is_dir():
        raise UsageError(f"{flag} {path}: not a file in an existing folder")
    return path


def _enough_pixels(option, pixels):
    """One sentence unless images `pixels` across can be matched (32 and up)."""
    if pixels < 32:
        raise UsageError(f"{option} {pixels}: at least 32 to match anything")


def record_overrides(args):
    """The [record] fields the command line sets, or None."""
    out = {}
    if args.record is not None:
        patterns = [p.strip() for p in args.record.split(",") if p.strip()]
        if not patterns:
            raise UsageError("--record: give signal names or patterns, comma-separated")
        out["signals"] = patterns
    if args.record_rate is not None:
        out["rate"] = f"{args.record_rate!r} Hz"
    if args.record_runs is not None:
        which = args.record_runs.strip()
        if which in ("all", "failures"):
            out["runs"] = which
        else:
            try:
                out["runs"] = [int(k) for k in which.split(",")]
            except ValueError:
                raise UsageError(
                    f"--record-runs {which}: expected 'all', 'failures' or run indices such "
                    "as 0,7,42"
                ) from None
    if args.record_first is not None:
        out["first"] = args.record_first
    return out or None


def cmd_signals(args):
    from sims.run import recorder

    sc = scenario.load(args.scenario)
    layout = recorder.state_layout(sc.flight_software) if args.fsw else None
    for name, _, _ in recorder.catalogue([f.name for f in sc.faults], layout):
        unit = recorder.unit_of(name)
        print(f"{name}  [{unit}]" if unit else name)
    return 0


def cmd_run(args):
    # compiled code is loaded only for commands that run it
    from sims import api

    if args.from_campaign is None and args.scenario is None:
        raise UsageError("give a SCENARIO, or --from-campaign DIR with --index K")
    if args.images and args.from_campaign is not None:
        raise UsageError("--images flies a SCENARIO, not a campaign's replay")
    if args.images:
        _enough_pixels("--image-pixels", args.image_pixels)
    if args.from_campaign is not None:
        from sims.campaigns import campaign, results_folder  # a replay's, off a plain run's path

        if args.index is None:
            raise UsageError("--from-campaign needs --index K")
        manifest = results_folder.Results(args.from_campaign).manifest()
        if args.scenario is not None and (
            scenario.read_text(args.scenario)[1] != manifest["scenario_text"]
        ):
            raise UsageError(
                f"{args.scenario}: not the scenario the campaign in {args.from_campaign} flew "
                "(leave SCENARIO out to replay with the campaign's own)"
            )
        with compile_cache.announce():
            sc, result = campaign.replay(args.from_campaign, args.index, record_overrides(args))
        default_out = args.from_campaign / f"replay-{args.index}"
    else:
        label, text = scenario.read_text(args.scenario)
        sc = scenario.parse_text(text, label, record_overrides(args))
        result = None
        default_out = Path("results") / sc.meta.name
    out = args.out if args.out is not None else default_out
    out_folder(out)
    with compile_cache.announce():
        if args.images:
            result = _run_with_images(sc, args.seed, out / "frames", args.image_pixels)
        if result is None:
            result = api.run(sc, seed=args.seed)
    result.write(out)
    print(describe(result.summary))
    recorded = [
        f"{name}.parquet" for name in ("recording", "updates") if getattr(result, name) is not None
    ]
    written = ", ".join(["summary.json", "trajectory.parquet", *recorded])
    print(f"  wrote {written} in {out}")
    return 0


def _run_with_images(sc, seed, folder, pixels):
    """`descent run --images`: the run with the pipeline in the loop, and a line on its fixes."""
    from sims.images import in_the_loop, trn_calibration

    try:
        result, log = in_the_loop.run(sc, seed, folder, pixels)
    except trn_calibration.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    errors = [
        math.hypot(r["fix_error_downrange_m"], r["fix_error_crossrange_m"])
        for r in log
        if not r["reason"]
    ]
    reasons = sorted({r["reason"] for r in log if r["reason"]})
    counts = ", ".join(f"{sum(r['reason'] == why for r in log)} {why}" for why in reasons)
    print(
        f"images: {len(log)} taken, {len(errors)} fixes"
        + (f" (median error {statistics.median(errors):.1f} m)" if errors else "")
        + (f"; no fix: {counts}" if counts else "")
        + f"; frames and {in_the_loop.FIX_LOG} in {folder}"
    )
    return result


def cmd_mc(args):
    from sims.campaigns import campaign, results_folder, tail

    progress = True if sys.stderr.isatty() else "log"  # a bar, or lines in a log (CI)
    given = [f"--{n}" for n in ("failure", "method", "design") if getattr(args, n)]
    if args.resume is not None:
        if args.scenario or args.runs or args.out or given or record_overrides(args):
            raise UsageError(
                "--resume DIR takes no SCENARIO, --runs, --out, --design, --failure, --method "
                "or --record options"
            )
        out = args.resume
        manifest = results_folder.Results(out).manifest()
        if manifest.get("worst_case"):
            return _resume_worst_case(out, args.workers, progress)
        estimates = manifest.get("tail") is not None

        def fly():
            resume = tail.resume if estimates else campaign.resume
            return resume(
                out,
                workers=args.workers,
                executor=args.executor,
                scheduler=args.scheduler,
                batch_size=args.batch,
                progress=progress,
            )
    else:
        if args.scenario is None or args.runs is None or args.out is None:
            raise UsageError("give SCENARIO, --runs N and --out DIR (or --resume DIR)")
        out_folder(args.out)
        if args.method and not args.failure:
            raise UsageError(f"--method {args.method} estimates a probability: give --failure EXPR")
        out = args.out
        common = dict(
            seed=args.seed,
            workers=args.workers,
            executor=args.executor,
            scheduler=args.scheduler,
            out=out,
            traces_first=args.traces,
            batch_size=args.batch,
            progress=progress,
            record=record_overrides(args),
            design=args.design or "random",
        )
        estimates = args.failure is not None
        if estimates:  # checked before anything compiles or is written
            tail.options(args.failure, args.method or "plain", args.runs, args.p0, args.max_levels)

        def fly():
            if estimates:
                return tail.run(
                    args.scenario,
                    args.failure,
                    args.runs,
                    args.method or "plain",
                    args.p0,
                    args.max_levels,
                    **common,
                )
            return campaign.run(args.scenario, args.runs, **common)

    runs = _flown(out, fly)
    if runs is None:
        return EXIT_INTERRUPTED
    if estimates:
        runs, record = runs
    outcomes = runs.column("outcome").to_pylist()
    counts = ", ".join(f"{o} {outcomes.count(o)}" for o in sorted(set(outcomes)))
    print(f"{len(outcomes)} runs: {counts}")
    if estimates:
        print(f"  {tail.describe(record)}")
    written = [p.name for p in sorted(out.glob("*.parquet"))] + ["manifest.json"]
    written += [tail.FILE] if estimates else []
    print(f"  wrote {', '.join(written)} in {out}")
    return 0


def _resume_worst_case(out, workers, progress):
    from sims.campaigns import worst_case

    record = _flown(out, lambda: worst_case.resume(out, workers=workers, progress=progress))
    if record is None:
        return EXIT_INTERRUPTED
    print(describe_worst_case(record, out))
    return 0


def _flown(out, fly):
    """fly()'s result, under the compile announcement; None when Ctrl-C stopped it, once
    what was kept in out is said."""
    try:
        with compile_cache.announce():
            return fly()
    except KeyboardInterrupt:
        print(f"descent: interrupted; {_kept(out)}", file=sys.stderr)
        return None


def _kept(out):
    """What an interrupted campaign in out kept, and how to finish it, in one sentence."""
    from sims.campaigns import results_folder

    store = results_folder.Results(out)
    try:
        total = store.manifest()["runs"]
    except CampaignError:
        return f"nothing was kept in {out}"
    return (
        f"{len(store.done())} of {total} runs kept in {out}; finish the others with "
        f"'descent mc --resume {out}'"
    )


def cmd_report(args):
    from sims.analysis import report
    from sims.run import results

    out = out_file(args.out or campaign_folder(args.campaign) / "report.html", "--out")
    text = report.build(args.campaign, args.runs)
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_compare(args):
    from sims.analysis import report
    from sims.run import results

    campaign_folder(args.first)
    out = out_file(args.out or campaign_folder(args.second) / "compare.html", "--out")
    text = report.compare(args.first, args.second)
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_baseline(args):
    from sims.analysis import regression
    from sims.run import results

    out = out_file(args.out, "--out")
    text = json.dumps(regression.baseline(args.campaign)) + "\n"
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_regress(args):
    from sims.analysis import regression
    from sims.run import results

    writers = [
        (out_file(path, flag), text)
        for path, flag, text in (
            (args.junit, "--junit", regression.junit),
            (args.markdown, "--markdown", regression.markdown),
        )
        if path is not None
    ]
    base = regression.read_baseline(args.baseline)
    current = regression.baseline(args.campaign)
    warnings = regression.mismatches(current, base)
    if warnings and args.strict:
        raise UsageError(f"{args.campaign}: {warnings[0]} ({args.baseline}); --strict refuses")
    for warning in warnings:
        print(f"descent: warning: {args.campaign}: {warning} ({args.baseline})", file=sys.stderr)
    verdicts = regression.verdicts(current, base, args.alpha, tolerances(args.tolerance))
    print(regression.text_table(verdicts))
    for path, text in writers:
        content = text(verdicts, current, base, warnings)
        results.write_atomically(path, lambda f, c=content: f.write(c.encode()))
    print(regression.overall(verdicts))
    return EXIT_REGRESSION if any(not v.passed for v in verdicts) else 0


def cmd_calibrate_trn(args):
    from sims.images import trn_calibration  # the renderer and matcher load only here
    from sims.run import results

    out = out_file(args.out, "--out")
    sc = scenario.load(args.scenario)
    _enough_pixels("--pixels", args.pixels)
    if args.map_sun_elevation is not None and not -90.0 <= args.map_sun_elevation <= 90.0:
        raise UsageError(f"--map-sun-elevation {args.map_sun_elevation:g}: not an elevation (deg)")
    try:
        cases = trn_calibration.Cases(
            args.altitudes,
            args.sun_elevations,
            args.slew_rates,
            args.images,
            args.pixels,
            args.map_sun_elevation,
        )
        records = trn_calibration.sweep(
            sc, cases, args.seed, args.map_resolutions or (), args.crater_densities or ()
        )
    except trn_calibration.CalibrationError as exc:
        raise UsageError(str(exc)) from None
    try:
        own = trn_calibration.own_records(sc, records)
        fitted = trn_calibration.fit(own)
    except trn_calibration.CalibrationError as exc:
        trn_calibration.write(out, sc, records, None)  # the images swept are kept
        raise UsageError(f"{exc} (the sweep is in {out}, with no fit)") from None
    trn_calibration.write(out, sc, records, fitted)
    base = args.scenario if not Path(args.scenario).is_file() else Path(args.scenario).resolve()
    calibrated = out.with_suffix(".toml")
    text, notes = trn_calibration.scenario_fragment(base, sc, fitted, args.pixels, own)
    results.write_atomically(calibrated, lambda f: f.write(text.encode()))
    print(
        f"{sc.meta.name}: {fitted['fixes']} fixes of {fitted['images']} images over its own map "
        f"and terrain ({len(records)} swept); match error "
        f"{fitted['match_error_px']:.2f} px, noise {fitted['noise_m']:.2f} m, false matches "
        f"{fitted['false_match_probability']:.1%} ({fitted['false_match_error_m']:.0f} m); "
        f"fixes from {fitted['min_altitude_m']:g} to {fitted['max_altitude_m']:g} m, Sun from "
        f"{fitted['min_sun_elevation_deg']:g} deg, blur up to {fitted['max_blur_px']:.1f} px, "
        f"from {fitted['min_craters']:.3g} usable craters in view "
        f"(right for {fitted['availability_agreement']:.0%} of the images)"
    )
    for note in notes:
        print(f"  note: {note}")
    print(f"  wrote {out} and {calibrated} (a scenario with the fitted camera)")
    return 0


def cmd_sweep(args):
    from sims.campaigns import campaign, sweeps

    out_folder(args.out)
    sc = scenario.load(args.scenario)
    spec = sweeps.spec([sweeps.axis(a, sc) for a in args.axes], args.grid, args.runs)
    progress = True if sys.stderr.isatty() else "log"
    runs = _flown(
        args.out,
        lambda: campaign.run(
            args.scenario,
            args.runs,
            out=args.out,
            seed=args.seed,
            workers=args.workers,
            progress=progress,
            sweep=spec,
        ),
    )
    if runs is None:
        return EXIT_INTERRUPTED
    rows = sweeps.statistics(runs.to_pandas(), spec)
    for row in rows:
        values = ", ".join(f"{p} = {row[p]:.6g}" for p in sweeps.paths(spec) if p in row)
        print(
            f"point {row['point']}: {values}: landed {row['landed']:.1%} "
            f"({row['landed_low']:.1%} to {row['landed_high']:.1%}), landing error median "
            f"{row['landing_error_median_m']:.1f} m, 99 % {row['landing_error_p99_m']:.1f} m"
        )
    print(f"  wrote runs.parquet, traces.parquet, manifest.json in {args.out}")
    return 0


def cmd_worst_case(args):
    from sims.campaigns import worst_case

    out_folder(args.out)
    progress = True if sys.stderr.isatty() else "log"
    record = _flown(
        args.out,
        lambda: worst_case.run(
            args.scenario,
            args.failure,
            args.replicates,
            args.screen,
            args.budget,
            args.seed,
            args.out,
            workers=args.workers,
            progress=progress,
        ),
    )
    if record is None:
        return EXIT_INTERRUPTED
    print(describe_worst_case(record, args.out))
    return 0


def describe_worst_case(record, out):
    """What a worst-case search found and wrote, in a few lines."""
    from sims.campaigns import worst_case

    lines = [
        worst_case.describe(record),
        f"  replay: descent run --from-campaign {out} --index {record['worst_runs'][0]}",
        f"  wrote worst_case.json, runs.parquet, traces.parquet, manifest.json in {out}",
    ]
    return "\n".join(lines)


def cmd_validate(args):
    label, _ = scenario.read_text(args.scenario)
    sc = scenario.load(args.scenario)
    print(f"{label}: valid scenario '{sc.meta.name}'")
    return 0


def cmd_scenarios(args):
    names = scenario.bundled_names()
    width = max(map(len, names)) + 2
    for name in names:
        print(f"{name:{width}s}{scenario.load(name).meta.description}")
    return 0


def describe(summary):
    """A few lines a person reads after a run."""
    why = summary.get("failure_class")
    lines = [
        f"{summary['scenario']} (seed {summary['seed']}): {summary['outcome']} "
        f"at t = {summary['end_time_s']:.1f} s"
        + (f": {why} (limit: {summary['cause']})" if why is not None else "")
    ]
    td = summary["touchdown"]
    if td is not None:
        lines.append(
            f"  touchdown on {td['contact']}: {td['descent_rate_mps']:.2f} m/s down, "
            f"{td['horizontal_speed_mps']:.2f} m/s horizontal, tilt {td['tilt_deg']:.1f} deg, "
            f"slope {td['slope_deg']:.1f} deg, rates {td['body_rate_dps']:.2f} deg/s, "
            f"{td['position_error_m']:.1f} m from the target"
        )
    nav = summary.get("navigation")
    if nav is not None and not nav["estimate_reported"]:
        lines.append("  navigation: the flight software reports no estimate (no errors, no NEES)")
    elif nav is not None:
        lines.append(
            f"  navigation: max altitude error {_figure(nav['max_altitude_error_m'], 1)} m; at "
            f"the end {_figure(nav['final_position_error_m'], 1)} m, "
            f"{_figure(nav['final_velocity_error_mps'], 2)} m/s off (its own 3-sigma: "
            f"{_figure(nav['final_position_3sigma_m'], 1)} m, "
            f"{_figure(nav['final_velocity_3sigma_mps'], 2)} m/s)"
        )
    events = [e for e in summary["events"] if e["event"] != "measurement_rejected"]
    if events:
        lines.append("  events: " + "; ".join(_event_text(e) for e in events))
    if "diverged_reason" in summary:
        lines.append(f"  diverged: {summary['diverged_reason']}")
    lines.append(
        f"  burn: {summary['burn_time_s']:.1f} s, delta-v {summary['delta_v_mps']:.0f} m/s; "
        f"propellant: {summary['propellant_used_kg']:.1f} kg used, "
        f"{summary['propellant_remaining_kg']:.1f} kg remaining"
        + (
            f" (flame-out at t = {summary['flameout_time_s']:.1f} s)"
            if summary["flameout_time_s"] is not None
            else ""
        )
    )
    return "\n".join(lines)


def _figure(value, decimals):
    """A figure with its decimals, or "n/a" where the flight software reports none."""
    return "n/a" if value is None else f"{value:.{decimals}f}"


def _event_text(e):
    if "fault" in e:
        return f"{e['t_s']:.1f} s {e['event']} ({e['fault']}: {e['mode']} of {e['target']})"
    detail = e.get("phase") or e.get("sensor") or ""
    if "choice" in e:  # a site selected: which, and how far the divert
        detail = f"{e['choice']}, {e['divert_m']:.1f} m"
    return f"{e.get('t_s', 0):.1f} s {e['event']}" + (f" ({detail})" if detail else "")
