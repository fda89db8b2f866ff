"""Where Numba keeps compiled code, and when it is stale.

Numba's own cache is invalidated per source file only: a function whose file did not change
keeps the machine code it inlined from a callee in another file that did. Here a compiled
function's cache entry is stamped with a hash of its file and of every project module that
file imports, directly or through others (`dependency_digest`): an edit recompiles what
depends on the edited module and nothing else (an edited sensor kind recompiles its entry
points, not the run loop; an edited gravity model, nearly everything). The cache lives in
~/.cache/lunar-descent/numba/ unless NUMBA_CACHE_DIR says otherwise; the stamps apply in
either.
"""

import contextlib
import functools
import hashlib
import importlib.util
import io
import os
import pickle
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

PACKAGES = ("dynamics", "sensors", "gnc", "faults", "uncertainty", "sims")
ROOT = Path(__file__).resolve().parent.parent
LOOP_FILE = ROOT / "sims" / "run" / "loop.py"
LOOP_INDEX = "loop.simulate_batch-*.nbi"  # the index of the run loop's machine code
TICK_S, LINE_EVERY_S = 1.0, 15.0  # the compile clock: on a terminal, and in a log


def sources_digest(root: Path) -> str:
    h = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+([\w.]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n]*)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n]*)", re.M)


def _module_file(name):
    """The project file of a module name (a package's __init__.py), or None."""
    if name.split(".")[0] not in PACKAGES:
        return None
    base = ROOT.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.cache
def _imported_files(path):
    """The project files a Python file imports (and their packages' __init__.py)."""
    text = Path(path).read_text()
    names = set()
    for module, imported in _FROM_IMPORT.findall(text):
        names.add(module)
        names.update(f"{module}.{word}" for word in re.findall(r"\w+", imported))
    for imported in _IMPORT.findall(text):
        names.update(part.split(" as ")[0].strip() for part in imported.split(","))
    files = set()
    for name in names:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            found = _module_file(".".join(parts[:i]))
            if found is not None:
                files.add(found)
    return frozenset(files)


def dependency_digest(path):
    """A hash of a Python file and of every project module it imports, directly or not: the
    stamp of the compiled code of the functions it defines."""
    return _dependency_digest(Path(path).resolve())


