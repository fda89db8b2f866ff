"""What image navigation achieves on real images, measured and fitted (issue 14):
`descent calibrate-trn SCENARIO --out FILE` renders the scenario's descent camera over its
terrain (`sensors.camera_render`), matches each image against its onboard map
(`gnc.navigation.image_matching`), and fits the error model of the campaign's statistical
kind (`sensors.image_navigation`) to what the pipeline did. Beside FILE it writes a
scenario built on SCENARIO (`base`) whose camera carries the fitted model
(`scenario_fragment`): the scenario a campaign flies to have the pipeline's statistics.

The sweep, over the scenario and its variants (`variants`: other onboard-map resolutions,
the terrain's crater densities scaled): the camera looking straight down from each
altitude, over points drawn within a footprint's width (at least SPREAD_M) of where the
scenario's own descent (its run of seed 0) passes that altitude (the terrain the camera
flies over: far uprange it is not the site's), under each Sun elevation (at the scenario's
Sun azimuth), turning at each slew rate over its exposure; the image exposed with shot and
read noise (`camera_render.FULL_WELL_E`, `READ_NOISE_E`); the estimated position off by
ESTIMATE_ERROR_M (1 sigma) on each horizontal axis. The reference is the onboard map
rendered under the Sun of the image (the flight software knows it from its ephemeris and
clock), or, with map_sun_elevation_deg, the map's own ortho-image lit from that elevation a
quarter turn from the image's Sun (maps are made from orbit at another hour): what matching
against such an ortho-image costs.

The fit, over the images of the scenario's own map and terrain (`own_records`; the other
variants are in the file for comparison), from the fixes' per-axis errors e and ground
sample distances (GSD):
- e^2 = noise^2 + (match_error GSD)^2: least squares in (noise^2, match_error^2), both held
  non-negative, over the fixes within FALSE_MATCH_SIGMAS of the model (from a robust start,
  refitted until the fixes it keeps stop changing);
- false_match_probability: the share of fixes beyond that, false_match_error their RMS
  per-axis error;
- availability: the window of swept conditions (altitudes from min_altitude to
  max_altitude, Sun from min_sun_elevation, blur up to max_blur [pixels], and from
  min_craters of the craters the camera's model counts as usable texture in the image,
  `image_navigation.usable_craters`) that tells images
  with a fix from images without one with the fewest images on the wrong side. The campaign
  model fixes inside that window and nowhere else, so it is claimed only where the sweep
  looked.
"""

import itertools
import json
import math
from dataclasses import dataclass

import numpy as np
import tomli_w

from dynamics import frames, sun, terrain
from gnc.navigation import image_matching
from sensors import camera_render, image_navigation
from sims.run import packing, results

SPREAD_M = 1000.0
ESTIMATE_ERROR_M = 30.0
FALSE_MATCH_SIGMAS = 5.0
# the image-navigation kind takes a match error above 0 and a false-match probability below 1
LEAST_MATCH_ERROR_PX = 1e-3
MOST_FALSE_MATCH_PROBABILITY = 0.999


class CalibrationError(Exception):
    """A scenario that cannot be calibrated (one sentence, for the command line)."""


def camera_of(sc):
    """(name, spec) of the scenario's first image-navigation channel."""
    for name, spec in sc.sensors.channels.items():
        if spec.kind == "image_navigation":
            return name, spec
    raise CalibrationError(
        f"{sc.meta.name}: no image_navigation channel (a camera to match images from)"
    )


def variants(sc, maps_m=(), density_scales=()):
    """(fields, scenario) of each variant a sweep covers: the scenario with each onboard map
    resolution of maps_m [m] and each scale of its tiles' crater densities (its own where
    none is given); fields name the variant in the records."""
    for resolution in maps_m or (None,):
        for scale in density_scales or (None,):
            fields, update = {}, {}
            if resolution is not None:
                fields["map_resolution_m"] = resolution
                update["navigation"] = sc.navigation.model_copy(
                    update={"map_resolution": resolution}
                )
            if scale is not None:
                fields["crater_density_scale"] = scale
                tiles = tuple(
                    t.model_copy(update={"crater_density": t.crater_density * scale})
                    for t in sc.terrain.tiles
                )
                update["terrain"] = sc.terrain.model_copy(update={"tiles": tiles})
            yield fields, sc.model_copy(update=update)


