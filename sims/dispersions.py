"""Dispersed runs of a scenario: sampling, applying to the truth, and reading back what the
compiled model actually uses.

Under the default design each dispersed field of run k draws from its own stream, seeded by
(campaign seed, k, a stable hash of the field's path): a run's values depend only on the
scenario, the campaign seed and the run index, never on the other fields dispersed, the
worker count or the executor (a Latin hypercube or a Sobol sequence places the runs' points
together instead: `sims.designs`). A draw
is the distribution's quantile of one uniform deviate per component (inverse-transform
sampling), so a batch of runs is sampled with one vectorised quantile call per field. Only the
truth is dispersed; the flight software keeps its nominal knowledge of the vehicle.
"""

import math
import zlib

import numpy as np

from dynamics import frames, quaternion, truth
from sensors import registry
from sims import copula, designs, distributions, field_paths, model
from sims.scenario import ScenarioError, parse

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
    (`sims.designs`; `lhs` and `saltelli` need the campaign's run count).

    Under the `saltelli` design a point has one coordinate more than there are components:
    the run's noise (its sensors' streams, its faults' occurrences), which Sobol indices
    must treat as one more input (`sims.sobol_indices`) since runs that differ in one
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
    """Model of one dispersed run: the truth from the scenario with the dispersed values, the
    flight software's knowledge from the nominal one."""
    return model.build(apply(scenario, values), knowledge=scenario)


def _pdi_offsets(m):
    """(position, velocity) of the PDI state relative to the orbit's, in the local
    (downrange, crossrange, up) axes."""
    axes = model.pdi_axes(m.terrain.site, m.pdi_orbit_mci[0:3])
    return axes.T @ (m.x0[0:3] - m.pdi_orbit_mci[0:3]), axes.T @ (m.x0[3:6] - m.pdi_orbit_mci[3:6])


def _attitude_offset(m):
    q = quaternion.multiply(quaternion.conjugate(model.base_attitude(m)), tuple(m.x0[6:10]))
    return quaternion.to_rotation_vector(q)


def _pdi_track(m):
    omega = m.gravity.params["rotation_rate_radps"]
    r_mcmf = frames.mci_to_mcmf(tuple(m.pdi_orbit_mci[0:3]), 0.0, omega)
    return frames.track_coordinates(m.terrain.site, r_mcmf)


def _imu_readback(triad, packed):
    return lambda m: float(m.imu[triad][packed])


def _engine(m, path):
    """The engine record a main-engine path names (the only one, or main_engine[i])."""
    match = field_paths.ENGINE.match(path)
    return m.engines[int(match[1]) if match else 0]


def _engine_field(packed):
    return lambda m, path: float(_engine(m, path)[packed])


def _engine_misalignment(m, path):
    return math.acos(min(1.0, _engine(m, path)["direction_body"][2]))


def _engine_azimuth(m, path):
    d = _engine(m, path)["direction_body"]
    return math.atan2(d[1], d[0])


ENGINE_READBACK = {
    "max_thrust": _engine_field("max_thrust_n"),
    "isp": _engine_field("isp_s"),
    "time_constant": _engine_field("time_constant_s"),
    "misalignment": _engine_misalignment,
    "misalignment_azimuth": _engine_azimuth,
    "throttle_min": _engine_field("throttle_min"),
    "throttle_max": _engine_field("throttle_max"),
    "position": lambda m, path: tuple(float(v) for v in _engine(m, path)["position_m"]),
}
FAULT_READBACK = {
    "duration": "duration_s",
    "value": "value",
    "rate": "rate",
    "factor": "factor",
    "fraction": "fraction",
    "delay": "delay_s",
    "trigger": "trigger_value",
}


# How to find each dispersible field in the packed model: the read-back is what the compiled
# code actually uses (the PDI state x0 and the orbit state it was offset from), and it is what
# campaigns record.
READBACK = {
    "vehicle.dry_mass": lambda m: float(m.mass["dry_mass_kg"]),
    "vehicle.propellant_mass": lambda m: float(m.x0[truth.X_MASS] - m.mass["dry_mass_kg"]),
    "vehicle.dry_com": lambda m: tuple(float(v) for v in m.mass["dry_com_m"]),
    "vehicle.dry_inertia": lambda m: tuple(float(v) for v in np.diag(m.mass["dry_inertia_kgm2"])),
    "initial.descent_orbit.periapsis_altitude": lambda m: float(
        np.linalg.norm(m.pdi_orbit_mci[0:3]) - m.terrain.site["map_radius_m"]
    ),
    "initial.descent_orbit.downrange_to_site": lambda m: -_pdi_track(m)[0],
    "initial.descent_orbit.crossrange": lambda m: _pdi_track(m)[1],
    "initial.position_offset": lambda m: tuple(float(v) for v in _pdi_offsets(m)[0]),
    "initial.velocity_offset": lambda m: tuple(float(v) for v in _pdi_offsets(m)[1]),
    "initial.attitude_offset": _attitude_offset,
    "vehicle.propellant_capacity": lambda m: float(m.mass["propellant_capacity_kg"]),
    "vehicle.propellant_com": lambda m: tuple(float(v) for v in m.mass["propellant_com_m"]),
    "vehicle.propellant_inertia": lambda m: tuple(
        float(v) for v in np.diag(m.mass["propellant_inertia_full_kgm2"])
    ),
    "vehicle.contact_probe_length": lambda m: float(m.run["probe_length_m"]),
    **{
        f"sensors.imu.{triad}.{field}": _imu_readback(triad, packed)
        for triad in ("accelerometer", "gyro")
        for field, packed in (
            ("bias", "bias_sigma"),
            ("bias_instability", "bias_walk"),
            ("noise_density", "noise_density"),
            ("scale_factor", "scale_factor_sigma"),
            ("misalignment", "misalignment_sigma_rad"),
            ("quantum", "quantum"),
            ("saturation", "saturation"),
        )
    },
}


def read_back(m, paths):
    """{path: value the model uses} for the given dispersed fields."""
    return {path: _read(m, path) for path in paths}


def _read(m, path):
    section, _, rest = path.partition(".")
    name, _, field = rest.partition(".")
    if path.startswith("vehicle.main_engine"):
        return ENGINE_READBACK[path.rpartition(".")[2]](m, path)
    if section == "faults":
        row = m.faults[m.fault_names.index(name)]
        return float(row[FAULT_READBACK[field]])
    if section == "sensors" and name != "imu":
        channel = next(c for c in m.channels if c.name == name)
        return float(channel.truth[registry.kind(channel.kind).DISPERSIBLE[field][1]])
    return READBACK[path](m)


def occurrences(b, k):
    """{"faults.<name>.occurs": whether it occurs} of run k of a batch."""
    return {
        f"faults.{name}.occurs": bool(row["occurs"])
        for name, row in zip(b.models[k].fault_names, b.per_run.faults[k], strict=True)
    }
