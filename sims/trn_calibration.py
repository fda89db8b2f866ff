"""What image navigation achieves on real images, measured and fitted (issue 14):
`descent calibrate-trn SCENARIO --out FILE` renders the scenario's descent camera over its
terrain (`sensors.camera_render`), matches each image against its onboard map
(`gnc.navigation.image_matching`), and fits the error model of the campaign's statistical
kind (`sensors.image_navigation`) to what the pipeline did. Beside FILE it writes a
scenario built on SCENARIO (`base`) whose camera carries the fitted model
(`scenario_fragment`): the scenario a campaign flies to have the pipeline's statistics.

The sweep: the camera looking straight down from each altitude, over points drawn within
SPREAD_M of the site, under each Sun elevation (at the scenario's Sun azimuth), turning at
each slew rate over its exposure; the image exposed with shot and read noise
(FULL_WELL_E, READ_NOISE_E); the estimated position off by ESTIMATE_ERROR_M (1 sigma) on
each horizontal axis; the map lit from MAP_SUN_ELEVATION_DEG, a quarter turn from the
image's Sun (maps are made from orbit at another hour).

The fit, from the fixes' per-axis errors e and ground sample distances (GSD):
- e^2 = noise^2 + (match_error GSD)^2: least squares in (noise^2, match_error^2), both held
  non-negative, over the fixes within FALSE_MATCH_SIGMAS of the model (from a robust start,
  refitted until the fixes it keeps stop changing);
- false_match_probability: the share of fixes beyond that, false_match_error their RMS
  per-axis error;
- min_sun_elevation: the lowest swept Sun elevation at which at least half the images gave
  a fix; max_blur: the largest blur [pixels] at which at least half did.
"""

import json
import math

import numpy as np

from dynamics import frames, terrain
from gnc.navigation import image_matching
from sensors import camera_render
from sims import model, results

SPREAD_M = 1000.0
ESTIMATE_ERROR_M = 30.0
MAP_SUN_ELEVATION_DEG = 45.0
FULL_WELL_E, READ_NOISE_E = 20_000.0, 30.0
FALSE_MATCH_SIGMAS = 5.0
ALBEDO_VARIATION = 0.1
LIMITS = {"min_brightness": 0.005, "min_contrast": 0.01, "max_error": 0.95}


class CalibrationError(Exception):
    """A scenario that cannot be calibrated (one sentence, for the command line)."""


def camera_of(sc):
    """(name, spec) of the scenario's first image-navigation channel."""
    for name, spec in sc.sensors.channels.items():
        if spec.kind == "image_navigation":
            return name, spec
    raise CalibrationError(f"{sc.meta.name}: no image_navigation channel to calibrate")


def _sun(east, north, up, azimuth, elevation):
    horizontal = math.cos(azimuth) * north + math.sin(azimuth) * east
    return math.cos(elevation) * horizontal + math.sin(elevation) * up


