"""Our flight software's scenario section, `[flight_software]` with `kind = "gnc"` (the default),
and its packing into the configuration record its compiled code reads.

What it is configured with: its guidance targets and FDIR options (this section), and, from the
mission (the nominal scenario: in a dispersed run it keeps its nominal knowledge), the
vehicle's engines, masses, centres of mass, inertia and RCS, its IMU's noise, each sensor
channel's spec and gate, its PDI navigation uncertainty, the control rate and gains, the
Moon's gravity field and the onboard map.
"""

from typing import ClassVar, Literal

import numpy as np
from pydantic import ConfigDict, model_validator

from dynamics import chi_square, gravity, terrain
from dynamics.units import (
    NonNegativeAngle,
    NonNegativeMass,
    PositiveLength,
    PositiveSpeed,
    PositiveTime,
    Strict,
)
from dynamics.views import record
from gnc.fdir import registry as fdir
from gnc.guidance import laws
from gnc.interface import attitude_layer
from gnc.navigation import filter as ekf
from gnc.navigation import gating, updates
from sensors import bus, registry

NAME = "gnc"
LOGS_SENSOR_VERDICTS = True  # its gates log acquisitions, rejections, latch-offs, recoveries

PHASE_TARGET_DTYPE = np.dtype(
    [
        ("law", np.int64),  # its guidance law's compiled entry point (`gnc.guidance.laws`)
        ("params", np.uint8, (laws.PARAMS_BYTES,)),  # the law's settings, its PARAMS_DTYPE
        ("position_m", np.float64, (3,)),  # target (downrange, crossrange, height) from the site
        ("velocity_mps", np.float64, (3,)),  # along local (downrange, crossrange, up)
        ("throttle_design", np.float64),  # most throttle the planned flight may use, sets t_go
    ],
    align=True,
)

FSW_DTYPE = np.dtype(
    [
        ("control_period_s", np.float64),
        ("braking", PHASE_TARGET_DTYPE),
        ("approach", PHASE_TARGET_DTYPE),
        ("handover_time_s", np.float64),  # next phase takes over this long before t_go = 0
        ("terminal_descent_rate_mps", np.float64),
        ("terminal_horizontal_gain", np.float64),  # [1/s]
        ("terminal_vertical_gain", np.float64),  # [1/s]
        ("terminal_max_tilt_rad", np.float64),
        ("max_slew_rate_radps", np.float64),
        ("max_thrust_n", np.float64),  # the flight software's knowledge of the engine
        ("engine_time_constant_s", np.float64),  # its thrust's first-order lag
        ("isp_s", np.float64),
        ("throttle_min", np.float64),
        ("throttle_max", np.float64),
        ("initial_mass_kg", np.float64),
        ("dry_mass_kg", np.float64),
        ("low_propellant_kg", np.float64),
        ("rcs_min_on_time_s", np.float64),  # pulse dead band of its RCS modulation
        ("inertia_kgm2", np.float64, (3,)),  # principal moments it knows, at PDI
        # centres of mass of the dry vehicle and of the propellant: the lander's, at the
        # estimated mass, sets the sensors' lever arms
        ("dry_com_body_m", np.float64, (3,)),
        ("propellant_com_body_m", np.float64, (3,)),
        ("nav_noise", ekf.NAV_NOISE_DTYPE),
        # 1 sigma of the navigation error it starts with (position and velocity along local
        # downrange, crossrange, up; attitude; the IMU's biases, scale factors and
        # misalignments): at PDI, and again after a computer reset
        ("initial_sigma", np.float64, (ekf.N_ERR,)),
    ],
    align=True,
)

# What its compiled code reads: the settings above, and its tables, which live in arrays the
# model keeps (addresses here, sizes beside them).
CONFIG_DTYPE = np.dtype(
    [
        ("settings", FSW_DTYPE),
        ("gains", attitude_layer.ATTITUDE_GAINS_DTYPE),
        ("gravity", gravity.GRAVITY_DTYPE),  # the Moon's field as it knows it
        ("harmonics", np.int64, (2,)),  # shape of its C and S tables
        ("gravity_c", np.int64),
        ("gravity_s", np.int64),
        ("map", bus.SURFACE_DTYPE),  # its onboard map
        ("n_channels", np.int64),
        ("channels", np.int64),  # updates.FSW_CHANNEL_DTYPE rows
        ("knowledge", np.int64),  # each channel's kind spec record, packed
        ("knowledge_bytes", np.int64),
        ("n_thrusters", np.int64),
        ("rcs_torques", np.int64),  # (3, n_thrusters) float64
        ("rcs_groups", np.int64),  # (3, 2, n_thrusters) int8
        ("n_fdir", np.int64),
        ("fdir", fdir.FUNCTION_DTYPE, (fdir.MAX_FUNCTIONS,)),  # its FDIR functions, in order
    ],
    align=True,
)


