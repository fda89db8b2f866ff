"""Scenario files: TOML with quantities in units, validated field by field into SI.

`load(source)` takes a path, the name of a bundled scenario (`sims/scenarios/NAME.toml`) or a
dict, and returns a `Scenario` (pydantic model, SI floats) or raises `ScenarioError` with one
sentence naming the file, the field path and what was expected.
"""

import difflib
import itertools
import json
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    WrapValidator,
    field_validator,
    model_validator,
)

from dynamics import (
    frames,
    gravity,
    initial_state,
    mass_properties,
    propulsion,
    terrain_section,
    touchdown,
)
from dynamics.units import (
    Direction,
    LengthVector,
    NonNegativeAngle,
    Number,
    PositiveAngularRate,
    PositiveFrequency,
    PositiveLength,
    PositiveRate,
    PositiveTime,
    SpeedVector,
    Strict,
    Time,
    steps_per_sample,
)
from faults import table as fault_table
from gnc.interface import forms
from sensors import imu, registry
from sims.run import recorder, records
from sims.scenarios import field_paths
from uncertainty import copula, distributions


class ScenarioError(Exception):
    """A scenario that cannot be used; the message is one sentence for the user."""


# What one run may ask of the machine; beyond these a scenario is refused before anything is
# allocated (one sentence with the figure).
MAX_STEPS = 50_000_000  # truth steps of one run (~30 s of compute on the nominal)
MAX_TRACE_BYTES = 2**30  # one run's trace
MAX_CHANNELS = 32


class Vehicle(touchdown.LandingGear, propulsion.Propulsion, mass_properties.MassSection):
    """`[vehicle]`: its mass properties (`dynamics.mass_properties`), main engines and RCS
    (`dynamics.propulsion`), landing gear and contact probes (`dynamics.touchdown`)."""


class Simulation(Strict):
    time_step: PositiveTime = 0.01
    max_time: PositiveTime = 900.0
    output_rate: PositiveFrequency = 10.0
    max_body_rate: PositiveAngularRate = 6.283185307179586  # 1 rev/s: beyond it, diverged

    @model_validator(mode="after")
    def _fits_a_run(self):
        if self.time_step > self.max_time:
            raise ValueError("time_step must not exceed max_time")
        steps = self.max_time / self.time_step
        if steps > MAX_STEPS:
            raise ValueError(
                f"max_time / time_step = {steps:.3g} truth steps: a run is limited to "
                f"{MAX_STEPS:.0e} (refused as it would take hours)"
            )
        if self.output_rate * self.time_step > 1.0 + 1e-9:
            raise ValueError("output_rate must not exceed the truth rate 1 / time_step")
        trace = (self.max_time * self.output_rate + 3) * records.TRACE_DTYPE.itemsize
        if trace > MAX_TRACE_BYTES:
            raise ValueError(
                f"max_time x output_rate needs a {trace / 2**30:.3g} GiB trace: at most 1 GiB"
            )
        return self


class ScheduleRow(Strict):
    t: Time
    throttle: Number = Field(ge=0.0, le=1.0)  # 0 = engine off
    direction: Direction  # thrust direction in local (downrange, crossrange, up) axes


class Control(Strict):
    """Attitude and throttle control, shared by the flight software and the open-loop hold."""

    rate: PositiveFrequency = 10.0
    attitude_natural_frequency: PositiveRate = 1.0
    attitude_damping_ratio: Number = Field(default=0.8, gt=0.0, le=10.0)
    max_slew_rate: PositiveAngularRate = 0.17453292519943295  # 10 deg/s


class OpenLoop(Strict):
    attitude: Literal["ideal", "rcs"] = "ideal"
    schedule: tuple[ScheduleRow, ...] = Field(min_length=1, max_length=10_000)

    @model_validator(mode="after")
    def _increasing_times(self):
        times = [row.t for row in self.schedule]
        if any(b <= a for a, b in itertools.pairwise(times)):
            raise ValueError("schedule times must increase strictly from row to row")
        return self


