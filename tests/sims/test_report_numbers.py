"""The numbers a review reads off `report.html` and `compare.html` are the runs table's: the
landing rate and its Wilson interval, the distribution-free tolerance bound and the 3-sigma
ellipse, read back from the pages and computed here without the analysis code (scipy's
binomial test for the interval, exact binomial sums for the order statistic, the closed-form
eigenvalues of a 2 x 2 covariance for the ellipse)."""

import html
import math
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sims import cli

RUNS = 300  # above 299: enough touchdowns for a 99 %/95 % tolerance bound


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """The dispersed bundled nominal flown twice (300 runs, seed 5; 60 runs, seed 6), the
    first's report and the two's comparison: (runs tables, report text, comparison text)."""
    root = tmp_path_factory.mktemp("report_numbers")
    a, b = root / "a", root / "b"
    assert cli.main(["mc", "nominal", "--runs", str(RUNS), "--seed", "5", "--out", str(a)]) == 0
    assert cli.main(["mc", "nominal", "--runs", "60", "--seed", "6", "--out", str(b)]) == 0
    assert cli.main(["report", str(a), "--out", str(root / "report.html")]) == 0
    assert cli.main(["compare", str(a), str(b), "--out", str(root / "compare.html")]) == 0
    runs = [pd.read_parquet(folder / "runs.parquet") for folder in (a, b)]
    return runs, (root / "report.html").read_text(), (root / "compare.html").read_text()


def cells(text, first):
    """The cells of the table row whose first cell is `first`, unescaped."""
    for row in re.findall(r"<tr>(.*?)</tr>", text):
        found = [html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)]
        if found and found[0] == first:
            return found[1:]
    raise AssertionError(f"no row {first!r}")


def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?", text)]


def landed_and_wilson(runs):
    """(landed, runs, rate, low, high) in per cent, the interval by scipy."""
    landed, n = int((runs.outcome == "landed").sum()), len(runs)
    interval = stats.binomtest(landed, n).proportion_ci(0.95, method="wilson")
    return landed, n, 100 * landed / n, 100 * interval.low, 100 * interval.high


def order_statistic(n, coverage=0.99, confidence=0.95):
    """The least k with P(Binomial(n, coverage) <= k - 1) >= confidence, by exact sums."""
    below = 0.0
    for k in range(1, n + 1):
        below += math.comb(n, k - 1) * coverage ** (k - 1) * (1 - coverage) ** (n - k + 1)
        if below >= confidence:
            return k
    return None


def ellipse(runs):
    """(semi-major, semi-minor, angle [deg] of the major axis from downrange toward
    crossrange) of the 3-sigma ellipse, from the 2 x 2 sample covariance in closed form."""
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    x, y = touched.touchdown_downrange_m.to_numpy(), touched.touchdown_crossrange_m.to_numpy()
    n = len(x)
    a = ((x - x.mean()) ** 2).sum() / (n - 1)
    c = ((y - y.mean()) ** 2).sum() / (n - 1)
    b = ((x - x.mean()) * (y - y.mean())).sum() / (n - 1)
    mid, half = (a + c) / 2, math.hypot((a - c) / 2, b)
    angle = math.degrees(0.5 * math.atan2(2 * b, a - c))
    return 3 * math.sqrt(mid + half), 3 * math.sqrt(mid - half), angle


def close(shown, expected, decimals):
    """Each shown number is the expected one to the decimals printed."""
    assert len(shown) == len(expected)
    for s, e in zip(shown, expected, strict=True):
        assert abs(s - e) <= 0.5 * 10.0**-decimals + 1e-9, (shown, expected)


def test_the_report_states_the_landing_rate_bound_and_ellipse_of_its_runs(pages):
    """Breaks it catches: the Wilson interval at 90 % where 95 % is printed, the tolerance
    bound one order statistic low, the ellipse's semi-axes from the variances, not their
    square roots."""
    (runs, _), report, _ = pages
    landed, n, rate, low, high = landed_and_wilson(runs)
    shown = cells(report, "landed")[0]
    assert shown.startswith(f"{landed} of {n}: ")
    close(numbers(shown.split(":", 1)[1])[:3], [rate, low, high], 1)
    touched = runs.dropna(subset=["touchdown_downrange_m"])
    k = order_statistic(len(touched))
    bound = np.sort(touched.landing_error_m.to_numpy())[k - 1]
    sentence = re.search(
        r"99 % of touchdowns are within (\d+) m .*?order statistic (\d+) of (\d+)", report
    )
    assert sentence, "no tolerance bound in the report"
    assert [int(v) for v in sentence.groups()[1:]] == [k, len(touched)]
    close([float(sentence.group(1))], [bound], 0)
    sigma = cells(report, "sigma downrange / crossrange [m]")[0]
    x, y = touched.touchdown_downrange_m.to_numpy(), touched.touchdown_crossrange_m.to_numpy()
    close(numbers(sigma), [np.std(x, ddof=1), np.std(y, ddof=1)], 1)
    figures = cells(
        report, "3-sigma ellipse: semi-axes [m], major axis from downrange toward crossrange"
    )
    close(numbers(figures[0]), list(ellipse(runs)), 1)


def test_the_comparison_states_each_campaigns_rate_and_ellipse(pages):
    """Breaks it catches: the Wilson interval at 90 %, the ellipse's semi-axes from the
    variances."""
    (a, b), _, compare = pages
    for label, runs in (("A", a), ("B", b)):
        row = cells(compare, label)
        _, n, rate, low, high = landed_and_wilson(runs)
        assert int(row[2]) == n
        close(numbers(row[3]), [rate, low, high], 1)
        close(numbers(row[4]), list(ellipse(runs)), 1)
