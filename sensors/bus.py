"""The sensor bus: the records every sensor channel produces and the flight software consumes,
and the compiled calls through which the run loop and the filter reach any registered kind.

At its rate a channel samples the truth into a `SAMPLE_DTYPE` record: values, the 1-sigma the
sensor reports for each, the noise it drew (truth side: faults scale it, analysis reads it)
and a valid flag. An element without a value (a beam with no return) is NaN; a record is valid
when the sensor says its data are good. Faults act on that record; the run loop then queues a
`MEASUREMENT_DTYPE` for the flight software (the drawn noise left behind), which the queue
delivers at its delivery time. For each measurement the filter asks the channel's kind for its
model (`MODEL_DTYPE`) at the estimated pose over the onboard map: the innovation, its Jacobians
with respect to MCI position, MCI velocity and attitude (a small rotation in body axes,
q_true = q_est * dq), and the noise covariance.

Kinds are reached through function pointers. `sensors.registry` compiles each kind's `sample`
and `predict` into C-callable entry points (cached on disk like everything else) whose
addresses the channel tables carry, and `dynamics.plugins.call` calls them. The run loop and
the filter are therefore compiled once whatever kinds exist, and adding a kind never
recompiles them
(Numba cannot cache functions that take other compiled functions as arguments). Entry points
take five pointers: (kind's spec record, pose, surface, channel state or measurement, output).
"""

import numpy as np
from llvmlite import ir
from numba import carray, njit, types
from numba.extending import intrinsic

from dynamics import frames, quaternion, terrain, vector
from dynamics.terrain import OnboardMap, TruthTerrain
from dynamics.views import pointer
from sensors import random_stream

MAX_DIMENSION = 8  # most values in one record (e.g. a 4-beam Doppler lidar: velocities and ranges)

# A pose of the lander: the truth at a sample instant, or the flight software's estimate.
POSE_DTYPE = np.dtype(
    [
        ("t_s", np.float64),
        ("rotation_rate_radps", np.float64),  # the Moon's: MCMF turns by -omega t from MCI
        ("r_mci_m", np.float64, (3,)),  # centre of mass
        ("v_mci_mps", np.float64, (3,)),
        ("q_body_to_mci", np.float64, (4,)),
        ("w_body_radps", np.float64, (3,)),
        ("r_mcmf_m", np.float64, (3,)),
        ("v_mcmf_mps", np.float64, (3,)),  # relative to the surface
        ("q_body_to_mcmf", np.float64, (4,)),
        ("com_body_m", np.float64, (3,)),  # centre of mass in body axes (sensor lever arms)
        # the flight software's covariance of its position estimate, MCI [m^2] (zero for the
        # truth): a model uses it to linearise over where the lander may be, not only at the
        # estimate
        ("position_cov_mci_m2", np.float64, (3, 3)),
    ],
    align=True,
)

SAMPLE_DTYPE = np.dtype(
    [
        ("valid", np.bool_),
        ("m", np.int64),  # values in use
        ("y", np.float64, (MAX_DIMENSION,)),
        ("sigma", np.float64, (MAX_DIMENSION,)),  # 1 sigma per value, as the sensor reports it
        ("noise", np.float64, (MAX_DIMENSION,)),  # the error drawn into y (truth side only)
    ],
    align=True,
)

MEASUREMENT_DTYPE = np.dtype(
    [
        ("channel", np.int64),
        ("sequence", np.int64),  # order of queuing: ties in delivery time go first in, first out
        ("valid", np.bool_),
        ("m", np.int64),
        ("t_s", np.float64),  # time of validity
        ("deliver_s", np.float64),  # when the flight software gets it; inf = empty queue slot
        ("period_s", np.float64),  # the channel's sampling period
        ("y", np.float64, (MAX_DIMENSION,)),
        ("sigma", np.float64, (MAX_DIMENSION,)),
    ],
    align=True,
)