class Terminal(Strict):
    descent_rate: PositiveSpeed = 1.0
    horizontal_time_constant: PositiveTime = 3.0  # horizontal-velocity nulling loop
    vertical_time_constant: PositiveTime = 2.0  # descent-rate loop
    max_tilt: NonNegativeAngle = 0.13962634015954636  # 8 deg


class HighGateClearance(Strict):
    """Raise the braking phase's target (the high gate) to at least `height` above the
    highest terrain the onboard map holds within `distance` uprange of the site, along the
    track (`cleared_high_gate`): a profile that passes over a mapped cliff."""

    height: PositiveLength
    distance: PositiveLength = 30e3


class Spec(Strict):
    """`[flight_software]` for our flight software; its FDIR functions are the tables named
    after them (`land_now`, `uncertain_altitude`, `accelerometer_check`,
    `actuator_estimation`, or one of your own: `gnc.fdir.registry`), each validated by its
    module, off when absent."""

    model_config = ConfigDict(**Strict.model_config | {"extra": "allow"})
    EXTRA_TABLES: ClassVar = fdir.REGISTRY  # the tables named after an FDIR function
    kind: Literal["gnc"] = "gnc"
    braking: laws.Phase  # validated by the law it names (`gnc.guidance.laws`)
    approach: laws.Phase
    terminal: Terminal = Terminal()
    handover_time: PositiveTime = 3.0  # each phase hands over this long before its t_go = 0
    low_propellant: NonNegativeMass = 10.0
    high_gate_clearance: HighGateClearance | None = None  # the configured high gate when absent

    @model_validator(mode="after")
    def _fdir_tables(self, info):
        """Each extra table validated by the FDIR function of its name."""
        extra = self.__pydantic_extra__
        for name, value in list(extra.items()):
            extra[name] = fdir.validate(name, value, info.context)
        return self

    @property
    def fdir(self):
        """{name: Spec} of its FDIR functions, in the order of the file."""
        return dict(self.model_extra or {})


def configure(spec, context):
    """The configuration record of our flight software for a mission (`context`: the nominal
    scenario, its onboard map and gravity field, the vehicle's mass properties at PDI; the
    tables it points to are kept by the context)."""
    sc = context.scenario
    config = np.zeros(1, CONFIG_DTYPE)[0]
    settings = settings_record(spec, sc, context.control_period_s)
    settings["inertia_kgm2"] = np.diag(context.pdi_inertia_kgm2)
    if spec.high_gate_clearance is not None:
        settings["braking"]["position_m"][2] = cleared_high_gate(
            context.onboard_map, settings["braking"]["position_m"][2], spec.high_gate_clearance
        )
    config["settings"] = settings
    config["gains"] = context.attitude_gains
    field = context.gravity
    config["gravity"] = field.params
    config["harmonics"] = field.c.shape
    config["gravity_c"] = context.keep(field.c).ctypes.data
    config["gravity_s"] = context.keep(field.s).ctypes.data
    config["map"] = bus.surface_view(context.onboard_map, context.keep)
    channels, knowledge = channel_tables(sc)
    config["n_channels"] = len(channels)
    config["channels"] = context.keep(channels).ctypes.data
    config["knowledge"] = context.keep(knowledge).ctypes.data
    config["knowledge_bytes"] = knowledge.size
    torques, groups = context.rcs_torques_nm, context.rcs_groups
    config["n_thrusters"] = torques.shape[1]
    config["rcs_torques"] = context.keep(np.ascontiguousarray(torques)).ctypes.data
    config["rcs_groups"] = context.keep(np.ascontiguousarray(groups)).ctypes.data
    config["n_fdir"], config["fdir"] = fdir.table(spec.fdir, context)
    return config


def check(spec, scenario):
    """Its FDIR functions' checks across the scenario's sections (a function's `check`: the
    channel it reads exists, say); ValueError naming what does not fit."""
    for name, function_spec in spec.fdir.items():
        function_check = getattr(fdir.function(name), "check", None)
        if function_check is not None:
            function_check(function_spec, scenario)


def channel_tables(scenario):
    """(its channel table, its knowledge of each channel packed) from the nominal scenario's
    channels: each kind's spec record, its predict entry point, the gate it puts on it."""
    specs = scenario.sensors.channels
    knowledge, offsets = bus.pack_specs(
        [registry.kind(spec.kind).pack(spec) for spec in specs.values()]
    )
    table = np.zeros(len(specs), updates.FSW_CHANNEL_DTYPE)
    for i, spec in enumerate(specs.values()):
        table[i]["spec_offset"] = offsets[i]
        table[i]["predict_entry"] = registry.entry_points(spec.kind)[1]
        table[i]["gate"] = build_gate(spec.gate)
    return table, knowledge


