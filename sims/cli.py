"""The `descent` command line: run a scenario, validate scenario files, list bundled ones.

User mistakes (a bad scenario, a bad argument, an unusable output folder) print one sentence
on stderr and exit with status 2; they never show a traceback.
"""

import argparse
import json
import math
import os
import statistics
import sys
from importlib import metadata
from pathlib import Path

from dynamics import compile_cache
from dynamics.plugins import PluginError
from sims import scenario
from sims.errors import CampaignError

EXIT_USAGE = 2
EXIT_REGRESSION = 1
EXIT_BROKEN_PIPE = 141  # as a command killed by SIGPIPE
EXIT_INTERRUPTED = 130  # as a command killed by SIGINT


class UsageError(Exception):
    """A mistake in what the user asked for; the message is one sentence."""


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.handler(args)
        sys.stdout.flush()  # a reader that went away is noticed here, not at exit
        return status
    except (scenario.ScenarioError, UsageError, CampaignError, PluginError) as exc:
        print(f"descent: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("descent: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`descent run nominal | head -1`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


def build_parser():
    parser = argparse.ArgumentParser(
        prog="descent", description="Lunar powered-descent GNC simulator."
    )
    parser.add_argument(
        "--version", action="version", version=f"descent {metadata.version('lunar-descent')}"
    )
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run one descent and write its results")
    run.add_argument("scenario", nargs="?", help="scenario file, or a bundled scenario name")
    run.add_argument("--seed", type=non_negative_int, default=0, help="run seed (default 0)")
    run.add_argument("--out", type=Path, help="results folder (default results/SCENARIO_NAME)")
    run.add_argument(
        "--from-campaign",
        type=Path,
        metavar="DIR",
        help="replay one run of the campaign in DIR (with --index)",
    )
    run.add_argument("--index", type=non_negative_int, help="run index to replay")
    run.add_argument(
        "--images",
        action="store_true",
        help="fly the image-matching pipeline in the loop on rendered camera frames, saved "
        "with their fixes in OUT/frames (slow: Python at the camera's rate)",
    )
    run.add_argument(
        "--image-pixels",
        type=positive_int,
        default=256,
        help="with --images: frame size rendered (default %(default)s, calibrate-trn's)",
    )
    add_record_options(run)
    run.set_defaults(handler=cmd_run)

    mc = sub.add_parser("mc", help="run a Monte Carlo campaign of dispersed descents")
    mc.add_argument("scenario", nargs="?", help="scenario file, or a bundled scenario name")
    mc.add_argument("--runs", type=positive_int, help="number of runs")
    mc.add_argument("--seed", type=non_negative_int, default=0, help="campaign seed (default 0)")
    mc.add_argument(
        "--workers",
        type=positive_int,
        help="worker threads of this process, or Dask worker processes with --executor dask "
        "(default: all cores)",
    )
    mc.add_argument("--executor", choices=("local", "dask"), default="local")
    mc.add_argument(
        "--scheduler",
        metavar="ADDR",
        help="dask scheduler address (default: start a local cluster)",
    )
    mc.add_argument(
        "--traces",
        type=non_negative_int,
        default=10,
        metavar="K",
        help="keep traces of the first K runs and of every failure (default 10)",
    )
    mc.add_argument("--batch", type=positive_int, help="runs per batch (default: automatic)")
    mc.add_argument(
        "--design",
        choices=("random", "lhs", "sobol", "saltelli"),
        help="where the runs lie in the dispersions: independent draws (default), a Latin "
        "hypercube over the runs, a scrambled Sobol sequence, or Saltelli's sampling for Sobol "
        "indices (--runs N, a power of two, flies N (D + 3) runs over D dispersed components)",
    )
    mc.add_argument(
        "--failure",
        metavar="EXPR",
        help='what counts as a failed run, e.g. "landing_error_m > 150" or \'outcome != '
        '"landed"\': its probability is estimated, with an interval, into tail.json',
    )
    mc.add_argument(
        "--method",
        choices=("plain", "subset", "importance"),
        help="how: plain Monte Carlo of --runs runs (default); for failures too rare for it, "
        "subset simulation or importance sampling (cross-entropy) of --runs runs a level",
    )
    mc.add_argument(
        "--p0",
        type=probability,
        default=0.1,
        help="the share of each level's runs the next level starts from (default 0.1)",
    )
    mc.add_argument(
        "--max-levels",
        type=positive_int,
        default=10,
        help="subset simulation, importance sampling: at most this many levels (default 10)",
    )
    mc.add_argument("--out", type=Path, help="results folder")
    mc.add_argument("--resume", type=Path, metavar="DIR", help="finish an interrupted campaign")
    add_record_options(mc)
    mc.set_defaults(handler=cmd_mc)

    signals = sub.add_parser("signals", help="list the signals a scenario's runs can record")
    signals.add_argument("scenario", help="scenario file, or a bundled scenario name")
    signals.add_argument(
        "--fsw", action="store_true", help="list the flight software's state fields too"
    )
    signals.set_defaults(handler=cmd_signals)

    sweep = sub.add_parser("sweep", help="landing statistics across a grid of fields' values")
    sweep.add_argument("scenario", help="scenario file, or a bundled scenario name")
    sweep.add_argument(
        "axes",
        nargs="+",
        metavar="FIELD=START:STOP:N",
        help="a scalar dispersible field from START to STOP in N steps, in its units "
        "(vehicle.main_engine.max_thrust=2300N:2600N:4)",
    )
    sweep.add_argument("--runs", type=positive_int, required=True, help="runs at each point")
    sweep.add_argument(
        "--grid",
        choices=("oat", "full"),
        default="oat",
        help="one field at a time, the others nominal (default), or every combination",
    )
    sweep.add_argument("--out", type=Path, required=True, help="results folder")
    sweep.add_argument("--seed", type=non_negative_int, default=0, help="campaign seed (default 0)")
    sweep.add_argument("--workers", type=positive_int, help="worker threads (default: all cores)")
    sweep.set_defaults(handler=cmd_sweep)

    worst = sub.add_parser(
        "worst-case", help="the smallest margin within the dispersions' 3-sigma box"
    )
    worst.add_argument("scenario", help="scenario file, or a bundled scenario name")
    worst.add_argument(
        "--failure",
        required=True,
        metavar="EXPR",
        help="the failure whose margin to minimise, e.g. 'outcome != \"landed\"'",
    )
    worst.add_argument(
        "--replicates",
        type=positive_int,
        default=4,
        help="runs a point, each with one of as many fixed noise draws (default 4)",
    )
    worst.add_argument(
        "--screen",
        type=positive_int,
        default=6,
        help="the strongest components whose corners are flown (default 6: 64 corners)",
    )
    worst.add_argument(
        "--budget", type=positive_int, default=100, help="points the local search may fly"
    )
    worst.add_argument("--out", type=Path, required=True, help="results folder")
    worst.add_argument("--seed", type=non_negative_int, default=0, help="campaign seed (default 0)")
    worst.add_argument("--workers", type=positive_int, help="worker threads (default: all cores)")
    worst.set_defaults(handler=cmd_worst_case)

    validate = sub.add_parser("validate", help="check a scenario file and report its problems")
    validate.add_argument("scenario", help="scenario file, or the name of a bundled scenario")
    validate.set_defaults(handler=cmd_validate)

    report = sub.add_parser("report", help="write a campaign's HTML report")
    report.add_argument("campaign", type=Path, metavar="DIR", help="campaign results folder")
    report.add_argument("--out", type=Path, help="HTML file (default DIR/report.html)")
    report.add_argument(
        "--runs",
        type=index_list,
        metavar="K,...",
        help="recorded runs drawn one by one in the navigation figures (default: the worst)",
    )
    report.set_defaults(handler=cmd_report)

    base = sub.add_parser("baseline", help="store a campaign's landing statistics")
    base.add_argument("campaign", type=Path, metavar="DIR", help="campaign results folder")
    base.add_argument("--out", type=Path, required=True, help="baseline JSON file")
    base.set_defaults(handler=cmd_baseline)

    regress = sub.add_parser(
        "regress", help="compare a campaign with a baseline: exit 0 pass, 1 regression"
    )
    regress.add_argument("campaign", type=Path, metavar="DIR", help="campaign results folder")
    regress.add_argument("--baseline", type=Path, required=True, help="baseline JSON file")
    regress.add_argument(
        "--alpha", type=probability, default=0.01, help="significance level (default 0.01)"
    )
    regress.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="allowed worsening of a metric before it counts (repeatable; default 0)",
    )
    regress.add_argument("--junit", type=Path, help="write JUnit XML, one test case per metric")
    regress.add_argument("--markdown", type=Path, help="write a Markdown summary")
    regress.add_argument(
        "--strict",
        action="store_true",
        help="refuse (exit 2) when the campaign's scenario, seed or run count differs from the "
        "baseline's (else a warning)",
    )
    regress.set_defaults(handler=cmd_regress)

    compare = sub.add_parser("compare", help="two campaigns side by side, as HTML")
    compare.add_argument("first", type=Path, metavar="DIR_A", help="campaign A (the reference)")
    compare.add_argument("second", type=Path, metavar="DIR_B", help="campaign B")
    compare.add_argument("--out", type=Path, help="HTML file (default DIR_B/compare.html)")
    compare.set_defaults(handler=cmd_compare)

    trn = sub.add_parser(
        "calibrate-trn",
        help="fit the image-navigation model to the real pipeline on rendered images",
    )
    trn.add_argument("scenario", help="scenario file, or a bundled scenario name")
    trn.add_argument("--out", type=Path, required=True, help="JSON file to write")
    trn.add_argument(
        "--altitudes",
        type=positive_list,
        default="500,1000,2000,4000,8000,16000",
        help="m (default %(default)s)",
    )
    trn.add_argument(
        "--sun-elevations", type=number_list, default="2,5,10,30", help="deg (default %(default)s)"
    )
    trn.add_argument(
        "--slew-rates", type=non_negative_list, default="0,5,20", help="deg/s (default %(default)s)"
    )
    trn.add_argument(
        "--map-resolutions",
        type=positive_list,
        help="m: onboard maps to sweep (default: the scenario's)",
    )
    trn.add_argument(
        "--crater-densities",
        type=positive_list,
        help="scales of the terrain tiles' crater densities to sweep (default: the scenario's)",
    )
    trn.add_argument(
        "--map-sun-elevation",
        type=float,
        help="deg: match against the map's ortho-image lit from this elevation, a quarter turn "
        "from the image's Sun (default: the map rendered under the image's Sun)",
    )
    trn.add_argument("--images", type=positive_int, default=4, help="per case (default 4)")
    trn.add_argument(
        "--pixels", type=positive_int, default=256, help="image size rendered (default 256)"
    )
    trn.add_argument("--seed", type=non_negative_int, default=0, help="sweep seed (default 0)")
    trn.set_defaults(handler=cmd_calibrate_trn)

    listing = sub.add_parser("scenarios", help="list the bundled scenarios")
    listing.set_defaults(handler=cmd_scenarios)
    return parser