@dataclass(frozen=True)
class Cases:
    """What a sweep images over each variant: every combination of altitude [m], Sun
    elevation [deg] and slew rate [deg/s], `images` frames of `pixels` across each; the
    reference lit as the image is, or from map_sun_elevation_deg (see the module)."""

    altitudes_m: tuple
    sun_elevations_deg: tuple
    slew_rates_dps: tuple
    images: int
    pixels: int
    map_sun_elevation_deg: float | None = None


def sweep(sc, cases, seed=0, maps_m=(), density_scales=()):
    """One record per image: the case, its GSD [m], blur [pixels] and usable craters, and
    the fix's per-axis error [m] (downrange, crossrange) or the reason there was none; over
    each variant (`variants`) of the scenario."""
    records = []
    for k, (fields, variant) in enumerate(variants(sc, maps_m, density_scales)):
        records += [r | fields for r in _sweep_variant(variant, cases, seed + k)]
    return records


def _sweep_variant(sc, cases, seed):
    name, camera = camera_of(sc)
    built = packing.build(sc)
    packed = next(c.truth for c in built.channels if c.name == name)
    truth, onboard = built.terrain, built.onboard_map
    site = truth.site
    east, north, up = (
        np.array(v) for v in frames.east_north_up(sc.site.latitude, sc.site.longitude)
    )
    site_sun = np.array(frames.sun_direction(sc.site))
    azimuth = math.atan2(site_sun @ east, site_sun @ north)
    albedo = truth.site["albedo"]
    if cases.map_sun_elevation_deg is not None:
        map_sun = sun.direction_from_horizon(
            east, north, up, math.radians(cases.map_sun_elevation_deg), azimuth + math.pi / 2
        )
        map_scene = camera_render.scene(map_sun, albedo, 0.0, 1.0)
    tan_half = math.tan(camera.field_of_view / 2)
    ifov = camera.field_of_view / cases.pixels
    rng = np.random.default_rng(seed)
    flown = flown_track(sc)
    records = []
    for altitude in cases.altitudes_m:
        passed = np.argmin(np.abs(flown["altitude_m"] - altitude))
        centre = flown["downrange_m"][passed], flown["crossrange_m"][passed]
        spread = max(SPREAD_M, 2.0 * altitude * tan_half)
        for elevation in cases.sun_elevations_deg:
            image_sun = sun.direction_from_horizon(
                east, north, up, math.radians(elevation), azimuth
            )
            lighting = camera_render.scene(image_sun, albedo, camera_render.ALBEDO_VARIATION, 1.0)
            if cases.map_sun_elevation_deg is None:
                map_scene = camera_render.scene(image_sun, albedo, 0.0, 1.0)
            for rate in cases.slew_rates_dps:
                blur = math.radians(rate) * camera.exposure / ifov
                for _ in range(cases.images):
                    x, y = centre + rng.uniform(-spread, spread, 2)
                    ground, _, _ = terrain.height_and_gradient(truth.tiles, truth.heights, x, y)
                    origin = np.array(
                        frames.track_point(site, x, y, site["map_radius_m"] + ground + altitude)
                    )
                    down, left, local_up = (
                        np.array(v) for v in frames.local_track_axes(site, tuple(origin))
                    )
                    axes = camera_render.camera_axes(-local_up, down)
                    turn = tuple(math.radians(rate) * camera.exposure * axes[:, 1])
                    image = camera_render.take_picture(
                        truth, lighting, origin, axes, turn, tan_half, cases.pixels, rng
                    )
                    error = rng.normal(0.0, ESTIMATE_ERROR_M, 2)
                    estimated = origin + error[0] * down + error[1] * left
                    fix, reason = image_matching.match(
                        onboard,
                        map_scene,
                        image,
                        estimated,
                        axes,
                        tan_half,
                        image_matching.grid_cell_m(onboard, altitude, ifov),
                        image_matching.LIMITS,
                    )
                    record = {
                        "altitude_m": altitude,
                        "sun_elevation_deg": elevation,
                        "slew_rate_dps": rate,
                        "gsd_m": altitude * ifov,
                        "blur_px": blur,
                        "usable_craters": image_navigation.usable_craters(
                            packed, truth.tiles, x, y, altitude, 1.0
                        ),
                        "reason": reason,
                    }
                    if fix is not None:
                        record["error_m"] = [fix[0] - x, fix[1] - y]
                    records.append(record)
    return records


