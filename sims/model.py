"""From a validated scenario to the packed records and arrays the compiled run loop reads.

This is where SI scenario values become NumPy record dtypes (named fields for Numba), where
the terrain is generated (cached per terrain and site), where each sensor channel becomes its
kind's spec records (the truth's and the flight software's knowledge of it) and each fault a
row of the fault table, and where the PDI state is set up.
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
    quaternion,
    sun,
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
from dynamics.gravity import GravityField
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.views import record
from gnc.interface import attitude_layer, contract, forms
from sensors import imu, registry
from sims import dem, fault_table, field_paths, records, runloop
from sims.scenario import steps_per_sample

CONTACT_CHECK_MARGIN_M = 5.0


@dataclass(frozen=True)
class Channel:
    """A sensor channel of a model: its name and kind, its kind's spec record (what the sensor
    is: the flight software packs what it is told of it itself), its sampling period in truth
    steps and its latency [s]."""

    name: str
    kind: str
    truth: np.void
    every_steps: int
    latency_s: float


@dataclass(frozen=True)
class Model:
    """Everything the run loop needs for one run of a scenario, in compiled-code form (a batch
    stacks the per-run parts, `sims.records`)."""

    x0: np.ndarray
    run: np.void
    gravity: GravityField
    mass: np.void
    engines: np.ndarray
    thrusters: np.ndarray
    # the attitude layer (`gnc.interface.attitude_layer`), from the vehicle as the flight
    # software knows it: RCS torque table and axis groups, PD gains
    rcs_torques: np.ndarray
    rcs_groups: np.ndarray
    gains: np.void
    terrain: TruthTerrain
    onboard_map: OnboardMap  # the flight software's terrain model
    contact_points: np.ndarray
    limits: np.void
    schedule: np.ndarray
    trace_capacity: int
    imu: np.void
    channels: tuple  # Channel, in the scenario's order
    faults: np.ndarray  # fault_table.FAULT_DTYPE rows (each run draws whether they occur)
    fault_probability: np.ndarray
    fault_names: tuple
    flight_software: forms.Configured | None  # closed loop: configured for the mission
    pdi_orbit_mci: np.ndarray  # (r, v) of the orbit at PDI, before the initial offsets
    # closed loop: 1 sigma of the error of the state handed over at PDI (position and
    # velocity along local downrange, crossrange, up; attitude), and the error of its
    # position beyond that [m]
    handover_sigma: np.ndarray
    navigation_bias_m: np.ndarray


def build(scenario, initial_state=None, knowledge=None):
    """Model for a scenario; initial_state = (r_mci_m, v_mci_mps) overrides the scenario's.

    knowledge: the scenario the flight software's configuration (its idea of the vehicle,
    the sensors and the PDI mass) is built from; by default the same one. A dispersed run
    builds its truth from the dispersed scenario and its flight software from the nominal.
    """
    knowledge = scenario if knowledge is None else knowledge
    sim = scenario.simulation
    veh = scenario.vehicle
    site, tiles, heights = build_terrain(scenario.site, scenario.terrain)
    grav = GravityField(*build_gravity(scenario.moon))
    mass = build_mass(veh)
    engines = np.array([build_engine(e) for e in veh.engines])
    thrusters = np.zeros(len(veh.rcs.thrusters), propulsion.THRUSTER_DTYPE)
    for i, th in enumerate(veh.rcs.thrusters):
        thrusters[i] = (th.position, th.direction, th.thrust, th.isp, th.min_on_time)

    m0 = veh.dry_mass + veh.propellant_mass
    com0, _ = pdi_mass_properties(mass, m0)
    # The flight software's view of the vehicle (nominal in a dispersed run): its mass
    # properties at PDI set the RCS torque table and the attitude gains.
    known = knowledge.vehicle
    com_known, inertia_known = pdi_mass_properties(
        build_mass(known), known.dry_mass + known.propellant_mass
    )
    torques = attitude_layer.torque_matrix(
        thrusters["position_m"], thrusters["direction_body"], thrusters["thrust_n"], com_known
    )
    groups = attitude_layer.axis_groups(torques)
    ctl = knowledge.control  # its design (control is not dispersed)
    gains = attitude_layer.pd_gains(
        np.diag(inertia_known), ctl.attitude_natural_frequency, ctl.attitude_damping_ratio
    )
    contact_points = np.array([*veh.landing_gear, *(e.position for e in veh.engines)], float)
    reach = float(np.max(np.linalg.norm(contact_points - com0, axis=1)))
    control_every = steps_per_sample(scenario.control.rate, sim.time_step, "control.rate")
    closed_loop = scenario.flight_software is not None
    run = record(
        records.RUN_DTYPE,
        time_step_s=sim.time_step,
        max_time_s=sim.max_time,
        control_every_steps=control_every,
        output_every_steps=max(1, round(1.0 / (sim.output_rate * sim.time_step))),
        closed_loop=closed_loop,
        attitude_mode=runloop.ATTITUDE_RCS
        if not closed_loop and scenario.open_loop.attitude == "rcs"
        else runloop.ATTITUDE_IDEAL,
        rcs_min_on_time_s=float(thrusters["min_on_time_s"].max()),
        contact_check_altitude_m=reach + veh.contact_probe_length + CONTACT_CHECK_MARGIN_M,
        max_body_rate_radps=sim.max_body_rate,
        n_gear_points=len(veh.landing_gear),
        probe_length_m=veh.contact_probe_length,
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
    rows = scenario.open_loop.schedule if not closed_loop else ()
    schedule = np.zeros(max(len(rows), 1), records.SCHEDULE_DTYPE)
    for k, row in enumerate(rows):
        schedule[k] = (row.t, row.throttle, row.direction)

    r_orbit, v_orbit = initial_state if initial_state is not None else pdi_state(scenario, site)
    axes = pdi_axes(site, r_orbit)
    r0 = np.asarray(r_orbit, float) + axes @ scenario.initial.position_offset
    v0 = np.asarray(v_orbit, float) + axes @ scenario.initial.velocity_offset
    x0 = truth.make_state(r0, v0, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), m0)
    omega = grav.params["rotation_rate_radps"]
    terrain_truth = TruthTerrain(site, tiles, heights)
    if closed_loop:
        x0[truth.X_Q : truth.X_Q + 4] = retrograde_attitude(site, r0, v0, omega)
        imu_record = build_imu(scenario)
        channels = build_channels(scenario, control_every)
        onboard_map = build_map(scenario, site, tiles, heights)
        context = forms.Context(
            scenario=knowledge,
            onboard_map=onboard_map,
            gravity=grav,
            control_period_s=control_every * knowledge.simulation.time_step,
            pdi_com_m=com_known,
            pdi_inertia_kgm2=inertia_known,
            rcs_torques_nm=torques,
            rcs_groups=groups,
            attitude_gains=gains,
        )
        flight_software = forms.configure(knowledge.flight_software, context)
    else:
        _, q0 = runloop.commanded_attitude(site, schedule, x0, 0.0, omega)
        x0[truth.X_Q : truth.X_Q + 4] = q0
        flight_software = None
        imu_record = np.zeros(1, imu.IMU_DTYPE)[0]
        channels = ()
        none = np.zeros_like(terrain.REGION_SIGMAS_M)
        onboard_map = OnboardMap(site, tiles, heights, 0.0, 0.0, none, 0.0)
    offset = quaternion.from_rotation_vector(scenario.initial.attitude_offset)
    x0[truth.X_Q : truth.X_Q + 4] = quaternion.multiply(
        tuple(x0[truth.X_Q : truth.X_Q + 4]), offset
    )
    names = tuple(f.name for f in scenario.faults)
    fault_rows = np.zeros(len(scenario.faults), fault_table.FAULT_DTYPE)
    for i, f in enumerate(scenario.faults):
        fault_rows[i] = fault_table.pack(
            f, field_paths.channel_unit(scenario), scenario.channel_names, names
        )
        fault_rows[i]["occurs"] = True
    return Model(
        x0=x0,
        run=run,
        gravity=grav,
        mass=mass,
        engines=engines,
        thrusters=thrusters,
        rcs_torques=torques,
        rcs_groups=groups,
        gains=gains,
        terrain=terrain_truth,
        onboard_map=onboard_map,
        contact_points=contact_points,
        limits=limits,
        schedule=schedule,
        trace_capacity=int(sim.max_time * sim.output_rate) + 3,
        imu=imu_record,
        channels=channels,
        faults=fault_rows,
        fault_probability=np.array([f.probability for f in scenario.faults], float),
        fault_names=names,
        flight_software=flight_software,
        pdi_orbit_mci=np.concatenate([r_orbit, v_orbit]).astype(float),
        handover_sigma=handover_sigma(scenario.navigation),
        navigation_bias_m=np.array(
            scenario.navigation.initial_position_bias if scenario.navigation else (0.0,) * 3
        ),
    )


def pdi_axes(site, r_mci):
    """3x3 matrix whose columns are the local (downrange, crossrange, up) axes at the PDI
    position, in MCI (= MCMF at t = 0)."""
    return np.array(frames.local_track_axes(site, tuple(np.asarray(r_mci, float)))).T


def base_attitude(m):
    """The PDI attitude before any attitude offset: retrograde in closed loop, the schedule's
    first command in open loop."""
    x0 = m.x0
    omega = m.gravity.params["rotation_rate_radps"]
    site = m.terrain.site
    if m.run["closed_loop"]:
        return retrograde_attitude(site, x0[0:3], x0[3:6], omega)
    return runloop.commanded_attitude(site, m.schedule, x0, 0.0, omega)[1]


def retrograde_attitude(site, r_mci, v_mci, omega):
    """PDI attitude: thrust axis against the surface-relative velocity, roll reference to the
    ground track's left (the lander has slewed there before ignition)."""
    v_rel = frames.surface_relative_velocity_mcmf(tuple(r_mci), tuple(v_mci), 0.0, omega)
    r_mcmf = frames.mci_to_mcmf(tuple(r_mci), 0.0, omega)
    _, left, _ = frames.local_track_axes(site, r_mcmf)
    return attitude_layer.pointing_quaternion(tuple(-np.asarray(v_rel)), left)


