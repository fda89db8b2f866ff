"""Dispersions: every dispersible field reaches the compiled model, draws are reproducible and
independent of each other, the flight software keeps its nominal knowledge, bad specs fail."""

import os
import subprocess
import sys
from pathlib import Path

import numba
import numpy as np
import pytest

from dynamics.views import record_at
from sensors import laser_rangefinder, registry, star_tracker
from sims.campaigns import dispersions
from sims.run import packing
from sims.scenarios import field_paths, scenario
from tests.sims.scenarios import closed_loop
from uncertainty import distributions

ROOT = Path(__file__).resolve().parents[2]

EVERY_FIELD = {
    "vehicle.dry_mass": {"distribution": "norm", "scale": "3 kg"},
    "vehicle.propellant_mass": {"distribution": "uniform", "loc": "350 kg", "scale": "10 kg"},
    "vehicle.dry_com": {"distribution": "norm", "scale": "2 cm"},
    "vehicle.dry_inertia": {"distribution": "norm", "scale": "10 kg m2"},
    "vehicle.main_engine.max_thrust": {
        "distribution": "truncnorm",
        "a": -2,
        "b": 2,
        "scale": "25 N",
    },
    "vehicle.main_engine.isp": {"distribution": "norm", "scale": "2 s"},
    "vehicle.main_engine.time_constant": {
        "distribution": "lognorm",
        "s": 0.2,
        "loc": "0 s",
        "scale": "0.1 s",
    },
    "vehicle.main_engine.misalignment": {
        "distribution": "uniform",
        "loc": "0.02 deg",
        "scale": "0.1 deg",
    },
    "vehicle.main_engine.misalignment_azimuth": {
        "distribution": "uniform",
        "loc": "-180 deg",
        "scale": "360 deg",
    },
    "initial.descent_orbit.periapsis_altitude": {"distribution": "norm", "scale": "200 m"},
    "initial.descent_orbit.downrange_to_site": {"distribution": "norm", "scale": "1 km"},
    "initial.descent_orbit.crossrange": {"distribution": "norm", "scale": "300 m"},
    "initial.position_offset": {"distribution": "norm", "scale": ["300 m", "300 m", "100 m"]},
    "initial.velocity_offset": {"distribution": "norm", "scale": "0.5 m/s"},
    "initial.attitude_offset": {"distribution": "norm", "scale": "0.5 deg"},
    "vehicle.propellant_capacity": {"distribution": "uniform", "loc": "640 kg", "scale": "40 kg"},
    "vehicle.main_engine.throttle_min": {"distribution": "uniform", "loc": 0.18, "scale": 0.04},
    "vehicle.main_engine.throttle_max": {"distribution": "uniform", "loc": 0.97, "scale": 0.03},
    "sensors.imu.accelerometer.quantum": {
        "distribution": "uniform",
        "loc": "5e-6 m/s",
        "scale": "1e-5 m/s",
    },
    "sensors.imu.accelerometer.saturation": {
        "distribution": "uniform",
        "loc": "200 m/s2",
        "scale": "100 m/s2",
    },
    "sensors.imu.gyro.quantum": {"distribution": "uniform", "loc": "5e-8 rad", "scale": "1e-7 rad"},
    "sensors.imu.gyro.saturation": {
        "distribution": "uniform",
        "loc": "300 deg/s",
        "scale": "200 deg/s",
    },
    "vehicle.propellant_com": {"distribution": "norm", "scale": ["1 cm", "1 cm", "3 cm"]},
    "vehicle.propellant_inertia": {"distribution": "norm", "scale": "5 kg m2"},
    "vehicle.main_engine.position": {"distribution": "norm", "scale": "5 mm"},
    "vehicle.contact_probe_length": {"distribution": "uniform", "loc": "0.4 m", "scale": "0.2 m"},
    "sensors.imu.accelerometer.bias": {"distribution": "lognorm", "s": 0.3, "scale": "1e-4 m/s2"},
    "sensors.imu.accelerometer.bias_instability": {
        "distribution": "uniform",
        "loc": "4e-7 m/s2/s(1/2)",
        "scale": "4e-7 m/s2/s(1/2)",
    },
    "sensors.imu.accelerometer.noise_density": {
        "distribution": "uniform",
        "loc": "0.01 m/s/h(1/2)",
        "scale": "0.01 m/s/h(1/2)",
    },
    "sensors.imu.accelerometer.scale_factor": {
        "distribution": "uniform",
        "loc": 1e-5,
        "scale": 3e-5,
    },
    "sensors.imu.accelerometer.misalignment": {
        "distribution": "uniform",
        "loc": "0.0004 deg",
        "scale": "0.001 deg",
    },
    "sensors.imu.gyro.bias": {
        "distribution": "uniform",
        "loc": "0.004 deg/h",
        "scale": "0.004 deg/h",
    },
    "sensors.imu.gyro.bias_instability": {
        "distribution": "uniform",
        "loc": "0.0005 deg/h/h(1/2)",
        "scale": "0.001 deg/h/h(1/2)",
    },
    "sensors.imu.gyro.noise_density": {
        "distribution": "uniform",
        "loc": "0.002 deg/h(1/2)",
        "scale": "0.002 deg/h(1/2)",
    },
    "sensors.imu.gyro.scale_factor": {"distribution": "truncnorm", "a": 0, "b": 3, "scale": 2e-6},
    "sensors.imu.gyro.misalignment": {"distribution": "norm", "scale": "0.0005 deg"},
    "sensors.star_tracker.max_rate": {
        "distribution": "uniform",
        "loc": "2 deg/s",
        "scale": "2 deg/s",
    },
    "sensors.laser_rangefinder.optics_transmission": {
        "distribution": "uniform",
        "loc": 0.5,
        "scale": 0.3,
    },
    "sensors.star_tracker.noise": {
        "distribution": "uniform",
        "loc": "10 arcsec",
        "scale": "20 arcsec",
    },
    "sensors.laser_rangefinder.noise": {"distribution": "uniform", "loc": "0.5 m", "scale": "1 m"},
    "sensors.laser_rangefinder.laser_power": {
        "distribution": "uniform",
        "loc": "100 W",
        "scale": "900 W",
    },
    "sensors.laser_rangefinder.sensitivity": {
        "distribution": "uniform",
        "loc": "2 nW",
        "scale": "8 nW",
    },
    "sensors.laser_rangefinder.noise_at_threshold": {
        "distribution": "uniform",
        "loc": "2 m",
        "scale": "8 m",
    },
}