def sweep(sc, altitudes_m, sun_elevations_deg, slew_rates_dps, images, pixels, seed=0, maps_m=()):
    """One record per image: the case, its GSD [m] and blur [pixels], and the fix's per-axis
    error [m] (downrange, crossrange) or the reason there was none; over the scenario's
    onboard map, or over each map resolution of maps_m [m]."""
    if maps_m:
        records = []
        for k, resolution in enumerate(maps_m):
            navigation = sc.navigation.model_copy(update={"map_resolution": resolution})
            variant = sc.model_copy(update={"navigation": navigation})
            for r in sweep(
                variant, altitudes_m, sun_elevations_deg, slew_rates_dps, images, pixels, seed + k
            ):
                records.append(r | {"map_resolution_m": resolution})
        return records
    _, camera = camera_of(sc)
    built = model.build(sc)
    truth, onboard = built.terrain, built.onboard_map
    site = truth.site
    east, north, up = (
        np.array(v) for v in frames.east_north_up(sc.site.latitude, sc.site.longitude)
    )
    sun = np.array(model.sun_direction(sc.site))
    azimuth = math.atan2(sun @ east, sun @ north)
    map_sun = _sun(east, north, up, azimuth + math.pi / 2, math.radians(MAP_SUN_ELEVATION_DEG))
    map_scene = camera_render.scene(map_sun, truth.site["albedo"], 0.0, 1.0)
    tan_half = math.tan(camera.field_of_view / 2)
    ifov = camera.field_of_view / pixels
    cell = max(float(onboard.tiles["spacing_m"].min(initial=5.0)), 5.0)
    rng = np.random.default_rng(seed)
    records = []
    for altitude in altitudes_m:
        for elevation in sun_elevations_deg:
            lighting = camera_render.scene(
                _sun(east, north, up, azimuth, math.radians(elevation)),
                truth.site["albedo"],
                ALBEDO_VARIATION,
                1.0,
            )
            for rate in slew_rates_dps:
                blur = math.radians(rate) * camera.exposure / ifov
                for _ in range(images):
                    x, y = rng.uniform(-SPREAD_M, SPREAD_M, 2)
                    ground, _, _ = terrain.height_and_gradient(truth.tiles, truth.heights, x, y)
                    origin = np.array(
                        frames.track_point(site, x, y, site["map_radius_m"] + ground + altitude)
                    )
                    down, left, local_up = (
                        np.array(v) for v in frames.local_track_axes(site, tuple(origin))
                    )
                    axes = camera_render.camera_axes(-local_up, down)
                    turn = tuple(math.radians(rate) * camera.exposure * axes[:, 1])
                    image = np.zeros((pixels, pixels))
                    camera_render.render(
                        site,
                        truth.tiles,
                        truth.heights,
                        lighting,
                        tuple(origin),
                        axes,
                        turn,
                        tan_half,
                        max(1, min(9, math.ceil(blur))),
                        image,
                    )
                    image = camera_render.expose(image, FULL_WELL_E, READ_NOISE_E, rng)
                    error = rng.normal(0.0, ESTIMATE_ERROR_M, 2)
                    estimated = origin + error[0] * down + error[1] * left
                    fix, reason = image_matching.match(
                        onboard,
                        map_scene,
                        image,
                        estimated,
                        axes,
                        tan_half,
                        max(cell, 2.0 * altitude * ifov),
                        LIMITS,
                    )
                    record = {
                        "altitude_m": altitude,
                        "sun_elevation_deg": elevation,
                        "slew_rate_dps": rate,
                        "gsd_m": altitude * ifov,
                        "blur_px": blur,
                        "reason": reason,
                    }
                    if fix is not None:
                        record["error_m"] = [fix[0] - x, fix[1] - y]
                    records.append(record)
    return records


def _fit_noise(gsd, squared):
    """(noise^2, match_error^2) >= 0 minimising the squared misfit of e^2 to them."""
    a = np.column_stack([np.ones_like(gsd), gsd**2])
    solution, *_ = np.linalg.lstsq(a, squared, rcond=None)
    if solution.min() >= 0.0:
        return solution
    only_noise = np.array([squared.mean(), 0.0])
    only_match = np.array([0.0, (gsd**2 @ squared) / (gsd**2 @ gsd**2)])
    misfit = [np.sum((a @ s - squared) ** 2) for s in (only_noise, only_match)]
    return (only_noise, only_match)[int(np.argmin(misfit))]