class Navigation(Strict):
    terrain_model: Literal["flat", "map"] = "map"
    map_resolution: PositiveLength = 25.0  # onboard map: the terrain tiles at least this coarse
    initial_position_error: LengthVector  # 1 sigma (downrange, crossrange, up) at PDI
    # an error of the PDI position the flight software is handed that its covariance does not
    # know (a wrong uplinked state: Apollo 11's ~3 nmi from unmodelled venting), same axes
    initial_position_bias: LengthVector = (0.0, 0.0, 0.0)
    initial_velocity_error: SpeedVector
    initial_attitude_error: NonNegativeAngle


# A sensor channel: a table with a 'kind', validated by that kind's Spec (`sensors.registry`).
Channel = Annotated[Any, WrapValidator(registry.validate_channel), registry.REGISTRY]


class Sensors(BaseModel):
    """The IMU, and any number of sensor channels by name: `[sensors.<name>]` with a `kind`."""

    model_config = ConfigDict(extra="allow", frozen=True, allow_inf_nan=False)
    __pydantic_extra__: dict[str, Channel]
    EXTRA_TABLES: ClassVar = registry.REGISTRY  # the channels, each table a kind's Spec
    imu: imu.Imu

    @property
    def channels(self):
        """{name: kind Spec} of the channels, in the order of the file."""
        return dict(self.model_extra or {})

    @model_validator(mode="after")
    def _a_few_channels(self):
        if len(self.channels) > MAX_CHANNELS:
            raise ValueError(f"{len(self.channels)} sensor channels: at most {MAX_CHANNELS}")
        return self


class Dispersion(BaseModel):
    """A scipy.stats distribution by name; the other keys are its parameters."""

    model_config = ConfigDict(extra="allow", frozen=True)
    distribution: str

    @property
    def parameters(self):
        return dict(self.model_extra or {})


class Meta(Strict):
    name: str  # names the default output folder: letters, digits, '.', '_', '-'
    description: str = ""

    @field_validator("name")
    @classmethod
    def _a_folder_name(cls, name):
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", name):
            raise ValueError(
                f"{name!r} must be 1 to 100 letters, digits, '.', '_' or '-', starting with a "
                "letter or digit (it names the default output folder)"
            )
        return name