@functools.cache
def _dependency_digest(path):
    seen, todo = set(), [path]
    while todo:
        f = todo.pop()
        if f not in seen:
            seen.add(f)
            todo.extend(_imported_files(f) - seen)
    h = hashlib.sha256()
    for f in sorted(seen):
        h.update(str(f.relative_to(ROOT) if f.is_relative_to(ROOT) else f).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


@functools.cache
def _stamped_locator():
    """(locator, Numba's cache implementation): Numba's locator of a cache folder chosen by the
    user (what `configure` sets), with the dependency digest as a function's source stamp.
    (Numba 0.68 dropped the names' leading underscore.)"""
    from numba.core import caching

    names = vars(caching)
    user_provided = names.get("UserProvidedCacheLocator") or names["_UserProvidedCacheLocator"]

    class DependencyStampedLocator(user_provided):
        def get_source_stamp(self):
            return dependency_digest(self._py_file)

    return DependencyStampedLocator, names.get("CacheImpl") or names["_CacheImpl"]


def configure():
    """Point Numba's cache at ~/.cache/lunar-descent/numba unless the user chose another
    folder, and stamp its entries with their dependency digest."""
    import numba

    if not os.environ.get("NUMBA_CACHE_DIR"):
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
        folder = base / "lunar-descent" / "numba"
        os.environ["NUMBA_CACHE_DIR"] = str(folder)
        numba.config.CACHE_DIR = str(folder)
    if "NUMBA_SLP_VECTORIZE" not in os.environ:
        # LLVM's straight-line vectoriser, off by Numba's default: it packs the filter's
        # covariance products (register tiles of 3 x 4 sums) into vector operations, a
        # tenth off the nominal's run; it reorders no arithmetic (results are the same bits)
        numba.config.SLP_VECTORIZE = True
    locator, impl = _stamped_locator()
    if locator not in impl._locator_classes:
        impl._locator_classes.insert(0, locator)


def beside_cache(folder):
    """The path of a folder beside the Numba cache, where generated files live (the
    registries' entry modules, shipped modules, unpacked FMUs)."""
    import numba

    return Path(numba.config.CACHE_DIR or tempfile.gettempdir()) / folder


def generated_module(folder, stem, source):
    """Import a module generated from `source` into `folder` beside the Numba cache (the
    registries' compiled entry points): written when new or changed, atomically (other
    processes may race), imported once per process under a name from its stem."""
    where = beside_cache(folder)
    path = where / f"{stem}.py"
    if not path.is_file() or path.read_text() != source:
        write_atomically(path, source)
    name = f"_{folder}_entries_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def kept_arrays(name, key, compute):
    """Arrays `compute()` returns (a tuple), computed once and kept beside the Numba cache in a
    file named by `name` and a hash of `key` (say, the computing module's source and the
    versions of the libraries it calls): tables that cost a run's start a noticeable time."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    path = beside_cache("tables") / f"{name}_{digest}.npz"
    try:
        with np.load(path) as kept:
            return tuple(kept[f"arr_{i}"] for i in range(len(kept.files)))
    except (OSError, ValueError, KeyError):
        arrays = compute()
        kept = io.BytesIO()
        np.savez(kept, *arrays)
        write_atomically(path, kept.getvalue())
        return arrays


def write_atomically(path, data):
    """Write data (text or bytes) to path, its folder made if need be, through a temporary
    file renamed into place (other processes may race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    os.replace(tmp, path)


def loop_compiled():
    """True when the run loop's machine code for its present sources is in the cache (a run
    starts in seconds): its index in the cache carries their dependency digest."""
    import numba

    if not numba.config.CACHE_DIR:
        return False
    locator, _ = _stamped_locator()
    folder = Path(numba.config.CACHE_DIR) / locator.get_suitable_cache_subpath(str(LOOP_FILE))
    stamp = dependency_digest(LOOP_FILE)
    for index in folder.glob(LOOP_INDEX):
        try:
            with open(index, "rb") as f:
                if pickle.load(f) != numba.__version__:
                    continue
                saved, overloads = pickle.loads(f.read())
        except (OSError, pickle.UnpicklingError, EOFError, ValueError):
            continue
        if saved == stamp and overloads:
            return True
    return False


@contextlib.contextmanager
def announce(stream=None):
    """Around a command that flies runs: when the run loop is not compiled yet, say so and
    show the time it has taken until its machine code is in the cache (each second on a
    terminal, a line every LINE_EVERY_S seconds in a log)."""
    stream = stream or sys.stderr
    if loop_compiled():
        yield
        return
    print(
        "descent: compiling the simulator, once (under a minute on 2 cores); "
        "later runs start in seconds",
        file=stream,
        flush=True,
    )
    done = threading.Event()
    terminal = stream.isatty()

    def clock():
        start, said = time.monotonic(), 0.0
        while True:
            stopped = done.wait(TICK_S)
            elapsed = time.monotonic() - start
            if loop_compiled():
                print(f"\rdescent: compiled in {elapsed:.0f} s", file=stream, flush=True)
                return
            if stopped:  # the command ended first (it failed, or flies no run)
                print("" if terminal else "descent: stopped compiling", file=stream, flush=True)
                return
            if terminal:
                print(f"\rdescent: compiling... {elapsed:.0f} s", end="", file=stream, flush=True)
            elif elapsed - said >= LINE_EVERY_S:
                said = elapsed
                print(f"descent: compiling... {elapsed:.0f} s", file=stream, flush=True)

    thread = threading.Thread(target=clock, daemon=True)
    thread.start()
    try:
        yield
    finally:
        done.set()
        thread.join()
