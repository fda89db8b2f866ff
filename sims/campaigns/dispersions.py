"""Dispersed runs of a scenario: sampling, applying to the truth, and reading back what the
compiled model actually uses.

Under the default design each dispersed field of run k draws from its own stream, seeded by
(campaign seed, k, a stable hash of the field's path): a run's values depend only on the
scenario, the campaign seed and the run index, never on the other fields dispersed, the
worker count or the executor (a Latin hypercube or a Sobol sequence places the runs' points
together instead: `uncertainty.designs`). A draw
is the distribution's quantile of one uniform deviate per component (inverse-transform
sampling), so a batch of runs is sampled with one vectorised quantile call per field. Only the
truth is dispersed; the flight software keeps its nominal knowledge of the vehicle.
"""

import zlib

import numpy as np

from faults import table as fault_table
from sensors import registry
from sims.run import packing
from sims.scenarios import field_paths
from sims.scenarios.scenario import ScenarioError, parse
from uncertainty import copula, designs, distributions

RUN_STREAM = 0  # spawn-key slot of the run's own seed (sensors, navigation error)
NOISE_KEY = 0x401  # spawn key of a run's own seed chosen by a design's noise coordinate


def uniforms(campaign_seed, run_index, path, count):
    """count uniform deviates in (0, 1) of one field for one run, from its own stream."""
    key = zlib.crc32(path.encode())
    bits = np.random.SeedSequence(campaign_seed, spawn_key=(run_index, key)).generate_state(
        count, np.uint64
    )
    return ((bits >> np.uint64(11)).astype(float) + 0.5) / 2.0**53


def run_seed(campaign_seed, run_index):
    """The seed sequence a dispersed run hands to its sensors and navigation error."""
    return np.random.SeedSequence(campaign_seed, spawn_key=(run_index, RUN_STREAM))


def noise_seed(campaign_seed, coordinate):
    """The seed sequence of a run whose own streams a design's noise coordinate (in (0, 1))
    chooses: runs at the same coordinate fly the same sensor noise and fault draws."""
    return np.random.SeedSequence(campaign_seed, spawn_key=(NOISE_KEY, int(coordinate * 2**53)))


class Sampler:
    """The frozen distributions of a scenario's dispersions, one per component (built once:
    scipy's are slow to make), and the draws of any runs from them, under a campaign design
    (`uncertainty.designs`; `lhs` and `saltelli` need the campaign's run count).

    Under the `saltelli` design a point has one coordinate more than there are components:
    the run's noise (its sensors' streams, its faults' occurrences), which Sobol indices
    must treat as one more input (`uncertainty.sobol_indices`) since runs that differ in one
    component must fly the same noise."""

    def __init__(self, scenario, design="random", runs=None):
        self.design, self.runs = design, runs
        # the components' names, in the order of a point's coordinates
        self.components = field_paths.components(scenario, scenario.dispersions)
        self.noise_coordinate = design == "saltelli"
        correlation = scenario.correlation
        self.copula = copula.Copula(correlation, self.components) if correlation else None
        self.fields = {}  # path: (is a vector, [distribution of each component])
        for path, spec in scenario.dispersions.items():
            nominal = field_paths.value(scenario, path)
            unit = field_paths.unit(scenario, path)
            vector = isinstance(nominal, tuple)
            self.fields[path] = (
                vector,
                [
                    distributions.frozen(
                        spec.distribution, spec.parameters, unit, v, i if vector else None
                    )
                    for i, v in enumerate(nominal if vector else (nominal,))
                ],
            )

    def points(self, campaign_seed, run_indices):
        """(runs, components) uniform deviates of the runs: where they lie in the unit cube of
        the dispersions, under the sampler's design."""
        if self.design != "random":
            dimensions = len(self.components) + self.noise_coordinate
            return designs.points(self.design, campaign_seed, run_indices, dimensions, self.runs)
        per_field = [
            np.array([uniforms(campaign_seed, k, path, len(dists)) for k in run_indices])
            for path, (_, dists) in self.fields.items()
        ]
        return np.hstack(per_field) if per_field else np.empty((len(run_indices), 0))

    def values(self, points):
        """[{path: value}] of every dispersed field at each point (a row of uniform deviates,
        `points`), tuples for vectors, in SI: each component its distribution's quantile,
        after the correlation's copula if the scenario has one."""
        points = points[:, : len(self.components)]  # without a noise coordinate
        if self.copula is not None:
            points = self.copula(points)
        per_run = [{} for _ in points]
        column = 0
        for path, (vector, dists) in self.fields.items():
            u = points[:, column : column + len(dists)]
            column += len(dists)
            values = np.column_stack([d.ppf(u[:, i]) for i, d in enumerate(dists)])
            for row, out in zip(values, per_run, strict=True):
                out[path] = tuple(float(v) for v in row) if vector else float(row[0])
        return per_run

    def run_seeds(self, campaign_seed, run_indices, points):
        """The seed sequences of the runs' own streams: each run's index's, or, for points
        with a coordinate more than the components, that noise coordinate's."""
        if points.shape[1] > len(self.components):
            return [noise_seed(campaign_seed, u) for u in points[:, len(self.components)]]
        return [run_seed(campaign_seed, k) for k in run_indices]

    def sample(self, campaign_seed, run_indices):
        """[{path: value}] of every dispersed field for each run (tuples for vectors), in SI."""
        return self.values(self.points(campaign_seed, run_indices))


