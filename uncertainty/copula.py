"""Correlated dispersions: `[dispersions.correlation]`, applied as a Gaussian copula.

Each dispersed component keeps its own distribution (its marginal); the correlation acts on
their normal scores. A run's point u (one uniform deviate per component, `uncertainty.designs`,
`sims.campaigns.dispersions`) becomes z = Phi^-1(u), then z' = L z with L L' = C, then u' = Phi(z'),
whose quantiles are the dispersed values. For normal marginals C is the values' Pearson
correlation; for others it is that of their normal scores (a uniform pair's Spearman rank
correlation is (6 / pi) arcsin(rho / 2)). Components are named as the runs table names
their columns: a scalar field by its path, a vector's by path[i].

Either pairs, the unnamed entries zero:

    [dispersions.correlation]
    pairs = [["initial.position_offset[0]", "initial.velocity_offset[0]", -0.6]]

or a matrix over named components:

    [dispersions.correlation]
    fields = ["vehicle.dry_mass", "vehicle.propellant_mass"]
    matrix = [[1.0, 0.5], [0.5, 1.0]]

The matrix must be symmetric with a unit diagonal and positive definite (a correlation no
joint distribution can have is refused with its smallest eigenvalue). A Latin hypercube
keeps its strata in the uncorrelated components only.
"""

import numpy as np
from pydantic import model_validator

from dynamics.units import Strict
from uncertainty.designs import from_normal


class Correlation(Strict):
    """The `[dispersions.correlation]` table: `pairs` or `fields` with `matrix`."""

    pairs: tuple[tuple[str, str, float], ...] = ()
    fields: tuple[str, ...] = ()
    matrix: tuple[tuple[float, ...], ...] = ()

    @model_validator(mode="after")
    def _one_form(self):
        if bool(self.pairs) == bool(self.fields or self.matrix):
            raise ValueError("give either 'pairs' or 'fields' with 'matrix'")
        names, c = self.named_matrix()
        if len(set(names)) != len(names):
            raise ValueError("a component is named twice")
        if self.fields:
            if c.shape != (len(names), len(names)):
                raise ValueError(f"'matrix' must be {len(names)} x {len(names)}, one per field")
            if not np.array_equal(c, c.T) or not np.all(np.diag(c) == 1.0):
                raise ValueError("'matrix' must be symmetric with ones on its diagonal")
        if np.any(np.abs(c) > 1.0):
            raise ValueError("a correlation must be between -1 and 1")
        smallest = float(np.linalg.eigvalsh(c).min())
        if smallest <= 0.0:
            raise ValueError(
                f"the correlation matrix over {', '.join(names)} is not positive definite "
                f"(its smallest eigenvalue is {smallest:.3g}): no joint distribution has it"
            )
        return self

    def named_matrix(self):
        """(component names, correlation matrix over them)."""
        if self.fields:
            return list(self.fields), np.array(self.matrix, float)
        names = list(dict.fromkeys(n for a, b, _ in self.pairs for n in (a, b)))
        c = np.eye(len(names))
        for a, b, rho in self.pairs:
            i, j = names.index(a), names.index(b)
            if i == j:
                raise ValueError(f"{a!r} is paired with itself")
            c[i, j] = c[j, i] = rho
        return names, c


class Copula:
    """The transform of a run's point the correlation asks for, over the sampler's
    components (`dispersions.Sampler.components`)."""

    def __init__(self, correlation, components):
        names, c = correlation.named_matrix()
        unknown = [n for n in names if n not in components]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a dispersed component (dispersed: {', '.join(components)})"
            )
        self.columns = [components.index(n) for n in names]
        self.lower = np.linalg.cholesky(c)

    def __call__(self, points):
        """The points with their correlated components' normal scores mixed by L."""
        from scipy import stats  # where a campaign draws, off a run's start

        out = np.array(points, float)
        z = stats.norm.ppf(out[:, self.columns])
        out[:, self.columns] = from_normal(z @ self.lower.T)
        return out
