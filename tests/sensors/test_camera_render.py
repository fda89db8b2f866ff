"""The descent camera's images (sensors/camera_render.py) against what geometry and the
photometric law say: a flat datum's brightness pixel by pixel, a crater where the pinhole
projection puts it, cast shadows under a low Sun and none under a high one, nothing with
the Sun below the horizon, motion blur, and the exposure's noise."""

import math

import numpy as np
import pytest

from dynamics import frames, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from sensors import camera_render as cr

SITE = frames.make_site(0.0, 0.0, 0.0, 0.0, MOON_MEAN_RADIUS_M)
UP, DOWNRANGE = np.array(SITE["up"]), np.array(SITE["track_downrange"])
LEFT = np.array(SITE["track_left"])
N, FOV = 128, math.radians(30.0)
ALBEDO, L = 0.12, 0.8


def sun_at(elevation_deg):
    """Sun along +downrange at an elevation above the site's horizon."""
    e = math.radians(elevation_deg)
    return math.cos(e) * DOWNRANGE + math.sin(e) * UP


def image(tiles, heights, site, sun, height_m=1500.0, rotation=(0.0, 0.0, 0.0), frames_=1):
    out = np.zeros((N, N))
    origin = (MOON_MEAN_RADIUS_M + height_m) * UP
    axes = cr.camera_axes(-UP, DOWNRANGE)
    lighting = cr.scene(sun, ALBEDO, 0.0, L, step_m=1.0)
    cr.render(
        (site, tiles, heights),
        lighting,
        (tuple(origin), axes, math.tan(FOV / 2)),
        (rotation, frames_),
        out,
    )
    return out


def crater_site(elevation_sun_deg, centre=(150.0, -100.0), diameter=200.0, depth=40.0):
    """A 2-m grid with one parabolic bowl (rim at the datum) and the site record that
    bounds its slopes and heights."""
    x = np.arange(-600.0, 600.01, 2.0)
    r = np.hypot(x[:, None] - centre[0], x[None, :] - centre[1])
    h = np.where(r < diameter / 2, depth * ((2 * r / diameter) ** 2 - 1.0), 0.0)
    grids = [(-600.0, -600.0, 2.0, h)]
    tiles, heights = terrain.make_tiles(grids)
    site = SITE.copy()
    site["steepest_slope"] = terrain.steepest_slope(grids)
    site["highest_terrain_m"] = 0.0
    return tiles, heights, site, sun_at(elevation_sun_deg)


def test_a_flat_datum_has_the_lunar_lambert_brightness_pixel_by_pixel():
    """No relief: each pixel's ray meets the datum sphere where geometry says, and its
    brightness is the law's at that point's normal (incidence and emission per pixel)."""
    tiles, heights = terrain.make_tiles([])
    sun = sun_at(30.0)
    got = image(tiles, heights, SITE, sun)
    axes = cr.camera_axes(-UP, DOWNRANGE)
    origin = (MOON_MEAN_RADIUS_M + 1500.0) * UP
    want = np.zeros((N, N))
    for row in range(N):
        for col in range(N):
            d = np.array(cr.pixel_direction(axes, math.tan(FOV / 2), N, row, col))
            b = origin @ d  # the ray's nearer meeting with the sphere of the map radius
            s = -b - math.sqrt(b * b - origin @ origin + MOON_MEAN_RADIUS_M**2)
            normal = (origin + s * d) / MOON_MEAN_RADIUS_M
            mu0, mu = normal @ sun, -normal @ d
            want[row, col] = ALBEDO * (2 * L * mu0 / (mu0 + mu) + (1 - L) * mu0)
    assert np.abs(got - want).max() < 1e-9


