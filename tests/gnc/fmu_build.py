"""Build the ZEM/ZEV test FMU (FMI 2.0 co-simulation) from zem_zev_fmu/zem_zev.c: its
modelDescription.xml written from the variable table below, the C compiled with the system's
compiler (or the `ziglang` wheel's where there is none) against FMPy's FMI 2.0 headers, both
zipped into an .fmu. The value references are zem_zev.c's V_, B_ and I_ enumerations."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import fmpy

SOURCE = Path(__file__).with_name("zem_zev_fmu") / "zem_zev.c"
GUID = "{5f1d3e0a-zem-zev-0001}"
MODEL = "zem_zev"


def _vector(name, count, causality, unit=""):
    return [(f"{name}_{i}", causality, unit) for i in range(count)]


# (name, causality, unit) by value reference, in the order of zem_zev.c
REALS = [
    *_vector("r0", 3, "parameter", "m"),
    *_vector("v0", 3, "parameter", "m/s"),
    *_vector("q0", 4, "parameter"),
    ("mass0", "parameter", "kg"),
    *_vector("site", 3, "parameter", "m"),
    *_vector("site_axes", 9, "parameter"),
    ("omega", "parameter", "rad/s"),
    ("gm", "parameter", "m3/s2"),
    ("time_to_go", "parameter", "s"),
    ("target_height", "parameter", "m"),
    ("descent_rate", "parameter", "m/s"),
    ("terminal_time", "parameter", "s"),
    ("altitude_gain", "parameter", ""),
    ("climb_gain", "parameter", ""),
    *_vector("beam", 3, "parameter"),
    ("max_thrust", "parameter", "N"),
    ("isp", "parameter", "s"),
    ("throttle_min", "parameter", ""),
    ("throttle_max", "parameter", ""),
    ("time", "input", "s"),
    *_vector("dv", 3, "input", "m/s"),
    *_vector("dtheta", 3, "input", "rad"),
    ("interval", "input", "s"),
    ("range", "input", "m"),
    ("fail_at", "parameter", "s"),
    ("fail_on_restart", "parameter", ""),
    ("throttle", "output", ""),
    *_vector("q_command", 4, "output"),
    *_vector("r", 3, "output", "m"),
    *_vector("v", 3, "output", "m/s"),
    *_vector("q", 4, "output"),
    ("altitude", "output", "m"),
]
BOOLEANS = [
    ("range_valid", "input"),
    ("probe", "input"),
    ("restart", "input"),
    ("engine_on", "output"),
]
INTEGERS = [("phase", "output"), ("restarts", "output")]


def model_description(single_instance=False):
    """modelDescription.xml of the test FMU."""
    units = sorted({unit for _, _, unit in REALS if unit})
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<fmiModelDescription fmiVersion="2.0" modelName="{MODEL}" guid="{GUID}" '
        'variableNamingConvention="flat" numberOfEventIndicators="0">',
        f'  <CoSimulation modelIdentifier="{MODEL}" canHandleVariableCommunicationStepSize="true"'
        f' canBeInstantiatedOnlyOncePerProcess="{str(single_instance).lower()}"/>',
        "  <UnitDefinitions>",
        *[f'    <Unit name="{unit}"/>' for unit in units],
        "  </UnitDefinitions>",
        "  <ModelVariables>",
    ]
    index, outputs = 0, []

    def variable(vr, name, causality, element):
        nonlocal index
        index += 1
        variability = "fixed" if causality == "parameter" else "discrete"
        initial_ = ' initial="exact"' if causality != "input" and causality != "output" else ""
        lines.append(
            f'    <ScalarVariable name="{name}" valueReference="{vr}" causality="{causality}" '
            f'variability="{variability}"{initial_}>{element}</ScalarVariable>'
        )
        if causality == "output":
            outputs.append(index)

    for vr, (name, causality, unit) in enumerate(REALS):
        start = "" if causality == "output" else ' start="0"'
        unit_ = f' unit="{unit}"' if unit else ""
        variable(vr, name, causality, f"<Real{start}{unit_}/>")
    for vr, (name, causality) in enumerate(BOOLEANS):
        start = "" if causality == "output" else ' start="false"'
        variable(vr, name, causality, f"<Boolean{start}/>")
    for vr, (name, causality) in enumerate(INTEGERS):
        variable(vr, name, causality, "<Integer/>")
    lines += [
        "  </ModelVariables>",
        "  <ModelStructure>",
        "    <Outputs>",
        *[f'      <Unknown index="{i}" dependencies=""/>' for i in outputs],
        "    </Outputs>",
        "    <InitialUnknowns>",
        *[f'      <Unknown index="{i}" dependencies=""/>' for i in outputs],
        "    </InitialUnknowns>",
        "  </ModelStructure>",
        "</fmiModelDescription>",
    ]
    return "\n".join(lines) + "\n"


def compiler():
    """The command that compiles C here: the system's cc, or the ziglang wheel's."""
    cc = shutil.which("cc") or shutil.which("gcc")
    return [cc] if cc else [sys.executable, "-m", "ziglang", "cc"]


def build(out, single_instance=False):
    """Write the test FMU to the path `out`; return it."""
    out = Path(out)
    headers = Path(fmpy.__file__).parent / "c-code"
    binary = out.with_suffix(".so")
    subprocess.run(
        [*compiler(), "-shared", "-fPIC", "-O2", "-I", str(headers), "-o", str(binary),
         str(SOURCE), "-lm"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("modelDescription.xml", model_description(single_instance))
        archive.write(binary, f"binaries/linux64/{MODEL}.so")
    binary.unlink()
    return out