def build_phase_target(target):
    """A guided phase's record: its law's entry point and settings, its target."""
    return record(
        PHASE_TARGET_DTYPE,
        law=laws.entry_point(target.law),
        params=laws.params_bytes(target),
        position_m=target.position,
        velocity_mps=target.velocity,
        throttle_design=target.throttle_design,
    )


CLEARANCE_CORRIDOR_M = 2000.0  # half-width across the track of the terrain that counts


def cleared_high_gate(onboard_map, height_m, clearance):
    """The high gate's height [m] above the site: the configured one, or clearance.height
    above the highest terrain of the onboard map within clearance.distance uprange of the
    site and CLEARANCE_CORRIDOR_M across the track (sampled at its finest spacing there, at
    most 100 m), whichever is higher."""
    m = onboard_map
    step = min(100.0, float(m.tiles["spacing_m"].min(initial=100.0)))
    across = (-CLEARANCE_CORRIDOR_M, CLEARANCE_CORRIDOR_M)
    highest = terrain.highest(m.tiles, m.heights, (-clearance.distance, 0.0), across, step)
    site = terrain.height_and_gradient(m.tiles, m.heights, 0.0, 0.0)[0]
    return max(float(height_m), highest - site + clearance.height)


def build_gate(gate):
    """Gate record: the NIS threshold for each measurement dimension, given directly or as the
    chi-square quantile of the probability a consistent measurement passes."""
    dims = np.arange(bus.MAX_DIMENSION + 1)
    if gate.policy == "accept_all":
        threshold = np.full(dims.shape, np.inf)
    elif gate.threshold is not None:
        threshold = np.full(dims.shape, gate.threshold)
    else:
        threshold = chi_square.quantile(gate.probability, np.maximum(dims, 1))
    return record(
        gating.GATE_DTYPE,
        policy=gating.POLICIES[gate.policy],
        threshold=threshold,
        reject_limit=gate.reject_limit,
    )


def settings_record(fs, scenario, control_period_s):
    """Its settings: guidance targets, and its knowledge of the vehicle (the engines' total
    thrust and their mean Isp, its masses and centres of mass), of its IMU's noise and of its
    PDI navigation error."""
    veh = scenario.vehicle
    term = fs.terminal
    engines = veh.engines
    thrust = sum(e.max_thrust for e in engines)
    p = record(
        FSW_DTYPE,
        control_period_s=control_period_s,
        handover_time_s=fs.handover_time,
        terminal_descent_rate_mps=term.descent_rate,
        terminal_horizontal_gain=1.0 / term.horizontal_time_constant,
        terminal_vertical_gain=1.0 / term.vertical_time_constant,
        terminal_max_tilt_rad=term.max_tilt,
        max_slew_rate_radps=scenario.control.max_slew_rate,
        max_thrust_n=thrust,
        engine_time_constant_s=engines[0].time_constant,
        isp_s=thrust / sum(e.max_thrust / e.isp for e in engines),
        throttle_min=engines[0].throttle_min,
        throttle_max=engines[0].throttle_max,
        initial_mass_kg=veh.dry_mass + veh.propellant_mass,
        dry_mass_kg=veh.dry_mass,
        low_propellant_kg=fs.low_propellant,
        rcs_min_on_time_s=max(th.min_on_time for th in veh.rcs.thrusters),
        dry_com_body_m=veh.dry_com,
        propellant_com_body_m=veh.propellant_com,
        initial_sigma=nav_initial_sigma(scenario),
    )
    p["braking"] = build_phase_target(fs.braking)
    p["approach"] = build_phase_target(fs.approach)
    imu_spec = scenario.sensors.imu
    p["nav_noise"] = record(
        ekf.NAV_NOISE_DTYPE,
        accel_noise_density=imu_spec.accelerometer.noise_density,
        gyro_noise_density=imu_spec.gyro.noise_density,
        accel_bias_walk=imu_spec.accelerometer.bias_instability,
        gyro_bias_walk=imu_spec.gyro.bias_instability,
    )
    return p


def nav_initial_sigma(scenario):
    """1-sigma PDI navigation error per error state: position and velocity in the local
    (downrange, crossrange, up) axes, then attitude (as the handover's: the scenario's
    [navigation]), the IMU's turn-on biases, the gyro's error matrix (scale factors on the
    diagonal, misalignments off it) and the accelerometer's along the thrust axis
    (misalignments, then the scale factor)."""
    nav, imu_spec = scenario.navigation, scenario.sensors.imu
    gyro = imu_spec.gyro
    matrix = np.full((3, 3), gyro.misalignment)
    np.fill_diagonal(matrix, gyro.scale_factor)
    return np.concatenate(
        [
            nav.initial_position_error,
            nav.initial_velocity_error,
            [nav.initial_attitude_error] * 3,
            [gyro.bias] * 3,
            [imu_spec.accelerometer.bias] * 3,
            matrix.ravel(),
            [imu_spec.accelerometer.misalignment] * 2,
            [imu_spec.accelerometer.scale_factor],
        ]
    )
