"""Recorders: any signal of any run, at a chosen rate, written to Parquet.

A scenario's `[record]` section (or `descent mc --record ...`) names signals, a rate and the
runs to record. The signals are the catalogue below (`SIGNALS`: the truth, the navigation
estimate with its errors and the sigmas it claims, the commands and what the actuators
applied), whether each fault is active (`fault.<name>.active`) and any scalar of the flight
software's own state record (`fsw.<field>`, for a form that declares its layout: a compiled
module, ours), picked by name or by a pattern (`nav.*`). Each recorded run gives a row per
sample: at t = 0, every `rate` after it (at most the control rate) and at the end of the run.

With `updates = true` (the default) every measurement update the flight software reports
(`contract.report_update`, the model of PX4's `estimator_aid_source`) is kept too, one row per
update: channel, innovation, its variance, NIS, test ratio, verdict.

Memory stays bounded: a batch holds the recordings of its runs only (runs that may be kept),
and a campaign sizes its batches so that they take at most BATCH_BYTES.
Axes: `east`, `north`, `up` are the landing site's (Moon-fixed); attitude errors are the small
body-axes rotation from the estimate to the truth (the interface's convention).
"""

import fnmatch
import math
from typing import Literal

import numpy as np
import pyarrow as pa
from numba import njit
from pydantic import Field, field_validator

from dynamics import frames, quaternion, terrain, vector
from dynamics.truth import X_MASS, X_Q, X_R, X_THROTTLE, X_V, X_W
from dynamics.units import PositiveFrequency, Strict
from gnc.interface import contract, flight_log, forms
from sims.run import consistency

MAX_SIGNALS = 256
BATCH_BYTES = 64 * 2**20  # a batch's recordings and update logs, at most
DEFAULT_SIGNALS = ("truth.*", "nav.*")

# (name, unit, what): the built-in signals, in the order `builtins` computes them
SIGNALS = (
    ("truth.east_m", "m", "centre of mass from the target, east"),
    ("truth.north_m", "m", "centre of mass from the target, north"),
    ("truth.up_m", "m", "centre of mass above the target's height"),
    ("truth.v_east_mps", "m/s", "velocity over the ground, east"),
    ("truth.v_north_mps", "m/s", "velocity over the ground, north"),
    ("truth.v_up_mps", "m/s", "velocity over the ground, up"),
    ("truth.downrange_m", "m", "along the approach track from the target"),
    ("truth.crossrange_m", "m", "left of the approach track"),
    ("truth.altitude_m", "m", "centre of mass above the terrain beneath it"),
    ("truth.mass_kg", "kg", "mass"),
    ("truth.throttle", "1", "main engine throttle, as lagged"),
    ("truth.tilt_deg", "deg", "body +z from the local vertical"),
    ("truth.w_x_dps", "deg/s", "body rate about body x"),
    ("truth.w_y_dps", "deg/s", "body rate about body y"),
    ("truth.w_z_dps", "deg/s", "body rate about body z"),
    ("truth.q_w", "1", "attitude quaternion body to MCI, scalar"),
    ("truth.q_x", "1", "attitude quaternion body to MCI, x"),
    ("truth.q_y", "1", "attitude quaternion body to MCI, y"),
    ("truth.q_z", "1", "attitude quaternion body to MCI, z"),
    ("nav.phase", "phase", "the phase the flight software reports (its name)"),
    ("nav.altitude_m", "m", "altitude the flight software estimates"),
    ("nav.east_m", "m", "estimated position from the target, east"),
    ("nav.north_m", "m", "estimated position from the target, north"),
    ("nav.up_m", "m", "estimated position above the target's height"),
    ("nav.v_east_mps", "m/s", "estimated velocity over the ground, east"),
    ("nav.v_north_mps", "m/s", "estimated velocity over the ground, north"),
    ("nav.v_up_mps", "m/s", "estimated velocity over the ground, up"),
    ("nav.error_east_m", "m", "position error (estimate - truth), east"),
    ("nav.error_north_m", "m", "position error, north"),
    ("nav.error_up_m", "m", "position error, up"),
    ("nav.error_v_east_mps", "m/s", "velocity error (estimate - truth), east"),
    ("nav.error_v_north_mps", "m/s", "velocity error, north"),
    ("nav.error_v_up_mps", "m/s", "velocity error, up"),
    ("nav.error_att_x_rad", "rad", "attitude error about body x"),
    ("nav.error_att_y_rad", "rad", "attitude error about body y"),
    ("nav.error_att_z_rad", "rad", "attitude error about body z"),
    ("nav.sigma_east_m", "m", "position 1 sigma the filter claims, east"),
    ("nav.sigma_north_m", "m", "position 1 sigma, north"),
    ("nav.sigma_up_m", "m", "position 1 sigma, up"),
    ("nav.sigma_v_east_mps", "m/s", "velocity 1 sigma, east"),
    ("nav.sigma_v_north_mps", "m/s", "velocity 1 sigma, north"),
    ("nav.sigma_v_up_mps", "m/s", "velocity 1 sigma, up"),
    ("nav.sigma_att_x_rad", "rad", "attitude 1 sigma about body x"),
    ("nav.sigma_att_y_rad", "rad", "attitude 1 sigma about body y"),
    ("nav.sigma_att_z_rad", "rad", "attitude 1 sigma about body z"),
    ("nav.nees_position", "1", "position NEES (chi-square, 3 dof, if consistent)"),
    ("nav.nees_velocity", "1", "velocity NEES"),
    ("nav.nees_attitude", "1", "attitude NEES"),
    ("cmd.engine_on", "1", "1 when the main engines are commanded on"),
    ("cmd.throttle", "1", "throttle commanded to the first main engine"),
    ("cmd.attitude_command", "1", "0 RCS on-times, 1 a torque, 2 an attitude"),
    ("cmd.torque_x_nm", "N m", "torque commanded about body x (torque commands)"),
    ("cmd.torque_y_nm", "N m", "torque commanded about body y"),
    ("cmd.torque_z_nm", "N m", "torque commanded about body z"),
    ("cmd.thrust_east", "1", "commanded thrust axis, east (attitude commands)"),
    ("cmd.thrust_north", "1", "commanded thrust axis, north"),
    ("cmd.thrust_up", "1", "commanded thrust axis, up"),
    ("act.throttle", "1", "throttle set point applied, after faults"),
    ("act.thrust_n", "N", "main engines' thrust"),
    ("act.rcs_on_time_s", "s", "RCS on-time summed over the thrusters, this control period"),
)
SIGNAL_NAMES = tuple(name for name, _, _ in SIGNALS)
N_BUILTIN = len(SIGNALS)
BUILTIN, FAULT, FSW_FLOAT, FSW_INT, FSW_BOOL = range(5)
FSW_KINDS = {"f": FSW_FLOAT, "i": FSW_INT, "u": FSW_INT, "b": FSW_BOOL}
SIGNAL_DTYPE = np.dtype([("source", np.int64), ("index", np.int64)], align=True)