class Scenario(Strict):
    meta: Meta
    moon: gravity.Moon = gravity.Moon()
    site: frames.Site
    initial: initial_state.Initial
    vehicle: Vehicle
    touchdown_limits: touchdown.Limits = touchdown.Limits()
    simulation: Simulation = Simulation()
    terrain: terrain_section.Terrain
    control: Control = Control()
    open_loop: OpenLoop | None = None
    flight_software: Annotated[Any, WrapValidator(forms.validate), forms.REGISTRY] = None
    navigation: Navigation | None = None
    sensors: Sensors | None = None
    faults: tuple[fault_table.Fault, ...] = Field(default=(), max_length=64)
    dispersions: dict[str, Dispersion] = Field(default_factory=dict)
    # [dispersions.correlation], kept apart from the fields (`_correlation_apart`)
    correlation: copula.Correlation | None = Field(
        None, alias="dispersions.correlation", exclude=True
    )
    record: recorder.Record | None = None

    @model_validator(mode="before")
    @classmethod
    def _correlation_apart(cls, data):
        """[dispersions.correlation] is a table of the dispersions, not a dispersed field."""
        dispersions = data.get("dispersions") if isinstance(data, dict) else None
        if isinstance(dispersions, dict) and "correlation" in dispersions:
            fields = {k: v for k, v in dispersions.items() if k != "correlation"}
            data = {
                **data,
                "dispersions": fields,
                "dispersions.correlation": dispersions["correlation"],
            }
        return data

    @property
    def channel_names(self):
        return tuple(self.sensors.channels) if self.sensors is not None else ()

    @model_validator(mode="after")
    def _dems_cover_their_tiles(self):
        terrain_section.check_dems(self.site, self.terrain)
        return self

    @model_validator(mode="after")
    def _faults_are_usable(self):
        names = [f.name for f in self.faults]
        for i, fault in enumerate(self.faults):
            if names.index(fault.name) != i:
                raise ValueError(f"faults[{i}]: the name {fault.name!r} is used twice")
            try:
                fault_table.check(
                    fault,
                    self.channel_names,
                    names,
                    len(self.vehicle.engines),
                    len(self.vehicle.rcs.thrusters),
                )
                fault_table.pack(fault, field_paths.channel_unit(self), self.channel_names, names)
            except ValueError as exc:
                raise ValueError(f"faults[{i}] ({fault.name}): {exc}") from None
        return self

    @model_validator(mode="after")
    def _dispersions_are_usable(self):
        for path, spec in self.dispersions.items():
            try:
                unit = field_paths.unit(self, path)
                nominal = field_paths.value(self, path)
            except ValueError as exc:
                raise ValueError(f"dispersions: {exc}") from None
            if nominal is None:
                raise ValueError(f"dispersions: {path!r} is not in this scenario")
            vector = isinstance(nominal, tuple)
            for i, value in enumerate(nominal if vector else (nominal,)):
                try:
                    distributions.check(
                        spec.distribution, spec.parameters, unit, value, i if vector else None
                    )
                except ValueError as exc:
                    raise ValueError(f"dispersions: {path!r}: {exc}") from None
        if self.correlation is not None:
            try:
                copula.Copula(self.correlation, field_paths.components(self, self.dispersions))
            except ValueError as exc:
                raise ValueError(f"field 'dispersions.correlation' is invalid: {exc}") from None
        return self

    @model_validator(mode="after")
    def _recording_fits(self):
        """The recorder's rate within the control rate, its patterns each picking a signal."""
        if self.record is None:
            return self
        dt = self.simulation.time_step
        every = steps_per_sample(self.record.rate, dt, "record.rate")
        if every < steps_per_sample(self.control.rate, dt, "control.rate"):
            raise ValueError(
                f"field 'record.rate': {self.record.rate:g} Hz is faster than the control "
                f"rate {self.control.rate:g} Hz (what the flight software reports changes "
                "only at its cycles)"
            )
        try:
            recorder.signals_of(self)
        except ValueError as exc:
            raise ValueError(f"field 'record.signals': {exc}") from None
        return self

    @model_validator(mode="after")
    def _flight_software_fits(self):
        """A form's checks across sections (an FMU's channel signals, say)."""
        fs = self.flight_software
        check = getattr(forms.form(fs.kind), "check", None) if fs is not None else None
        if check is not None and self.sensors is not None:
            try:
                check(fs, self)
            except ValueError as exc:
                raise ValueError(f"field 'flight_software' is invalid: {exc}") from None
        return self

    @model_validator(mode="after")
    def _one_way_to_fly(self):
        if (self.open_loop is None) == (self.flight_software is None):
            raise ValueError("give exactly one of 'open_loop' or 'flight_software'")
        if self.flight_software is not None and (self.navigation is None or self.sensors is None):
            raise ValueError("'flight_software' needs 'navigation' and 'sensors' sections")
        return self

    @model_validator(mode="after")
    def _rates_fit_the_truth_step(self):
        """Every rate is the truth rate divided by a whole number; sensor channels sample at
        flight-software cycles."""
        dt = self.simulation.time_step
        control = steps_per_sample(self.control.rate, dt, "control.rate")
        if self.sensors is not None:
            steps_per_sample(self.sensors.imu.rate, dt, "sensors.imu.rate")
            for name, spec in self.sensors.channels.items():
                steps_per_sample(spec.rate, dt, f"sensors.{name}.rate", control)
        return self


def bundled_names():
    """Names of the scenarios shipped with the package."""
    folder = resources.files("sims") / "scenarios"
    return sorted(
        p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")
    )


MAX_BASE_DEPTH = 8  # scenarios built on scenarios, at the most


