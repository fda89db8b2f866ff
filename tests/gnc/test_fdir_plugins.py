"""Our flight software's FDIR functions are plug-ins: one of one's own, named in its table,
runs at its hook and our flight software flies its outcome; a table no function is named
for is refused in one sentence."""

import pytest

from sims import api
from sims.scenarios import scenario


def test_an_fdir_function_of_ones_own_slows_our_touchdown():
    """tests/gnc/gentle_touchdown.py asks for 0.4 m/s below 10 m in the terminal descent
    (1 m/s configured): every run touches down slower, and, the probe cutting the engine,
    faster than 0.4 m/s (it falls the probe's length)."""
    d = scenario.read_data("nominal_high_gate")[1]
    flown = api.run_seeds(d, range(3))
    d["flight_software"]["gentle_touchdown"] = {
        "module": "tests.gnc.gentle_touchdown",
        "descent_rate": "0.4 m/s",
        "below": "10 m",
    }
    gentle = api.run_seeds(d, range(3))
    for a, b in zip(flown, gentle, strict=True):
        assert a.outcome == b.outcome == "landed"
        rate_a = a.summary["touchdown"]["descent_rate_mps"]
        rate_b = b.summary["touchdown"]["descent_rate_mps"]
        assert 0.4 < rate_b < rate_a - 0.2


def test_a_table_no_fdir_function_is_named_for_is_refused():
    d = scenario.read_data("nominal_high_gate")[1]
    d["flight_software"]["land_nwo"] = {"descent_rate": "1 m/s"}
    with pytest.raises(
        scenario.ScenarioError,
        match="field 'flight_software' is invalid: "
        "'land_nwo' is not a known field, and table 'land_nwo' is not a "
        "registered FDIR function",
    ):
        scenario.load(d)