class Record(Strict):
    """What to record (`[record]` in a scenario): signal names or patterns, the rate, the runs
    (`all`, `failures` or a list of indices) and the first K runs besides, and whether the
    measurement updates are kept."""

    signals: tuple[str, ...] = Field(default=DEFAULT_SIGNALS, min_length=1)
    rate: PositiveFrequency = 10.0
    runs: Literal["all", "failures"] | tuple[int, ...] = "failures"
    first: int = Field(default=0, ge=0)
    updates: bool = True

    @field_validator("runs")
    @classmethod
    def _indices(cls, runs):
        if isinstance(runs, tuple) and any(k < 0 for k in runs):
            raise ValueError("run indices start at 0")
        return runs

    def chosen(self, index):
        """True if run `index` is recorded whatever its outcome."""
        return (
            self.runs == "all"
            or index < self.first
            or (isinstance(self.runs, tuple) and index in self.runs)
        )

    def kept(self, index, failed):
        """True if run `index`, failed or not, is written."""
        return self.chosen(index) or (self.runs == "failures" and failed)

    def may_keep(self, index):
        """True if run `index` is recorded while it flies (its outcome not known yet)."""
        return self.runs == "failures" or self.chosen(index)


def leaves(dtype, prefix):
    """(name, byte offset, kind letter) of every scalar in a record layout: fields by dotted
    path, array elements as name[i] or name[i,j]."""
    out = []
    for name in dtype.names or ():
        sub, offset = dtype.fields[name][:2]
        base = sub.base
        for index in np.ndindex(sub.shape):
            at = offset + (
                int(np.ravel_multi_index(index, sub.shape)) * base.itemsize if index else 0
            )
            label = f"{prefix}{name}" + (f"[{','.join(map(str, index))}]" if index else "")
            if base.names:
                out += [(n, at + o, k) for n, o, k in leaves(base, label + ".")]
            elif base.kind in FSW_KINDS and base.itemsize in (1, 8):
                out.append((label, at, base.kind))
    return out


