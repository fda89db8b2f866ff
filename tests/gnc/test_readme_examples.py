"""gnc/README.md's examples are the files the tests fly, to the letter, and its two shortest
flight softwares land the high-gate descent."""

import re
from pathlib import Path

import pytest

from sims import api
from sims.scenarios import scenario

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "gnc" / "README.md").read_text()


def test_every_example_in_the_readme_is_its_file():
    blocks = re.findall(r"```python\n# (\S+)\n(.*?)```", README, re.S)
    assert len(blocks) == 4
    for path, code in blocks:
        assert code == (ROOT / path).read_text(), path


@pytest.mark.parametrize(
    "table",
    [
        {"module": "tests.gnc.examples.descend"},
        {"kind": "python", "class": "tests.gnc.examples.descend_class:Descend"},
    ],
    ids=["compiled module", "Python class"],
)
def test_the_shortest_examples_land(table):
    d = scenario.read_data("nominal_high_gate")[1]
    d["flight_software"] = table
    results = api.run_seeds(d, range(10))
    assert sum(r.outcome == "landed" for r in results) >= 9
    assert all(r.summary["navigation"]["nees"]["end"]["position"] is None for r in results)
