"""`descent baseline` and `descent regress`: keep a campaign's landing statistics under
regression in CI, with proper statistics rather than raw thresholds.

A baseline stores what matters of a campaign — its identity, the success count, the failure
causes, and the samples of the touchdown metrics — so that a later campaign can be compared
with it: the success rate by a one-sided Fisher exact test, each metric's distribution by the
two-sample Anderson-Darling test (its p value by permutation), and its percentiles by
bootstrap confidence intervals of the difference. A metric regresses when the change is
significant at `alpha` (one-sided: toward worse) *and* larger than its tolerance (0 by
default; `--tolerance NAME=VALUE`). A p value at the resolution of its resampling is shown
as a bound (`< 0.0005`, `≤ 0.001`). What was compared with what (scenario, seed, run count)
is checked: a difference is a warning, or a refusal with `--strict`.
"""

import json
import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import numpy as np
from scipy import stats

from sims.errors import CampaignError

FORMAT = 1
BOOTSTRAP = 2000
PERMUTATIONS = 999  # Anderson-Darling p values resolve to 1 / (PERMUTATIONS + 1)
IDENTITY = (("scenario_sha256", "scenario"), ("campaign_seed", "seed"), ("runs", "run count"))
# (column, percentiles, which way is worse, which runs): the touchdown metrics kept under test
METRICS = (
    ("landing_error_m", (50, 99), "higher", "touched"),
    ("descent_rate_mps", (50, 99), "higher", "touched"),
    ("horizontal_speed_mps", (50, 99), "higher", "touched"),
    ("tilt_deg", (99,), "higher", "touched"),
    ("body_rate_dps", (99,), "higher", "touched"),
    ("propellant_remaining_kg", (1, 50), "lower", "flown"),
)


def baseline(folder):
    """The baseline (a JSON-ready dict) of the finished campaign in folder."""
    from sims.campaigns import results_folder

    store = results_folder.Results(folder)
    return baseline_of(store.manifest(), store.runs())


def baseline_of(manifest, runs):
    """The baseline of a campaign from its manifest and runs table."""
    landed = runs.outcome == "landed"
    samples = {}
    for column, _, _, which in METRICS:
        values = runs[column] if which == "flown" else runs[column][runs.descent_rate_mps.notna()]
        samples[column] = [float(f"{v:.6g}") for v in values.dropna()]
    return {
        "format": FORMAT,
        "campaign": {
            key: manifest.get(key)
            for key in (
                "scenario",
                "scenario_sha256",
                "code_digest",
                "git_revision",
                "campaign_seed",
                "runs",
            )
        },
        "runs": len(runs),
        "landed": int(landed.sum()),
        "causes": {c: int(k) for c, k in runs.cause[~landed].value_counts().items()},
        "samples": samples,
        "percentiles": {
            f"{column}.p{q}": float(np.percentile(samples[column], q))
            for column, qs, _, _ in METRICS
            if samples[column]
            for q in qs
        },
    }