def whole_number(text, least):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a number >= {least}, got {value}")
    return value


def non_negative_int(text):
    return whole_number(text, 0)


def positive_int(text):
    return whole_number(text, 1)


def index_list(text):
    """Comma-separated run indices."""
    values = number_list(text, 0.0)
    if any(v != int(v) for v in values):
        raise argparse.ArgumentTypeError(f"expected run indices such as 0,7,42, got {text!r}")
    return [int(v) for v in values]


def positive_float(text):
    values = number_list(text, 0.0, strict=True)
    if len(values) != 1:
        raise argparse.ArgumentTypeError(f"expected one number > 0, got {text!r}")
    return values[0]


def number_list(text, least=-math.inf, strict=False):
    """Comma-separated numbers, each >= least (> when strict)."""
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected numbers separated by commas, got {text!r}"
        ) from None
    if any(not math.isfinite(v) or v < least or (strict and v == least) for v in values):
        bound = f"> {least:g}" if strict else f">= {least:g}"
        raise argparse.ArgumentTypeError(f"expected numbers {bound}, got {text!r}")
    return values


def positive_list(text):
    return number_list(text, 0.0, strict=True)


def non_negative_list(text):
    return number_list(text, 0.0)


def probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a number between 0 and 1, got {value:g}")
    return value


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