CHANNEL_FIELDS = {
    f"sensors.{channel}.{field}"
    for channel, kind in (("star_tracker", star_tracker), ("laser_rangefinder", laser_rangefinder))
    for field in kind.DISPERSIBLE
}


def test_every_dispersible_field_has_a_read_back_and_a_test_spec():
    """Each subsystem declares a read-back with each dispersible field; the test's dispersions
    below name them all."""
    for path in field_paths.STATIC:
        read = field_paths.static_field(path).read
        assert callable(read) or isinstance(read, str)
    assert set(field_paths.STATIC) | CHANNEL_FIELDS == set(EVERY_FIELD)


@pytest.mark.parametrize("run_index", [0, 7])
def test_values_the_model_uses_equal_the_sampled_ones_for_every_field(run_index):
    sc = scenario.load(closed_loop(dispersions=EVERY_FIELD))
    sampled = dispersions.sample(sc, campaign_seed=42, run_index=run_index)
    m = dispersions.build(sc, sampled)
    used = dispersions.read_back(m, sampled)
    for path, value in sampled.items():
        scale = np.max(np.abs(value))  # fields range from 1e-9 rad/s to 1e6 m
        assert np.allclose(used[path], value, rtol=1e-9, atol=1e-12 * scale), path
        nominal = field_paths.value(sc, path)
        assert not np.allclose(value, nominal, rtol=1e-6, atol=0.0), path  # really dispersed


def test_flight_software_keeps_its_nominal_knowledge():
    sc = scenario.load(
        closed_loop(
            dispersions={
                k: EVERY_FIELD[k]
                for k in (
                    "vehicle.main_engine.max_thrust",
                    "vehicle.dry_mass",
                    "vehicle.dry_com",
                    "sensors.star_tracker.noise",
                )
            }
        )
    )
    sampled = dispersions.sample(sc, campaign_seed=1, run_index=3)
    m = dispersions.build(sc, sampled)
    assert m.engines[0]["max_thrust_n"] == sampled["vehicle.main_engine.max_thrust"]
    config = m.flight_software.config
    assert config["settings"]["max_thrust_n"] == sc.vehicle.main_engine.max_thrust
    assert config["settings"]["initial_mass_kg"] == sc.vehicle.dry_mass + sc.vehicle.propellant_mass
    assert m.channels[0].truth["noise_rad"] == sampled["sensors.star_tracker.noise"]
    knowledge = record_at(config["knowledge"], registry.kind("star_tracker").SPEC_DTYPE)
    assert knowledge["noise_rad"] == sc.sensors.star_tracker.noise  # the first channel's
    # and its attitude gains and RCS table come from the nominal mass properties
    nominal = packing.build(sc)
    assert np.array_equal(m.gains["kp_nmprad"], nominal.gains["kp_nmprad"])
    assert np.array_equal(m.rcs_torques, nominal.rcs_torques)


