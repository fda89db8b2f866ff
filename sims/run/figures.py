"""The figures of a run, declared once: each one's column in a campaign's runs table, where
`summary.json` holds it, how it is made from the loop's summary record (SI in, the units its
name says out) and when it is there. `sims.run.results.summarize` (one run) and
`sims.campaigns.tables.runs_table` (a batch) both read these declarations, so the two
cannot disagree on a value.

A figure is there when the run `flew` (did not raise inside the model), `touched` (flew and
touched down), or is `reported`: a navigation figure, there in closed loop when it is a
number (its flight software reports what it is made of); summary.json says null otherwise.
A figure of the ground `on hazards` is there when the run touched down on a hazard field
(`dynamics.hazards`); elsewhere summary.json leaves it out.
"""

from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from sims.run import consistency

FLEW, TOUCHED, REPORTED, ON_HAZARDS = "flew", "touched", "reported", "on hazards"


class Figure(NamedTuple):
    column: str  # its runs-table column
    paths: tuple  # where summary.json holds it: (section, key) or (key,), one or more
    value: Callable  # (summary records, PDI mass, dry mass [kg]) -> values, over runs
    when: str  # FLEW, TOUCHED, REPORTED or ON_HAZARDS


def _field(name):
    return lambda s, m0, dry: s[name]


def _degrees(name):
    return lambda s, m0, dry: np.degrees(s[name])


def _nees(block, k):
    return lambda s, m0, dry: s["nees"][..., k][block]


FIGURES = (
    Figure("end_time_s", (("end_time_s",), ("touchdown", "time_s")), _field("time_s"), FLEW),
    Figure(
        "descent_rate_mps",
        (("touchdown", "descent_rate_mps"),),
        _field("descent_rate_mps"),
        TOUCHED,
    ),
    Figure(
        "horizontal_speed_mps",
        (("touchdown", "horizontal_speed_mps"),),
        _field("horizontal_speed_mps"),
        TOUCHED,
    ),
    Figure("tilt_deg", (("touchdown", "tilt_deg"),), _degrees("tilt_rad"), TOUCHED),
    Figure("slope_deg", (("touchdown", "slope_deg"),), _degrees("slope_rad"), TOUCHED),
    Figure(
        "body_rate_dps", (("touchdown", "body_rate_dps"),), _degrees("body_rate_radps"), TOUCHED
    ),
    Figure(
        "ground_roughness_m",
        (("touchdown", "ground_roughness_m"),),
        _field("ground_roughness_m"),
        ON_HAZARDS,
    ),
    Figure(
        "landing_error_m", (("touchdown", "position_error_m"),), _field("position_error_m"), TOUCHED
    ),
    Figure("touchdown_east_m", (("touchdown", "east_m"),), _field("east_m"), TOUCHED),
    Figure("touchdown_north_m", (("touchdown", "north_m"),), _field("north_m"), TOUCHED),
    Figure(
        "touchdown_downrange_m", (("touchdown", "downrange_m"),), _field("downrange_m"), TOUCHED
    ),
    Figure(
        "touchdown_crossrange_m", (("touchdown", "crossrange_m"),), _field("crossrange_m"), TOUCHED
    ),
    Figure("burn_time_s", (("burn_time_s",),), _field("burn_time_s"), FLEW),
    Figure("delta_v_mps", (("delta_v_mps",),), _field("delta_v_mps"), FLEW),
    Figure(
        "propellant_used_kg",
        (("propellant_used_kg",),),
        lambda s, m0, dry: m0 - s["final_mass_kg"],
        FLEW,
    ),
    Figure(
        "propellant_remaining_kg",
        (("propellant_remaining_kg",),),
        lambda s, m0, dry: s["final_mass_kg"] - dry,
        FLEW,
    ),
    Figure(
        "max_altitude_error_m",
        (("navigation", "max_altitude_error_m"), ("max_altitude_error_m",)),
        _field("max_altitude_error_m"),
        REPORTED,
    ),
    Figure(
        "max_velocity_error_mps",
        (("navigation", "max_velocity_error_mps"),),
        _field("max_velocity_error_mps"),
        REPORTED,
    ),
    Figure(
        "nav_position_error_m",
        (("navigation", "final_position_error_m"),),
        _field("nav_position_error_m"),
        REPORTED,
    ),
    Figure(
        "nav_velocity_error_mps",
        (("navigation", "final_velocity_error_mps"),),
        _field("nav_velocity_error_mps"),
        REPORTED,
    ),
    Figure(
        "nav_altitude_error_m",
        (("navigation", "final_altitude_error_m"),),
        _field("nav_altitude_error_m"),
        REPORTED,
    ),
    Figure(
        "nav_position_3sigma_m",
        (("navigation", "final_position_3sigma_m"),),
        _field("nav_position_3sigma_m"),
        REPORTED,
    ),
    Figure(
        "nav_velocity_3sigma_mps",
        (("navigation", "final_velocity_3sigma_mps"),),
        _field("nav_velocity_3sigma_mps"),
        REPORTED,
    ),
    *(
        Figure(
            f"nees_{block}_{checkpoint}",
            (("navigation", "nees", checkpoint, block),),
            _nees(block, k),
            REPORTED,
        )
        for k, checkpoint in enumerate(consistency.CHECKPOINTS)
        for block in consistency.BLOCKS
    ),
)


def present(figure, flew, touched, closed, values):
    """Where a figure is there, over runs: it flew, touched down, (navigation) flew in closed
    loop and is a number, or (the ground) touched down where it is a number."""
    if figure.when == TOUCHED:
        return touched
    if figure.when == ON_HAZARDS:
        return touched & ~np.isnan(values)
    if figure.when == REPORTED:
        return flew & closed & ~np.isnan(values)
    return flew