def build_imu(scenario):
    """The IMU's truth record: its error specifications and sampling period."""
    spec, dt = scenario.sensors.imu, scenario.simulation.time_step
    out = np.zeros(1, imu.IMU_DTYPE)[0]
    for name, triad in (("accelerometer", spec.accelerometer), ("gyro", spec.gyro)):
        out[name] = record(
            imu.TRIAD_DTYPE,
            bias_sigma=triad.bias,
            bias_walk=triad.bias_instability,
            noise_density=triad.noise_density,
            scale_factor_sigma=triad.scale_factor,
            misalignment_sigma_rad=triad.misalignment,
            quantum=triad.quantum,
            saturation=triad.saturation,
        )
    out["every_steps"] = steps_per_sample(spec.rate, dt, "sensors.imu.rate")
    return out


def build_channels(scenario, control_every):
    """The sensor channels: each kind's spec record packed from the scenario (the truth),
    with its rate and latency."""
    dt = scenario.simulation.time_step
    channels = []
    for name, spec in scenario.sensors.channels.items():
        kind = registry.kind(spec.kind)
        channels.append(
            Channel(
                name=name,
                kind=spec.kind,
                truth=kind.pack(spec),
                every_steps=steps_per_sample(spec.rate, dt, f"sensors.{name}.rate", control_every),
                latency_s=spec.latency,
            )
        )
    return tuple(channels)