def read_baseline(path):
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CampaignError(f"{path}: not a readable baseline ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise CampaignError(f"{path}: not a baseline written by 'descent baseline'")
    return data


@dataclass(frozen=True)
class Verdict:
    """One metric of a regression check."""

    metric: str
    baseline: float
    campaign: float
    test: str
    p_value: float  # of the one-sided change toward worse (nan where not applicable)
    interval: tuple  # confidence interval of the worsening (campaign - baseline, signed)
    tolerance: float
    passed: bool
    p_resolution: float = 0.0  # the smallest p its resampling can tell (0: exact)

    @property
    def worsening(self):
        return self.interval[0] if self.interval else math.nan

    @property
    def p_text(self):
        """The p value as printed: a bound where it is at its resampling's resolution."""
        if not math.isfinite(self.p_value):
            return "-"
        if self.p_value == 0.0 and self.p_resolution:
            return f"< {self.p_resolution:.2g}"
        if self.p_value <= self.p_resolution:
            return f"≤ {self.p_resolution:.2g}"
        return f"{self.p_value:.3g}"


def mismatches(current, base):
    """Sentences naming what differs between a campaign's identity and its baseline's (the
    scenario text's hash, the seed, the run count): the comparison is then not like for like."""
    out = []
    for key, what in IDENTITY:
        a, b = base["campaign"].get(key), current["campaign"].get(key)
        if a != b:
            shown = (str(a)[:12], str(b)[:12]) if key == "scenario_sha256" else (a, b)
            out.append(f"the {what} differs from the baseline's ({shown[1]} against {shown[0]})")
    return out


def identity(baseline_dict):
    """One line naming a campaign by its baseline's identity."""
    c = baseline_dict["campaign"]
    revision = f", git {str(c.get('git_revision'))[:10]}" if c.get("git_revision") else ""
    return (
        f"{c.get('scenario')} (scenario sha256 {str(c.get('scenario_sha256'))[:12]}), seed "
        f"{c.get('campaign_seed')}, {c.get('runs')} runs{revision}"
    )


def metric_names(base):
    """Every metric a baseline can be checked on (the names tolerances take)."""
    names = ["success_rate", *[f"cause.{c}" for c in base["causes"]]]
    for column, qs, _, _ in METRICS:
        names.append(f"{column}.distribution")
        names += [f"{column}.p{q}" for q in qs]
    return names


def regress(folder, base, alpha=0.01, tolerances=None):
    """(verdicts, the campaign's baseline dict) of the campaign in folder against a baseline
    dict."""
    current = baseline(folder)
    return verdicts(current, base, alpha, tolerances), current


def verdicts(current, base, alpha=0.01, tolerances=None):
    """Verdicts of a campaign's baseline dict against a reference baseline dict."""
    tolerances = dict(tolerances or {})
    unknown = sorted(set(tolerances) - set(metric_names(base)))
    if unknown:
        raise CampaignError(
            f"--tolerance {unknown[0]}: no such metric; expected one of "
            + ", ".join(metric_names(base))
        )
    checks = [_success(base, current, alpha, tolerances.get("success_rate", 0.0))]
    for cause in sorted(set(base["causes"]) | set(current["causes"])):
        checks.append(_cause(base, current, cause, alpha, tolerances.get(f"cause.{cause}", 0.0)))
    rng = np.random.default_rng(20261201)  # bootstrap draws: the same verdict every time
    for column, qs, worse, _ in METRICS:
        a, b = np.asarray(base["samples"][column]), np.asarray(current["samples"][column])
        if len(a) < 2 or len(b) < 2:
            continue
        sign = 1.0 if worse == "higher" else -1.0
        name = f"{column}.distribution"
        checks.append(_distribution(name, a, b, sign, alpha, tolerances.get(name, 0.0), rng))
        for q in qs:
            name = f"{column}.p{q}"
            checks.append(_percentile(name, a, b, q, sign, alpha, tolerances.get(name, 0.0), rng))
    return checks


def _success(base, current, alpha, tolerance):
    k0, n0, k1, n1 = base["landed"], base["runs"], current["landed"], current["runs"]
    p = stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]], alternative="less").pvalue
    drop = k0 / n0 - k1 / n1
    return Verdict(
        "success_rate",
        k0 / n0,
        k1 / n1,
        "Fisher exact, one-sided",
        float(p),
        (drop,),
        tolerance,
        not (p < alpha and drop > tolerance),
    )


def _cause(base, current, cause, alpha, tolerance):
    k0, n0 = base["causes"].get(cause, 0), base["runs"]
    k1, n1 = current["causes"].get(cause, 0), current["runs"]
    p = stats.fisher_exact([[k1, n1 - k1], [k0, n0 - k0]], alternative="greater").pvalue
    rise = k1 / n1 - k0 / n0
    return Verdict(
        f"cause.{cause}",
        k0 / n0,
        k1 / n1,
        "Fisher exact, one-sided",
        float(p),
        (rise,),
        tolerance,
        not (p < alpha and rise > tolerance),
    )