def test_a_crater_appears_where_the_pinhole_projection_puts_it():
    """A 200-m bowl 150 m downrange and 100 m right of the point below a nadir camera at
    1.5 km: the pixels it changes centre on the projection of its centre to within a pixel
    (6.3 m at 1.5 km through a 30-deg, 128-pixel camera), and span its diameter."""
    tiles, heights, site, sun = crater_site(45.0)
    flat_tiles, flat_heights = terrain.make_tiles([])
    changed = np.abs(image(tiles, heights, site, sun) - image(flat_tiles, flat_heights, SITE, sun))
    rows, cols = np.nonzero(changed > 1e-4)
    axes = cr.camera_axes(-UP, DOWNRANGE)  # columns: axes[:, 0], rows: axes[:, 1]
    centre = MOON_MEAN_RADIUS_M * UP + 150.0 * DOWNRANGE - 100.0 * LEFT
    ray = centre - (MOON_MEAN_RADIUS_M + 1500.0) * UP
    u, v = ray @ axes[:, 0] / (ray @ axes[:, 2]), ray @ axes[:, 1] / (ray @ axes[:, 2])
    col_expected = (u / math.tan(FOV / 2) + 1) * N / 2 - 0.5
    row_expected = (v / math.tan(FOV / 2) + 1) * N / 2 - 0.5
    assert cols.mean() == pytest.approx(col_expected, abs=1.0)
    assert rows.mean() == pytest.approx(row_expected, abs=1.0)
    # and its extent is the crater's: 200 m / 6.3 m per pixel across
    assert np.ptp(rows) + 1 == pytest.approx(200.0 / (2 * 1500 * math.tan(FOV / 2) / N), abs=2)


def test_a_low_sun_casts_shadows_in_the_bowl_a_high_one_none_and_below_the_horizon_nothing():
    """A 40-m-deep, 200-m bowl: its walls rise at up to 2 x 40 / 100 = 0.8 (39 deg), so a Sun
    at 5 deg leaves part of its floor in the shadow of its rim (the law gives no zero there:
    the floor faces the Sun), a Sun at 60 deg none; a Sun below the horizon lights nothing."""
    tiles, heights, site, _ = crater_site(5.0)
    low, high = (image(tiles, heights, site, sun_at(e)) for e in (5.0, 60.0))
    assert (low == 0.0).sum() > 100 and (high == 0.0).sum() == 0
    assert (image(tiles, heights, site, sun_at(-5.0)) == 0.0).all()


def test_motion_blur_spreads_a_crater_along_the_turn_and_keeps_its_centre():
    """Turning by 8 pixels' worth about the camera's row axis over the exposure (a body rate
    times the exposure) smears the crater along the columns, not the rows, by the turn its 9
    sub-frames span (their midpoints: 8/9 of it, 7.1 pixels), and leaves its centre."""
    tiles, heights, site, sun = crater_site(45.0)
    flat_tiles, flat_heights = terrain.make_tiles([])
    ifov = FOV / N  # near the centre
    turn = tuple(8 * ifov * cr.camera_axes(-UP, DOWNRANGE)[:, 1])
    background = image(flat_tiles, flat_heights, SITE, sun)
    sharp = np.abs(image(tiles, heights, site, sun) - background) > 1e-4
    blurred = np.abs(image(tiles, heights, site, sun, rotation=turn, frames_=9) - background)
    smeared = blurred > 1e-4
    sharp_rows, sharp_cols = np.nonzero(sharp)
    rows, cols = np.nonzero(smeared)
    assert np.ptp(cols) - np.ptp(sharp_cols) == pytest.approx(8 * 8 / 9, abs=1.2)
    assert np.ptp(rows) == np.ptp(sharp_rows)
    assert cols.mean() == pytest.approx(sharp_cols.mean(), abs=0.5)


def test_the_exposure_adds_shot_and_read_noise():
    """Half a full well of 10,000 electrons with 20 e read noise: mean 0.5, sigma
    sqrt(5000 + 400) / 10,000."""
    rng = np.random.default_rng(3)
    dn = cr.expose(np.full((200, 200), 0.5), 10_000.0, 20.0, rng)
    assert dn.mean() == pytest.approx(0.5, abs=3e-4)
    assert dn.std() == pytest.approx(math.sqrt(5400.0) / 1e4, rel=0.02)