def sample(scenario, campaign_seed, run_index):
    """{path: value} of every dispersed field for one run (tuples for vectors), in SI."""
    return Sampler(scenario).sample(campaign_seed, [run_index])[0]


def check(scenario, sampled, indices, label):
    """ScenarioError naming the first run whose draws break a field's constraint (a negative
    mass, a throttle fraction above 1, propellant beyond the tank): each dispersed scenario
    is validated again, in SI, with every check a written one gets."""
    for k, values in zip(indices, sampled, strict=True):
        dispersed = apply(scenario, values).model_dump(exclude={"dispersions"})
        try:
            parse(dispersed, label, context={"si": True})
        except ScenarioError as exc:
            reason = str(exc).removeprefix(f"{label}: ").removesuffix(".")
            field = reason.split("'")[1] if reason.startswith("field '") else ""
            drawn = [f"{p} = {_rounded(v)}" for p, v in values.items() if p.startswith(field)]
            raise ScenarioError(
                f"{label}: dispersions: run {k}: {reason} (drawn: {', '.join(drawn)}; truncate "
                "the distribution, e.g. truncnorm, to keep draws in range)."
            ) from None


def _rounded(value):
    if isinstance(value, tuple):
        return "(" + ", ".join(f"{v:.6g}" for v in value) + ")"
    return f"{value:.6g}"


def apply(scenario, values):
    """The scenario with the given field values (pydantic models are rebuilt, not mutated)."""
    for path, value in values.items():
        scenario = field_paths.replace(scenario, path, value)
    return scenario


def build(scenario, values):
    """PackedRun of one dispersed run: the truth from the scenario with the dispersed values, the
    flight software's knowledge from the nominal one."""
    return packing.build(apply(scenario, values), knowledge=scenario)


def read_back(m, paths):
    """{path: value the model uses} for the given dispersed fields."""
    return {path: _read(m, path) for path in paths}


def _read(m, path):
    section, _, rest = path.partition(".")
    name, _, field = rest.partition(".")
    if section == "faults":
        row = m.faults[m.fault_names.index(name)]
        return float(row[fault_table.DISPERSIBLE[field]])
    if section == "sensors" and name != "imu":
        channel = next(c for c in m.channels if c.name == name)
        return float(channel.truth[registry.kind(channel.kind).DISPERSIBLE[field][1]])
    return field_paths.read_static(m, path)


def occurrences(b, k):
    """{"faults.<name>.occurs": whether it occurs} of run k of a batch."""
    return {
        f"faults.{name}.occurs": bool(row["occurs"])
        for name, row in zip(b.models[k].fault_names, b.per_run.faults[k], strict=True)
    }