def flown_track(sc):
    """{altitude_m, downrange_m, crossrange_m}: arrays along the scenario's run of seed 0
    (undispersed), from PDI to its end."""
    from sims import api  # the compiled loop loads only for a sweep

    trajectory = api.run(sc, seed=0).trajectory
    return {
        k: trajectory.column(k).to_numpy() for k in ("altitude_m", "downrange_m", "crossrange_m")
    }


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


def own_records(sc, records):
    """The records of the scenario's own onboard map and terrain (the variants swept beside
    them are for comparison): what its calibrated camera stands for."""
    resolution = sc.navigation.map_resolution
    own = [
        r
        for r in records
        if r.get("map_resolution_m", resolution) == resolution
        and r.get("crater_density_scale", 1.0) == 1.0
    ]
    if not own:
        raise CalibrationError(
            f"{sc.meta.name}: no image over its own map and terrain to fit (sweep "
            f"--map-resolutions with {resolution:g} and --crater-densities with 1)"
        )
    return own


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

    window = availability(records)
    return {
        "noise_m": math.sqrt(noise2),
        "match_error_px": math.sqrt(match2),
        "false_match_probability": float(false.mean()),
        "false_match_error_m": float(np.sqrt(np.mean(outliers**2))) if outliers.size else 0.0,
        **window,
        "fixes": len(fixes),
        "images": len(records),
    }


def availability(records):
    """The window of swept conditions (altitudes [m] from min to max, Sun elevation [deg] from
    min, blur [pixels] up to max, usable craters in view from min) that puts the
    fewest images on the wrong side (a fix outside it, or none inside); of equally good
    windows, the widest. Its "availability_agreement" is the share of images it classifies
    right."""
    fixed = np.array(["error_m" in r for r in records])
    conditions = ("altitude_m", "sun_elevation_deg", "blur_px", "usable_craters")
    values = {c: np.array([r[c] for r in records]) for c in conditions}
    windows = itertools.product(
        itertools.combinations_with_replacement(np.unique(values["altitude_m"]), 2),
        np.unique(values["sun_elevation_deg"]),
        np.unique(values["blur_px"]),
        np.unique(values["usable_craters"]),
    )
    best = None
    for (low, high), elevation, blur, craters in windows:
        inside = (
            (values["altitude_m"] >= low)
            & (values["altitude_m"] <= high)
            & (values["sun_elevation_deg"] >= elevation)
            & (values["blur_px"] <= blur)
            & (values["usable_craters"] >= craters)
        )
        score = (int(np.sum(inside == fixed)), int(inside.sum()))
        if best is None or score > best[0]:
            best = (score, low, high, elevation, blur, craters)
    (right, _), low, high, elevation, blur, craters = best
    return {
        "min_altitude_m": float(low),
        "max_altitude_m": float(high),
        "min_sun_elevation_deg": float(elevation),
        "max_blur_px": float(blur),
        "min_craters": float(craters),
        "availability_agreement": right / len(records),
    }


