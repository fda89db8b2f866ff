"""From a validated scenario to the packed records and arrays the compiled run loop reads.

This is where SI scenario values become NumPy record dtypes (named fields for Numba), where
each section is packed by the subsystem that owns it (gravity, mass properties, propulsion,
touchdown, terrain, the initial state, the IMU), each sensor channel becomes its kind's spec
record and each fault a row of the fault table, and the flight software is configured.
"""

from dataclasses import dataclass

import numpy as np

from dynamics import (
    frames,
    gravity,
    initial_state,
    mass_properties,
    propulsion,
    quaternion,
    terrain_section,
    touchdown,
    truth,
)
from dynamics.gravity import GravityField
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.units import steps_per_sample
from dynamics.views import record
from faults import table as fault_table
from gnc.interface import attitude_layer, contract, forms
from sensors import imu, registry
from sims.run import loop_compiler, open_loop, records
from sims.scenarios import field_paths

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
class PackedRun:
    """Everything the run loop needs for one run of a scenario, in compiled-code form (a batch
    stacks the per-run parts, `sims.run.records`)."""

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
    pdi_attitude_base: np.ndarray  # the PDI attitude before its offset (`initial_state`)

    @property
    def pdi_mass_kg(self):
        """The vehicle's mass at PDI [kg]."""
        return float(self.x0[truth.X_MASS])


def build(scenario, pdi_state=None, knowledge=None):
    """PackedRun of a scenario; pdi_state = (r_mci_m, v_mci_mps) overrides the scenario's.

    knowledge: the scenario the flight software's configuration (its idea of the vehicle,
    the sensors and the PDI mass) is built from; by default the same one. A dispersed run
    builds its truth from the dispersed scenario and its flight software from the nominal.
    """
    loop_compiler.start()  # the loop compiles elsewhere while the entry points compile here
    knowledge = scenario if knowledge is None else knowledge
    sim = scenario.simulation
    veh = scenario.vehicle
    terrain_truth = terrain_section.truth_terrain(scenario.site, scenario.terrain)
    site = terrain_truth.site
    grav = gravity.pack(scenario.moon)
    mass = mass_properties.pack(veh)
    engines = np.array([propulsion.pack_engine(e) for e in veh.engines])
    thrusters = propulsion.pack_thrusters(veh.rcs)

    m0 = veh.dry_mass + veh.propellant_mass
    com0, _ = mass_properties.at_mass(mass, m0)
    # The flight software's view of the vehicle (nominal in a dispersed run): its mass
    # properties at PDI set the RCS torque table and the attitude gains.
    known = knowledge.vehicle
    com_known, inertia_known = mass_properties.at_mass(
        mass_properties.pack(known), known.dry_mass + known.propellant_mass
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
        attitude_mode=open_loop.ATTITUDE_RCS
        if not closed_loop and scenario.open_loop.attitude == "rcs"
        else open_loop.ATTITUDE_IDEAL,
        rcs_min_on_time_s=float(thrusters["min_on_time_s"].max()),
        contact_check_altitude_m=reach + veh.contact_probe_length + CONTACT_CHECK_MARGIN_M,
        max_body_rate_radps=sim.max_body_rate,
        n_gear_points=len(veh.landing_gear),
        probe_length_m=veh.contact_probe_length,
    )
    rows = scenario.open_loop.schedule if not closed_loop else ()
    schedule = np.zeros(max(len(rows), 1), records.SCHEDULE_DTYPE)
    for k, row in enumerate(rows):
        schedule[k] = (row.t, row.throttle, row.direction)

    rotating = scenario.moon.rotation
    r_orbit, v_orbit = (
        pdi_state
        if pdi_state is not None
        else initial_state.pdi_state(scenario.initial, site, rotating)
    )
    axes = initial_state.pdi_axes(site, r_orbit)
    r0 = np.asarray(r_orbit, float) + axes @ scenario.initial.position_offset
    v0 = np.asarray(v_orbit, float) + axes @ scenario.initial.velocity_offset
    x0 = truth.make_state(r0, v0, (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), m0)
    omega = grav.params["rotation_rate_radps"]
    if closed_loop:
        x0[truth.X_Q : truth.X_Q + 4] = retrograde_attitude(site, r0, v0, omega)
        imu_record = imu.pack(scenario.sensors.imu, sim.time_step)
        channels = build_channels(scenario, control_every)
        nav = scenario.navigation
        onboard_map = terrain_section.onboard_map(
            scenario.site, scenario.terrain, terrain_truth, nav.terrain_model, nav.map_resolution
        )
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
        _, q0 = open_loop.commanded_attitude(site, schedule, x0, 0.0, omega)
        x0[truth.X_Q : truth.X_Q + 4] = q0
        flight_software = None
        imu_record = np.zeros(1, imu.IMU_DTYPE)[0]
        channels = ()
        onboard_map = terrain_section.bare_map(terrain_truth)
    attitude_base = np.array(x0[truth.X_Q : truth.X_Q + 4])
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
    return PackedRun(
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
        limits=touchdown.pack_limits(scenario.touchdown_limits),
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
        pdi_attitude_base=attitude_base,
    )


def retrograde_attitude(site, r_mci, v_mci, omega):
    """PDI attitude: thrust axis against the surface-relative velocity, roll reference to the
    ground track's left (the lander has slewed there before ignition)."""
    v_rel = frames.surface_relative_velocity_mcmf(tuple(r_mci), tuple(v_mci), 0.0, omega)
    r_mcmf = frames.mci_to_mcmf(tuple(r_mci), 0.0, omega)
    _, left, _ = frames.local_track_axes(site, r_mcmf)
    return attitude_layer.pointing_quaternion(tuple(-np.asarray(v_rel)), left)


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
