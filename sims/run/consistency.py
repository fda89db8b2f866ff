"""Does the navigation know what it does not know? Its errors against the truth, normalised by
the covariance it claims, as the flight software reports both in its telemetry
(`gnc.interface.contract.TELEMETRY_DTYPE`: NaN where it reports none, and so are these).

The normalised estimation error squared of a block of the error state,
NEES = e' P_block^-1 e, is chi-square with 3 degrees of freedom when the filter is consistent
(Bar-Shalom, Li & Kirubarajan 2001, "Estimation with Applications to Tracking and Navigation",
sec. 5.4): its mean over N runs lies in the chi-square(3N) / N band. Position and velocity
errors are estimate minus truth in MCI; the attitude error is the small body-axes rotation
from the estimate to the truth (q_true = q_est * dq), the interface's convention.
This is the simulator's view (it needs the truth), never the flight software's.
"""

import math

import numpy as np
from numba import njit

from dynamics import chi_square, quaternion, vector
from dynamics.truth import X_Q, X_R, X_V

BLOCKS = ("position", "velocity", "attitude")
CHECKPOINTS = ("end_braking", "end_approach", "end")  # where a run's NEES is kept
END_BRAKING, END_APPROACH, END = range(3)
DR, DV, DTH = 0, 3, 6  # the telemetry covariance's blocks

NEES_DTYPE = np.dtype([(block, np.float64) for block in BLOCKS])


@njit(cache=True)
def _block_nees(p, first, e):
    """e' P[first:first+3, first:first+3]^-1 e by Cholesky; infinite if not positive definite."""
    l00 = p[first, first]
    if not l00 > 0.0:
        return math.inf
    l00 = math.sqrt(l00)
    l10 = p[first + 1, first] / l00
    l20 = p[first + 2, first] / l00
    d11 = p[first + 1, first + 1] - l10 * l10
    if not d11 > 0.0:
        return math.inf
    l11 = math.sqrt(d11)
    l21 = (p[first + 2, first + 1] - l20 * l10) / l11
    d22 = p[first + 2, first + 2] - l20 * l20 - l21 * l21
    if not d22 > 0.0:
        return math.inf
    l22 = math.sqrt(d22)
    z0 = e[0] / l00
    z1 = (e[1] - l10 * z0) / l11
    z2 = (e[2] - l20 * z0 - l21 * z1) / l22
    return z0 * z0 + z1 * z1 + z2 * z2


@njit(cache=True)
def attitude_error(estimate, x):
    """Small rotation [rad, body axes] from the estimated attitude to the true one."""
    q = estimate.q_body_to_mci
    dq = quaternion.multiply(
        quaternion.conjugate((q[0], q[1], q[2], q[3])),
        (x[X_Q], x[X_Q + 1], x[X_Q + 2], x[X_Q + 3]),
    )
    sign = 2.0 if dq[0] >= 0.0 else -2.0
    return (sign * dq[1], sign * dq[2], sign * dq[3])


@njit(cache=True)
def nees(telemetry, x):
    """(position, velocity, attitude) NEES of the reported estimate against the truth x."""
    e_r = vector.sub(vector.load(telemetry.r_mci_m, 0), vector.load(x, X_R))
    e_v = vector.sub(vector.load(telemetry.v_mci_mps, 0), vector.load(x, X_V))
    p = telemetry.covariance
    if math.isnan(e_r[0]) or math.isnan(p[0, 0]):  # no estimate, or no covariance, reported
        return math.nan, math.nan, math.nan
    return (
        _block_nees(p, DR, e_r),
        _block_nees(p, DV, e_v),
        _block_nees(p, DTH, attitude_error(telemetry, x)),
    )


@njit(cache=True)
def keep(telemetry, x, out):
    """Write the NEES of the reported estimate against x into a `NEES_DTYPE` record."""
    out.position, out.velocity, out.attitude = nees(telemetry, x)


@njit(cache=True)
def three_sigma(telemetry, first):
    """3 sqrt(trace) of a 3 x 3 block of the reported covariance: its claimed error bound."""
    p = telemetry.covariance
    return 3.0 * math.sqrt(p[first, first] + p[first + 1, first + 1] + p[first + 2, first + 2])


def mean_nees(nees):
    """{(checkpoint, block): (mean NEES, runs)} over the runs that reached each checkpoint,
    from the runs' `nees` records (a `NEES_DTYPE` array, runs x checkpoints)."""
    out = {}
    for k, checkpoint in enumerate(CHECKPOINTS):
        for block in BLOCKS:
            values = nees[:, k][block]
            reached = values[~np.isnan(values)]
            out[checkpoint, block] = (
                float(reached.mean()) if reached.size else np.nan,
                reached.size,
            )
    return out


def band(runs, dof=3, probability=0.95):
    """Two-sided band of the mean NEES over runs for a consistent filter."""
    tail = (1.0 - probability) / 2.0
    n = runs * dof
    return chi_square.quantile(tail, n) / runs, chi_square.quantile(1.0 - tail, n) / runs