def catalogue(fault_names, fsw_state_dtype=None):
    """(name, source, index) of every signal a run can record: the built-ins, each fault's
    activity, and with a state layout the flight software's fields (their byte offsets)."""
    out = [(name, BUILTIN, k) for k, name in enumerate(SIGNAL_NAMES)]
    out += [(f"fault.{name}.active", FAULT, k) for k, name in enumerate(fault_names)]
    if fsw_state_dtype is not None:
        out += [
            (name, FSW_KINDS[kind], offset)
            for name, offset, kind in leaves(fsw_state_dtype, "fsw.")
        ]
    return out


def resolve(patterns, fault_names, fsw_state_dtype):
    """(names, SIGNAL_DTYPE array) of the signals the patterns pick (names, with `*` and `?`
    as wildcards: `nav.*`, `fsw.nav.P[2,*]`), in catalogue order (the built-ins, the faults,
    the flight software's fields), each once; ValueError naming a pattern that picks nothing,
    or too many signals."""
    wants_fsw = any(p.startswith("fsw") for p in patterns)
    known = catalogue(fault_names, fsw_state_dtype if wants_fsw else None)
    picked = set()
    for pattern in patterns:
        literal = pattern.replace("[", "[[]")  # brackets are indices, not character sets
        hits = {name for name, _, _ in known if fnmatch.fnmatchcase(name, literal)}
        if not hits:
            where = (
                "; this flight software's form declares no state layout"
                if pattern.startswith("fsw") and fsw_state_dtype is None
                else ""
            )
            raise ValueError(
                f"{pattern!r} matches no signal{where} ('descent signals SCENARIO' lists them)"
            )
        picked |= hits
    if len(picked) > MAX_SIGNALS:
        raise ValueError(f"the patterns pick {len(picked)} signals: at most {MAX_SIGNALS}")
    chosen = [(name, source, index) for name, source, index in known if name in picked]
    table = np.zeros(len(chosen), SIGNAL_DTYPE)
    table["source"] = [source for _, source, _ in chosen]
    table["index"] = [index for _, _, index in chosen]
    return tuple(name for name, _, _ in chosen), table


def signals_of(scenario):
    """(names, SIGNAL_DTYPE array) of what a scenario's recorder records (`resolve`), the
    flight software's fields from its form's state layout, if it declares one."""
    names = [f.name for f in scenario.faults]
    return resolve(scenario.record.signals, names, state_layout(scenario.flight_software))


def state_layout(flight_software):
    """The record layout of a flight software's state (its form's STATE_DTYPE), or None."""
    if flight_software is None:
        return None
    return getattr(forms.form(flight_software.kind), "STATE_DTYPE", None)


def unit_of(name):
    """A signal's unit ('' for the flight software's own fields, '1' for a flag)."""
    for signal, unit, _ in SIGNALS:
        if signal == name:
            return unit
    return "1" if name.startswith("fault.") else ""


def catalogue_markdown():
    """The built-in signals as a Markdown table (the README's, checked by a test)."""
    rows = ["| signal | unit | what |", "|---|---|---|"]
    rows += [f"| `{name}` | {unit} | {what} |" for name, unit, what in SIGNALS]
    return "\n".join(rows)


