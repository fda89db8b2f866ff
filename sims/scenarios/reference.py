"""The scenario reference: every section and field a scenario may hold, generated from the schema
itself (the subsystems' sections, the sensor kinds', the flight-software forms', the guidance
laws' and the FDIR functions'): its type and SI unit, its range, its default, whether campaigns
may disperse it, and what it is (the section's docstring, the field's comment in the code);
and the fault modes, from the fault families' declarations.
`sims/scenarios/REFERENCE.md` is this text; a test keeps it so.

    python -m sims.scenarios.reference > sims/scenarios/REFERENCE.md
"""

import importlib
import inspect
import io
import re
import tokenize
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from dynamics import plugins
from dynamics.units import Unit
from faults import table as fault_table
from sensors import registry
from sims.scenarios import field_paths
from sims.scenarios.scenario import Scenario

PATH = Path(__file__).parent / "REFERENCE.md"
HEADER = """# Scenario reference

Generated from the schema by `python -m sims.scenarios.reference` (`sims/scenarios/reference.py`);
a test fails when it differs from the code. Quantities are written with units ("15 km",
"2 deg", "10 ms") and stored in SI; the unit column is that SI unit. *Dispersible* fields may
be named in `[dispersions]` (README, "Dispersions"). Sections are tables of a TOML scenario;
`[[name]]` is an array of tables.
"""
BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
ARRAY = " (array)"  # the note of a section that is an array of tables


def text():
    """The reference as Markdown."""
    out = [HEADER]
    _section(out, Scenario, "", "", {})
    out += [
        "## Fault modes",
        "",
        "What each target family's modes need, may take and do, and how a run they fire in is "
        "classed (`faults/`, one module per family, each mode declared once):",
        "",
        fault_table.modes_markdown(),
    ]
    return "\n".join(out).rstrip() + "\n"


def _section(out, model, path, note, seen):
    """A section's table of fields, then its subsections (a section met before is named, not
    repeated: seen maps each model to its first heading)."""
    array = note.endswith(ARRAY)
    heading = (f"`[[{path}]]`" if array else f"`[{path}]`") if path else "the scenario"
    note = note.removesuffix(ARRAY)
    kind = model.model_fields.get("kind")
    if kind is not None and typing.get_origin(kind.annotation) is typing.Literal and not note:
        note = f': kind = "{typing.get_args(kind.annotation)[0]}"'
    if model in seen:
        if seen[model] != heading:
            out += [f"## {heading}{note}", "", f"As {seen[model]}.", ""]
        return
    seen[model] = heading
    out += [f"## {heading}{note}", ""]
    doc = inspect.getdoc(model) if model.__doc__ else ""
    if doc and not doc.startswith("!!!"):
        out += [doc, ""]
    comments = _comments(model)
    rows, nested = [], []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = field.alias or name
        sub = f"{path}.{key}" if path else key
        what, children = _kind(field.annotation, field.metadata, sub)
        nested += children
        rows.append(
            f"| `{key}` | {what} | {_range(field)} | {_default(field)} | "
            f"{_dispersible(sub, name, model)} | {comments.get(name, '')} |"
        )
    if rows:
        out += [
            "| field | type, SI unit | range | default | dispersible | what |",
            "|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    extra = getattr(model, "EXTRA_TABLES", None)
    if isinstance(extra, plugins.Registry):
        named = (
            f"each named by you, with its `{extra.key}`"
            if extra.key == "kind"
            else "named after it"
        )
        out += [f"Further tables, a registered {extra.what} each, {named}.", ""]
        nested += _plugged(extra, path, extra=True)
    for child_path, child, child_note in nested:
        _section(out, child, child_path, child_note, seen)


def _plugged(registry, path, extra=False):
    """(path, Spec, note) of each bundled plug-in of a registry: the table at path, which names
    its plug-in by the registry's key; or, extra, the further tables of the section at path,
    each named by the user (a sensor channel, with its `kind`) or after its plug-in."""
    found = []
    for module_name in registry.bundled:
        module = importlib.import_module(module_name)
        if not extra:
            found.append((path, module.Spec, f': {registry.key} = "{module.NAME}"'))
        elif registry.key == "kind":
            found.append((f"{path}.<name>", module.Spec, f': kind = "{module.NAME}"'))
        else:
            found.append((f"{path}.{module.NAME}", module.Spec, f": a {registry.what}"))
    return found


def _kind(annotation, metadata, path):
    """(words for a field's type and unit, [(path, model, note)] of the sections it holds)."""
    for m in metadata:
        if isinstance(m, Unit):
            return (f"3 x {m.si_unit}" if m.vector else m.si_unit or "number"), []
        if isinstance(m, plugins.Registry):
            return f"table: a {m.what}, by `{m.key}`", _plugged(m, path)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _kind(args[0], list(args[1:]) + list(metadata), path)
    if origin in (typing.Union, types.UnionType):
        kinds = [_kind(a, [], path) for a in args if a is not type(None)]
        words = " or ".join(k for k, _ in kinds)
        return words + (" (optional)" if type(None) in args else ""), [
            c for _, children in kinds for c in children
        ]
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args), []
    if origin is tuple and args and args[-1] is Ellipsis:
        item, children = _kind(args[0], [], path)
        if isinstance(args[0], type) and issubclass(args[0], BaseModel):
            return f"array of `[[{path}]]`", [(path, args[0], ARRAY)]
        if children:
            return f"array of `[[{path}]]`", [(p, c, n + ARRAY) for p, c, n in children]
        return f"list of {item}", children
    if origin is tuple:
        return "(" + ", ".join(_kind(a, [], path)[0] for a in args) + ")", []
    if origin is dict:
        return "table", []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return f"table `[{path}]`", [(path, annotation, "")]
    names = {float: "number", int: "integer", bool: "true or false", str: "text"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation))), []


