"""The tail of a campaign: the probability of a failure (`sims.campaigns.limit_state`) too rare for
plain Monte Carlo, by subset simulation (`uncertainty.subset`) or importance sampling
(`uncertainty.importance`, cross-entropy) over the scenario's dispersions, every evaluation a
normal campaign run.

The dispersions' components are the standard normals z, a run's point in the unit cube
u = Phi(z) and its values their quantiles (`dispersions.Sampler.values`). Level 0 is the
plain campaign's first N runs, the same points and seeds; each later evaluation takes the
next run index, so its sensors' and faults' streams (`dispersions.run_seed`) are fresh: subset
simulation's chains treat them as components proposed anew from their prior, which the
modified Metropolis step always keeps; importance sampling leaves them at their prior (only
the dispersions are shifted, so the likelihood ratio is the dispersions'). The runs table
records each run's `point` and `level`; `descent run --from-campaign DIR --index K` replays
any of them. The methods are deterministic given the campaign seed and the margins, so an
interrupted campaign resumes by running the method again, taking the margins of the runs
already stored instead of flying them.

`tail.json` holds the estimate: the probability, its CV and 90 % interval, the levels (or
stages), the most probable failure seen (its run and its distance from the nominal in
standard deviations, the design point's reliability index), and the components' mean z level
by level (what drives the tail). A plain campaign given a failure expression gets the same
file, with the exact binomial interval.
"""

import json
import math

import numpy as np
from scipy import stats

from sims.campaigns import campaign, chosen_runs, limit_state, results_folder
from sims.errors import CampaignError
from sims.run import results
from uncertainty import designs, importance, subset

METHODS = ("plain", "subset", "importance")
NAMES = {"subset": "subset simulation", "importance": "importance sampling (cross-entropy)"}
CONFIDENCE = 0.9
PROPOSALS_KEY = 0x5B5  # spawn key of the proposals' stream: not a run index slot
FILE = "tail.json"


def options(failure, method, runs, p0, max_levels):
    """The manifest's `tail` record, checked: CampaignError in one sentence."""
    if method not in METHODS:
        raise CampaignError(f"--method {method}: expected one of {', '.join(METHODS)}")
    if method == "plain":
        limit_state.parse(failure)
        return {"method": method, "failure": failure}
    limit_state.parse(failure, graded_for=f"{NAMES[method]} has no levels to climb")
    whole = abs(1.0 / p0 - round(1.0 / p0)) < 1e-9 and (runs * p0) % 1 == 0
    if method == "subset" and not whole:
        raise CampaignError(
            f"--p0 {p0:g} with --runs {runs}: 1/p0 and runs x p0 must be whole numbers "
            "(e.g. --p0 0.1 with --runs 1000)"
        )
    if runs * p0 < 1:
        raise CampaignError(f"--p0 {p0:g} with --runs {runs}: no run would be kept a level")
    return {
        "method": method,
        "failure": failure,
        "per_level": runs,
        "p0": p0,
        "max_levels": max_levels,
    }


def bound(tail):
    """Most runs the method evaluates."""
    n, levels = tail["per_level"], tail["max_levels"]
    if tail["method"] == "importance":
        return n * levels
    return n + (levels - 1) * (n - round(n * tail["p0"]))


def run(source, failure, runs, method="subset", p0=0.1, max_levels=10, **flying):
    """(runs table, tail record) of a campaign estimating P(failure); runs: per level for
    subset simulation, in all for plain Monte Carlo; flying: how to fly it, the keywords of
    `campaign.run` (seed, workers, executor, scheduler, out, traces_first, batch_size,
    progress, record; design for plain Monte Carlo)."""
    tail = options(failure, method, runs, p0, max_levels)
    if method == "plain":
        table = campaign.run(source, runs, tail=tail, **flying)
        plan = campaign.plan_for(source, runs, 0, 0, flying.get("record"))
        limits = plan.scenario.touchdown_limits
        return table, _finish(flying.get("out"), plain_estimate(table, tail, limits))
    out = flying.pop("out", None)
    request, execution = campaign.options(flying)
    if request.design != "random":
        raise CampaignError(f"--design is for plain Monte Carlo: {NAMES[method]} places its runs")
    return _start(source, tail, out, request, execution)


def _start(source, tail, out, request, execution):
    """Start a subset simulation or importance sampling (`run`)."""
    plan, execution = campaign.new_plan(source, bound(tail), request, execution)
    if not campaign.prepared(plan)[0].dispersions:
        raise CampaignError(
            f"--method {tail['method']}: {plan.label} disperses nothing ([dispersions] is "
            "empty), so there is no tail to explore"
        )
    store = campaign.started(out, plan, source, tail=tail)
    return _adaptive(plan, store, tail, execution)


def resume(out, **execution):
    """(runs table, tail record) of an interrupted campaign in out that estimates a failure
    probability, finished: a plain one's missing runs flown, a subset simulation or
    importance sampling run again over the runs it stored."""
    store = results_folder.Results(out)
    tail = store.manifest()["tail"]
    if tail["method"] == "plain":
        table = campaign.resume(out, **execution)
        limits = campaign.plan_of(store.manifest()).scenario.touchdown_limits
        return table, _finish(store.out, plain_estimate(table, tail, limits))
    execution = campaign.Execution(**execution)
    plan = campaign.checked_plan(store, execution)
    return _adaptive(plan, store, tail, execution)


