"""Registries of compiled plug-ins: sensor kinds (`sensors.registry`), flight-software forms
(`gnc.interface.forms`), our guidance laws and FDIR functions. A plug-in is one module that
holds what its contract asks (its NAME, its schema, its records, its compiled functions),
registered by module name: the bundled ones, those an environment variable lists
(comma-separated), and those registered from Python or named in a scenario.

A module's compiled functions are reached from the compiled loop through C-callable entry
points, generated here from a template into a module beside the Numba cache (its file name
carries a hash of the plug-in's source, so an edited plug-in compiles afresh, and its
`numba.cfunc`s are cached on disk like everything else). The loop, compiled once, calls them
through their addresses: adding or editing a plug-in never recompiles it.
"""

import hashlib
import importlib
import os
import threading
from pathlib import Path

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from dynamics import compile_cache


class PluginError(Exception):
    """A plug-in that cannot be registered; the message is one sentence for the user."""


class Registry:
    """The plug-ins of one contract. what: what a plug-in is, in messages ("sensor kind");
    bundled: module names always registered; variable: the environment variable declaring
    more; contract: the names a module must define (a tuple of names: one of them); error:
    the PluginError subclass it raises; check(module): a ValueError with more the contract
    asks, or None; key: the scenario's word for a plug-in's name."""

    def __init__(
        self, what, bundled, variable, contract, error=PluginError, check=None, key="kind"
    ):
        self.what, self.bundled, self.variable, self.key = what, tuple(bundled), variable, key
        self.contract, self.error, self.check = tuple(contract), error, check
        self._modules, self._entries = {}, {}
        self._declared_loaded = False
        self._lock = threading.RLock()

    def register(self, module_name):
        """Register the plug-in a module defines (by its importable name); return the module."""
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise self.error(
                f"{self.what} module {module_name!r} cannot be imported: {exc}"
            ) from None
        missing = [
            names[0] if isinstance(names, tuple) else names
            for names in self.contract
            if not any(
                hasattr(module, n) for n in (names if isinstance(names, tuple) else (names,))
            )
        ]
        if missing:
            raise self.error(f"{module_name} is not a {self.what}: it lacks {', '.join(missing)}")
        if self.check is not None:
            try:
                self.check(module)
            except ValueError as exc:
                raise self.error(f"{module_name}: {exc}") from None
        with self._lock:
            other = self._modules.get(module.NAME)
            if other is not None and other is not module:
                if other.__name__ != module.__name__:
                    raise self.error(
                        f"{self.what} {module.NAME!r} of {module_name} is already registered "
                        f"by {other.__name__}"
                    )
                self._entries.pop(module.NAME, None)  # the module reloaded: its own entries
            self._modules[module.NAME] = module
        return module

    def modules(self):
        """{name: module} of every registered plug-in (the bundled and declared ones first)."""
        with self._lock:
            if not self._declared_loaded:
                self._declared_loaded = True
                declared = os.environ.get(self.variable, "")
                for name in (*self.bundled, *(m.strip() for m in declared.split(",") if m.strip())):
                    self.register(name)
            return dict(self._modules)

    def get(self, name, hint=""):
        """The module of a registered plug-in; KeyError naming the registered ones."""
        known = self.modules()
        if name not in known:
            raise KeyError(
                f"{self.key} {name!r} is not a registered {self.what} "
                f"({', '.join(sorted(known))}){hint}"
            )
        return known[name]

    def declared_modules(self, names):
        """Module names of the named plug-ins that are not bundled (to register elsewhere)."""
        return tuple(sorted({self.get(n).__name__ for n in names} - set(self.bundled)))

    def identity(self, name):
        """What a registered plug-in's results depend on, as text: its name, its module and a
        hash of the module's source (part of a campaign's code identity)."""
        module = self.get(name)
        return f"{name}:{module.__name__}:{source_digest(module)}"

    def entry_module(self, name, folder, template, **fields):
        """The generated module of a plug-in's entry points (compiled or loaded once):
        template formatted with its `module`, `name`, `path` and the given fields."""
        with self._lock:
            if name not in self._entries:
                module = self.get(name)
                source = template.format(
                    name=module.NAME, module=module.__name__, path=module.__file__, **fields
                )
                stem = f"{module.__name__.replace('.', '_')}_{source_digest(module)}"
                self._entries[name] = compile_cache.generated_module(folder, stem, source)
            return self._entries[name]


def file_digest(path):
    """Hash of a file's content (16 hex digits)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def source_digest(module):
    """Hash of a plug-in module's source: it names the entry points compiled from it."""
    return file_digest(module.__file__)


_VOID_POINTER = ir.IntType(8).as_pointer()


@intrinsic
def call(typingctx, entry, addresses):
    """Call the entry point at address `entry` (int64) with a tuple of addresses (int64) as
    its pointer arguments: how compiled code reaches a plug-in's entry points."""
    count = len(addresses)

    def codegen(context, builder, signature, args):
        function_type = ir.FunctionType(ir.VoidType(), [_VOID_POINTER] * count)
        function = builder.inttoptr(args[0], function_type.as_pointer())
        pointers = [builder.extract_value(args[1], i) for i in range(count)]
        builder.call(function, [builder.inttoptr(p, _VOID_POINTER) for p in pointers])
        return context.get_dummy_value()

    return types.void(entry, addresses), codegen
