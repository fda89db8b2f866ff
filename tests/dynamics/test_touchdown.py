"""Touchdown contact detection and outcome classification on hand-made states."""

import math

import numpy as np
import pytest

from dynamics import frames, quaternion, terrain, touchdown
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.views import record

LIMITS = record(
    touchdown.LIMITS_DTYPE,
    vertical_speed_mps=2.0,
    vertical_speed_hard_mps=3.0,
    horizontal_speed_mps=0.5,
    horizontal_speed_hard_mps=1.0,
    tilt_rad=math.radians(10.0),
    slope_rad=math.radians(12.0),
    body_rate_radps=math.radians(5.0),
)
DEG = math.radians(1.0)


@pytest.mark.parametrize(
    ("vertical", "horizontal", "tilt", "slope", "rate", "gear", "fuel_out", "expected"),
    [
        (1.5, 0.2, 2 * DEG, 3 * DEG, 1 * DEG, True, False, "landed"),
        (2.5, 0.2, 2 * DEG, 3 * DEG, 1 * DEG, True, False, "hard_landing"),
        (1.5, 0.7, 2 * DEG, 3 * DEG, 1 * DEG, True, False, "hard_landing"),
        (1.5, 0.2, 14 * DEG, 3 * DEG, 1 * DEG, True, False, "tipped_over"),
        (1.5, 0.2, 2 * DEG, 15 * DEG, 1 * DEG, True, False, "tipped_over"),
        (1.5, 0.2, 2 * DEG, 3 * DEG, 9 * DEG, True, False, "tipped_over"),
        (3.5, 0.2, 2 * DEG, 3 * DEG, 1 * DEG, True, False, "crashed"),
        (1.5, 1.5, 2 * DEG, 3 * DEG, 1 * DEG, True, False, "crashed"),
        (1.5, 0.2, 2 * DEG, 3 * DEG, 1 * DEG, False, False, "crashed"),  # nozzle first
        (127.0, 0.0, 0.0, 0.0, 0.0, True, True, "fuel_exhausted"),  # ispace M1: fell from 5 km
        (1.5, 0.2, 2 * DEG, 3 * DEG, 1 * DEG, True, True, "landed"),  # ran dry at the surface
    ],
)
def test_classification(vertical, horizontal, tilt, slope, rate, gear, fuel_out, expected):
    code = touchdown.classify(LIMITS, vertical, horizontal, tilt, slope, rate, gear, fuel_out)
    assert touchdown.OUTCOMES[code] == expected


def test_contact_finds_the_lowest_footpad_of_a_tilted_lander_and_its_state():
    site = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)
    tiles, heights = terrain.make_tiles([])
    pads = np.array(
        [[1.3, 0, -0.9], [0, 1.3, -0.9], [-1.3, 0, -0.9], [0, -1.3, -0.9], [0, 0, -0.4]]
    )
    tilt = math.radians(8.0)
    # body +z = up (MCMF +x) tilted by 8 deg about body +y; footpad 1 (+x body) goes down
    q_up = quaternion.from_axes((0.0, 0.0, -1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0))
    q = quaternion.multiply(q_up, quaternion.from_axis_angle((0.0, 1.0, 0.0), tilt))
    pad_drop = 0.9 * math.cos(tilt) + 1.3 * math.sin(tilt)
    com = np.zeros(3)
    for height, expected in ((pad_drop + 0.01, -1), (pad_drop - 0.01, 0)):
        r = (MOON_MEAN_RADIUS_M + height, 0.0, 0.0)
        assert touchdown.first_contact(site, tiles, heights, r, q, com, pads) == expected
    r = (MOON_MEAN_RADIUS_M + pad_drop - 0.01, 0.0, 0.0)
    v = (-1.2, 0.3, -0.4)  # 1.2 m/s down, 0.5 m/s across
    gear = (com, pads[:4])
    state = touchdown.contact_state((site, tiles, heights), r, v, q, (0.0, 0.01, 0.0), gear)
    v_down, v_h, tilt_out, rate, miss, resting = state
    slope = resting.slope_rad
    assert resting.pad == -1 and np.isnan(resting.roughness_m)  # no hazard field
    assert (v_down, v_h) == pytest.approx((1.2, 0.5))
    assert tilt_out == pytest.approx(tilt)
    assert slope == pytest.approx(0.0, abs=1e-7)
    assert rate == pytest.approx(0.01)
    assert miss == pytest.approx(0.0, abs=1e-6)
