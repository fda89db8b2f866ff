"""A scenario built on another (`base`, `remove`): the bundled sensor suites are the nominal
with sensors added or removed, and a user's variant is a few lines."""

import json

import pytest

from sims import cli
from sims.scenarios import scenario


def test_the_bundled_suites_are_the_nominal_with_their_sensors():
    """Same lander, profile, terrain and dispersions as the nominal; the sensors each names;
    the radar-and-camera suite has lost the rangefinder and its laser-power dispersion."""
    nominal = scenario.load("nominal")
    sensors = {
        "nominal_doppler_lidar": {"star_tracker", "laser_rangefinder", "doppler_lidar"},
        "nominal_full_suite": {
            "star_tracker",
            "laser_rangefinder",
            "doppler_lidar",
            "radar_altimeter",
            "camera",
        },
        "nominal_radar_camera": {"star_tracker", "radar_altimeter", "camera"},
    }
    for name, channels in sensors.items():
        suite = scenario.load(name)
        assert suite.meta.name == name
        assert set(suite.sensors.channels) == channels
        for section in ("vehicle", "terrain", "flight_software", "navigation", "initial"):
            assert getattr(suite, section) == getattr(nominal, section), (name, section)
        expected = {
            k: v
            for k, v in nominal.dispersions.items()
            if "laser_rangefinder" in channels or not k.startswith("sensors.laser_rangefinder.")
        }
        assert suite.dispersions == expected


def test_a_variant_file_merges_over_its_base_found_beside_it(tmp_path):
    """Tables merge key by key, a value replaces the base's; a relative base is looked up
    beside the file first; `remove` drops a channel."""
    (tmp_path / "mine.toml").write_text(
        'base = "nominal"\n[meta]\nname = "mine"\n[vehicle]\ndry_mass = "350 kg"\n'
    )
    (tmp_path / "blind.toml").write_text(
        'base = "mine.toml"\nremove = ["sensors.laser_rangefinder"]\n[meta]\nname = "blind"\n'
    )
    blind = scenario.load(tmp_path / "blind.toml")
    assert blind.meta.name == "blind" and blind.vehicle.dry_mass == 350.0
    assert blind.vehicle.propellant_mass == scenario.load("nominal").vehicle.propellant_mass
    assert "laser_rangefinder" not in blind.sensors.channels
    _, text = scenario.read_text(tmp_path / "blind.toml")
    assert json.loads(text)["vehicle"]["dry_mass"] == "350 kg"  # what a campaign records


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('base = "no_such"\n', "field 'base': no_such: no such file, and no bundled scenario"),
        ("base = 3\n", "field 'base' must be a scenario name or path"),
        (
            'base = "nominal"\nremove = ["sensors.radar"]\n',
            "field 'remove': 'sensors.radar' is not in its base nominal (bundled)",
        ),
        ('base = "loop.toml"\n', "built on more than 8 others (a cycle?)"),
    ],
)
def test_a_bad_base_is_one_sentence(text, expected, tmp_path, capsys):
    path = tmp_path / "loop.toml"
    path.write_text(text)
    assert cli.main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1, err