def read_text(source):
    """(label, text) of a scenario given as a path or a bundled scenario name: its TOML, or,
    for a scenario built on another (`base`), the resolved scenario as JSON (so that a
    campaign records, and a resume compares, what was flown)."""
    label, text, folder = _read(source)
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return label, text  # parse_text says what is wrong
    anchored = _anchor_paths(data, folder)
    if "base" in data:
        data = _resolved(data, label, folder, depth=1)
    elif not anchored:
        return label, text
    return label, json.dumps(data, default=str)


def _anchor_paths(data, folder):
    """Make the relative file paths of a scenario dict (its tiles' DEMs, its flight
    software's file) relative to its file's folder; True if any was."""
    tiles = data.get("terrain", {}).get("tiles", []) if isinstance(data, dict) else []
    software = data.get("flight_software") if isinstance(data, dict) else None
    tables = [(software, "path")] + [(t, "dem") for t in (tiles if isinstance(tiles, list) else [])]
    anchored = [_anchor(table, key, folder) for table, key in tables]  # each, not the first
    return any(anchored)


def _anchor(table, key, folder):
    """Make table[key], a relative file path, relative to folder; True if it was."""
    path = table.get(key) if isinstance(table, dict) else None
    if isinstance(path, str) and folder is not None and not Path(path).is_absolute():
        table[key] = str(folder / path)
        return True
    return False


def read_data(source):
    """(label, dict) of a scenario given as a path or a bundled scenario name (resolved over
    its base, if it is built on one)."""
    label, text = read_text(source)
    return label, _data(text, label)


def _data(text, label):
    """The dict of a scenario's TOML text, or of the JSON `read_text` resolves a scenario
    built on another to."""
    if text.lstrip().startswith("{"):
        return json.loads(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{label}: not valid TOML: {exc}.") from None
    except RecursionError:
        raise ScenarioError(f"{label}: its values are nested too deeply to be read.") from None


def _read(source, label_of_includer=None):
    """(label, TOML text, folder a relative base is found in) of a path or bundled name."""
    path = Path(source)
    where = f"{label_of_includer}: field 'base': " if label_of_includer else ""
    if path.is_file():
        try:
            return str(path), path.read_text(encoding="utf-8"), path.resolve().parent
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                f"{where}{path}: not UTF-8 text (byte {exc.start}); a scenario is a TOML text file."
            ) from None
        except OSError as exc:
            raise ScenarioError(f"{where}{path}: cannot be read ({exc.strerror}).") from None
    bundled = resources.files("sims") / "scenarios" / f"{source}.toml"
    if bundled.is_file():
        return f"{source} (bundled)", bundled.read_text(encoding="utf-8"), None
    names = ", ".join(bundled_names())
    raise ScenarioError(
        f"{where}{source}: no such file, and no bundled scenario of that name ({names})."
    )


def _resolved(data, label, folder, depth):
    """A scenario dict (its DEM paths anchored) built on its `base`: the base (itself anchored
    and resolved) without the dotted paths listed in `remove` (and the dispersions under
    them), with this file's tables merged over it key by key (other values, arrays included,
    replace the base's)."""
    base = data.pop("base")
    remove = data.pop("remove", [])
    if depth > MAX_BASE_DEPTH:
        raise ScenarioError(
            f"{label}: field 'base': scenarios built on more than "
            f"{MAX_BASE_DEPTH} others (a cycle?)."
        )
    if not isinstance(base, str):
        raise ScenarioError(f"{label}: field 'base' must be a scenario name or path (a string).")
    if not isinstance(remove, list) or not all(isinstance(r, str) for r in remove):
        raise ScenarioError(f"{label}: field 'remove' must be a list of dotted paths (strings).")
    relative = folder / base if folder is not None and not Path(base).is_absolute() else None
    base_label, text, base_folder = _read(
        relative if relative is not None and relative.is_file() else base, label
    )
    inherited = _data(text, base_label)
    _anchor_paths(inherited, base_folder)
    if "base" in inherited:
        inherited = _resolved(inherited, base_label, base_folder, depth + 1)
    for path in remove:
        *parents, leaf = path.split(".")
        table = inherited
        for key in parents:
            table = table.get(key) if isinstance(table, dict) else None
        if not isinstance(table, dict) or leaf not in table:
            raise ScenarioError(
                f"{label}: field 'remove': {path!r} is not in its base {base_label}."
            )
        del table[leaf]
        dispersions = inherited.get("dispersions", {})
        for key in [k for k in dispersions if k.startswith(path + ".")]:
            del dispersions[key]
    return _merged(inherited, data)