MODEL_DTYPE = np.dtype(
    [
        ("usable", np.bool_),  # False: the model cannot predict this one (e.g. beam off the map)
        ("m", np.int64),  # rows in use (elements without a value are left out)
        ("innovation", np.float64, (MAX_DIMENSION,)),  # measured - predicted
        ("j_position", np.float64, (MAX_DIMENSION, 3)),  # d predicted / d r_mci
        ("j_velocity", np.float64, (MAX_DIMENSION, 3)),  # d predicted / d v_mci
        ("j_attitude", np.float64, (MAX_DIMENSION, 3)),  # d predicted / d small body rotation
        ("noise_cov", np.float64, (MAX_DIMENSION, MAX_DIMENSION)),
        # a range row's ground point: where its measured value puts the ground, from the
        # pose's position [m, MCMF]; NaN for other rows (`gnc.navigation.reacquisition`)
        ("ground_offset_mcmf_m", np.float64, (MAX_DIMENSION, 3)),
    ],
    align=True,
)

# The truth side of a run's channel table: what to sample, how often, with which spec.
CHANNEL_DTYPE = np.dtype(
    [
        ("every_steps", np.int64),  # truth steps between samples (a multiple of the control's)
        ("latency_s", np.float64),  # from time of validity to delivery (faults may add)
        ("spec_offset", np.int64),  # byte offset of the kind's spec record in the run's specs
        ("sample_entry", np.int64),  # address of the kind's compiled sample entry point
    ],
    align=True,
)

CHANNEL_STATE_DTYPE = np.dtype(
    [
        ("stream", np.uint64, (4,)),  # the channel's random stream (`sensors.random_stream`)
        ("performance", np.float64),  # received-power factor: 1 nominal, < 1 degraded (a fault)
    ],
    align=True,
)

# A surface as entry points see it: addresses and sizes of a terrain's arrays.
SURFACE_DTYPE = np.dtype(
    [
        ("site", np.int64),
        ("tiles", np.int64),
        ("n_tiles", np.int64),
        ("heights", np.int64),
        ("n_heights", np.int64),
        ("height_error_m", np.float64),  # onboard maps only: their error statistics
        ("error_correlation_m", np.float64),
        ("unseen_relief_m2", np.float64, terrain.REGION_SIGMAS_M.shape),
        ("relief_correlation_m", np.float64),
    ],
    align=True,
)

ENTRY_SIGNATURE = types.void(*[types.voidptr] * 5)


@intrinsic
def address_of(typingctx, record):
    """Address [int64] of a record's data (records are views: of an array row, or of a scalar
    argument for the duration of the call)."""

    def codegen(context, builder, signature, args):
        return builder.ptrtoint(args[0], ir.IntType(64))

    return types.int64(record), codegen


ALIGNMENT = 8  # bytes: each packed spec record starts on a multiple


