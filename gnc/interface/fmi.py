"""FMI 2.0 co-simulation from compiled code: an FMU's model description read and checked, its
binary loaded once per process, and its C functions called through their addresses.

FMI 2.0 (Modelica Association, "Functional Mock-up Interface for Model Exchange and
Co-Simulation", version 2.0.4, 2022): an FMU is a zip holding `modelDescription.xml` (the
variables by name, value reference, causality, type and unit) and `binaries/<platform>/
<modelIdentifier>.so` exporting `fmi2Instantiate`, `fmi2SetReal`, `fmi2DoStep`, ... FMPy
(`fmpy.read_model_description`) reads and validates the description. Each call here takes
the function's address (an int64) and its arguments as the C function does: a component and
addresses as int64, `fmi2Real` as double, `fmi2Integer`/`fmi2Boolean`/`fmi2Status` as int32.
"""

import ctypes
import functools
import sys
import threading
import zipfile
from pathlib import Path

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from dynamics import compile_cache, plugins

FUNCTIONS = (
    "fmi2Instantiate",
    "fmi2FreeInstance",
    "fmi2SetupExperiment",
    "fmi2EnterInitializationMode",
    "fmi2ExitInitializationMode",
    "fmi2Terminate",
    "fmi2SetReal",
    "fmi2SetInteger",
    "fmi2SetBoolean",
    "fmi2GetReal",
    "fmi2GetInteger",
    "fmi2GetBoolean",
    "fmi2DoStep",
)
(
    INSTANTIATE,
    FREE_INSTANCE,
    SETUP_EXPERIMENT,
    ENTER_INITIALIZATION_MODE,
    EXIT_INITIALIZATION_MODE,
    TERMINATE,
    SET_REAL,  # then SetInteger, SetBoolean: by FMI type (Real, Integer, Boolean)
    SET_INTEGER,
    SET_BOOLEAN,
    GET_REAL,  # likewise
    GET_INTEGER,
    GET_BOOLEAN,
    DO_STEP,
) = range(len(FUNCTIONS))
STATUSES = ("fmi2OK", "fmi2Warning", "fmi2Discard", "fmi2Error", "fmi2Fatal", "fmi2Pending")
OK, WARNING = 0, 1  # a status above WARNING ends the run
CO_SIMULATION = 1  # fmi2Type
PLATFORM = {"linux": "linux64", "darwin": "darwin64", "win32": "win64"}.get(sys.platform, "")
SUFFIX = {"linux64": ".so", "darwin64": ".dylib", "win64": ".dll"}.get(PLATFORM, ".so")

_P = ir.IntType(8).as_pointer()
_I32, _I64, _F64 = ir.IntType(32), ir.IntType(64), ir.DoubleType()


class FmuError(Exception):
    """An FMU that cannot be flown; the message is one sentence for the user."""


def _function(builder, address, returns, arguments):
    return builder.inttoptr(address, ir.FunctionType(returns, arguments).as_pointer())


def _pointers(builder, values):
    return [builder.inttoptr(v, _P) for v in values]


@intrinsic
def instantiate(typingctx, f, name, guid, resources, callbacks, logging):
    """fmi2Instantiate(name, fmi2CoSimulation, guid, resources, callbacks, visible = false,
    logging): the component's address (0: failed)."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], _P, [_P, _I32, _P, _P, _P, _I32, _I32])
        name_, guid_, resources_, callbacks_ = _pointers(builder, args[1:5])
        kind, visible = ir.Constant(_I32, CO_SIMULATION), ir.Constant(_I32, 0)
        logging_ = builder.trunc(args[5], _I32)
        out = builder.call(fn, [name_, kind, guid_, resources_, callbacks_, visible, logging_])
        return builder.ptrtoint(out, _I64)

    return types.int64(*[types.int64] * 6), codegen


@intrinsic
def free_instance(typingctx, f, component):
    """fmi2FreeInstance(component)."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], ir.VoidType(), [_P])
        builder.call(fn, _pointers(builder, args[1:]))
        return context.get_dummy_value()

    return types.void(types.int64, types.int64), codegen


