"""Image matching against the onboard map (gnc/navigation/image_matching.py): an image rendered
from a known pose (sensors/camera_render.py) over a crater field, matched with a pose 37 m and
23 m off, gives back the true position to under a grid cell; under another Sun the match is
worse and says so; featureless ground and a Sun below the horizon give no fix, with the
reason."""

import math

import numpy as np
import pytest

from dynamics import frames, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.terrain import OnboardMap
from gnc.navigation import image_matching
from sensors import camera_render

SITE = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)
UP, DOWN, LEFT = (np.array(SITE[k]) for k in ("up", "track_downrange", "track_left"))
PIXELS, FOV, CELL = 384, math.radians(40.0), 5.0
LIMITS = {"min_brightness": 0.01, "min_contrast": 0.05, "max_error": 0.95}
ERROR = (37.0, -23.0)  # the estimated camera position's error (downrange, crossrange) [m]


def crater_field(count):
    """A 5-m grid, 3 km square, with `count` parabolic bowls 30-200 m wide (seeded), and its
    site record."""
    rng = np.random.default_rng(5)
    x = np.arange(-1500.0, 1500.01, CELL)
    h = np.zeros((x.size, x.size))
    for _ in range(count):
        cx, cy = rng.uniform(-1200.0, 1200.0, 2)
        diameter = rng.uniform(30.0, 200.0)
        r = np.hypot(x[:, None] - cx, x[None, :] - cy)
        h += np.where(r < diameter / 2, 0.2 * diameter * ((2 * r / diameter) ** 2 - 1.0), 0.0)
    grids = [(-1500.0, -1500.0, CELL, h)]
    tiles, heights = terrain.make_tiles(grids)
    site = SITE.copy()
    site["steepest_slope"] = terrain.steepest_slope(grids)
    site["highest_terrain_m"] = max(float(h.max()), 0.0)
    return OnboardMap(site, tiles, heights, 0.0, 0.0, np.zeros_like(terrain.REGION_SIGMAS_M), 0.0)


def sun_at(elevation_deg, azimuth_deg=0.0):
    e, a = math.radians(elevation_deg), math.radians(azimuth_deg)
    return math.cos(e) * (math.cos(a) * DOWN + math.sin(a) * LEFT) + math.sin(e) * UP


def matched(surface, image_sun, map_sun, albedo_variation=0.1):
    """(fix, reason, true track coordinates) of a nadir image from 1 km, 50 m downrange."""
    origin = (MOON_MEAN_RADIUS_M + 1000.0) * UP + 50.0 * DOWN
    axes = camera_render.camera_axes(-UP, DOWN)
    image = np.zeros((PIXELS, PIXELS))
    camera_render.render(
        (surface.site, surface.tiles, surface.heights),
        camera_render.scene(image_sun, 0.12, albedo_variation, 1.0),
        (tuple(origin), axes, math.tan(FOV / 2)),
        ((0.0, 0.0, 0.0), 1),
        image,
    )
    estimated = origin + ERROR[0] * DOWN + ERROR[1] * LEFT
    fix, reason = image_matching.match(
        surface,
        camera_render.scene(map_sun, 0.12, 0.0, 1.0),
        image,
        estimated,
        axes,
        math.tan(FOV / 2),
        CELL,
        LIMITS,
    )
    return fix, reason, frames.track_coordinates(surface.site, tuple(origin))[:2]


def test_registration_recovers_a_known_position_error_to_under_a_cell():
    """Map and image under the same Sun (20 deg): the 37 m / -23 m error found to under a
    5-m cell on each axis, with a 1-sigma no larger than a cell."""
    fix, reason, (x, y) = matched(crater_field(60), sun_at(20.0), sun_at(20.0))
    assert reason is None
    assert fix[0] == pytest.approx(x, abs=CELL) and fix[1] == pytest.approx(y, abs=CELL)
    assert fix[2] <= CELL


def test_a_map_made_under_another_sun_matches_worse_and_says_so():
    """The map lit from 40 deg up and 60 deg aside, the image from 20 deg: the fix is off by
    more (within 3 cells) and its reported sigma is larger than the same-Sun match's."""
    field = crater_field(60)
    same, _, _ = matched(field, sun_at(20.0), sun_at(20.0))
    other, reason, (x, y) = matched(field, sun_at(20.0), sun_at(40.0, 60.0))
    assert reason is None and other[2] > same[2]
    assert abs(other[0] - x) < 3 * CELL and abs(other[1] - y) < 3 * CELL


def test_featureless_ground_and_a_sun_below_the_horizon_give_no_fix():
    flat = crater_field(0)
    assert matched(flat, sun_at(20.0), sun_at(20.0), albedo_variation=0.0)[:2] == (
        None,
        "too little texture",
    )
    assert matched(crater_field(60), sun_at(-5.0), sun_at(20.0))[:2] == (None, "too dark")
