"""The `descent` command line: run a scenario, validate scenario files, list bundled ones.

User mistakes (a bad scenario, a bad argument, an unusable output folder) print one sentence
on stderr and exit with status 2; they never show a traceback.
"""

import argparse
import logging
import math
import os
import sys
from importlib import metadata
from pathlib import Path

from dynamics.plugins import PluginError
from sims.commands import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    UsageError,
    cmd_baseline,
    cmd_calibrate_trn,
    cmd_compare,
    cmd_mc,
    cmd_regress,
    cmd_report,
    cmd_run,
    cmd_scenarios,
    cmd_signals,
    cmd_sweep,
    cmd_validate,
    cmd_worst_case,
)
from sims.errors import CampaignError
from sims.scenarios import scenario


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


def add_record_options(parser):
    """The recorder's options (`sims.run.recorder`), overriding the scenario's [record]."""
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


def command_line():
    """The `descent` command: `main`, then an exit that leaves the interpreter's objects
    untorn-down (a third of a second of a run's time); every result is written and closed
    by then, and the streams and logs are flushed here."""
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        status = EXIT_BROKEN_PIPE
    logging.shutdown()
    os._exit(status)


if __name__ == "__main__":
    command_line()