def pack_specs(records):
    """(bytes, byte offsets) of kind spec records laid end to end, each aligned."""
    offsets, size = [], 0
    for r in records:
        offsets.append(size)
        size += -(-r.dtype.itemsize // ALIGNMENT) * ALIGNMENT
    blob = np.zeros(max(size, ALIGNMENT), np.uint8)
    for r, offset in zip(records, offsets, strict=True):
        blob[offset : offset + r.dtype.itemsize] = np.frombuffer(r.tobytes(), np.uint8)
    return blob, offsets


def surface_view(onboard_map, keep):
    """A `SURFACE_DTYPE` record describing an `OnboardMap` for the predict entry points (as
    `describe_surface` describes a terrain in compiled code); keep(array) keeps alive the
    arrays whose addresses it holds."""
    m = onboard_map
    view = np.zeros(1, SURFACE_DTYPE)[0]
    view["site"] = keep(np.array([m.site])).ctypes.data
    view["tiles"] = keep(m.tiles).ctypes.data
    view["n_tiles"] = m.tiles.shape[0]
    view["heights"] = keep(m.heights).ctypes.data
    view["n_heights"] = m.heights.shape[0]
    view["height_error_m"] = m.height_error_m
    view["error_correlation_m"] = m.error_correlation_m
    view["unseen_relief_m2"] = m.unseen_relief_m2
    view["relief_correlation_m"] = m.relief_correlation_m
    return view


@njit(cache=True)
def describe_surface(view, site, tiles, heights):
    """Fill a `SURFACE_DTYPE` view of a terrain's arrays (valid while they are alive)."""
    view.site = address_of(site)
    view.tiles = tiles.ctypes.data
    view.n_tiles = tiles.shape[0]
    view.heights = heights.ctypes.data
    view.n_heights = heights.shape[0]


@njit(cache=True, inline="always")
def _surface_arrays(view):
    site = carray(pointer(view.site), 1, frames.SITE_DTYPE)[0]
    tiles = carray(pointer(view.tiles), view.n_tiles, terrain.TILE_DTYPE)
    heights = carray(pointer(view.heights), view.n_heights, np.float64)
    return site, tiles, heights


@njit(cache=True, inline="always")
def truth_terrain_at(address):
    """The `TruthTerrain` a surface view at an address describes (sample entry points)."""
    view = carray(pointer(address), 1, SURFACE_DTYPE)[0]
    site, tiles, heights = _surface_arrays(view)
    return TruthTerrain(site, tiles, heights)


@njit(cache=True, inline="always")
def onboard_map_at(address):
    """The `OnboardMap` a surface view at an address describes (predict entry points)."""
    view = carray(pointer(address), 1, SURFACE_DTYPE)[0]
    site, tiles, heights = _surface_arrays(view)
    return OnboardMap(
        site,
        tiles,
        heights,
        view.height_error_m,
        view.error_correlation_m,
        view.unseen_relief_m2,
        view.relief_correlation_m,
    )


@njit(cache=True)
def fill_pose(pose, t_s, r_mci, v_mci, q_body_to_mci, w_body, com_body, rotation_rate_radps):
    """Set a pose from an MCI state, with its Moon-fixed counterparts."""
    pose.t_s = t_s
    pose.rotation_rate_radps = rotation_rate_radps
    r_mcmf = frames.mci_to_mcmf(r_mci, t_s, rotation_rate_radps)
    v_mcmf = frames.surface_relative_velocity_mcmf(r_mci, v_mci, t_s, rotation_rate_radps)
    q_mcmf = quaternion.multiply(
        frames.mci_to_mcmf_quaternion(t_s, rotation_rate_radps), q_body_to_mci
    )
    for i in range(3):
        pose.r_mci_m[i] = r_mci[i]
        pose.v_mci_mps[i] = v_mci[i]
        pose.w_body_radps[i] = w_body[i]
        pose.r_mcmf_m[i] = r_mcmf[i]
        pose.v_mcmf_mps[i] = v_mcmf[i]
        pose.com_body_m[i] = com_body[i]
    for i in range(4):
        pose.q_body_to_mci[i] = q_body_to_mci[i]
        pose.q_body_to_mcmf[i] = q_mcmf[i]


@njit(cache=True)
def body_to_mcmf(pose, v_body):
    """Moon-fixed components of a body-axes vector."""
    q = pose.q_body_to_mcmf
    return quaternion.rotate((q[0], q[1], q[2], q[3]), v_body)


@njit(cache=True)
def sensor_position_mcmf(pose, position_body_m):
    """Moon-fixed position of a point of the body given in body axes."""
    arm = vector.sub(position_body_m, vector.load(pose.com_body_m, 0))
    return vector.add(vector.load(pose.r_mcmf_m, 0), body_to_mcmf(pose, arm))


@njit(cache=True)
def sensor_velocity_mcmf(pose, position_body_m):
    """Surface-relative velocity [m/s] of a point of the body, Moon-fixed components: the
    centre of mass's plus the rotation's (w x lever arm)."""
    arm = vector.sub(position_body_m, vector.load(pose.com_body_m, 0))
    spin = vector.cross(vector.load(pose.w_body_radps, 0), arm)
    return vector.add(vector.load(pose.v_mcmf_mps, 0), body_to_mcmf(pose, spin))


@njit(cache=True)
def gradient_to_mci(pose, gradient_mcmf):
    """A gradient with respect to a Moon-fixed position (or velocity) as one with respect to
    the MCI one: r_mcmf = R r_mci, so d/dr_mci = R' d/dr_mcmf."""
    return frames.mcmf_to_mci(gradient_mcmf, pose.t_s, pose.rotation_rate_radps)


@njit(cache=True)
def put_value(out, i, value, sigma, spread, stream):
    """Set value i of a sample record to `value` plus an error of 1 sigma `spread` drawn from
    the channel's stream (kept in out.noise, which noise faults scale); the sensor reports
    1 sigma `sigma` (a false match's spread is not what it reports)."""
    error = spread * random_stream.standard_normal(stream)
    out.y[i] = value + error
    out.sigma[i] = sigma
    out.noise[i] = error
