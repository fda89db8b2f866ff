"""The compiled run loop's inputs and outputs as named records.

A batch of runs is flown by one call that takes four named tuples: `Shared` (what all runs of
the batch share: gravity field, truth terrain, touchdown limits, open-loop schedule), `PerRun`
(each run's model records, stacked with the run as first axis), `States` (each run's state,
mutated as it flies) and `Outputs`. The tuples are defined here, in an importable module, so
that Numba's on-disk cache recognises their types from one process to the next. The flight
software is reached through its entry points (`gnc.interface.contract`): its configuration
and its state are bytes here, laid out as its form says.
"""

from typing import NamedTuple

import numpy as np

from dynamics.gravity import GravityField
from dynamics.terrain import TruthTerrain
from sims.run.consistency import CHECKPOINTS, NEES_DTYPE

RUN_DTYPE = np.dtype(
    [
        ("time_step_s", np.float64),
        ("max_time_s", np.float64),
        ("control_every_steps", np.int64),
        ("output_every_steps", np.int64),
        ("closed_loop", np.bool_),  # flight software in the loop (else the open-loop schedule)
        ("attitude_mode", np.int64),  # open loop only
        ("rcs_min_on_time_s", np.float64),  # the open-loop hold's pulse dead band
        ("contact_check_altitude_m", np.float64),  # below this, footpads are checked each step
        ("max_body_rate_radps", np.float64),  # beyond this the run is declared diverged
        ("n_gear_points", np.int64),  # contact points [0, n) are landing gear, the rest structure
        ("probe_length_m", np.float64),  # contact probes hang this far below the footpads
        ("record_every_steps", np.int64),  # the recorder's period (`sims.run.recorder`)
        ("record_slot", np.int64),  # where its recording goes; -1: not recorded
    ],
    align=True,
)

SCHEDULE_DTYPE = np.dtype(
    [("t_s", np.float64), ("throttle", np.float64), ("direction_local", np.float64, (3,))],
    align=True,
)

TRACE_DTYPE = np.dtype(
    [
        ("t_s", np.float64),
        ("altitude_m", np.float64),  # CoM above the terrain beneath it
        ("mass_kg", np.float64),
        ("throttle", np.float64),  # actual (lagged)
        ("throttle_command", np.float64),
        ("x_east_m", np.float64),
        ("y_north_m", np.float64),
        ("z_up_m", np.float64),
        ("vx_east_mps", np.float64),
        ("vy_north_mps", np.float64),
        ("vz_up_mps", np.float64),
        ("vertical_speed_mps", np.float64),  # along the local vertical, up positive
        ("horizontal_speed_mps", np.float64),
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("altitude_est_m", np.float64),  # flight software's, above its own terrain model
        ("nav_position_error_m", np.float64),  # |estimated - true|, NaN in open loop
        ("nav_velocity_error_mps", np.float64),
        ("nees_position", np.float64),  # the filter's errors normalised by its covariance
        ("nees_velocity", np.float64),  # (`sims.run.consistency`), NaN in open loop
        ("nees_attitude", np.float64),
        ("phase", np.int64),  # flight_log.PHASES index; -1 in open loop or none reported
        ("tilt_deg", np.float64),  # body +z from the local vertical
        ("wx_dps", np.float64),
        ("wy_dps", np.float64),
        ("wz_dps", np.float64),
    ]
)

SUMMARY_DTYPE = np.dtype(
    [
        ("outcome", np.int64),
        ("diverged_reason", np.int64),
        ("time_s", np.float64),
        ("descent_rate_mps", np.float64),  # at contact, down positive
        ("horizontal_speed_mps", np.float64),
        ("tilt_rad", np.float64),
        ("slope_rad", np.float64),
        ("body_rate_radps", np.float64),
        ("position_error_m", np.float64),  # centre of mass from the target, along the ground
        ("east_m", np.float64),  # centre of mass at contact, from the target (site origin)
        ("north_m", np.float64),
        ("downrange_m", np.float64),
        ("crossrange_m", np.float64),
        ("contact_point", np.int64),
        # on a hazard field (`dynamics.touchdown.ground_slope`): the footpad most out of line
        # with the others' ground and where it stood, the ground's roughness under the lander;
        # -1 (and NaN) elsewhere
        ("resting_pad", np.int64),
        ("pad_downrange_m", np.float64),
        ("pad_crossrange_m", np.float64),
        ("ground_roughness_m", np.float64),
        ("final_mass_kg", np.float64),
        ("flameout_time_s", np.float64),  # -1 if the propellant lasted
        ("delta_v_mps", np.float64),  # integral of the main engines' thrust acceleration
        ("burn_time_s", np.float64),  # time with the main engines commanded on
        # navigation: NaN where the flight software reports no estimate
        ("max_altitude_error_m", np.float64),  # |estimated - true altitude| at the FSW cycles
        ("max_velocity_error_mps", np.float64),  # |estimated - true velocity| at the FSW cycles
        ("nav_position_error_m", np.float64),  # at the end of the run
        ("nav_velocity_error_mps", np.float64),
        ("nav_altitude_error_m", np.float64),  # estimated - true
        ("nav_position_3sigma_m", np.float64),  # what the filter claims at the end of the run
        ("nav_velocity_3sigma_mps", np.float64),
        ("nees", NEES_DTYPE, (len(CHECKPOINTS),)),  # at the end of braking, approach, the run
        ("n_trace", np.int64),
        # a run the flight software ended (diverged_reason FLIGHT_SOFTWARE, at time_s):
        # io.status and the entry point it was in (contract.ENTRY_NAMES)
        ("fsw_status", np.int64),
        ("fsw_entry", np.int64),
    ]
)


