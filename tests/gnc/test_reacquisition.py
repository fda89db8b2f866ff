"""Terrain-correlation re-acquisition: ground points a wrong estimate carries 300 m off are
slid back onto the nominal's onboard map, and the filter takes the result as a horizontal
fix; over a map without relief nothing is found."""

import numpy as np
import pytest

from dynamics import frames, terrain
from gnc.navigation import filter as ekf
from gnc.navigation import reacquisition
from sensors import bus
from sims.run import packing as model_builder
from sims.scenarios import scenario

ERROR = np.array([300.0, -200.0])  # the estimate's error along the track axes [m]
BEAMS = ((1500.0, 0.0), (621.0, 0.0), (-310.0, 538.0), (-310.0, -538.0))  # feet [m]


@pytest.fixture(scope="module")
def onboard_map():
    return model_builder.build(scenario.load("nominal")).onboard_map


def track(site, x, y, height_m):
    return np.array(frames.track_point(site, x, y, site["map_radius_m"] + height_m))


def kept_ranges(m, error):
    """A filter 1.5 km up at the end of 10 s over the map's 25-m tile (t = 0, the Moon not
    turning: MCI = MCMF), whose estimate is `error` off, and the ground points of four beams
    at 10 Hz over those 10 s (what ranges to the map's own surface measure, with 2 m of noise
    in height)."""
    rng = np.random.default_rng(1)
    site, history = m.site, np.zeros(1, reacquisition.HISTORY_DTYPE)[0]
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    downrange = -9000.0 + 4.0 * np.arange(101)  # 40 m/s
    path = [track(site, x, 0.0, 1500.0) for x in downrange]
    points = history["points"]
    for x, lander in zip(downrange, path, strict=True):
        for bx, by in BEAMS:
            h, _, _ = terrain.height_and_gradient(m.tiles, m.heights, x + bx, by)
            h += 2.0 * rng.standard_normal()
            p = points[history["count"] % reacquisition.HISTORY]
            p["travelled_mci_m"] = lander - path[0]
            p["ground_offset_mcmf_m"] = track(site, x + bx, by, h) - lander
            history["count"] += 1
    nav["travelled_mci_m"] = path[-1] - path[0]
    nav["q_body_to_mci"] = (1.0, 0.0, 0.0, 0.0)
    nav["r_mci_m"] = track(site, downrange[-1] + error[0], error[1], 1500.0)
    nav["P"] = np.diag([200.0**2] * 3 + [0.1**2] * 3 + [1e-8] * 3 + [1e-12] * 3 + [1e-8] * 15)
    return history, nav, path[-1]


def test_the_ground_points_slid_over_the_map_find_the_error_and_fix_it(onboard_map):
    """The offset found is the error's opposite to a grid step (25 m). Along the track it is
    known to a grid step; across it the beams' parallel tracks alias (moved 550 m across, the
    side beams' lines fall near the others'): the region that fits as well holds both, and
    the covariance is wide across. Taken as a fix by a filter that claims 200 m, the
    estimate comes within 100 m of the truth (360 m before), inside what it then claims."""
    history, nav, truth = kept_ranges(onboard_map, ERROR)
    found = reacquisition.search(history, nav, onboard_map, 0.0, 200.0)
    dx, dy, cxx, cxy, cyy = found
    assert np.abs(np.array([dx, dy]) + ERROR).max() <= 25.0
    assert 0.0 < cxx < 25.0**2 and cyy > 100.0**2 and cxy**2 < cxx * cyy
    work = np.zeros(1, bus.MODEL_DTYPE)[0]
    assert reacquisition.correct(nav, work, onboard_map.site, 0.0, 0.0, found)
    error = nav["r_mci_m"] - truth
    up = truth / np.linalg.norm(truth)
    across = np.linalg.svd(np.eye(3) - np.outer(up, up))[0][:, :2]  # horizontal axes
    e = across.T @ error
    assert np.linalg.norm(e) < 100.0
    assert e @ np.linalg.solve(across.T @ nav["P"][:3, :3] @ across, e) < 13.8


def test_without_relief_there_is_nothing_to_find(onboard_map):
    """Over a map with no relief every offset fits alike: no offset, no fix, no change."""
    tiles, heights = terrain.make_tiles([])
    flat = onboard_map._replace(tiles=tiles, heights=heights)
    history, nav, _ = kept_ranges(flat, ERROR)
    before = nav["r_mci_m"].copy()
    found = reacquisition.search(history, nav, flat, 0.0, 200.0)
    assert found == (0.0, 0.0, 0.0, 0.0, 0.0)
    work = np.zeros(1, bus.MODEL_DTYPE)[0]
    assert not reacquisition.correct(nav, work, flat.site, 0.0, 0.0, found)
    assert (nav["r_mci_m"] == before).all()
