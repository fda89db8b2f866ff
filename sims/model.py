"""From a validated scenario to the packed records and arrays the compiled run loop reads.

This is where SI scenario values become NumPy record dtypes (named fields for Numba), where
the terrain is generated (cached per terrain and site), and where the PDI state is set up.
"""

import functools
import math
from dataclasses import dataclass

import numpy as np

from dynamics import (
    craters,
    frames,
    gravity,
    mass_properties,
    orbit,
    propulsion,
    terrain,
    touchdown,
    truth,
)
from dynamics.constants import (
    MOON_GM_M3PS2,
    MOON_GRAVITY_REFERENCE_RADIUS_M,
    MOON_J2,
    MOON_MEAN_RADIUS_M,
    MOON_ROTATION_RATE_RADPS,
)
from gnc.control import attitude, rcs
from sims import runloop

CONTACT_CHECK_MARGIN_M = 5.0


@dataclass(frozen=True)
class Model:
    """Everything `runloop.simulate` needs for one scenario, in compiled-code form."""

    x0: np.ndarray
    run: np.void
    gravity: np.void
    harmonics_c: np.ndarray
    harmonics_s: np.ndarray
    mass: np.void
    engine: np.void
    thrusters: np.ndarray
    rcs_torques: np.ndarray
    rcs_groups: np.ndarray
    gains: np.void
    site: np.void
    tiles: np.ndarray
    heights: np.ndarray
    contact_points: np.ndarray
    limits: np.void
    schedule: np.ndarray
    trace_capacity: int


def record(dtype, **fields):
    """A single record (np.void) of dtype with the given fields set."""
    r = np.zeros(1, dtype)[0]
    for name, value in fields.items():
        r[name] = value
    return r


def build(scenario, initial_state=None):
    """Model for a scenario; initial_state = (r_mci_m, v_mci_mps) overrides the scenario's."""
    sim = scenario.simulation
    veh = scenario.vehicle
    site, tiles, heights = build_terrain(scenario.site, scenario.terrain)
    grav, c, s = build_gravity(scenario.moon)
    mass = record(
        mass_properties.MASS_DTYPE,
        dry_mass_kg=veh.dry_mass,
        dry_com_m=veh.dry_com,
        dry_inertia_kgm2=np.diag(veh.dry_inertia),
        propellant_capacity_kg=veh.propellant_capacity,
        propellant_com_m=veh.propellant_com,
        propellant_inertia_full_kgm2=np.diag(veh.propellant_inertia),
    )
    engine = build_engine(veh.main_engine)
    thrusters = np.zeros(len(veh.rcs.thrusters), propulsion.THRUSTER_DTYPE)
    for i, th in enumerate(veh.rcs.thrusters):
        thrusters[i] = (th.position, th.direction, th.thrust, th.isp, th.min_on_time)

    # The flight software's view of the vehicle: mass properties at PDI.
    m0 = veh.dry_mass + veh.propellant_mass
    com0, inertia0 = np.zeros(3), np.zeros((3, 3))
    mass_properties.evaluate(mass, m0, com0, inertia0, np.zeros((3, 3)))
    torques = rcs.torque_matrix(
        thrusters["position_m"], thrusters["direction_body"], thrusters["thrust_n"], com0
    )
    loop = scenario.open_loop
    gains = attitude.pd_gains(
        np.diag(inertia0), loop.attitude_natural_frequency, loop.attitude_damping_ratio
    )
    contact_points = np.array([*veh.landing_gear, veh.main_engine.position], dtype=float)
    reach = float(np.max(np.linalg.norm(contact_points - com0, axis=1)))
    run = record(
        runloop.RUN_DTYPE,
        time_step_s=sim.time_step,
        max_time_s=sim.max_time,
        control_every_steps=max(1, round(1.0 / (loop.control_rate * sim.time_step))),
        output_every_steps=max(1, round(1.0 / (sim.output_rate * sim.time_step))),
        attitude_mode=runloop.ATTITUDE_RCS if loop.attitude == "rcs" else runloop.ATTITUDE_IDEAL,
        rcs_min_on_time_s=float(thrusters["min_on_time_s"].max()),
        contact_check_altitude_m=reach + CONTACT_CHECK_MARGIN_M,
        max_body_rate_radps=sim.max_body_rate,
        n_gear_points=len(veh.landing_gear),
    )
    lim = scenario.touchdown_limits
    limits = record(
        touchdown.LIMITS_DTYPE,
        vertical_speed_mps=lim.vertical_speed,
        vertical_speed_hard_mps=lim.vertical_speed_hard,
        horizontal_speed_mps=lim.horizontal_speed,
        horizontal_speed_hard_mps=lim.horizontal_speed_hard,
        tilt_rad=lim.tilt,
        slope_rad=lim.slope,
        body_rate_radps=lim.body_rate,
    )
    schedule = np.zeros(len(loop.schedule), runloop.SCHEDULE_DTYPE)
    for k, row in enumerate(loop.schedule):
        schedule[k] = (row.t, row.throttle, row.direction)

    r0, v0 = initial_state if initial_state is not None else pdi_state(scenario, site)
    x0 = truth.make_state(r0, v0, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), m0)
    _, q0 = runloop.commanded_attitude(site, schedule, x0, 0.0, grav["rotation_rate_radps"])
    x0[truth.X_Q : truth.X_Q + 4] = q0
    return Model(
        x0=x0,
        run=run,
        gravity=grav,
        harmonics_c=c,
        harmonics_s=s,
        mass=mass,
        engine=engine,
        thrusters=thrusters,
        rcs_torques=torques,
        rcs_groups=rcs.axis_groups(torques),
        gains=gains,
        site=site,
        tiles=tiles,
        heights=heights,
        contact_points=contact_points,
        limits=limits,
        schedule=schedule,
        trace_capacity=int(sim.max_time * sim.output_rate) + 3,
    )


