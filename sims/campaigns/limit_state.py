"""What counts as a failed run, written as an expression over the runs table, and how far a
run is from it: the margin rare-event estimation needs (`uncertainty.subset`).

EXPR is comparisons of one runs-table column with a number, `landing_error_m > 150`, or
`outcome != "landed"`, joined by `and` / `or` (parentheses as usual). The margin is positive
for a run that did not fail and at or below zero for one that did (ties at zero, a set of
probability zero for continuous margins, count as failures):
- `x > c` and `x >= c`: (c - x) / |c|; `x < c` and `x <= c`: (x - c) / |c| (|c| read as 1
  for c = 0): the slack as a share of the limit;
- `outcome != "landed"`: for a touchdown on the gear, the smallest slack of the five limits
  that make a landing (`dynamics.touchdown.classify`: vertical and horizontal speed, tilt,
  slope, body rate), each as a share of its limit, and at most zero if the run did not land;
- `outcome == "NAME"` / `outcome != "NAME"` otherwise: +1 or -1, no gradation (fine for
  counting, refused by subset simulation, which needs a margin that varies);
- `a and b`: the larger margin of the two; `a or b`: the smaller.
A run without the value a comparison reads (no touchdown, so no landing error) fails it with
margin -1: it did not land, whatever the limit was.
"""

import ast
import math
from dataclasses import dataclass

import numpy as np

from dynamics import touchdown
from sims.errors import CampaignError

# runs-table columns a failure expression may read (`sims.campaigns.tables.runs_table`)
COLUMNS = (
    "end_time_s",
    "descent_rate_mps",
    "horizontal_speed_mps",
    "tilt_deg",
    "slope_deg",
    "body_rate_dps",
    "landing_error_m",
    "touchdown_east_m",
    "touchdown_north_m",
    "touchdown_downrange_m",
    "touchdown_crossrange_m",
    "burn_time_s",
    "delta_v_mps",
    "propellant_used_kg",
    "propellant_remaining_kg",
    "max_altitude_error_m",
    "max_velocity_error_mps",
    "nav_position_error_m",
    "nav_velocity_error_mps",
    "nav_altitude_error_m",
)
# the landing limits: (runs-table column, TouchdownLimits field, from SI to the column's unit)
LANDING_LIMITS = (
    ("descent_rate_mps", "vertical_speed", 1.0),
    ("horizontal_speed_mps", "horizontal_speed", 1.0),
    ("tilt_deg", "tilt", math.degrees(1.0)),
    ("slope_deg", "slope", math.degrees(1.0)),
    ("body_rate_dps", "body_rate", math.degrees(1.0)),
)
NOT_FLOWN = -1.0  # the margin of a run without the value a comparison reads
OPERATORS = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<=", ast.Eq: "==", ast.NotEq: "!="}


class ExpressionError(CampaignError):
    """A failure expression that cannot be read, or cannot serve, in one sentence."""


@dataclass(frozen=True)
class LimitState:
    """A parsed failure expression: `margin(runs)` over a runs table (pyarrow or pandas),
    `failed(runs)` its margin <= 0; `graded` whether the margin varies continuously."""

    text: str
    tree: ast.AST
    graded: bool

    def margin(self, runs, limits):
        """Margins of the runs; limits: the scenario's TouchdownLimits (SI)."""
        return _margin(self.tree, runs, limits)

    def failed(self, runs, limits):
        return self.margin(runs, limits) <= 0.0


def parse(text, graded_for=None):
    """LimitState of a failure expression; ExpressionError naming what is wrong, or, given
    graded_for (what needs a margin that varies, as a clause), saying the margin is only
    pass or fail."""
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        raise ExpressionError(f"--failure {text!r}: not an expression") from None
    state = LimitState(text, tree, _check(text, tree))
    if graded_for and not state.graded:
        raise ExpressionError(
            f"--failure {text!r}: its margin is only pass or fail (an outcome other than "
            f'"landed" named), so {graded_for}; compare a column with a number, or use '
            'outcome != "landed"'
        )
    return state


def _check(text, node):
    """Whether the (checked) expression's margin is graded; ExpressionError if unreadable."""
    if isinstance(node, ast.BoolOp):
        return all([_check(text, v) for v in node.values])
    if not isinstance(node, ast.Compare) or len(node.ops) != 1:
        raise ExpressionError(
            f"--failure {text!r}: expected comparisons of a column with a number, such as "
            '"landing_error_m > 150", joined by and / or'
        )
    column, op, value = _sides(text, node)
    if column == "outcome":
        if op not in ("==", "!=") or value not in touchdown.OUTCOMES:
            raise ExpressionError(
                f"--failure {text!r}: outcome is compared with == or != and one of "
                f"{', '.join(touchdown.OUTCOMES)} (quoted)"
            )
        return op == "!=" and value == "landed"
    if column not in COLUMNS:
        raise ExpressionError(
            f"--failure {text!r}: no column {column!r}; expected outcome or one of "
            f"{', '.join(COLUMNS)}"
        )
    if op in ("==", "!=") or isinstance(value, str):
        raise ExpressionError(
            f"--failure {text!r}: {column} is compared with <, <=, > or >= and a number"
        )
    return True


def _sides(text, node):
    """(column, operator, value) of a comparison, the column on the left."""
    left, right, op = node.left, node.comparators[0], OPERATORS.get(type(node.ops[0]))
    if not isinstance(left, ast.Name) and isinstance(right, ast.Name):
        left, right = right, left
        op = {">": "<", ">=": "<=", "<": ">", "<=": ">="}.get(op, op)
    if not (isinstance(left, ast.Name) and isinstance(right, ast.Constant | ast.UnaryOp) and op):
        raise ExpressionError(
            f"--failure {text!r}: {ast.unparse(node)} is not a column compared with a value"
        )
    try:
        value = ast.literal_eval(right)
    except ValueError:
        value = None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ExpressionError(f"--failure {text!r}: {ast.unparse(right)} is not a number")
    return left.id, op, value


def _column(runs, name):
    """A column of a runs table (pyarrow or pandas) as numpy: floats NaN where null."""
    values = runs[name].to_numpy()
    return values if values.dtype == object else np.asarray(values, float)


def _margin(node, runs, limits):
    if isinstance(node, ast.BoolOp):
        margins = [_margin(v, runs, limits) for v in node.values]
        combine = np.maximum if isinstance(node.op, ast.And) else np.minimum
        out = margins[0]
        for m in margins[1:]:
            out = combine(out, m)
        return out
    column, op, value = _sides("", node)
    if column == "outcome":
        outcome = _column(runs, "outcome")
        if op == "!=" and value == "landed":
            return _landing_margin(runs, outcome == "landed", limits)
        fails = (outcome == value) if op == "==" else (outcome != value)
        return np.where(fails, -1.0, 1.0)
    x = _column(runs, column)
    scale = abs(value) or 1.0
    slack = (value - x) / scale if op in (">", ">=") else (x - value) / scale
    return np.where(np.isnan(x), NOT_FLOWN, slack)


def _landing_margin(runs, landed, limits):
    """The smallest slack of the landing limits as a share of each; at most zero unless the
    run landed, NOT_FLOWN where it never touched down."""
    slacks = np.stack(
        [
            1.0 - _column(runs, column) / (getattr(limits, field) * to_column_unit)
            for column, field, to_column_unit in LANDING_LIMITS
        ]
    )
    smallest = slacks.min(axis=0)
    return np.where(
        np.isnan(smallest), NOT_FLOWN, np.where(landed, smallest, np.minimum(smallest, 0.0))
    )