def scenario_fragment(base, sc, fitted, pixels_swept, records):
    """(TOML text, notes): a scenario built on `base` (its name or absolute path) whose camera
    has the fitted model, converted from the swept images' pixels to the camera's own (an
    error or a smear of k swept pixels is k x camera pixels / swept pixels of the camera's),
    and a sentence for each figure the file holds that the fit did not give as it is: a
    value held within what the kind accepts, a window edge at the edge of the sweep (records:
    the images the fit used) where the base's camera reaches further, a limit left as the base
    has it. The notes head the file as comments."""
    name, camera = camera_of(sc)
    scale = camera.pixels / pixels_swept
    match_error = fitted["match_error_px"] * scale
    false_matches = fitted["false_match_probability"]
    notes = []
    if match_error < LEAST_MATCH_ERROR_PX:
        notes.append(
            f"match_error: the fit gave {match_error:.3g} px, below the least the model takes; "
            f"written as {LEAST_MATCH_ERROR_PX:g}"
        )
    if false_matches > MOST_FALSE_MATCH_PROBABILITY:
        notes.append(
            f"false_match_probability: the fit gave {false_matches:.4g}; written as "
            f"{MOST_FALSE_MATCH_PROBABILITY:g}"
        )
    notes += _edges_of_the_sweep(camera, fitted, records)
    section = {
        "match_error": float(f"{max(match_error, LEAST_MATCH_ERROR_PX):.6g}"),
        "noise": f"{fitted['noise_m']:.6g} m",
        "false_match_probability": float(f"{min(false_matches, MOST_FALSE_MATCH_PROBABILITY):.6g}"),
        "false_match_error": f"{fitted['false_match_error_m']:.6g} m",
        "min_altitude": f"{fitted['min_altitude_m']:.6g} m",
        "max_altitude": f"{fitted['max_altitude_m']:.6g} m",
        "min_sun_elevation": f"{fitted['min_sun_elevation_deg']:.6g} deg",
        "min_craters": float(f"{fitted['min_craters']:.6g}"),
    }
    if fitted["max_blur_px"] == 0.0:
        notes.append("max_blur: only unblurred images fixed; the base's kept")
    else:
        section["max_blur"] = float(f"{fitted['max_blur_px'] * scale:.6g}")
    document = {
        "base": str(base),
        "meta": {"name": f"{sc.meta.name}_calibrated"},
        "sensors": {name: section},
    }
    header = [
        f"# {sc.meta.name}'s camera with the error model fitted to the matching pipeline",
        "# (descent calibrate-trn; the sweep is in the JSON file of the same name)",
        *[f"# NOTE {note}" for note in notes],
    ]
    return "\n".join(header) + "\n" + tomli_w.dumps(document), notes


def _edges_of_the_sweep(camera, fitted, records):
    """Sentences for the window edges that sit at the edge of what was swept while the base's
    camera reaches further: the fit cannot tell whether fixes go on beyond, so the window is
    narrowed to the sweep, not extrapolated."""
    altitudes = [r["altitude_m"] for r in records]
    elevations = [r["sun_elevation_deg"] for r in records]
    out = []
    edges = (
        ("min_altitude", "m", fitted["min_altitude_m"], min(altitudes), camera.min_altitude, -1),
        ("max_altitude", "m", fitted["max_altitude_m"], max(altitudes), camera.max_altitude, 1),
        (
            "min_sun_elevation",
            "deg",
            fitted["min_sun_elevation_deg"],
            min(elevations),
            math.degrees(camera.min_sun_elevation),
            -1,
        ),
    )
    for field, unit, value, swept, base, outward in edges:
        if value == swept and outward * (base - value) > 0:
            out.append(
                f"{field}: {value:g} {unit}, the edge of the sweep (the base's {base:g} {unit}): "
                "the window is narrowed to what was swept, not extrapolated; sweep further to "
                "widen it"
            )
    return out


def write(path, sc, records, fitted):
    """The fitted model and the sweep it came from, as JSON, written atomically."""
    content = json.dumps({"scenario": sc.meta.name, "fitted": fitted, "images": records}, indent=1)
    results.write_atomically(path, lambda f: f.write(content.encode()))