def build_map(scenario, site, tiles, heights):
    """The flight software's terrain: 'flat' is a sphere at the site's elevation; 'map' is the
    terrain tiles no finer than the map resolution (the craters of finer tiles are not on
    board). The error it assumes for its heights is the relief of the crater populations it
    leaves out, rms and correlation length (`dynamics.craters.relief_statistics`), and it knows
    how much of the relief it holds a plane over a region leaves: the flight software knows
    the site's crater statistics, not where the small craters are.
    Placed features are on the map unless marked `on_map = false`: its tiles are then
    rendered without them (a cliff the map does not know)."""
    nav, terrain_spec = scenario.navigation, scenario.terrain
    map_site = site.copy()
    if nav.terrain_model == "flat":
        map_site["map_radius_m"] = float(np.linalg.norm(site["origin_mcmf_m"]))
        keep = 0
    else:
        keep = int(np.sum(tiles["spacing_m"] >= nav.map_resolution - 1e-9))
    map_tiles_, map_heights = tiles[:keep], heights
    if keep and not all(f.on_map for f in terrain_spec.features):
        map_tiles_, map_heights = map_tiles(scenario.site, terrain_spec, keep)
        highest = max(map_site["highest_terrain_m"], float(map_heights.max(initial=0.0)))
        map_site["highest_terrain_m"] = highest  # the ray casts' early miss must hold for both
    populations = terrain_spec.populations
    left_out = craters.relief_statistics(tuple(populations[keep:]))
    held = craters.relief_statistics(tuple(populations[:keep]))
    return OnboardMap(
        map_site,
        map_tiles_,
        map_heights,
        left_out.rms_m,
        left_out.correlation_m,
        held.unseen_m2.copy(),  # writeable like every array the loop takes (one typing)
        held.correlation_m,
    )


