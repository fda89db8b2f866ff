"""What crosses the flight-software interface: the record the simulator and a flight software
exchange at every call, and the calls themselves (gnc/README.md says it in full).

A flight software is reached through up to six C-callable entry points, each taking three
addresses: its configuration, its state (both of its own layout, one of each per run) and
the run's interface record `IO_DTYPE`, which carries the inputs of the call, the outputs the
flight software writes back and its telemetry:

- `start`   at t = 0: io.handover holds the state handed over at PDI and the mission data;
- `imu`     at every IMU output while the computer is on line: io.imu (optional);
- `cycle`   at every control period: io.imu holds the increments since the last cycle,
            io.delivered the measurements delivered since then, io.probe_contact the
            contact-probe signal; it writes io.commands for the coming control period;
- `restart` when the computer is back after a reset: io.reset says when it went down, when
            it came back and when the main engine may be relit;
- `report`  at the end of the run: telemetry as of io.t_s (optional);
- `stop`    when the run ends, whatever the reason (optional).

After each call the telemetry holds what the flight software chooses to report (NaN, or
NO_PHASE, for what it does not): the estimate after `imu` and `cycle`, phase and altitude
after `cycle`. A nonzero io.status ends the run as diverged, with io.message as the reason.
A flight software may also report each measurement update it makes (`report_update`: the
innovation, its variance, the test ratio against its gate and its verdict, the model of
PX4's `estimator_aid_source`); the simulator records them when a recorder asks
(`sims.run.recorder`), else the log holds none and a report costs nothing.

Frames and units: MCI is the Moon-centred inertial frame (= Moon-fixed MCMF at t = 0; MCMF
turns by -rotation_rate * t about +z from it); body axes have +z along the main engine's
thrust; quaternions are scalar first, q_body_to_mci rotates body components into MCI; SI
throughout, times in seconds since PDI.
"""

import numpy as np
from numba import carray, njit, types

from dynamics.views import pointer
from gnc.interface.flight_log import EVENT_DTYPE, NO_PHASE
from sensors import bus

MAX_ENGINES = 16
MAX_THRUSTERS = 64
MAX_CHANNELS = 32
MESSAGE_BYTES = 240
BLOB_ALIGNMENT = 8  # bytes: the least a configuration or state takes in a batch
N_ESTIMATE = 9  # position, velocity, attitude: the telemetry's estimate and covariance

ATTITUDE_COMMANDS = ("on_times", "torque", "quaternion")
ON_TIMES, TORQUE, QUATERNION = range(3)

OK, RAISED, FAILED = 0, 1, 2  # io.status: compiled code raised; the form reports a failure

ENTRY_NAMES = ("start", "imu", "cycle", "restart", "report", "stop")
ENTRY_START, ENTRY_IMU, ENTRY_CYCLE, ENTRY_RESTART, ENTRY_REPORT, ENTRY_STOP = range(6)

HANDOVER_DTYPE = np.dtype(
    [
        # the state handed over at PDI (truth plus the error the scenario's [navigation] gives)
        ("r_mci_m", np.float64, (3,)),
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        # 1 sigma of its error: position [m] and velocity [m/s] along the local downrange,
        # crossrange and up axes at the PDI position (rows of axes_mci), attitude [rad, body]
        ("sigma", np.float64, (N_ESTIMATE,)),
        ("axes_mci", np.float64, (3, 3)),
        # mission data: the mass at PDI [kg] as loaded, the target (the landing site on the
        # ground, Moon-fixed) with its downrange, crossrange (left) and up axes, the Moon's
        # rotation rate and gravitational parameter, the control period
        ("mass_kg", np.float64),
        ("site_mcmf_m", np.float64, (3,)),
        ("site_axes_mcmf", np.float64, (3, 3)),
        ("rotation_rate_radps", np.float64),
        ("gm_m3ps2", np.float64),
        ("control_period_s", np.float64),
    ],
    align=True,
)

IMU_DATA_DTYPE = np.dtype(
    [
        ("t_s", np.float64),  # end of the interval
        ("interval_s", np.float64),
        ("dv_body_mps", np.float64, (3,)),  # velocity increment from specific force
        ("dtheta_body_rad", np.float64, (3,)),  # rotation increment
    ],
    align=True,
)

RESET_DTYPE = np.dtype(
    [
        ("reset_time_s", np.float64),  # when the computer went down
        ("online_time_s", np.float64),  # when it came back (now)
        ("relight_time_s", np.float64),  # the main engine stays off before this
    ],
    align=True,
)

COMMANDS_DTYPE = np.dtype(
    [
        ("engine_on", np.bool_),  # False: every main engine off, whatever its throttle
        ("throttle", np.float64, (MAX_ENGINES,)),  # per engine, fraction of its thrust (0 off)
        ("attitude_command", np.int64),  # ON_TIMES, TORQUE or QUATERNION
        ("on_time_s", np.float64, (MAX_THRUSTERS,)),  # each RCS thruster, from the cycle
        ("torque_body_nm", np.float64, (3,)),
        ("q_command_body_to_mci", np.float64, (4,)),
    ],
    align=True,
)

TELEMETRY_DTYPE = np.dtype(
    [
        ("phase", np.int64),  # flight_log.PHASES index, NO_PHASE if none
        ("altitude_est_m", np.float64),  # above the ground below, as it believes
        ("r_mci_m", np.float64, (3,)),
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        # of the errors of position [m], velocity [m/s] (MCI) and attitude (a small rotation
        # in body axes from the estimate to the truth, q_true = q_est * dq) [rad]
        ("covariance", np.float64, (N_ESTIMATE, N_ESTIMATE)),
    ],
    align=True,
)

