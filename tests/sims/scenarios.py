"""Small scenario variants for tests, derived from the bundled open-loop nominal scenario."""

import copy
import tomllib
from importlib import resources

import astropy.units as u
import numpy as np

from sims.scenarios import scenario

NOMINAL_TEXT = (resources.files("sims") / "scenarios" / "nominal_open_loop.toml").read_text()
NOMINAL = tomllib.loads(NOMINAL_TEXT)


def replaced(base, **sections):
    """A copy of a scenario dict with whole sections (or 'a__b' sub-tables) replaced."""
    d = copy.deepcopy(base)
    for path, value in sections.items():
        *parents, leaf = path.split("__")
        target = d
        for p in parents:
            target = target[p]
        target[leaf] = value
    return d


def variant(**sections):
    """The open-loop nominal scenario with sections replaced."""
    return replaced(NOMINAL, **sections)


def free_fall(time_step="1 ms"):
    """Engine off over a bare, non-rotating point-mass Moon, ideal attitude (thrust axis up)."""
    return variant(
        moon={"gravity": "point_mass", "rotation": False, "gravity_gradient_torque": False},
        terrain={"seed": 0, "max_crater_diameter": "1 km"},
        simulation={"time_step": time_step, "max_time": "60 s", "output_rate": "10 Hz"},
        open_loop={
            "attitude": "ideal",
            "schedule": [{"t": "0 s", "throttle": 0.0, "direction": [0, 0, 1]}],
        },
    )


class Orbit:
    """A poliastro-style initial state: astropy Quantity .r and .v."""

    def __init__(self, r_m, v_mps):
        self.r = np.asarray(r_m) * u.m
        self.v = np.asarray(v_mps) * u.m / u.s


CLOSED_LOOP_TEXT = (resources.files("sims") / "scenarios" / "nominal.toml").read_text()
# the closed-loop nominal without its dispersions: a test disperses what it tests
UNDISPERSED_TEXT = CLOSED_LOOP_TEXT[: CLOSED_LOOP_TEXT.index("\n[dispersions]")] + "\n"
CLOSED_LOOP = tomllib.loads(UNDISPERSED_TEXT)
# the sensors of the bundled suites (nominal_doppler_lidar, nominal_full_suite)
SUITE_SENSORS = scenario.read_data("nominal_full_suite")[1]["sensors"]
DOPPLER_LIDAR = SUITE_SENSORS["doppler_lidar"]
RADAR_ALTIMETER = SUITE_SENSORS["radar_altimeter"]
IMAGE_NAVIGATION = SUITE_SENSORS["camera"]


def closed_loop(**sections):
    """The closed-loop nominal scenario with sections replaced."""
    return replaced(CLOSED_LOOP, **sections)


def high_gate_start(sc):
    """Initial state 1.5 km uprange of the site, 1.2 km up, flying at (25, 0, -20) m/s in its
    local (downrange, crossrange, up) axes: the nominal high gate, for short closed-loop runs."""
    from dynamics import gravity, terrain_section
    from dynamics.constants import MOON_MEAN_RADIUS_M

    site, _, _ = terrain_section.truth_terrain(sc.site, sc.terrain)
    theta = -1500.0 / MOON_MEAN_RADIUS_M
    up0, d0 = site["up"], site["track_downrange"]
    up = np.cos(theta) * up0 + np.sin(theta) * d0
    down = -np.sin(theta) * up0 + np.cos(theta) * d0
    r = (np.linalg.norm(site["origin_mcmf_m"]) + 1200.0) * up
    v_rel = 25.0 * down - 20.0 * up
    omega = gravity.pack(sc.moon).params["rotation_rate_radps"]
    v = v_rel + np.cross([0.0, 0.0, omega], r)  # MCI = MCMF at t = 0
    return Orbit(r, v)


def short_closed_loop():
    """From high gate, with the propellant the nominal has left there (140 kg): 'braking'
    flies to the low gate, 'approach' to 30 m, then terminal descent."""
    return closed_loop(
        vehicle__propellant_mass="140 kg",
        flight_software__braking=CLOSED_LOOP["flight_software"]["approach"],
        flight_software__approach={
            "law": "e_guidance",
            "position": ["0 m", "0 m", "30 m"],
            "velocity": ["0 m/s", "0 m/s", "-1 m/s"],
            "throttle_design": 0.45,
            "position_hold": "20 s",
        },
        simulation={"time_step": "10 ms", "max_time": "200 s", "output_rate": "10 Hz"},
    )


