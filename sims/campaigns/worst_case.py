"""The worst case within the dispersions' 3-sigma box: the smallest margin of a failure
expression (`sims.campaigns.limit_state`) any combination of dispersed values within +-3 standard
normal scores gives (`descent worst-case`).

The search, over the components' standard normal scores z (a component's value is its
distribution's quantile at Phi(z), so the box is each distribution's 0.13 % to 99.87 %):
1. screening: the nominal and each component alone at -box and +box (2 D + 1 points), each
   component ranked by how far its worse side lowers the margin;
2. corners: every corner of the `screen` strongest components' box (2^screen points, the
   others nominal; the box's 2^D corners are too many to fly);
3. a local optimiser (scipy's bounded Powell) from the best point found, at most `budget`
   points more, one at a time.
The margin of a point is the mean over `replicates` runs, each flying one of as many fixed
noise draws (its sensors' streams and fault occurrences: `dispersions.noise_seed`), the same
for every point: common random numbers, so that the optimiser compares dispersions, not
noise. The worst point is the one with the smallest margin of all evaluated; its runs
replay with `descent run --from-campaign DIR --index K`.
"""

import dataclasses
import itertools
import json

import numpy as np
from scipy import optimize

from sims.campaigns import campaign, chosen_runs, limit_state, results_folder
from sims.errors import CampaignError
from sims.run import results
from uncertainty import designs

FILE = "worst_case.json"
BOX = 3.0  # standard normal scores


def search(evaluate, dimensions, box=BOX, screen=6, budget=100):
    """(worst z, its margin, {stage: points evaluated}, screening) of evaluate(z, stage) ->
    margins of the rows of z, over [-box, box]^dimensions."""
    evaluated = []  # (z, margin)

    def ask(z, stage):
        g = np.asarray(evaluate(np.atleast_2d(z), stage), float)
        evaluated.extend(zip(np.atleast_2d(z), g, strict=True))
        return g

    eye = box * np.eye(dimensions)
    g = ask(np.vstack([np.zeros(dimensions), eye, -eye]), "screening")
    nominal, plus, minus = g[0], g[1 : dimensions + 1], g[dimensions + 1 :]
    worse = np.minimum(plus, minus) - nominal
    strongest = np.argsort(worse, kind="stable")[: min(screen, dimensions)]
    corners = np.zeros((2 ** len(strongest), dimensions))
    for row, signs in enumerate(itertools.product((box, -box), repeat=len(strongest))):
        corners[row, strongest] = signs
    ask(corners, "corners")
    start = min(evaluated, key=lambda e: e[1])[0]
    optimize.minimize(
        lambda x: ask(x, "local")[0],
        start,
        method="Powell",
        bounds=[(-box, box)] * dimensions,
        options={"maxfev": budget, "xtol": 0.05, "ftol": 1e-4},
    )
    z, margin = min(evaluated, key=lambda e: e[1])
    screening = [(int(j), float(plus[j]), float(minus[j])) for j in range(dimensions)]
    return z, float(margin), len(evaluated), float(nominal), screening


def run(source, failure, replicates=4, screen=6, budget=100, seed=0, out=None, **execution):
    """The worst_case.json record of a scenario's search (written into out, if given);
    execution: how its runs fly (`campaign.Execution`'s workers and progress: local)."""
    limit_state.parse(failure, graded_for="there is nothing to minimise")
    request = campaign.Request(seed=seed, traces_first=0)
    plan, execution = campaign.new_plan(source, 1, request, campaign.Execution(**execution))
    sc, sampler = campaign.prepared(plan)
    dimensions = len(sampler.components)
    if not dimensions:
        raise CampaignError(f"--failure: {sc.meta.name} disperses nothing ([dispersions] is empty)")
    most = (2 * dimensions + 1 + 2 ** min(screen, dimensions) + budget + 2) * replicates
    plan = dataclasses.replace(plan, runs=most)  # the most the search can fly
    settings = {"failure": failure, "replicates": replicates, "screen": screen, "budget": budget}
    store = campaign.started(out, plan, source, worst_case=settings)
    return _search(plan, store, settings, execution)


def resume(out, **execution):
    """Finish an interrupted search in out: run again over the runs it stored."""
    store = results_folder.Results(out)
    settings = store.manifest()["worst_case"]
    execution = campaign.Execution(**execution)
    plan = campaign.checked_plan(store, execution)
    return _search(plan, store, settings, execution)


def _search(plan, store, settings, execution):
    runs = chosen_runs.ChosenRuns(plan, store, execution)
    sc, sampler = runs.sc, runs.sampler
    state = limit_state.parse(settings["failure"])
    replicates = settings["replicates"]
    noise = (np.arange(replicates) + 0.5) / replicates  # the fixed noise draws' coordinates
    runs_at = {}  # a point's z: its runs
    levels = {"screening": 0, "corners": 1, "local": 2}

    def evaluate(z, stage):
        u = designs.from_normal(z)
        points = np.column_stack([np.repeat(u, replicates, axis=0), np.tile(noise, len(z))])
        rows = runs.fly(points, levels[stage])
        indices = np.array(rows.column("run").to_pylist()).reshape(len(z), replicates)
        for zk, ks in zip(z, indices, strict=True):
            runs_at[zk.tobytes()] = [int(k) for k in ks]
        margins = state.margin(rows, sc.touchdown_limits)
        return margins.reshape(len(z), replicates).mean(axis=1)

    try:
        z, margin, points, nominal, screening = search(
            evaluate, len(sampler.components), BOX, settings["screen"], settings["budget"]
        )
    finally:
        runs.close()
    runs.finish()
    values = sampler.values(designs.from_normal(z)[None])[0]
    record = {
        **settings,
        "box": BOX,
        "margin": margin,
        "failed": margin <= 0.0,
        "nominal_margin": nominal,
        "points": points,
        "runs": len(runs.asked),
        "worst_runs": runs_at[z.tobytes()],
        "z": dict(zip(sampler.components, map(float, z), strict=True)),
        "values": {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()},
        "screening": [
            {"component": sampler.components[j], "margin_plus": p, "margin_minus": m}
            for j, p, m in screening
        ],
    }
    if store is not None:
        text = json.dumps(record, indent=2) + "\n"
        results.write_atomically(store.out / FILE, lambda f: f.write(text.encode()))
    return record


def describe(record):
    """What a search found, in a few lines: the worst margin against the nominal's, and the
    components that moved most."""
    verdict = "fails" if record["failed"] else "holds"
    moved = sorted(record["z"].items(), key=lambda kv: -abs(kv[1]))[:6]
    return "\n".join(
        [
            f"worst case within +-{record['box']:g} sigma: margin {record['margin']:.4g} "
            f"(nominal {record['nominal_margin']:.4g}): {record['failure']} {verdict} there; "
            f"{record['points']} points, {record['runs']} runs",
            *(f"  {name}: z {z:+.2f}" for name, z in moved),
        ]
    )