def batch_limit(scenario, most=50):
    """Runs per batch whose recordings and update logs fit in BATCH_BYTES (every run of a
    batch may be kept: a failure is known only when it ends); `most` without a recorder."""
    spec = scenario.record
    if spec is None:
        return most
    sim = scenario.simulation
    names, _ = signals_of(scenario)
    periods = [1.0 / c.rate for c in scenario.sensors.channels.values()] if scenario.sensors else []
    per_run = samples_per_run(sim.max_time, spec.rate) * (1 + len(names)) * 8
    if spec.updates and scenario.flight_software is not None:
        per_run += updates_per_run(sim.max_time, periods) * contract.UPDATE_DTYPE.itemsize
    return max(1, min(most, BATCH_BYTES // per_run))


def samples_per_run(max_time_s, rate_hz):
    """Rows a run's recording can hold: t = 0, every period, the end."""
    return int(max_time_s * rate_hz) + 3


def updates_per_run(max_time_s, channel_periods_s):
    """Updates a run's log can hold: every sample of every channel (a measurement is gated
    once), and a margin for a latency that brings two in one cycle."""
    return sum(int(max_time_s / period) + 2 for period in channel_periods_s)


@njit(cache=True)
def _enu_of_mci(site, t_s, omega):
    """3 x 3 rotation from MCI components to the site's east, north, up (rows)."""
    out = np.empty((3, 3))
    for i in range(3):
        e = [0.0, 0.0, 0.0]
        e[i] = 1.0
        col = frames.to_site_enu(site, frames.mci_to_mcmf((e[0], e[1], e[2]), t_s, omega))
        for j in range(3):
            out[j, i] = col[j]
    return out


@njit(cache=True)
def _sigma(m, p, first, row):
    """1 sigma along row `row` of m of the covariance block p[first:first+3, first:first+3]."""
    acc = 0.0
    for i in range(3):
        for k in range(3):
            acc += m[row, i] * p[first + i, first + k] * m[row, k]
    return math.sqrt(acc) if acc >= 0.0 else math.nan


@njit(cache=True)
def builtins(out, tt, x, t_s, omega, io, actuators, on_time):
    """The built-in signals (SIGNALS, in order) of truth state x at t_s over the truth terrain
    tt, with the telemetry and commands of the last cycle (the interface record io), the
    actuators (the throttle set point applied, the engines' thrust [N]) and the RCS on-times
    of the control period."""
    site, telemetry, commands = tt.site, io.telemetry, io.commands
    r_mci, v_mci = vector.load(x, X_R), vector.load(x, X_V)
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, omega)
    p = frames.site_position_enu(site, r_mcmf)
    v = frames.to_site_enu(site, frames.surface_relative_velocity_mcmf(r_mci, v_mci, t_s, omega))
    downrange, crossrange, _ = frames.track_coordinates(site, r_mcmf)
    body_z = quaternion.rotate((x[X_Q], x[X_Q + 1], x[X_Q + 2], x[X_Q + 3]), (0.0, 0.0, 1.0))
    cos_tilt = max(-1.0, min(1.0, vector.dot(body_z, vector.unit(r_mci))))
    for i in range(3):
        out[i], out[3 + i] = p[i], v[i]
    out[6], out[7] = downrange, crossrange
    out[8] = terrain.altitude(site, tt.tiles, tt.heights, r_mcmf)
    out[9], out[10] = x[X_MASS], x[X_THROTTLE]
    out[11] = math.degrees(math.acos(cos_tilt))
    for i in range(3):
        out[12 + i] = math.degrees(x[X_W + i])
    for i in range(4):
        out[15 + i] = x[X_Q + i]
    out[19] = telemetry.phase
    out[20] = telemetry.altitude_est_m
    r_est, v_est = vector.load(telemetry.r_mci_m, 0), vector.load(telemetry.v_mci_mps, 0)
    r_est_mcmf = frames.mci_to_mcmf(r_est, t_s, omega)
    p_est = frames.site_position_enu(site, r_est_mcmf)
    v_est_enu = frames.to_site_enu(
        site, frames.surface_relative_velocity_mcmf(r_est, v_est, t_s, omega)
    )
    m = _enu_of_mci(site, t_s, omega)
    e_r, e_v = vector.sub(r_est, r_mci), vector.sub(v_est, v_mci)
    e_th = consistency.attitude_error(telemetry, x)
    cov = telemetry.covariance
    for j in range(3):
        out[21 + j], out[24 + j] = p_est[j], v_est_enu[j]
        out[27 + j] = m[j, 0] * e_r[0] + m[j, 1] * e_r[1] + m[j, 2] * e_r[2]
        out[30 + j] = m[j, 0] * e_v[0] + m[j, 1] * e_v[1] + m[j, 2] * e_v[2]
        out[33 + j] = e_th[j]
        out[36 + j] = _sigma(m, cov, consistency.DR, j)
        out[39 + j] = _sigma(m, cov, consistency.DV, j)
        d = cov[consistency.DTH + j, consistency.DTH + j]
        out[42 + j] = math.sqrt(d) if d >= 0.0 else math.nan
    out[45], out[46], out[47] = consistency.nees(telemetry, x)
    out[48] = 1.0 if commands.engine_on else 0.0
    out[49] = commands.throttle[0]
    out[50] = commands.attitude_command
    for i in range(3):
        out[51 + i] = (
            commands.torque_body_nm[i] if commands.attitude_command == contract.TORQUE else math.nan
        )
    if commands.attitude_command == contract.QUATERNION:
        q = commands.q_command_body_to_mci
        axis = quaternion.rotate((q[0], q[1], q[2], q[3]), (0.0, 0.0, 1.0))
        for j in range(3):
            out[54 + j] = m[j, 0] * axis[0] + m[j, 1] * axis[1] + m[j, 2] * axis[2]
    else:
        out[54] = out[55] = out[56] = math.nan
    out[57], out[58] = actuators
    total = 0.0
    for i in range(on_time.shape[0]):
        total += on_time[i]
    out[59] = total


@njit(cache=True)
def sample(row, t_s, signals, values, fault_states, fsw_state):
    """Write a recording row: the time t_s, then the selected signals: built-ins from values
    (`builtins`), faults' activity from their states, flight-software fields from its state's
    bytes."""
    row[0] = t_s
    for k in range(signals.shape[0]):
        source, index, out = signals[k].source, signals[k].index, k + 1
        if source == BUILTIN:
            row[out] = values[index]
        elif source == FAULT:
            row[out] = 1.0 if fault_states[index].active else 0.0
        elif source == FSW_FLOAT:
            row[out] = fsw_state[index : index + 8].view(np.float64)[0]
        elif source == FSW_INT:
            row[out] = fsw_state[index : index + 8].view(np.int64)[0]
        else:
            row[out] = 1.0 if fsw_state[index] else 0.0


def recording_table(rows, names, index):
    """Arrow table of one run's recording (samples x (time, signals...)): run, t_s first, the
    phase by name."""
    columns = {"run": pa.array(np.full(rows.shape[0], index, np.int64)), "t_s": rows[:, 0]}
    for k, name in enumerate(names):
        values = rows[:, 1 + k]
        columns[name] = _phase_names(values.astype(np.int64)) if name == "nav.phase" else values
    return pa.table(columns)


def _phase_names(indices):
    """Phase names of flight_log.PHASES indices, null for none (negative)."""
    names = pa.array(flight_log.PHASES, pa.string())
    return names.take(pa.array(indices, mask=indices < 0))


def _lists(values, lengths):
    """An Arrow list column: row k holds values[k, :lengths[k]]."""
    offsets = np.concatenate(([0], np.cumsum(lengths))).astype(np.int32)
    kept = values[np.arange(values.shape[1]) < lengths[:, None]]
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(kept, pa.float64()))