def results_folder(path):
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


def add_record_options(parser):
    """The recorder's options (`sims.recorder`), overriding the scenario's [record]."""
    parser.add_argument(
        "--record",
        metavar="SIGNALS",
        help="record these signals: names or patterns, comma-separated ('nav.*,truth.altitude_m'"
        "; 'descent signals SCENARIO' lists them)",
    )
    parser.add_argument("--record-rate", type=positive_float, metavar="HZ", help="samples a second")
    parser.add_argument(
        "--record-runs",
        metavar="WHICH",
        help="'all', 'failures' or run indices, comma-separated (default: failures)",
    )
    parser.add_argument(
        "--record-first", type=non_negative_int, metavar="K", help="record the first K runs too"
    )


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
    from sims import recorder

    sc = scenario.load(args.scenario)
    layout = recorder.state_layout(sc.flight_software) if args.fsw else None
    for name, _, _ in recorder.catalogue([f.name for f in sc.faults], layout):
        unit = recorder.unit_of(name)
        print(f"{name}  [{unit}]" if unit else name)
    return 0


def cmd_run(args):
    from sims import api, campaign  # compiled code is loaded only for commands that run it

    if args.from_campaign is None and args.scenario is None:
        raise UsageError("give a SCENARIO, or --from-campaign DIR with --index K")
    if args.images and args.from_campaign is not None:
        raise UsageError("--images flies a SCENARIO, not a campaign's replay")
    if args.images:
        _enough_pixels("--image-pixels", args.image_pixels)
    if args.from_campaign is not None:
        if args.index is None:
            raise UsageError("--from-campaign needs --index K")
        manifest = campaign.Results(args.from_campaign).manifest()
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
    results_folder(out)
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
    from sims import images_in_the_loop, trn_calibration

    try:
        result, log = images_in_the_loop.run(sc, seed, folder, pixels)
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
        + f"; frames and {images_in_the_loop.FIX_LOG} in {folder}"
    )
    return result