def fit(records):
    """The image-navigation kind's error model from a sweep's records (see the module)."""
    fixes = [r for r in records if "error_m" in r]
    if len(fixes) < 3:
        raise CalibrationError(f"{len(fixes)} fixes in {len(records)} images: too few to fit")
    gsd = np.repeat([r["gsd_m"] for r in fixes], 2)
    e = np.concatenate([r["error_m"] for r in fixes])
    # start from a robust scale (the median absolute error of a Gaussian is 0.674 sigma),
    # then refit on what the model keeps until that stops changing
    keep = np.abs(e) <= FALSE_MATCH_SIGMAS * np.median(np.abs(e)) / 0.6745
    for _ in range(20):
        noise2, match2 = _fit_noise(gsd[keep], e[keep] ** 2)
        sigma = np.sqrt(noise2 + match2 * gsd**2)
        kept, keep = keep, np.abs(e) <= FALSE_MATCH_SIGMAS * sigma
        if np.array_equal(kept, keep):
            break
    false = ~(keep[0::2] & keep[1::2])  # a fix with either axis beyond
    outliers = e.reshape(-1, 2)[false]

    def lowest_with_fixes(key, values, least):
        ok = [v for v in values if _share_fixed(records, key, v) >= 0.5]
        return (min(ok) if least else max(ok)) if ok else None

    elevations = sorted({r["sun_elevation_deg"] for r in records})
    blurs = sorted({r["blur_px"] for r in records})
    return {
        "noise_m": math.sqrt(noise2),
        "match_error_px": math.sqrt(match2),
        "false_match_probability": float(false.mean()),
        "false_match_error_m": float(np.sqrt(np.mean(outliers**2))) if outliers.size else 0.0,
        "min_sun_elevation_deg": lowest_with_fixes("sun_elevation_deg", elevations, True),
        "max_blur_px": lowest_with_fixes("blur_px", blurs, False),
        "fixes": len(fixes),
        "images": len(records),
    }


def _share_fixed(records, key, value):
    chosen = [r for r in records if r[key] == value]
    return sum("error_m" in r for r in chosen) / len(chosen)


def scenario_fragment(base, sc, fitted, pixels_swept):
    """TOML of a scenario built on `base` (its name or absolute path) whose camera has the
    fitted model, converted from the swept images' pixels to the camera's own (an error or a
    smear of k swept pixels is k x camera pixels / swept pixels of the camera's). A limit the
    sweep could not set (no Sun elevation or blur at which half the images fixed) is left as
    the base has it, and said so in a comment."""
    name, camera = camera_of(sc)
    scale = camera.pixels / pixels_swept
    lines = [
        f"# {sc.meta.name}'s camera with the error model fitted to the matching pipeline",
        "# (descent calibrate-trn; the sweep is in the JSON file of the same name)",
        f"base = {json.dumps(str(base))}",
        "",
        "[meta]",
        f'name = "{sc.meta.name}_calibrated"',
        "",
        f"[sensors.{name}]",
        f"match_error = {max(fitted['match_error_px'] * scale, 1e-3):.6g}",
        f'noise = "{fitted["noise_m"]:.6g} m"',
        f"false_match_probability = {min(fitted['false_match_probability'], 0.999):.6g}",
        f'false_match_error = "{fitted["false_match_error_m"]:.6g} m"',
    ]
    if fitted["min_sun_elevation_deg"] is None:
        lines.append("# min_sun_elevation: no swept Sun elevation gave fixes in half its images")
    else:
        lines.append(f'min_sun_elevation = "{fitted["min_sun_elevation_deg"]:.6g} deg"')
    if fitted["max_blur_px"] is None:
        lines.append("# max_blur: no swept blur gave fixes in half its images")
    elif fitted["max_blur_px"] == 0.0:
        lines.append("# max_blur: only unblurred images fixed in half the cases; the base's kept")
    else:
        lines.append(f"max_blur = {fitted['max_blur_px'] * scale:.6g}")
    return "\n".join(lines) + "\n"


def write(path, sc, records, fitted):
    """The fitted model and the sweep it came from, as JSON, written atomically."""
    content = json.dumps({"scenario": sc.meta.name, "fitted": fitted, "images": records}, indent=1)
    results.write_atomically(path, lambda f: f.write(content.encode()))
