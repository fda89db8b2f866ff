"""A flight software named wrong is refused before anything flies, in one sentence naming the
scenario file and the field, exit 2, nothing written: an FMU missing, not a zip, not for
co-simulation, without a binary for this machine, or mapped onto a variable it does not have
or of the wrong causality, type or unit; a module that does not import or is no flight
software; a Python class without a method the interface calls."""

import re
import zipfile

import pytest

from sims import cli
from tests.gnc import fmu_build, three_forms


@pytest.fixture(scope="module")
def good_fmu(tmp_path_factory):
    return fmu_build.build(tmp_path_factory.mktemp("fmu") / "zem_zev.fmu")


def _toml_value(value):
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f'"{value}"'
    return repr(float(value))


def scenario_text(table):
    """A scenario file built on the high-gate one, flying the given [flight_software]."""
    lines = ['base = "nominal_high_gate"', 'remove = ["flight_software"]', "[flight_software]"]
    subtables = {k: v for k, v in table.items() if isinstance(v, dict)}
    lines += [f"{k} = {_toml_value(v)}" for k, v in table.items() if k not in subtables]
    for name, entries in subtables.items():
        lines.append(f"[flight_software.{name}]")
        lines += [f'"{k}" = {_toml_value(v)}' for k, v in entries.items()]
    return "\n".join(lines) + "\n"


def fmu_table(path, inputs=None, outputs=None):
    table = three_forms.fmu(path)["flight_software"]
    table["inputs"] |= inputs or {}
    table["outputs"] |= outputs or {}
    return table


def rewritten(good, out, description=None, drop_binary=False):
    """A copy of the test FMU with its model description edited or its binary left out."""
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = source.read(item)
            if item == "modelDescription.xml" and description is not None:
                data = description(data.decode()).encode()
            if item.startswith("binaries/") and drop_binary:
                continue
            target.writestr(item, data)
    return out


def model_exchange_only(xml):
    return re.sub(r"<CoSimulation [^>]*/>", '<ModelExchange modelIdentifier="zem_zev"/>', xml)


CASES = {
    "FMU file missing": (
        lambda good, tmp: fmu_table(tmp / "absent.fmu"),
        "field 'flight_software' is invalid: {tmp}/absent.fmu: no such file",
    ),
    "FMU not a zip": (
        lambda good, tmp: fmu_table(_written(tmp / "text.fmu", "not an archive")),
        "field 'flight_software' is invalid: {tmp}/text.fmu: not an FMU (not a zip archive)",
    ),
    "FMU not for co-simulation": (
        lambda good, tmp: fmu_table(rewritten(good, tmp / "me.fmu", model_exchange_only)),
        "{tmp}/me.fmu: not a co-simulation FMU (model exchange only)",
    ),
    "FMU without a binary for this platform": (
        lambda good, tmp: fmu_table(rewritten(good, tmp / "bare.fmu", drop_binary=True)),
        "{tmp}/bare.fmu: no binary for this platform (binaries/linux64/zem_zev.so)",
    ),
    "mapped variable absent": (
        lambda good, tmp: fmu_table(good, inputs={"probe": "contact"}),
        "field 'flight_software' is invalid: inputs: 'probe' maps 'contact', which the FMU does "
        "not have",
    ),
    "mapped variable of the wrong causality": (
        lambda good, tmp: fmu_table(good, inputs={"time": "throttle"}),
        "inputs: 'time' maps 'throttle', whose causality is output, not input",
    ),
    "mapped variable of the wrong type": (
        lambda good, tmp: fmu_table(good, inputs={"time": "range_valid"}),
        "inputs: 'time' maps 'range_valid', of type Boolean, not Real",
    ),
    "mapped variable in the wrong unit": (
        lambda good, tmp: fmu_table(good, inputs={"laser_rangefinder.y[0]": "dtheta_0"}),
        "field 'flight_software' is invalid: inputs: 'laser_rangefinder.y[0]' maps "
        "'dtheta_0', in 'rad'; the signal is in 'm'",
    ),
    "signal of a channel the scenario lacks": (
        lambda good, tmp: fmu_table(good, inputs={"lidar.y[0]": "range"}),
        "field 'flight_software' is invalid: inputs: 'lidar.y[0]': the scenario has no channel "
        "'lidar'",
    ),
    "not an interface signal": (
        lambda good, tmp: fmu_table(good, outputs={"thrust": "throttle"}),
        "outputs: 'thrust' is not an interface signal",
    ),
    "module that does not import": (
        lambda good, tmp: {"module": "no_such_package.lander"},
        "field 'flight_software' is invalid: flight software module 'no_such_package.lander' "
        "cannot be imported: No module named 'no_such_package'",
    ),
    "module that is no flight software": (
        lambda good, tmp: {"module": "tests.gnc.three_forms"},
        "field 'flight_software' is invalid: tests.gnc.three_forms is not a flight software: "
        "it lacks NAME, Spec, CONFIG_DTYPE, STATE_DTYPE, configure, initial_state, cycle",
    ),
    "Python class missing a method": (
        lambda good, tmp: {"kind": "python", "class": "tests.gnc.zem_zev_class:Commands"},
        "field 'flight_software.class' is invalid: "
        "tests.gnc.zem_zev_class:Commands lacks the methods initialise, step, restart",
    ),
}


def _written(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("case", CASES)
def test_a_flight_software_named_wrong_is_one_sentence_naming_file_and_field(
    case, good_fmu, tmp_path, capsys
):
    make, expected = CASES[case]
    path = tmp_path / "mine.toml"
    path.write_text(scenario_text(make(good_fmu, tmp_path)))
    out = tmp_path / "out"
    assert cli.main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"descent: error: {path}: ") and err.count("\n") == 1, err
    assert expected.format(tmp=tmp_path) in err, err
    assert not out.exists()


def test_a_relative_fmu_path_is_read_beside_the_scenario_file(good_fmu, tmp_path, capsys):
    (tmp_path / "lander.fmu").write_bytes(good_fmu.read_bytes())
    table = fmu_table(good_fmu) | {"path": "lander.fmu"}
    path = tmp_path / "mine.toml"
    path.write_text(scenario_text(table))
    assert cli.main(["validate", str(path)]) == 0, capsys.readouterr().err
