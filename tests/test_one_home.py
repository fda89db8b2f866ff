"""One home per subsystem: an engine field, a fault mode and a guidance-law parameter are each
added the way the README's "Adding to the lander" says, to a copy of the sources, the generated
document regenerated (the scenario reference, with its fault modes), and each then works
end to end (validated from a scenario, packed for the compiled code, dispersed and read back;
a fault's effect; a law's packed setting) having changed at most two files."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("dynamics", "sensors", "gnc", "faults", "uncertainty", "sims")

# Each change: {file: [(old, new), ...]}, as the README's "Adding to the lander" describes.
ENGINE_FIELD = {
    "dynamics/propulsion.py": [
        (
            '\n    @model_validator(mode="after")\n    def _range(self):',
            "    ignition_delay: NonNegativeTime = 0.0  # from the command to first thrust\n"
            '\n    @model_validator(mode="after")\n    def _range(self):',
        ),
        (
            "misalignment included\n",
            'misalignment included\n        ("ignition_delay_s", np.float64),\n',
        ),
        (
            "        direction_body=direction,\n",
            "        direction_body=direction,\n        ignition_delay_s=engine.ignition_delay,\n",
        ),
        (
            '    "position": Dispersible("m", "position_m"),\n',
            '    "position": Dispersible("m", "position_m"),\n'
            '    "ignition_delay": Dispersible("s", "ignition_delay_s"),\n',
        ),
    ],
}
FAULT_MODE = {
    "faults/channel.py": [
        (
            '    Mode("bias", ("value",), ("element",), "adds `value`"),\n',
            '    Mode("bias", ("value",), ("element",), "adds `value`"),\n'
            '    Mode("scaled", ("factor",), ("element",), "multiplies its values by `factor`"),\n',
        ),
        (
            "DEGRADED, INVALID_FLAG, FALSE_VALID = (",
            'SCALED = NUMBER["scaled"]\nDEGRADED, INVALID_FLAG, FALSE_VALID = (',
        ),
        (
            "                if f.mode == BIAS:\n",
            "                if f.mode == SCALED:\n"
            "                    sample.y[j] *= f.factor\n"
            "                elif f.mode == BIAS:\n",
        ),
    ],
}
LAW_PARAMETER = {
    "gnc/guidance/powered_descent.py": [
        (
            "    position_hold: NonNegativeTime = 0.0\n",
            "    position_hold: NonNegativeTime = 0.0\n"
            "    max_tilt: NonNegativeAngle = 3.141592653589793  # from the vertical\n",
        ),
        (
            "from dynamics.units import NonNegativeTime",
            "from dynamics.units import NonNegativeAngle, NonNegativeTime",
        ),
        (
            '        ("position_hold_s", np.float64),\n',
            '        ("position_hold_s", np.float64),\n        ("max_tilt_rad", np.float64),\n',
        ),
        (
            "        position_hold_s=spec.position_hold,\n",
            "        position_hold_s=spec.position_hold,\n        max_tilt_rad=spec.max_tilt,\n",
        ),
        (
            "    for i in range(3):\n        guidance.u_mps2[i] = u[i]\n",
            "    u = limit_tilt(u, params.max_tilt_rad)\n"
            "    for i in range(3):\n        guidance.u_mps2[i] = u[i]\n",
        ),
    ],
}

CHECKS = {
    "engine": """
from sims.campaigns import dispersions
from sims.scenarios import scenario
from tests.sims.scenarios import variant
d = variant()
d["vehicle"]["main_engine"]["ignition_delay"] = "0.3 s"
path = "vehicle.main_engine.ignition_delay"
d["dispersions"] = {path: {"distribution": "uniform", "scale": "0.2 s"}}
sc = scenario.load(d)
drawn = dispersions.sample(sc, 1, 0)
packed = dispersions.build(sc, drawn)
back = dispersions.read_back(packed, drawn)
print(json.dumps([drawn[path], back[path], float(packed.engines[0]["ignition_delay_s"])]))
""",
    "fault": """
import numpy as np
from faults import channel, table
from sensors import bus
from sims.run import packing
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop
d = closed_loop(faults=[{"name": "f", "target": "star_tracker", "mode": "scaled", "factor": 2.0}])
m = packing.build(scenario.load(d))
states = np.zeros(1, table.FAULT_STATE_DTYPE)
states[0]["active"] = True
sample = np.zeros(1, bus.SAMPLE_DTYPE)[0]
sample["m"], sample["valid"], sample["y"][:3] = 3, True, (0.1, 0.2, 0.3)
channel.on_sample(m.faults, states, 0, sample, 1.0)
print(json.dumps([list(sample["y"][:3])]))
""",
    "law": """
import numpy as np
from gnc.guidance import laws, powered_descent
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop
d = closed_loop()
d["flight_software"]["approach"]["max_tilt"] = "20 deg"
raw = laws.params_bytes(scenario.load(d).flight_software.approach)
dtype = powered_descent.PARAMS_DTYPE
packed = np.frombuffer(raw[: dtype.itemsize].tobytes(), dtype)[0]
print(json.dumps([float(packed["max_tilt_rad"])]))
""",
}


REGENERATE = """
from sims.scenarios import reference
reference.PATH.write_text(reference.text())
print("[]")
"""


def _changed_files(tmp_path, changes):
    """Copy the sources, apply a change's edits, regenerate the generated documents; the files
    whose text then differs from the checkout's."""
    for package in (*PACKAGES, "tests"):
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(ROOT / package, tmp_path / package, ignore=ignore)
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    for name, edits in changes.items():
        path = tmp_path / name
        text = path.read_text()
        for old, new in edits:
            assert text.count(old) == 1, f"{name}: the guide's anchor {old!r} moved"
            text = text.replace(old, new)
        path.write_text(text)
    _check(tmp_path, REGENERATE)
    copied = [tmp_path / "README.md"]
    for package in (*PACKAGES, "tests"):
        copied += [p for p in (tmp_path / package).rglob("*") if p.is_file()]
    return {
        str(p.relative_to(tmp_path))
        for p in copied
        if "__pycache__" not in p.parts
        and (ROOT / p.relative_to(tmp_path)).read_bytes() != p.read_bytes()
    }


def _check(tmp_path, code):
    env = dict(os.environ, PYTHONPATH=str(tmp_path), NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    run = subprocess.run(
        [sys.executable, "-c", "import json\n" + code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "change, check",
    [(ENGINE_FIELD, "engine"), (FAULT_MODE, "fault"), (LAW_PARAMETER, "law")],
    ids=["engine field", "fault mode", "guidance-law parameter"],
)
def test_a_new_field_mode_or_parameter_touches_at_most_two_files(change, check, tmp_path):
    touched = _changed_files(tmp_path, change)
    assert set(change) <= touched and len(touched) <= 2, touched
    result = _check(tmp_path, CHECKS[check])
    if check == "engine":
        drawn, read_back, packed = result
        assert 0.3 <= drawn <= 0.5 and read_back == drawn == packed
    elif check == "fault":
        assert result == [pytest.approx([0.2, 0.4, 0.6])]
        reference = (tmp_path / "sims" / "scenarios" / "REFERENCE.md").read_text()
        assert "| `scaled` | `factor` |" in reference
    else:
        assert result == [pytest.approx(0.3490658503988659)]