# A measurement update as a flight software reports it (`report_update`), one per measurement it
# gated: the values measured minus predicted, the diagonal of their covariance
# S = H P H' + R, the normalised innovation squared y' S^-1 y, its test ratio (NIS over the
# gate's threshold: above 1 fails the gate; NaN with no gate) and what it did (VERDICTS).
UPDATE_DTYPE = np.dtype(
    [
        ("t_s", np.float64),  # the measurement's time of validity
        ("channel", np.int64),  # sensors.bus channel index
        ("dimension", np.int64),  # values used
        ("innovation", np.float64, (bus.MAX_DIMENSION,)),  # in the channel's units
        ("innovation_variance", np.float64, (bus.MAX_DIMENSION,)),
        ("nis", np.float64),
        ("test_ratio", np.float64),
        ("verdict", np.int64),
    ],
    align=True,
)
VERDICTS = ("accepted", "rejected", "latched", "recovered", "ignored", "relocated")
ACCEPTED, REJECTED, LATCHED, RECOVERED, IGNORED, RELOCATED = range(len(VERDICTS))
UPDATE_LOG_FIELDS = (
    ("updates", np.int64),
    ("update_capacity", np.int64),
    ("update_count", np.int64),
)

# The run's event log, as `event_log` reads it from a record holding these fields: the address
# of its records (flight_log.EVENT_DTYPE), how many it holds, the address of its count (int64).
EVENT_LOG_FIELDS = (("events", np.int64), ("event_capacity", np.int64), ("event_count", np.int64))

IO_DTYPE = np.dtype(
    [
        ("t_s", np.float64),
        ("status", np.int64),
        ("message", np.uint8, (MESSAGE_BYTES,)),  # why, when status is nonzero (UTF-8, NUL)
        ("n_engines", np.int64),
        ("n_thrusters", np.int64),
        ("n_channels", np.int64),
        ("probe_contact", np.bool_),
        ("n_delivered", np.int64),
        ("delivered", np.int64),  # address of n_delivered sensors.bus.MEASUREMENT_DTYPE
        ("imu", IMU_DATA_DTYPE),
        ("handover", HANDOVER_DTYPE),
        ("reset", RESET_DTYPE),
        ("commands", COMMANDS_DTYPE),
        ("telemetry", TELEMETRY_DTYPE),
        *EVENT_LOG_FIELDS,
        *UPDATE_LOG_FIELDS,  # as EVENT_LOG_FIELDS, of UPDATE_DTYPE records: capacity 0, none
    ],
    align=True,
)

ENTRIES_DTYPE = np.dtype([(name, np.int64) for name in ENTRY_NAMES], align=True)
ENTRY_SIGNATURE = types.void(types.voidptr, types.voidptr, types.voidptr)


@njit(cache=True, inline="always")
def delivered(io):
    """The measurements delivered to this cycle, in delivery order (sensors.bus records)."""
    return carray(pointer(io.delivered), io.n_delivered, bus.MEASUREMENT_DTYPE)


@njit(cache=True, inline="always")
def event_log(io):
    """(events, count): the run's event log as `flight_log.log` takes it, from a record with
    the EVENT_LOG_FIELDS (the interface record, an FDIR function's)."""
    events = carray(pointer(io.events), io.event_capacity, EVENT_DTYPE)
    return events, carray(pointer(io.event_count), 1, np.int64)


@njit(cache=True)
def report_update(io, channel, t_s, innovations, nis, threshold, verdict):
    """Log one measurement update of channel at t_s (its time of validity): innovations =
    (innovation, its variance, m), the first m of each; its NIS and the gate's threshold (not
    finite: no gate), the verdict (VERDICTS). Counted even when the log is full or not kept,
    written only within its capacity."""
    innovation, variance, m = innovations
    if io.update_capacity == 0:
        return
    count = carray(pointer(io.update_count), 1, np.int64)
    n = count[0]
    count[0] = n + 1
    if n >= io.update_capacity:
        return
    row = carray(pointer(io.updates), io.update_capacity, UPDATE_DTYPE)[n]
    row.t_s, row.channel, row.dimension = t_s, channel, m
    for i in range(bus.MAX_DIMENSION):
        row.innovation[i] = innovation[i] if i < m else np.nan
        row.innovation_variance[i] = variance[i] if i < m else np.nan
    row.nis = nis
    row.test_ratio = nis / threshold if np.isfinite(threshold) else np.nan
    row.verdict = verdict


@njit(cache=True)
def clear_telemetry(telemetry):
    """Nothing reported: no phase, every figure NaN."""
    telemetry.phase = NO_PHASE
    telemetry.altitude_est_m = np.nan
    telemetry.r_mci_m[:] = np.nan
    telemetry.v_mci_mps[:] = np.nan
    telemetry.q_body_to_mci[:] = np.nan
    telemetry.covariance[:, :] = np.nan


def message_text(message):
    """A message's bytes (io.message) as text."""
    raw = bytes(message)
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


def set_message(message, text):
    """Write text into a message's bytes (io.message): truncated, NUL-terminated."""
    raw = text.encode("utf-8")[: MESSAGE_BYTES - 1]
    message[:] = 0
    message[: len(raw)] = np.frombuffer(raw, np.uint8)