def cmd_mc(args):
    from sims import campaign, tail

    progress = True if sys.stderr.isatty() else "log"  # a bar, or lines in a log (CI)
    given = [f"--{n}" for n in ("failure", "method", "design") if getattr(args, n)]
    if args.resume is not None:
        if args.scenario or args.runs or args.out or given or record_overrides(args):
            raise UsageError(
                "--resume DIR takes no SCENARIO, --runs, --out, --design, --failure, --method "
                "or --record options"
            )
        out = args.resume
        manifest = campaign.Results(out).manifest()
        if manifest.get("worst_case"):
            return _resume_worst_case(out, args.workers, progress)
        estimates = manifest.get("tail") is not None

        def fly():
            resume = tail.resume if estimates else campaign.resume
            return resume(
                out, args.workers, args.executor, args.scheduler, args.batch, progress=progress
            )
    else:
        if args.scenario is None or args.runs is None or args.out is None:
            raise UsageError("give SCENARIO, --runs N and --out DIR (or --resume DIR)")
        results_folder(args.out)
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
    from sims import worst_case

    record = _flown(out, lambda: worst_case.resume(out, workers, progress))
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
    from sims import campaign

    store = campaign.Results(out)
    try:
        total = store.manifest()["runs"]
    except CampaignError:
        return f"nothing was kept in {out}"
    return (
        f"{len(store.done())} of {total} runs kept in {out}; finish the others with "
        f"'descent mc --resume {out}'"
    )


def cmd_report(args):
    from sims import report, results

    out = out_file(args.out or campaign_folder(args.campaign) / "report.html", "--out")
    text = report.build(args.campaign, args.runs)
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_compare(args):
    from sims import report, results

    campaign_folder(args.first)
    out = out_file(args.out or campaign_folder(args.second) / "compare.html", "--out")
    text = report.compare(args.first, args.second)
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_baseline(args):
    from sims import regression, results

    out = out_file(args.out, "--out")
    text = json.dumps(regression.baseline(args.campaign)) + "\n"
    results.write_atomically(out, lambda f: f.write(text.encode()))
    print(f"wrote {out}")
    return 0


def cmd_regress(args):
    from sims import regression, results

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
    from sims import results, trn_calibration  # the renderer and matcher load only here

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
    from sims import campaign, sweeps

    results_folder(args.out)
    sc = scenario.load(args.scenario)
    spec = sweeps.spec([sweeps.axis(a, sc) for a in args.axes], args.grid, args.runs)
    progress = True if sys.stderr.isatty() else "log"
    runs = _flown(
        args.out,
        lambda: campaign.run(
            args.scenario,
            args.runs,
            args.seed,
            args.workers,
            out=args.out,
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
    from sims import worst_case

    results_folder(args.out)
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
            args.workers,
            args.out,
            progress,
        ),
    )
    if record is None:
        return EXIT_INTERRUPTED
    print(describe_worst_case(record, args.out))
    return 0


def describe_worst_case(record, out):
    """What a worst-case search found and wrote, in a few lines."""
    from sims import worst_case

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
    return f"{e.get('t_s', 0):.1f} s {e['event']}" + (f" ({detail})" if detail else "")


if __name__ == "__main__":
    sys.exit(main())
