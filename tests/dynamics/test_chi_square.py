"""The chi-square quantile against a printed table (Abramowitz and Stegun, Table 26.8:
the 95 % and 99 % points to three decimals) and scipy.stats to the bit."""

import numpy as np
import pytest
from scipy import stats

from dynamics import chi_square

TABLE = {(0.95, 1): 3.841, (0.95, 2): 5.991, (0.95, 3): 7.815, (0.95, 6): 12.592,
         (0.99, 1): 6.635, (0.99, 3): 11.345, (0.05, 3): 0.352}  # fmt: skip


@pytest.mark.parametrize(("probability", "dof"), sorted(TABLE))
def test_the_quantile_is_the_tables(probability, dof):
    assert chi_square.quantile(probability, dof) == pytest.approx(TABLE[probability, dof], abs=6e-4)


def test_the_quantile_is_scipys_to_the_bit():
    dof = np.arange(1, 3001)
    for p in (0.025, 0.5, 0.95, 0.975, 0.9973):
        assert np.array_equal(chi_square.quantile(p, dof), stats.chi2.ppf(p, dof))