class Shared(NamedTuple):
    """What every run of a batch shares."""

    gravity: GravityField
    terrain: TruthTerrain
    limits: np.void  # dynamics.touchdown.LIMITS_DTYPE
    schedule: np.ndarray  # SCHEDULE_DTYPE rows (open loop)
    signals: np.ndarray  # the recorded signals, sims.run.recorder.SIGNAL_DTYPE


class PerRun(NamedTuple):
    """Each run's model, every field stacked with the run as first axis."""

    run: np.ndarray  # RUN_DTYPE
    mass: np.ndarray  # dynamics.mass_properties.MASS_DTYPE
    engines: np.ndarray  # (runs, engines) dynamics.propulsion.ENGINE_DTYPE
    thrusters: np.ndarray  # (runs, thrusters) dynamics.propulsion.THRUSTER_DTYPE
    contact_points: np.ndarray  # (runs, points, 3): landing gear, then the engine nozzles
    imu: np.ndarray  # sensors.imu.IMU_DTYPE
    channels: np.ndarray  # (runs, channels) sensors.bus.CHANNEL_DTYPE: the truth side
    specs: np.ndarray  # (runs, bytes): each channel's kind spec record, packed
    faults: np.ndarray  # (runs, faults) faults.table.FAULT_DTYPE
    fsw_entries: np.ndarray  # contract.ENTRIES_DTYPE: its entry points' addresses
    fsw_config: np.ndarray  # (runs, bytes): its configuration record
    handover: np.ndarray  # contract.HANDOVER_DTYPE: the state handed over at PDI
    # the attitude layer (flight software commanding a torque or an attitude, open-loop hold)
    rcs_torques: np.ndarray
    rcs_groups: np.ndarray
    gains: np.ndarray  # attitude_layer.ATTITUDE_GAINS_DTYPE


class States(NamedTuple):
    """Each run's state, initial then final."""

    x: np.ndarray  # (runs, 15) truth state
    imu: np.ndarray  # sensors.imu.IMU_STATE_DTYPE
    channels: np.ndarray  # (runs, channels) sensors.bus.CHANNEL_STATE_DTYPE
    queue: np.ndarray  # (runs, slots) sensors.bus.MEASUREMENT_DTYPE
    faults: np.ndarray  # (runs, faults) faults.table.FAULT_STATE_DTYPE
    engine_factor: np.ndarray  # (runs, engines) thrust fraction each engine gives (faults)
    computer: np.ndarray  # faults.flight_computer.COMPUTER_DTYPE: off line after a reset, or not
    inbox: np.ndarray  # (runs, slots) sensors.bus.MEASUREMENT_DTYPE: delivered to a cycle
    fsw: np.ndarray  # (runs, bytes): the flight software's state record


class Outputs(NamedTuple):
    events: np.ndarray  # (runs, capacity) flight_log.EVENT_DTYPE
    n_events: np.ndarray  # (runs, 1)
    trace: np.ndarray  # (runs, samples) TRACE_DTYPE
    summary: np.ndarray  # SUMMARY_DTYPE
    fsw_message: np.ndarray  # (runs, contract.MESSAGE_BYTES): why the flight software failed
    # the recorded runs' signals, by record_slot: (slots, samples, signals), samples written,
    # the flight software's update log (contract.UPDATE_DTYPE) and how many it reported
    recording: np.ndarray
    n_recorded: np.ndarray  # (slots,)
    updates: np.ndarray  # (slots, capacity)
    n_updates: np.ndarray  # (slots, 1)