@intrinsic
def on_component(typingctx, f, component):
    """fmi2Status f(component): enter or exit initialisation mode, terminate."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], _I32, [_P])
        return builder.sext(builder.call(fn, _pointers(builder, args[1:])), _I64)

    return types.int64(types.int64, types.int64), codegen


@intrinsic
def setup_experiment(typingctx, f, component, start_s):
    """fmi2SetupExperiment(component, no tolerance, 0, start_s, no stop time, 0)."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], _I32, [_P, _I32, _F64, _F64, _I32, _F64])
        no, zero = ir.Constant(_I32, 0), ir.Constant(_F64, 0.0)
        (component,) = _pointers(builder, args[1:2])
        return builder.sext(builder.call(fn, [component, no, zero, args[2], no, zero]), _I64)

    return types.int64(types.int64, types.int64, types.float64), codegen


@intrinsic
def transfer(typingctx, f, component, references, n, values):
    """fmi2Status f(component, value references, n, values): a Set or Get of Reals, Integers
    or Booleans (the values' C type is the function's)."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], _I32, [_P, _P, _I64, _P])
        component, references_, values_ = _pointers(builder, (args[1], args[2], args[4]))
        return builder.sext(builder.call(fn, [component, references_, args[3], values_]), _I64)

    return types.int64(*[types.int64] * 5), codegen


@intrinsic
def do_step(typingctx, f, component, t_s, h_s):
    """fmi2DoStep(component, t_s, h_s, noSetFMUStatePriorToCurrentPoint = true)."""

    def codegen(context, builder, signature, args):
        fn = _function(builder, args[0], _I32, [_P, _F64, _F64, _I32])
        (component,) = _pointers(builder, args[1:2])
        call = builder.call(fn, [component, args[2], args[3], ir.Constant(_I32, 1)])
        return builder.sext(call, _I64)

    return types.int64(types.int64, types.int64, types.float64, types.float64), codegen


def describe(path):
    """(model description, digest) of an FMI 2.0 co-simulation FMU with a binary for this
    platform; FmuError saying why not. Read once per file content (a campaign validates its
    scenario for every run's draws)."""
    path = Path(path)
    if not path.is_file():
        raise FmuError(f"{path}: no such file")
    stat = path.stat()
    return _describe(path.resolve(), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=16)
def _describe(path, modified_ns, size):
    try:
        from fmpy import read_model_description
    except ImportError:
        raise FmuError("flying an FMU needs FMPy: pip install -e '.[fmu]'") from None
    if not zipfile.is_zipfile(path):
        raise FmuError(f"{path}: not an FMU (not a zip archive)")
    try:
        md = read_model_description(str(path))
    except Exception as exc:  # FMPy's parser and validator raise many kinds
        raise FmuError(f"{path}: its modelDescription.xml cannot be read ({exc})") from None
    if not str(md.fmiVersion).startswith("2."):
        raise FmuError(f"{path}: FMI {md.fmiVersion}; FMI 2.0 co-simulation FMUs are flown")
    if md.coSimulation is None:
        raise FmuError(f"{path}: not a co-simulation FMU (model exchange only)")
    binary = f"binaries/{PLATFORM}/{md.coSimulation.modelIdentifier}{SUFFIX}"
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    if binary not in names:
        sources = any(n.startswith("sources/") for n in names)
        raise FmuError(
            f"{path}: no binary for this platform ({binary})"
            + (
                "; it carries C sources: build one with fmpy.util.compile_platform_binary"
                if sources
                else ""
            )
        )
    return md, plugins.file_digest(path)


_loaded = {}  # digest: (folder, library)
_lock = threading.Lock()


def load(path, md, digest):
    """(unpacked folder, the binary loaded) of an FMU, once per process and file content: the
    archive is unpacked beside the Numba cache, in a folder named by its digest."""
    with _lock:
        if digest not in _loaded:
            folder = compile_cache.beside_cache("fmu") / digest
            if not (folder / "modelDescription.xml").is_file():
                with zipfile.ZipFile(path) as archive:
                    archive.extractall(folder)
            binary = folder / "binaries" / PLATFORM / f"{md.coSimulation.modelIdentifier}{SUFFIX}"
            try:
                library = ctypes.CDLL(str(binary))
            except OSError as exc:
                raise FmuError(f"{path}: its binary cannot be loaded ({exc})") from None
            missing = [name for name in FUNCTIONS if not hasattr(library, name)]
            if missing:
                raise FmuError(f"{path}: its binary lacks {', '.join(missing)}")
            _loaded[digest] = (folder, library)
        return _loaded[digest]


def addresses(library):
    """{FMI function name: address} of a loaded binary."""
    return {name: ctypes.cast(getattr(library, name), ctypes.c_void_p).value for name in FUNCTIONS}