def _merged(base, over):
    """base with over's keys merged in: tables recursively, anything else replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def load(source):
    """Validated Scenario from a path, a bundled name or a dict."""
    if isinstance(source, Scenario):
        return source
    if isinstance(source, dict):
        return parse(source, "<dict>")
    label, text = read_text(source)
    return parse_text(text, label)


def parse_text(text, label, record=None):
    """Validated Scenario from TOML text, or from the JSON `read_text` resolves a scenario
    built on another to; label names it in error messages. record, if given, overrides fields
    of its `[record]` section (what `descent mc --record ...` asks)."""
    data = _data(text, label)
    if record:
        kept = data.get("record")
        data = {**data, "record": {**(kept if isinstance(kept, dict) else {}), **record}}
    return parse(data, label)


def parse(data, label, context=None):
    try:
        return Scenario.model_validate(data, context=context)
    except ValidationError as exc:
        raise ScenarioError(describe(exc, label)) from None
    except RecursionError:
        raise ScenarioError(f"{label}: its values are nested too deeply.") from None


def describe(exc: ValidationError, label: str) -> str:
    """One sentence for the most telling problem found (and how many more there are).

    An unknown key is reported before anything else, with the missing field it was probably
    meant to be: a typo shows up as both, and the typo is the cause.
    """
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    path = ".".join(str(p) for p in first["loc"])
    kind = first["type"]
    if kind == "missing":
        what = "is missing"
    elif kind == "extra_forbidden":
        what = "is not a known field" + _suggestion(first, errors)
    else:
        what = first["msg"].removeprefix("Value error, ")
        what = what[0].lower() + what[1:]
        what = f"is invalid: {what}"
    more = f" ({len(errors) - 1} more problem{'s' if len(errors) > 2 else ''} after it)"
    more = more if len(errors) > 1 else ""
    if not path:  # a check across sections: its message names what it is about
        return _shown(f"{label}: {first['msg'].removeprefix('Value error, ')}{more}.")
    return _shown(f"{label}: field '{path}' {what}{more}.")


# Fields a scenario may still carry from an earlier version: why each is gone.
REMOVED_FIELDS = {  # a sensor channel's field under any channel name: ("sensors", "*", field)
    ("navigation", "map_height_error"): "the onboard map's error is now derived from the "
    "terrain's crater statistics (remove it)",
    ("sensors", "*", "max_range"): "a laser's reach now follows its link budget (laser_power, "
    "receiver_aperture, optics_transmission, sensitivity: sensors/README.md; remove it)",
    ("sensors", "*", "noise_fraction"): "a laser's range noise now follows its signal "
    "(noise, noise_at_threshold; remove it)",
}


def _shown(sentence):
    """A sentence with the characters that are not printable (line and paragraph separators,
    carriage returns, vertical tabs, in a key or value it quotes) escaped: it stays one line
    and says what the file holds."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in sentence)


def _suggestion(unknown, errors):
    parent, key = unknown["loc"][:-1], str(unknown["loc"][-1])
    loc = tuple(str(p) for p in unknown["loc"])
    removed = REMOVED_FIELDS.get(loc) or REMOVED_FIELDS.get(("sensors", "*", *loc[2:]))
    if removed:
        return f": {removed}"
    missing = [
        str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent
    ]
    close = difflib.get_close_matches(key, missing, n=1)
    return f" (did you mean '{close[0]}'?)" if close else " (check the spelling)"
