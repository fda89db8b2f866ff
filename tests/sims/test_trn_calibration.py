"""Fitting the image-navigation model to a sweep (sims/images/trn_calibration.py), and the command
that runs it: a synthetic sweep with a known error model is fitted back; a scenario without
a camera is one sentence."""

import json
import math
import tomllib

import numpy as np
import pytest
from scipy import stats

from dynamics import frames, quaternion
from sensors import image_navigation
from sims import cli
from sims.images import trn_calibration
from sims.run import packing
from sims.scenarios import scenario
from tests.sensors.test_image_navigation import Q_UP, SITE, above, fixes
from tests.sensors.test_sensor_models import pose_at


def synthetic_sweep(noise_m, match_px, false_share, false_m, seed=1):
    """Records as `sweep` writes them: 1,000 fixes at GSDs 0.5-8 m from 500, 1000 and 2000 m
    with per-axis errors of sqrt(noise^2 + (match GSD)^2), a share of them false matches of
    false_m per axis; the Sun at 2 deg gives no fix, at 10 and 30 deg always; 40 px of blur
    none; from 8 km none; with 0.5 usable craters in view none (30 elsewhere)."""
    rng = np.random.default_rng(seed)
    records = []
    for k in range(1000):
        gsd = rng.uniform(0.5, 8.0)
        sigma = np.hypot(noise_m, match_px * gsd)
        false = k < false_share * 1000
        error = rng.normal(0.0, false_m if false else sigma, 2)
        records.append(
            {
                "altitude_m": (500.0, 1000.0, 2000.0)[k % 3],
                "sun_elevation_deg": (10, 30)[k % 2],
                "blur_px": (0.0, 5.0)[k % 2],
                "gsd_m": gsd,
                "usable_craters": 30.0,
                "error_m": error.tolist(),
                "reason": None,
            }
        )
    for k in range(60):  # too dark at any blur, too blurred under any Sun
        dark = k < 30
        records.append(
            {
                "altitude_m": (500.0, 1000.0, 2000.0)[k % 3],
                "sun_elevation_deg": 2 if dark else (10, 30)[k % 2],
                "blur_px": (0.0, 5.0)[k % 2] if dark else 40.0,
                "gsd_m": 1.0,
                "usable_craters": 30.0,
                "reason": "too dark" if dark else "poor match",
            }
        )
    for _ in range(40):  # a featureless plain
        records.append(
            {
                "altitude_m": 1000.0,
                "sun_elevation_deg": 30,
                "blur_px": 0.0,
                "gsd_m": 2.0,
                "usable_craters": 0.5,
                "reason": "too little texture",
            }
        )
    for _ in range(40):
        records.append(
            {
                "altitude_m": 8000.0,
                "sun_elevation_deg": 30,
                "blur_px": 0.0,
                "gsd_m": 20.0,
                "usable_craters": 30.0,
                "reason": "poor match",
            }
        )
    return records


def test_the_fit_recovers_a_known_error_model():
    fitted = trn_calibration.fit(synthetic_sweep(2.0, 0.5, 0.1, 300.0))
    assert fitted["noise_m"] == pytest.approx(2.0, rel=0.15)
    assert fitted["match_error_px"] == pytest.approx(0.5, rel=0.1)
    assert fitted["false_match_probability"] == pytest.approx(0.1, abs=0.02)
    assert fitted["false_match_error_m"] == pytest.approx(300.0, rel=0.15)
    # the window that tells fixes from the rest: every image on its side
    assert (fitted["min_altitude_m"], fitted["max_altitude_m"]) == (500.0, 2000.0)
    assert fitted["min_sun_elevation_deg"] == 10 and fitted["max_blur_px"] == 5.0
    assert fitted["min_craters"] == 30.0
    assert fitted["availability_agreement"] == 1.0


