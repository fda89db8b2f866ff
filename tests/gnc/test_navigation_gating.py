"""Innovation gating after a terrain step: the legacy policy latches the rangefinder off for
good (ispace M1), the recovering policy re-initialises the altitude and re-admits it."""

import math

import numpy as np
import pytest

from dynamics import frames, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from gnc.navigation import filter as ekf
from gnc.navigation import gating, measurements
from sims.model import record

SITE = frames.make_site(0.3, 0.2, 0.0, 0.0, MOON_MEAN_RADIUS_M)
NO_TILES, NO_HEIGHTS = terrain.make_tiles([])
DOWN_BEAM = np.array([0.0, 0.0, -1.0])
ALTITUDE = 5000.0


def hovering_nav():
    """Navigation state 5 km above a flat map, thrust axis (body +z) up, 20 m altitude sigma."""
    from dynamics import quaternion

    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    up = SITE["up"]
    nav["r_mci_m"] = (MOON_MEAN_RADIUS_M + ALTITUDE) * up
    nav["q_body_to_mci"] = quaternion.from_axes(
        tuple(SITE["east"]), tuple(SITE["north"]), tuple(up)
    )
    nav["P"] = np.diag([20.0**2] * 3 + [0.1**2] * 3 + [1e-8] * 3 + [1e-12] * 3 + [1e-8] * 3)
    return nav


def range_model(nav, measured):
    return measurements.slant_range(
        nav,
        measured,
        DOWN_BEAM,
        2.0,
        0.0,
        0.0,
        SITE,
        NO_TILES,
        NO_HEIGHTS,
        0.0,
        0.0,
        20_000.0,
        5.0,
    )


def range_update(gate, state, nav, measured):
    usable, y, h, r = range_model(nav, measured)
    assert usable
    return gating.process(gate, state, nav, y, h, r)


def altitude_of(nav):
    return np.linalg.norm(nav["r_mci_m"]) - MOON_MEAN_RADIUS_M


def test_flat_map_range_model_predicts_the_altitude_and_its_jacobian():
    nav = hovering_nav()
    usable, y, h, r = range_model(nav, ALTITUDE + 7.0)
    assert usable and y[0] == pytest.approx(7.0, abs=1e-3)
    # d range / d position = +up for a nadir beam over level ground: higher, longer range
    assert h[0, 0:3] == pytest.approx(SITE["up"], abs=1e-9)
    assert r[0, 0] == pytest.approx(4.0)


def test_legacy_gate_latches_after_a_terrain_step():
    """Past a ~3 km crater-rim cliff the true range jumps by 3 km while the map says level:
    the legacy gate rejects once and never listens again, even when ranges agree later."""
    gate = record(gating.GATE_DTYPE, policy=gating.LATCH, threshold=9.0, reject_limit=1)
    state = np.zeros(1, gating.GATE_STATE_DTYPE)[0]
    nav = hovering_nav()
    assert range_update(gate, state, nav, ALTITUDE + 1.0)[0] == gating.ACCEPTED
    verdict, nis = range_update(gate, state, nav, ALTITUDE + 3000.0)
    assert verdict == gating.LATCHED_NOW and nis > 1000.0
    before = altitude_of(nav)
    for measured in (ALTITUDE + 3000.0, ALTITUDE + 2990.0, ALTITUDE):
        assert range_update(gate, state, nav, measured)[0] == gating.IGNORED
    assert altitude_of(nav) == before and state["latched_off"]


def test_recovering_gate_reinitialises_altitude_and_readmits():
    gate = record(gating.GATE_DTYPE, policy=gating.RECOVER, threshold=9.0, reject_limit=3)
    state = np.zeros(1, gating.GATE_STATE_DTYPE)[0]
    nav = hovering_nav()
    horizontal = nav["r_mci_m"] - SITE["up"] * (nav["r_mci_m"] @ SITE["up"])
    verdicts = [range_update(gate, state, nav, ALTITUDE + 3000.0)[0] for _ in range(3)]
    assert verdicts == [gating.REJECTED, gating.REJECTED, gating.RECOVERED]
    # the filter now believes the rangefinder: 3 km more altitude, horizontal unchanged
    assert altitude_of(nav) == pytest.approx(ALTITUDE + 3000.0, abs=0.2 * 3000.0 / 3)
    new_horizontal = nav["r_mci_m"] - SITE["up"] * (nav["r_mci_m"] @ SITE["up"])
    assert np.linalg.norm(new_horizontal - horizontal) < 1.0
    verdict, _ = range_update(gate, state, nav, ALTITUDE + 3000.0)
    assert verdict == gating.ACCEPTED
    assert altitude_of(nav) == pytest.approx(ALTITUDE + 3000.0, abs=30.0)
    assert not state["latched_off"] and math.isfinite(nav["P"].sum())