def _range(field):
    metadata = _all_metadata(field.annotation, field.metadata)
    words = [
        f"{sign} {getattr(m, attr):g}"
        for m in metadata
        for attr, sign in BOUNDS
        if getattr(m, attr, None) is not None
    ]
    words += [
        f"{n} {getattr(m, attr)}"
        for m in metadata
        for attr, n in (("min_length", "at least"), ("max_length", "at most"))
        if getattr(m, attr, None) is not None
    ]
    words += [m.range for m in metadata if isinstance(m, Unit) and m.range]
    return ", ".join(dict.fromkeys(words))


def _all_metadata(annotation, metadata):
    """A field's metadata and that of the types it is made of (an optional quantity's)."""
    found = list(metadata)
    if typing.get_origin(annotation) is typing.Annotated:
        found += list(typing.get_args(annotation)[1:])
    for arg in typing.get_args(annotation):
        if typing.get_origin(arg) is typing.Annotated:
            found += _all_metadata(typing.get_args(arg)[0], typing.get_args(arg)[1:])
    return found


def _default(field):
    if field.is_required():
        return "required"
    value = field.default if field.default is not PydanticUndefined else field.default_factory()
    if isinstance(value, BaseModel):
        return "its defaults"
    if value in ((), {}, None):
        return "none" if value is None else "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float):
        return f"{value:.6g}"
    return f'`"{value}"`' if isinstance(value, str) else f"`{value}`"


def _dispersible(path, name, model):
    """ "yes" for a field campaigns may disperse: the subsystems' (`sims.scenarios.field_paths`), a
    sensor kind's, a fault's."""
    kinds = [k for k in registry.kinds().values() if k.Spec is model]
    if path in field_paths.STATIC or (kinds and name in kinds[0].DISPERSIBLE):
        return "yes"
    return "yes" if path.startswith("faults.") and name in fault_table.DISPERSIBLE else ""


def _comments(model):
    """{field: its comment in the code}: the comment at the end of its line, or those just
    above it."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    found, above = {}, []
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    lines = source.splitlines()
    for tok in tokens:
        if tok.type != tokenize.COMMENT:
            continue
        line = lines[tok.start[0] - 1]
        text = tok.string.lstrip("#").strip()
        match = re.match(r"\s+(\w+)\s*:", line)
        if match and tok.start[1] > len(line) - len(line.lstrip()):
            found[match[1]] = " ".join([*above, text]).strip()
            above = []
        elif line.strip().startswith("#"):
            nxt = lines[tok.start[0]] if tok.start[0] < len(lines) else ""
            above.append(text)
            field = re.match(r"\s+(\w+)\s*:", nxt)
            if field and not nxt.strip().startswith("#"):
                found.setdefault(field[1], " ".join(above))
                above = []
    return {k: v.replace("|", "\\|") for k, v in found.items()}


if __name__ == "__main__":
    print(text(), end="")