def build_gravity(moon):
    """Gravity record and un-normalised (C, S) tables (1x1 when unused)."""
    degree = max((t.n for t in moon.harmonics), default=0)
    c, s = gravity.harmonic_table([(t.n, t.m, t.c, t.s) for t in moon.harmonics], degree)
    grav = record(
        gravity.GRAVITY_DTYPE,
        gm_m3ps2=MOON_GM_M3PS2,
        reference_radius_m=MOON_GRAVITY_REFERENCE_RADIUS_M,
        j2=MOON_J2 if moon.gravity == "j2" else 0.0,
        rotation_rate_radps=MOON_ROTATION_RATE_RADPS if moon.rotation else 0.0,
        harmonics_degree=degree,
        gravity_gradient_torque=moon.gravity_gradient_torque,
    )
    return grav, c, s


def build_engine(e):
    a, az = e.misalignment, e.misalignment_azimuth
    direction = (math.sin(a) * math.cos(az), math.sin(a) * math.sin(az), math.cos(a))
    return record(
        propulsion.ENGINE_DTYPE,
        max_thrust_n=e.max_thrust,
        throttle_min=e.throttle_min,
        throttle_max=e.throttle_max,
        time_constant_s=e.time_constant,
        isp_s=e.isp,
        position_m=e.position,
        direction_body=direction,
    )


@functools.lru_cache(maxsize=4)
def build_terrain(site_spec, terrain_spec):
    """(site, tiles, heights) for a site and terrain; generated once per process and cached."""
    site = frames.make_site(
        site_spec.latitude, site_spec.longitude, site_spec.approach_azimuth, 0.0, MOON_MEAN_RADIUS_M
    )
    seeds = np.random.SeedSequence(terrain_spec.seed).spawn(len(terrain_spec.tiles))
    populations = []
    upper = terrain_spec.max_crater_diameter
    for tile, seed in zip(terrain_spec.tiles, seeds, strict=True):
        margin = craters.EJECTA_EXTENT_RADII * upper / 2
        populations.append(
            craters.sample_population(
                np.random.default_rng(seed),
                (tile.downrange[0] - margin, tile.downrange[1] + margin),
                (tile.crossrange[0] - margin, tile.crossrange[1] + margin),
                tile.min_crater_diameter,
                upper,
                tile.crater_density,
            )
        )
        upper = tile.min_crater_diameter
    features = np.zeros(len(terrain_spec.features), craters.CRATER_DTYPE)
    for k, f in enumerate(terrain_spec.features):
        features[k] = (f.downrange, f.crossrange, f.diameter, f.depth, f.rim_height)
    field = np.concatenate([*populations, np.zeros(0, craters.CRATER_DTYPE)])
    grids = []
    for tile in terrain_spec.tiles:
        nx = round((tile.downrange[1] - tile.downrange[0]) / tile.spacing) + 1
        ny = round((tile.crossrange[1] - tile.crossrange[0]) / tile.spacing) + 1
        h = np.full((nx, ny), terrain_spec.base_height)
        x0, y0 = tile.downrange[0], tile.crossrange[0]
        craters.render(h, x0, y0, tile.spacing, field, tile.min_crater_diameter)
        craters.render(h, x0, y0, tile.spacing, features, 0.0)
        grids.append((x0, y0, tile.spacing, h))
    tiles, heights = terrain.make_tiles(grids)
    site_height, _, _ = terrain.height_and_gradient(tiles, heights, 0.0, 0.0)
    site["origin_mcmf_m"] = (MOON_MEAN_RADIUS_M + site_height) * site["up"]
    return site, tiles, heights


def pdi_state(scenario, site):
    """(r_mci, v_mci) at PDI from the scenario's initial-state section (MCI = MCMF at t = 0)."""
    init = scenario.initial
    if init.elements is not None:
        el = init.elements
        return orbit.state_from_elements(
            el.semi_major_axis,
            el.eccentricity,
            el.inclination,
            el.raan,
            el.argument_of_periapsis,
            el.true_anomaly,
            MOON_GM_M3PS2,
        )
    d = init.descent_orbit
    theta = d.downrange_to_site / MOON_MEAN_RADIUS_M
    phi = d.crossrange / MOON_MEAN_RADIUS_M
    up, along, left = site["up"], site["track_downrange"], site["track_left"]
    position = math.cos(phi) * (math.cos(theta) * up - math.sin(theta) * along)
    position += math.sin(phi) * left
    direction = np.cross(left, position)
    return orbit.descent_orbit_pdi_state(
        MOON_MEAN_RADIUS_M + d.periapsis_altitude,
        MOON_MEAN_RADIUS_M + d.apoapsis_altitude,
        position / np.linalg.norm(position),
        direction / np.linalg.norm(direction),
        MOON_GM_M3PS2,
    )