UPDATE_SCHEMA = pa.schema(
    [
        ("run", pa.int64()),
        ("t_s", pa.float64()),
        ("channel", pa.string()),
        ("phase", pa.string()),
        ("dimension", pa.int64()),
        ("innovation", pa.list_(pa.float64())),
        ("innovation_variance", pa.list_(pa.float64())),
        ("nis", pa.float64()),
        ("test_ratio", pa.float64()),
        ("verdict", pa.string()),
    ]
)


def updates_table(updates, channel_names, phase_changes, index):
    """Arrow table of one run's logged updates (`contract.UPDATE_DTYPE` rows), channels and
    verdicts by name, each with the phase the flight software was in when it gated it
    (phase_changes: (t_s, phase index) in time order, from its event log; the first phase
    for the updates of the first cycle, which come before it enters it)."""
    times = np.array([t for t, _ in phase_changes], float)
    phases = np.array([p for _, p in phase_changes] or [-1], np.int64)
    # a cycle updates before it changes phase: a change at the update's time is after it
    at = np.maximum(np.searchsorted(times, updates["t_s"], side="left") - 1, 0)
    dims = updates["dimension"]
    return pa.table(
        {
            "run": pa.array(np.full(len(updates), index, np.int64)),
            "t_s": pa.array(updates["t_s"]),
            "channel": pa.array(channel_names, pa.string()).take(pa.array(updates["channel"])),
            "phase": _phase_names(phases[at]),
            "dimension": pa.array(dims),
            "innovation": _lists(updates["innovation"], dims),
            "innovation_variance": _lists(updates["innovation_variance"], dims),
            "nis": pa.array(updates["nis"]),
            "test_ratio": pa.array(updates["test_ratio"], from_pandas=True),  # NaN: null
            "verdict": pa.array(contract.VERDICTS, pa.string()).take(pa.array(updates["verdict"])),
        },
        schema=UPDATE_SCHEMA,
    )


def tables(b, k, index):
    """(recording, updates) Arrow tables of run k of an executed batch (`sims.run.batch`), as run
    `index` of its campaign; (None, None) if the run was not recorded."""
    slot = int(b.per_run.run[k]["record_slot"])
    if slot < 0:
        return None, None
    rows = b.outputs.recording[slot, : b.outputs.n_recorded[slot]]
    recording = recording_table(rows, b.recorded, index)
    logged = min(int(b.outputs.n_updates[slot, 0]), b.outputs.updates.shape[1])
    events = b.outputs.events[k, : b.outputs.n_events[k, 0]]
    changes = [
        (float(e["t_s"]), int(e["detail"])) for e in events if e["code"] == flight_log.PHASE_CHANGE
    ]
    names = [c.name for c in b.models[k].channels]
    return recording, updates_table(b.outputs.updates[slot, :logged], names, changes, index)
