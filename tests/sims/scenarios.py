"""Small scenario variants for tests, derived from the bundled open-loop nominal scenario."""

import copy
import tomllib
from importlib import resources

import astropy.units as u
import numpy as np

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
CLOSED_LOOP = tomllib.loads(CLOSED_LOOP_TEXT)


def closed_loop(**sections):
    """The closed-loop nominal scenario with sections replaced."""
    return replaced(CLOSED_LOOP, **sections)


def high_gate_start(sc):
    """Initial state 1.5 km uprange of the site, 1.2 km up, flying at (25, 0, -20) m/s in its
    local (downrange, crossrange, up) axes: the nominal high gate, for short closed-loop runs."""
    from dynamics.constants import MOON_MEAN_RADIUS_M
    from sims import model

    site, _, _ = model.build_terrain(sc.site, sc.terrain)
    theta = -1500.0 / MOON_MEAN_RADIUS_M
    up0, d0 = site["up"], site["track_downrange"]
    up = np.cos(theta) * up0 + np.sin(theta) * d0
    down = -np.sin(theta) * up0 + np.cos(theta) * d0
    r = (np.linalg.norm(site["origin_mcmf_m"]) + 1200.0) * up
    v_rel = 25.0 * down - 20.0 * up
    omega = model.build_gravity(sc.moon)[0]["rotation_rate_radps"]
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


DOPPLER_LIDAR_BEAMS = [  # three beams 22.5 deg off the -z axis, 120 deg apart (NDL-like)
    [0.3826834324, 0.0, -0.9238795325],
    [-0.1913417162, 0.3314135846, -0.9238795325],
    [-0.1913417162, -0.3314135846, -0.9238795325],
]


def full_suite(base=None):
    """A closed-loop scenario (the nominal by default) with a second, nadir-looking
    rangefinder and a 3-beam Doppler lidar on the sensor bus, every range channel ungated (the
    filter's own consistency: with `recover` gates on five ranging beams, a run in 30 rejects
    good ranges over rough ground five times running and the re-initialisations wreck it)."""
    d = copy.deepcopy(base if base is not None else CLOSED_LOOP)
    nadir = dict(d["sensors"]["laser_rangefinder"])
    nadir.update(position=["0.3 m", "0 m", "0 m"], beam=[0.0, 0.0, -1.0])
    d["sensors"]["nadir_rangefinder"] = nadir
    d["sensors"]["doppler_lidar"] = copy.deepcopy(DOPPLER_LIDAR)
    for channel in ("laser_rangefinder", "nadir_rangefinder", "doppler_lidar"):
        d["sensors"][channel]["gate"] = {"policy": "accept_all"}
    return d


# NASA NDL class (facts: 3 beams, valid from ~5 km, a few cm/s and a few m): a coherent
# receiver's picowatt sensitivity reaches 6 km on albedo 0.2 with 2 W
DOPPLER_LIDAR = {
    "kind": "doppler_lidar",
    "rate": "10 Hz",
    "position": ["-0.3 m", "0 m", "0 m"],
    "beams": DOPPLER_LIDAR_BEAMS,
    "velocity_noise": "0.02 m/s",
    "laser_power": "2 W",
    "receiver_aperture": "25 mm",
    "optics_transmission": 0.7,
    "sensitivity": "1.2 pW",
    "beam_divergence": "0.5 mrad",
    "noise": "1 m",
    "noise_at_threshold": "5 m",
}


# A descent camera matched to the onboard map (Mars 2020 LVS / SLIM class: facts): 40 deg field,
# 1024 pixels, fixes to half a pixel over a 2-m floor (5 m from 15 km, 2 m near the ground),
# at 1 Hz, each a second after its image; looking 45 deg forward-down like the rangefinder
IMAGE_NAVIGATION = {
    "kind": "image_navigation",
    "rate": "1 Hz",
    "latency": "1 s",
    "position": ["0 m", "0.3 m", "0 m"],
    "boresight": [-0.7071067812, 0.0, -0.7071067812],
    "field_of_view": "40 deg",
    "pixels": 1024,
    "exposure": "2 ms",
    "match_error": 0.5,
    "noise": "2 m",
    "min_altitude": "100 m",
    "max_altitude": "20 km",
}


# A wide-beam radar altimeter (Ka-band landing-altimeter class): 30-deg beam looking 45 deg
# forward-down like the rangefinder, 20-km range gate, 1 m + 0.5 % of the distance
RADAR_ALTIMETER = {
    "kind": "radar_altimeter",
    "rate": "10 Hz",
    "position": ["0 m", "-0.3 m", "0 m"],
    "boresight": [-0.7071067812, 0.0, -0.7071067812],
    "beamwidth": "30 deg",
    "max_altitude": "20 km",
    "noise": "1 m",
    "relative_noise": 0.005,
}


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
