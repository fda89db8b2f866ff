"""The chi-square distribution's quantile, for the gates' thresholds and the consistency bands.

scipy.stats.chi2.ppf computes 2 P^-1(k / 2, p) with the regularised lower incomplete gamma
function P; this is the same expression, to the bit, without importing scipy.stats (half a
second off the start of a run).
"""

import numpy as np
from scipy import special


def quantile(probability, dof):
    """The value a chi-square variable with `dof` degrees of freedom stays below with the
    given probability (arrays broadcast)."""
    return 2.0 * special.gammaincinv(np.asarray(dof) / 2, probability)