def _adaptive(plan, store, tail, execution):
    """(runs table, record) of a subset simulation or importance sampling, flying the runs
    it asks for that the store does not hold."""
    runs = chosen_runs.ChosenRuns(plan, store, execution)
    state = limit_state.parse(tail["failure"])
    evaluated = []  # z of every evaluation, in order

    def evaluate(z, level):
        evaluated.append(z)
        u = level0 if level == 0 else designs.from_normal(z)
        return state.margin(runs.fly(u, level), runs.sc.touchdown_limits)

    level0 = runs.sampler.points(plan.seed, range(tail["per_level"]))
    rng = np.random.default_rng(np.random.SeedSequence(plan.seed, spawn_key=(PROPOSALS_KEY,)))
    method = subset if tail["method"] == "subset" else importance
    try:
        estimate = method.simulate(
            evaluate, stats.norm.ppf(level0), rng, tail["p0"], tail["max_levels"]
        )
    finally:
        runs.close()
    runs.finish()
    table = runs.rows()
    z = np.vstack(evaluated)
    record = adaptive_record(estimate, tail, runs.sampler.components, z, table, runs.sc)
    return table, _finish(store.out if store else None, record)


def _number(x):
    return None if math.isnan(x) else x


def adaptive_record(estimate, tail, components, z, table, sc):
    """The tail.json record of a subset simulation or importance sampling; z: every run's
    standard normals, in run order."""
    low, high = estimate.interval(CONFIDENCE)
    state = limit_state.parse(tail["failure"])
    failed = state.failed(table, sc.touchdown_limits)
    record = {
        **tail,
        "probability": estimate.probability,
        "cov": estimate.cov,
        "interval": [low, high],
        "confidence": CONFIDENCE,
        "reached": estimate.reached,
        "evaluations": estimate.evaluations,
        "failed_runs": int(failed.sum()),
        "levels": [
            {
                "threshold": lv.threshold,
                "probability": lv.probability,
                "cov": _number(lv.cov),
                "gamma": _number(lv.gamma),
                "acceptance": _number(lv.acceptance),
                "runs": lv.evaluations,
            }
            for lv in estimate.levels
        ],
        "components": list(components),
        "drivers": _drivers(components, estimate.levels),
    }
    if failed.any():
        distance = np.where(failed, np.linalg.norm(z, axis=1), np.inf)
        k = int(np.argmin(distance))
        record["most_probable_failure"] = {
            "run": int(table.column("run")[k].as_py()),
            "reliability_index": float(distance[k]),
            "z": dict(zip(components, map(float, z[k]), strict=True)),
        }
    return record


def _drivers(components, levels):
    """[{component, mean_z per level}], the components whose mean moved most first."""
    means = np.array([lv.mean for lv in levels])
    order = np.argsort(-np.abs(means[-1]), kind="stable")
    return [{"component": components[j], "mean_z": means[:, j].tolist()} for j in order]


def plain_estimate(table, tail, limits):
    """The tail.json record of a plain campaign: the share of failed runs and its exact
    (Clopper-Pearson) interval."""
    failed = limit_state.parse(tail["failure"]).failed(table, limits)
    n, k = len(failed), int(failed.sum())
    interval = stats.binomtest(k, n).proportion_ci(CONFIDENCE, method="exact")
    p = k / n
    return {
        **tail,
        "probability": p,
        "cov": math.sqrt((1 - p) / (n * p)) if k else None,
        "interval": [interval.low, interval.high],
        "confidence": CONFIDENCE,
        "reached": k > 0,
        "evaluations": n,
        "failed_runs": k,
    }


def _finish(out, record):
    """Write tail.json into out (if any) and return the record."""
    if out is not None:
        text = json.dumps(record, indent=2) + "\n"
        results.write_atomically(out / FILE, lambda f: f.write(text.encode()))
    return record


def load(out):
    """The tail.json record of a campaign folder, or None."""
    path = out / FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CampaignError(f"{path}: corrupt, not readable as JSON ({exc})") from None


def describe(record):
    """One line saying what a tail record estimates."""
    what = f"P({record['failure']})"
    low, high = record["interval"]
    share = f"{record['confidence']:.0%} interval"
    if record["method"] == "plain":
        k, n = record["failed_runs"], record["evaluations"]
        return f"{what} = {k} of {n} = {k / n:.3g}, {share} {low:.3g} to {high:.3g}"
    levels = len(record["levels"])
    if not record["reached"]:
        return (
            f"{what}: no failure reached in {levels} levels ({record['evaluations']} runs); "
            f"it is below about {record['probability']:.3g}"
        )
    return (
        f"{what} = {record['probability']:.3g} (CV {record['cov']:.2f}), {share} {low:.3g} to "
        f"{high:.3g}: {NAMES[record['method']]}, {levels} levels, {record['evaluations']} runs"
    )