def test_draws_are_reproducible_and_independent_of_other_dispersed_fields_and_the_batch():
    one = scenario.load(
        closed_loop(dispersions={"vehicle.dry_mass": EVERY_FIELD["vehicle.dry_mass"]})
    )
    all_ = scenario.load(closed_loop(dispersions=EVERY_FIELD))
    in_a_batch = dispersions.Sampler(all_).sample(9, [3, 0, 4, 1, 2])
    for k in range(5):
        a = dispersions.sample(one, 9, k)["vehicle.dry_mass"]
        assert a == dispersions.sample(all_, 9, k)["vehicle.dry_mass"]
        assert a == dispersions.sample(one, 9, k)["vehicle.dry_mass"]
        assert a == in_a_batch[[3, 0, 4, 1, 2].index(k)]["vehicle.dry_mass"]
    assert dispersions.sample(one, 9, 0) != dispersions.sample(one, 10, 0)


def test_vector_parameters_apply_per_component():
    sc = scenario.load(
        closed_loop(dispersions={"initial.position_offset": EVERY_FIELD["initial.position_offset"]})
    )
    runs = dispersions.Sampler(sc).sample(2, range(3000))
    draws = np.array([values["initial.position_offset"] for values in runs])
    assert draws.std(axis=0) == pytest.approx([300.0, 300.0, 100.0], rel=0.06)


def test_a_normal_dispersion_has_its_mean_and_sigma():
    sc = scenario.load(
        closed_loop(dispersions={"vehicle.dry_mass": EVERY_FIELD["vehicle.dry_mass"]})
    )
    draws = np.array(
        [v["vehicle.dry_mass"] for v in dispersions.Sampler(sc).sample(5, range(4000))]
    )
    assert draws.mean() == pytest.approx(340.0, abs=5 * 3 / np.sqrt(4000))
    assert draws.std() == pytest.approx(3.0, rel=0.05)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {"vehicle.dry_mas": {"distribution": "norm", "scale": "3 kg"}},
            "'vehicle.dry_mas' is not a dispersible field",
        ),
        (
            {"vehicle.dry_mass": {"distribution": "normal", "scale": "3 kg"}},
            "'normal' is not a continuous scipy.stats distribution",
        ),
        (
            {"vehicle.dry_mass": {"distribution": "norm", "scale": "3 m"}},
            "'3 m' has units of length; expected a mass",
        ),
        (
            {"vehicle.dry_mass": {"distribution": "norm", "scale": "-3 kg"}},
            "norm is not defined for these parameters",
        ),
        (
            {"vehicle.dry_mass": {"distribution": "truncnorm", "a": "x", "scale": "3 kg"}},
            "parameter 'a' = 'x' must be a plain number",
        ),
    ],
)
def test_bad_dispersion_specs_are_one_clear_sentence(spec, expected):
    with pytest.raises(scenario.ScenarioError) as exc:
        scenario.load(closed_loop(dispersions=spec))
    message = str(exc.value)
    assert message.startswith("<dict>: dispersions: ") and expected in message
    assert message.count("\n") == 0


def test_a_valid_dispersion_is_checked_once_and_an_invalid_one_every_time(tmp_path, monkeypatch):
    """The scenario's check remembers what it found valid (beside the compiled code) and
    does not build the distribution again; a changed nominal is checked afresh; an invalid
    spec raises its sentence every time."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    distributions._checked.cache_clear()
    built = []
    frozen = distributions.frozen
    monkeypatch.setattr(distributions, "frozen", lambda *a: built.append(a) or frozen(*a))
    try:
        for _ in range(2):
            distributions.check("norm", {"scale": "3 kg"}, "kg", 340.0)
        assert len(built) == 1
        distributions._checked.cache_clear()  # another process reads what this one found
        distributions.check("norm", {"scale": "3 kg"}, "kg", 340.0)
        distributions.check("norm", {"scale": "3 kg"}, "kg", 341.0)
        assert len(built) == 2
        for _ in range(2):
            with pytest.raises(ValueError, match="norm is not defined for these parameters"):
                distributions.check("norm", {"scale": "-3 kg"}, "kg", 340.0)
        assert len(built) == 4
    finally:
        distributions._checked.cache_clear()


LOADS_NOMINAL = """
import sys
from sims import api, cli
from sims.scenarios import scenario
scenario.load("nominal")
print("scipy.stats" in sys.modules)
"""


def test_a_run_of_a_checked_scenario_starts_without_scipy_stats(tmp_path):
    """scipy.stats (0.4 s to import) is for drawing dispersions, not for flying one run: a
    second process loading the nominal (its dispersions checked by the first) has not
    imported it."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    loaded = [
        subprocess.run(
            [sys.executable, "-c", LOADS_NOMINAL],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()[-1]
        for _ in range(2)
    ]
    assert loaded == ["True", "False"]