def _distribution(name, a, b, sign, alpha, tolerance, rng):
    """Anderson-Darling k-sample test of equal distributions, its p value by permutation (the
    tabled one is capped to [0.001, 0.25]); a regression when they differ and the median moved
    toward worse by more than the tolerance."""
    method = stats.PermutationMethod(n_resamples=PERMUTATIONS, rng=rng)
    p = float(stats.anderson_ksamp([a, b], variant="midrank", method=method).pvalue)
    shift = sign * (np.median(b) - np.median(a))
    return Verdict(
        name,
        float(np.median(a)),
        float(np.median(b)),
        "Anderson-Darling",
        p,
        (float(shift),),
        tolerance,
        not (p < alpha and shift > tolerance),
        1.0 / (PERMUTATIONS + 1),
    )


def _percentile(name, a, b, q, sign, alpha, tolerance, rng):
    """Bootstrap interval of the percentile's worsening; a regression when its lower bound (at
    one-sided confidence 1 - alpha) exceeds the tolerance."""
    ia = rng.integers(0, len(a), (BOOTSTRAP, len(a)))
    ib = rng.integers(0, len(b), (BOOTSTRAP, len(b)))
    diffs = sign * (np.percentile(b[ib], q, axis=1) - np.percentile(a[ia], q, axis=1))
    low, high = np.percentile(diffs, [100 * alpha, 100 * (1 - alpha)])
    p = float((diffs <= 0).mean())
    return Verdict(
        name,
        float(np.percentile(a, q)),
        float(np.percentile(b, q)),
        "bootstrap",
        p,
        (float(low), float(high)),
        tolerance,
        not low > tolerance,
        1.0 / BOOTSTRAP,
    )


def text_table(verdicts):
    header = f"{'metric':34s} {'baseline':>11s} {'campaign':>11s} {'p':>8s}  {'tol':>6s}  verdict"
    lines = [header, "-" * len(header)]
    for v in verdicts:
        lines.append(
            f"{v.metric:34s} {v.baseline:11.4g} {v.campaign:11.4g} {v.p_text:>8s}  "
            f"{v.tolerance:6.3g}  " + ("pass" if v.passed else "REGRESSION")
        )
    return "\n".join(lines)


def overall(verdicts):
    """The verdict in one line: how many metrics regressed, and which."""
    failed = [v.metric for v in verdicts if not v.passed]
    return f"{len(failed)} of {len(verdicts)} metrics regressed" + (
        f": {', '.join(failed)}" if failed else ""
    )


def markdown(verdicts, current, base, warnings=()):
    """The CI summary: what was compared with what and the verdict first, then every metric."""
    failed = any(not v.passed for v in verdicts)
    lines = [
        f"## Landing regression: {'**REGRESSION**' if failed else 'pass'}",
        "",
        f"{overall(verdicts)}.",
        "",
        f"- campaign: {identity(current)}",
        f"- baseline: {identity(base)}",
        *[f"- warning: {w}" for w in warnings],
        "",
        "| metric | baseline | campaign | test | p | tolerance | verdict |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for v in verdicts:
        verdict = "pass" if v.passed else "**regression**"
        lines.append(
            f"| {v.metric} | {v.baseline:.4g} | {v.campaign:.4g} | {v.test} | {v.p_text} | "
            f"{v.tolerance:.3g} | {verdict} |"
        )
    return "\n".join(lines) + "\n"


def junit(verdicts, current, base, warnings=(), suite="descent regress"):
    """JUnit XML: one test case per metric, a failure for each regression; the campaign and
    the baseline compared as the suite's properties."""
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(verdicts)),
        failures=str(sum(not v.passed for v in verdicts)),
    )
    properties = ET.SubElement(root, "properties")
    named = [("campaign", identity(current)), ("baseline", identity(base))]
    for name, value in named + [("warning", w) for w in warnings]:
        ET.SubElement(properties, "property", name=name, value=value)
    for v in verdicts:
        case = ET.SubElement(root, "testcase", classname="landing", name=v.metric)
        if not v.passed:
            failure = ET.SubElement(case, "failure", message=f"{v.metric} regressed")
            interval = ", ".join(f"{x:.4g}" for x in v.interval)
            failure.text = (
                f"baseline {v.baseline:.6g}, campaign {v.campaign:.6g}; {v.test} p {v.p_text}; "
                f"worsening {interval}; tolerance {v.tolerance:g}"
            )
    return ET.tostring(root, encoding="unicode")