def handover_sigma(navigation):
    """1 sigma of the error of the state handed over at PDI (`contract.HANDOVER_DTYPE`):
    position and velocity along local downrange, crossrange, up, then attitude (NaN in open
    loop: nothing is handed over)."""
    if navigation is None:
        return np.full(contract.N_ESTIMATE, np.nan)
    return np.concatenate(
        [
            navigation.initial_position_error,
            navigation.initial_velocity_error,
            [navigation.initial_attitude_error] * 3,
        ]
    )


def build_mass(veh):
    """Mass-properties record of a vehicle section."""
    return record(
        mass_properties.MASS_DTYPE,
        dry_mass_kg=veh.dry_mass,
        dry_com_m=veh.dry_com,
        dry_inertia_kgm2=np.diag(veh.dry_inertia),
        propellant_capacity_kg=veh.propellant_capacity,
        propellant_com_m=veh.propellant_com,
        propellant_inertia_full_kgm2=np.diag(veh.propellant_inertia),
    )


def pdi_mass_properties(mass, total_mass_kg):
    """(centre of mass [m], inertia [kg m^2]) at a total mass."""
    com, inertia = np.zeros(3), np.zeros((3, 3))
    mass_properties.evaluate(mass, total_mass_kg, com, inertia, np.zeros((3, 3)))
    return com, inertia


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
    """Engine record of one main engine."""
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


def sun_direction(site_spec):
    """Moon-fixed unit vector toward the Sun of a scenario's site (`dynamics.sun`)."""
    if site_spec.epoch is not None:
        return sun.direction_at_epoch(site_spec.epoch)
    east, north, up = frames.east_north_up(site_spec.latitude, site_spec.longitude)
    elevation, azimuth = site_spec.sun_elevation, site_spec.sun_azimuth
    return sun.direction_from_horizon(
        east,
        north,
        up,
        sun.DEFAULT_ELEVATION_RAD if elevation is None else elevation,
        sun.DEFAULT_AZIMUTH_RAD if azimuth is None else azimuth,
    )


@functools.lru_cache(maxsize=4)
def build_terrain(site_spec, terrain_spec):
    """(site, tiles, heights) for a site and terrain; generated once per process and cached."""
    site = frames.make_site(
        site_spec.latitude,
        site_spec.longitude,
        site_spec.approach_azimuth,
        0.0,
        MOON_MEAN_RADIUS_M,
        terrain_spec.albedo,
        sun_direction(site_spec),
    )
    grids = render_tiles(site_spec, terrain_spec, len(terrain_spec.tiles), on_map_only=False)
    tiles, heights = terrain.make_tiles(grids)
    site_height, _, _ = terrain.height_and_gradient(tiles, heights, 0.0, 0.0)
    site["origin_mcmf_m"] = (MOON_MEAN_RADIUS_M + site_height) * site["up"]
    site["highest_terrain_m"] = max(float(heights.max(initial=0.0)), 0.0)
    site["steepest_slope"] = terrain.steepest_slope(grids)
    return site, tiles, heights


@functools.lru_cache(maxsize=4)
def crater_field(terrain_spec):
    """Every tile's crater population, drawn from the terrain's seed (one stream per tile)."""
    seeds = np.random.SeedSequence(terrain_spec.seed).spawn(len(terrain_spec.tiles))
    populations = []
    for tile, seed, (density, d_min, d_max) in zip(
        terrain_spec.tiles, seeds, terrain_spec.populations, strict=True
    ):
        margin = craters.EJECTA_EXTENT_RADII * d_max / 2
        populations.append(
            craters.sample_population(
                np.random.default_rng(seed),
                (tile.downrange[0] - margin, tile.downrange[1] + margin),
                (tile.crossrange[0] - margin, tile.crossrange[1] + margin),
                d_min,
                d_max,
                density,
            )
        )
    return np.concatenate([*populations, np.zeros(0, craters.CRATER_DTYPE)])