RECOVERING_GATE = {"policy": "recover", "probability": 0.997, "reject_limit": 5}


def full_suite(base=None, gate=None):
    """A closed-loop scenario (the nominal by default) with a second, nadir-looking
    rangefinder and a 3-beam Doppler lidar on the sensor bus, every range channel on `gate`:
    ungated by default (the filter's own consistency, whatever a gate policy does), or e.g.
    RECOVERING_GATE, the bundled `nominal_doppler_lidar`'s."""
    d = copy.deepcopy(base if base is not None else CLOSED_LOOP)
    nadir = dict(d["sensors"]["laser_rangefinder"])
    nadir.update(position=["0.3 m", "0 m", "0 m"], beam=[0.0, 0.0, -1.0])
    d["sensors"]["nadir_rangefinder"] = nadir
    d["sensors"]["doppler_lidar"] = copy.deepcopy(DOPPLER_LIDAR)
    for channel in ("laser_rangefinder", "nadir_rangefinder", "doppler_lidar"):
        d["sensors"][channel]["gate"] = dict(gate or {"policy": "accept_all"})
    return d


def with_channel(base, name, spec):
    """A scenario dict with one more sensor channel."""
    d = copy.deepcopy(base)
    d["sensors"][name] = copy.deepcopy(spec)
    return d


def radar_suite(camera, base=None):
    """A closed-loop scenario (the nominal by default) with the radar altimeter for the laser
    rangefinder, and the descent camera if asked."""
    d = with_channel(base if base is not None else CLOSED_LOOP, "radar_altimeter", RADAR_ALTIMETER)
    del d["sensors"]["laser_rangefinder"]
    return with_channel(d, "camera", IMAGE_NAVIGATION) if camera else d


def terrain_variant(base=None, density=None, map_resolution=None):
    """A closed-loop scenario (the nominal by default) with every terrain tile's crater
    density and the onboard map's resolution changed where given."""
    d = copy.deepcopy(base if base is not None else CLOSED_LOOP)
    if density is not None:
        for tile in d["terrain"]["tiles"]:
            tile["crater_density"] = density
    if map_resolution is not None:
        d["navigation"]["map_resolution"] = map_resolution
    return d


def on_a_hazard_field(half_width, spacing, features=(), **law):
    """The closed-loop nominal over a level site (a 5-m tile, no craters) with a hazard field
    (`dynamics.hazards`) half_width [m] around the target at a spacing (both as written, e.g.
    "20 m", "0.1 m"), boulders of the given law (none by default) and features placed."""
    field = {
        "downrange": [f"-{half_width}", half_width],
        "crossrange": [f"-{half_width}", half_width],
        "spacing": spacing,
        "boulder_density": 0.0,
        "boulder_exponent": 4.0,
        "min_boulder_diameter": "0.3 m",
        "max_boulder_diameter": "4 m",
        **law,
    }
    level = {
        "downrange": ["-2 km", "2 km"],
        "crossrange": ["-2 km", "2 km"],
        "spacing": "5 m",
        "min_crater_diameter": "500 m",
        "crater_density": 0.0,
    }
    terrain = {
        "seed": 3,
        "max_crater_diameter": "1 km",
        "tiles": [level],
        "features": list(features),
        "hazards": field,
    }
    return scenario.parse(closed_loop(terrain=terrain), "hazards.toml")


def upright_pose(site, downrange_m, crossrange_m, height_m):
    """A pose (`sensors.bus.POSE_DTYPE`) at rest, upright (body axes downrange, crossrange,
    up), height_m above the datum over a track point: what a sensor's `sample` takes."""
    from dynamics import frames, quaternion
    from sensors import bus

    r = np.array(
        frames.track_point(site, downrange_m, crossrange_m, site["map_radius_m"] + height_m)
    )
    q = quaternion.from_axes(*frames.local_track_axes(site, r))
    pose = np.zeros(1, bus.POSE_DTYPE)[0]
    pose["r_mcmf_m"] = pose["r_mci_m"] = r
    pose["q_body_to_mcmf"] = pose["q_body_to_mci"] = q
    return pose