def test_too_few_fixes_and_a_scenario_without_a_camera_are_one_sentence(tmp_path, capsys):
    with pytest.raises(trn_calibration.CalibrationError, match="0 fixes in 2 images"):
        trn_calibration.fit(synthetic_sweep(1.0, 0.5, 0.0, 1.0)[-2:])
    out = tmp_path / "fit.json"
    assert cli.main(["calibrate-trn", "nominal", "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip() == (
        "descent: error: nominal: no image_navigation channel (a camera to match images from)"
    )
    assert not out.exists()


def test_the_sweep_renders_matches_and_records_each_image():
    """The full suite's camera (40 deg) at 1 km over its terrain with a 5-m map, 128 pixels,
    where its descent passes 1 km (about 1.5 km before the site, over the site's 5-m tile):
    the images that fix are within one grid cell (the map's 5 m or two GSDs) of where they
    were taken but for at most one false match (a correlation peak elsewhere in the grid),
    the others say why not; GSD and blur (20 deg/s over 2 ms is 0.1 px at this IFOV) are the
    geometry's."""
    data = scenario.read_data("nominal_full_suite")[1]
    data["navigation"]["map_resolution"] = "5 m"
    sc = scenario.load(data)
    records = trn_calibration.sweep(
        sc, trn_calibration.Cases((1000.0,), (20.0,), (0.0, 20.0), 3, 128)
    )
    ifov = np.radians(40.0) / 128
    assert len(records) == 6
    off_by = []
    for r in records:
        assert r["gsd_m"] == pytest.approx(1000.0 * ifov)
        assert r["blur_px"] == pytest.approx(np.radians(r["slew_rate_dps"]) * 2e-3 / ifov)
        assert r["usable_craters"] > 0.0
        if r["reason"] is None:
            off_by.append(np.abs(r["error_m"]).max() / max(5.0, 2 * r["gsd_m"]))
        else:
            assert r["reason"] in ("too little texture", "poor match", "too dark")
    assert len(off_by) >= 4 and sum(cells > 1.0 for cells in off_by) <= 1


def test_the_calibrated_scenario_flies_the_pipelines_error_statistics(tmp_path):
    """The scenario written beside the fit is the base with its camera's model replaced, in
    the camera's own pixels (a 1024-pixel camera swept at 256: 4 times the swept-pixel
    figures). Its camera, sampled straight down from the altitude of each swept fix, gives
    per-axis errors whose mean square matches the swept fixes' (F test, 99 %): a campaign
    flown with it has the pipeline's error statistics."""
    records = synthetic_sweep(2.0, 0.5, 0.0, 1.0)
    fitted = trn_calibration.fit(records)
    fitted["min_sun_elevation_deg"] = 2.0  # the test site's Sun is 10 deg up
    fitted["min_altitude_m"], fitted["max_altitude_m"] = 100.0, 5000.0  # the swept fixes' GSDs
    fitted["min_craters"] = 0.0  # the test site's terrain holds no crater population
    sc = scenario.load("nominal_full_suite")
    path = tmp_path / "fit.toml"
    text, _ = trn_calibration.scenario_fragment("nominal_full_suite", sc, fitted, 256, records)
    path.write_text(text)
    calibrated = scenario.load(path)
    camera = calibrated.sensors.channels["camera"]
    assert camera.match_error == pytest.approx(4 * fitted["match_error_px"], rel=1e-5)
    assert camera.noise == pytest.approx(fitted["noise_m"], rel=1e-5)
    assert camera.max_blur == pytest.approx(4 * 5.0) and camera.pixels == 1024
    spec = next(c for c in packing.build(calibrated).channels if c.name == "camera").truth
    swept = [r for r in records if "error_m" in r][:300]
    ifov_swept = camera.field_of_view / 256
    # the bundled camera looks 45 deg forward: turn the body so it looks straight down
    b = np.asarray(camera.boresight)
    turn = np.cross(b, (0.0, 0.0, -1.0))
    angle = math.acos(-b[2])
    nadir = quaternion.multiply(
        Q_UP, quaternion.from_rotation_vector(tuple(angle * turn / np.linalg.norm(turn)))
    )
    flown = []
    for k, r in enumerate(swept):
        position = above(r["gsd_m"] / ifov_swept)
        fix = fixes(spec, pose_at(position, nadir), 1, seed=k)[0]
        truth = frames.track_coordinates(SITE, position)[:2]
        flown.append(np.asarray(fix["y"][:2]) - truth)
    flown_ms = np.mean(np.square(flown))
    swept_ms = np.mean(np.square([r["error_m"] for r in swept]))
    n = 2 * len(swept)
    assert stats.f.ppf(0.005, n, n) < flown_ms / swept_ms < stats.f.ppf(0.995, n, n)


def test_the_calibrated_scenario_says_what_it_clamped_and_narrowed(tmp_path):
    """A fit of no registration error is held at the least the kind takes, a window edge at the
    edge of the sweep where the base's camera reaches further is named: each a note, printed
    and heading the file as a comment; the file is TOML a TOML reader reads back, whatever
    characters the base's path holds."""
    records = synthetic_sweep(2.0, 0.5, 0.0, 1.0)
    fitted = trn_calibration.fit(records) | {"match_error_px": 0.0}
    sc = scenario.load("nominal_full_suite")
    camera = sc.sensors.channels["camera"]
    base = 'C:\\scenarios\\odd "name".toml'
    text, notes = trn_calibration.scenario_fragment(base, sc, fitted, 256, records)
    assert notes[0].startswith("match_error: the fit gave 0 px, below the least")
    assert fitted["min_altitude_m"] == 500.0 > camera.min_altitude  # the lowest swept
    assert any(n.startswith("min_altitude: 500 m, the edge of the sweep") for n in notes)
    # 2 km and 10 deg: images swept beyond them (8 km, 2 deg) did not fix, so not an edge
    assert not any(n.startswith(("max_altitude", "min_sun")) for n in notes)
    for note in notes:
        assert f"# NOTE {note}" in text
    data = tomllib.loads(text)
    assert data["base"] == base and data["sensors"]["camera"]["match_error"] == 1e-3
    assert data["sensors"]["camera"]["min_altitude"] == "500 m"


def test_a_sweep_with_too_few_fixes_is_kept_without_a_fit(tmp_path, capsys):
    """The Sun below the horizon: no image fixes; the command says so in one sentence, exits
    2, and the sweep it computed is in the file (no fit, no calibrated scenario)."""
    out = tmp_path / "fit.json"
    argv = ["calibrate-trn", "nominal_full_suite", "--out", str(out), "--altitudes", "1000"]
    argv += ["--sun-elevations", "-5", "--slew-rates", "0", "--images", "2", "--pixels", "32"]
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == (
        f"descent: error: 0 fixes in 2 images: too few to fit (the sweep is in {out}, with no fit)"
    )
    written = json.loads(out.read_text())
    assert (
        written["fitted"] is None and [r["reason"] for r in written["images"]] == ["too dark"] * 2
    )
    assert not out.with_suffix(".toml").exists()


def test_the_texture_and_map_variants_scale_the_terrain_and_name_themselves():
    """--map-resolutions 5,25 x --crater-densities 0.5,2: four variants, named in the records'
    fields; each has the map resolution asked and every tile's crater density scaled, so the
    craters a camera can use over the site scale with it (4 times more at twice the density
    than at half)."""
    sc = scenario.load("nominal_full_suite")
    swept = list(trn_calibration.variants(sc, (5.0, 25.0), (0.5, 2.0)))
    assert [f for f, _ in swept] == [
        {"map_resolution_m": m, "crater_density_scale": k} for m in (5.0, 25.0) for k in (0.5, 2.0)
    ]
    usable = {}
    for fields, variant in swept:
        assert variant.navigation.map_resolution == fields["map_resolution_m"]
        for tile, original in zip(variant.terrain.tiles, sc.terrain.tiles, strict=True):
            assert tile.crater_density == original.crater_density * fields["crater_density_scale"]
        built = packing.build(variant)
        spec = next(c.truth for c in built.channels if c.name == "camera")
        usable[fields["crater_density_scale"]] = image_navigation.usable_craters(
            spec, built.terrain.tiles, -1500.0, 0.0, 1500.0, 1.0
        )
    assert usable[2.0] == pytest.approx(4.0 * usable[0.5], rel=1e-12)


def test_the_fit_is_of_the_scenarios_own_map_and_terrain():
    """A sweep over other maps and densities fits the scenario's camera on its own variant
    only (a 5-m map's fixes say nothing of its 25-m map's); without that variant, one
    sentence naming what to add."""
    sc = scenario.load("nominal_full_suite")  # its map: 25 m
    own = synthetic_sweep(2.0, 0.5, 0.0, 1.0)
    other = [r | {"error_m": [50.0, 50.0]} for r in own if "error_m" in r]
    tagged = [r | {"map_resolution_m": 25.0, "crater_density_scale": 1.0} for r in own]
    tagged += [r | {"map_resolution_m": 5.0, "crater_density_scale": 1.0} for r in other]
    tagged += [r | {"map_resolution_m": 25.0, "crater_density_scale": 2.0} for r in other]
    assert trn_calibration.own_records(sc, tagged) == tagged[: len(own)]
    assert trn_calibration.own_records(sc, own) == own  # a sweep without variants
    with pytest.raises(
        trn_calibration.CalibrationError,
        match="no image over its own map and terrain to fit "
        r"\(sweep --map-resolutions with 25 and --crater-densities with 1\)",
    ):
        trn_calibration.own_records(sc, tagged[len(own) :])