def render_tiles(site_spec, terrain_spec, n_tiles, on_map_only):
    """(downrange_min, crossrange_min, spacing, heights, crater population) of the first n_tiles
    tiles: the crater field or the DEM (with the craters below its resolution if asked), and
    the placed features (only those on the onboard map, if on_map_only)."""
    features = [f for f in terrain_spec.features if f.on_map or not on_map_only]
    placed = [f for f in features if f.kind == "crater"]
    bowls = np.zeros(len(placed), craters.CRATER_DTYPE)
    for k, f in enumerate(placed):
        floor = f.floor_diameter / f.diameter
        bowls[k] = (f.downrange, f.crossrange, f.diameter, f.depth, f.rim_height, floor)
    cliffs = [f for f in features if f.kind == "scarp"]
    scarps = np.zeros(len(cliffs), craters.SCARP_DTYPE)
    for k, f in enumerate(cliffs):
        scarps[k] = (f.downrange, f.crossrange, f.azimuth, f.height, f.width, f.radius)
    field = crater_field(terrain_spec)
    grids = []
    for tile, population in zip(
        terrain_spec.tiles[:n_tiles], terrain_spec.populations[:n_tiles], strict=False
    ):
        x0, y0 = tile.downrange[0], tile.crossrange[0]
        if tile.dem is None:
            h = np.full(tile.nodes, terrain_spec.base_height)
            craters.render(h, x0, y0, tile.spacing, field, tile.min_crater_diameter)
        else:
            heights, cell = dem.tile_heights(site_spec, tile)
            h = heights.copy()  # features are rendered into it
            if tile.dem_craters:
                small = field[field["diameter_m"] < 2.0 * cell]
                craters.render(h, x0, y0, tile.spacing, small, tile.min_crater_diameter)
        craters.render(h, x0, y0, tile.spacing, bowls, 0.0)
        craters.render_scarps(h, x0, y0, tile.spacing, scarps)
        grids.append((x0, y0, tile.spacing, h, population))
    return grids


@functools.lru_cache(maxsize=4)
def map_tiles(site_spec, terrain_spec, n_tiles):
    """(tiles, heights) of an onboard map of the first n_tiles tiles that lacks the features
    placed off the map (`on_map = false`)."""
    return terrain.make_tiles(render_tiles(site_spec, terrain_spec, n_tiles, on_map_only=True))


def over_the_ground(site, downrange_m, crossrange_m):
    """Unit vector (MCMF) from the Moon's centre to the point downrange_m along the site's
    ground track and crossrange_m to its left, along the datum sphere."""
    theta = downrange_m / MOON_MEAN_RADIUS_M
    phi = crossrange_m / MOON_MEAN_RADIUS_M
    up, along, left = site["up"], site["track_downrange"], site["track_left"]
    position = math.cos(phi) * (math.cos(theta) * up + math.sin(theta) * along)
    return position + math.sin(phi) * left


def site_relative_state(state, site, omega):
    """(r_mci, v_mci) at t = 0 of a state given relative to the site (`SiteRelative`), the
    Moon turning at omega [rad/s]."""
    downrange, crossrange, height = state.position
    up = over_the_ground(site, downrange, crossrange)
    r = (np.linalg.norm(site["origin_mcmf_m"]) + height) * up
    axes = pdi_axes(site, r)  # MCI = MCMF at t = 0
    return r, axes @ np.asarray(state.velocity) + np.cross([0.0, 0.0, omega], r)


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
    if init.site_relative is not None:
        omega = MOON_ROTATION_RATE_RADPS if scenario.moon.rotation else 0.0
        return site_relative_state(init.site_relative, site, omega)
    d = init.descent_orbit
    position = over_the_ground(site, -d.downrange_to_site, d.crossrange)
    left = site["track_left"]
    direction = np.cross(left, position)
    return orbit.descent_orbit_pdi_state(
        MOON_MEAN_RADIUS_M + d.periapsis_altitude,
        MOON_MEAN_RADIUS_M + d.apoapsis_altitude,
        position / np.linalg.norm(position),
        direction / np.linalg.norm(direction),
        MOON_GM_M3PS2,
    )
