"""Radar altimeter: the nearest surface in a wide beam, its noise and range gate, and the model
the filter uses (sensors/radar_altimeter.py)."""

import math

import numpy as np
import pytest

from dynamics import quaternion, terrain
from dynamics.terrain import TruthTerrain
from dynamics.views import record
from sensors import bus, radar_altimeter
from tests.sensors.test_sensor_models import (
    FLAT,
    MAP,
    Q_UP,
    SITE,
    above,
    changed,
    channel_state,
    pose_at,
    sample,
)

ALTIMETER = record(
    radar_altimeter.SPEC_DTYPE,
    boresight_body=(0.0, 0.0, -1.0),
    half_beam_rad=math.radians(15.0),
    max_altitude_m=10e3,
    ray_step_m=5.0,
)


def tilted(angle_deg):
    """Body axes east, north, up turned about north by an angle."""
    return quaternion.multiply(
        Q_UP, quaternion.from_rotation_vector((0, math.radians(angle_deg), 0))
    )


def reading(spec, height, q=Q_UP, terrain_truth=FLAT, seed=1):
    return sample(
        radar_altimeter, spec, pose_at(above(height), q), channel_state(seed), terrain_truth
    )


def test_reads_the_altitude_whatever_the_tilt_inside_its_beam():
    """Over level ground the nearest surface is straight down: 2 km at 0 and 10 deg of tilt
    in a 30-deg beam (a narrow beam would read 2 km / cos 10 deg); tilted 25 deg, the nearest
    ground in the beam lies along its edge 10 deg off the vertical: 2 km / cos 10 deg."""
    for angle in (0.0, 10.0):
        assert reading(ALTIMETER, 2000.0, tilted(angle))["y"][0] == pytest.approx(2000.0, abs=0.05)
    edge = reading(ALTIMETER, 2000.0, tilted(25.0))["y"][0]
    assert edge == pytest.approx(2000.0 / math.cos(math.radians(10.0)), abs=0.1)


def test_reads_the_nearest_surface_in_the_beam():
    """A 200-m mesa under the beam's edge, 2 km up: the first echo is from its top, along the
    edge of the 30-deg beam, 1.8 km / cos 15 deg, not the 2 km of the ground below."""
    h = np.zeros((201, 201))  # 10-m grid, 2 km square around the site
    h[:, 140:] = 200.0  # east of 400 m: the ring's ray at 15 deg lands 536 m east
    tiles, heights = terrain.make_tiles([(-1000.0, -1000.0, 10.0, h)])
    site = SITE.copy()
    site["highest_terrain_m"] = 200.0
    mesa = TruthTerrain(site, tiles, heights)
    assert reading(ALTIMETER, 2000.0, terrain_truth=mesa)["y"][0] == pytest.approx(
        1800.0 / math.cos(math.radians(15.0)), abs=0.1
    )


def test_noise_grows_with_the_distance_and_the_range_gate_ends_it():
    """1 sigma hypot(0.5 m, 1 % of 3 km) at 3 km; no return from beyond max_altitude."""
    spec = changed(ALTIMETER, noise_m=0.5, relative_noise=0.01)
    state = channel_state(7)
    y = [
        sample(radar_altimeter, spec, pose_at(above(3000.0), Q_UP), state)["y"][0]
        for _ in range(4000)
    ]
    assert np.mean(y) == pytest.approx(3000.0, abs=5 * 30.0 / 63)
    assert np.std(y) == pytest.approx(math.hypot(0.5, 30.0), rel=0.05)
    out = reading(spec, 10.5e3)
    assert not out["valid"] and np.isnan(out["y"][0])


def test_model_ranges_along_the_beam_direction_nearest_the_vertical():
    """Over the level map 2 km down: tilted 10 deg (the vertical inside the 30-deg beam),
    the altitude, with d D / d r = up and d D / d theta = arm x up_body for a sensor 1 m along
    body x; tilted 25 deg, the range along the beam's edge 10 deg off the vertical, with
    d D / d r = up / cos 10 deg."""
    spec = changed(ALTIMETER, position_body_m=(1.0, 0.0, 0.0), noise_m=1.0)
    for angle, off_vertical in ((10.0, 0.0), (25.0, 10.0)):
        stretch = 1.0 / math.cos(math.radians(off_vertical))
        pose = pose_at(above(2000.0), tilted(angle))
        drop = math.sin(math.radians(angle))  # the 1-m arm along body x, tilted down
        meas = record(bus.MEASUREMENT_DTYPE, m=1, valid=True, period_s=0.1)
        meas["y"][0] = 2000.0 * stretch + 5.0
        model = np.zeros(1, bus.MODEL_DTYPE)[0]
        radar_altimeter.predict(spec, pose, MAP, meas, model)
        assert model["usable"] and model["m"] == 1
        assert model["innovation"][0] == pytest.approx(5.0 + drop * stretch, abs=0.05)
        assert model["j_position"][0] == pytest.approx(SITE["up"] * stretch, abs=1e-3)
        assert model["noise_cov"][0, 0] == pytest.approx(1.0)
    pose = pose_at(above(2000.0), tilted(10.0))
    radar_altimeter.predict(spec, pose, MAP, meas, model)
    up_body = quaternion.rotate_inverse(tilted(10.0), tuple(SITE["up"]))
    assert model["j_attitude"][0] == pytest.approx(
        np.cross(up_body, (1.0, 0.0, 0.0)) * -1, abs=1e-3
    )
