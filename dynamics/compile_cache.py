"""Where Numba keeps compiled code: a folder keyed by a hash of this project's sources.

Numba's own cache is invalidated per source file only: a function whose file did not change
keeps the machine code it inlined from a callee in another file that did. Keying the cache
folder by all of the project's sources makes any edit start from a fresh cache (one cold
compile, ~15 s) instead of silently running stale code. A NUMBA_CACHE_DIR set by the user
is respected.
"""

import contextlib
import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

PACKAGES = ("dynamics", "sensors", "gnc", "faults", "uncertainty", "sims")
LOOP = "loop.simulate_batch-*.nbc"  # the run loop's machine code in the cache
TICK_S, LINE_EVERY_S = 1.0, 15.0  # the compile clock: on a terminal, and in a log


def sources_digest(root: Path) -> str:
    h = hashlib.sha256()
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            h.update(str(path.relative_to(root)).encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def configure():
    """Point Numba's cache at ~/.cache/lunar-descent/numba/<digest> unless the user chose."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    root = Path(__file__).resolve().parent.parent
    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    folder = base / "lunar-descent" / "numba" / sources_digest(root)
    os.environ["NUMBA_CACHE_DIR"] = str(folder)
    import numba

    numba.config.CACHE_DIR = str(folder)


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
        where.mkdir(parents=True, exist_ok=True)
        write_atomically(path, source)
    name = f"_{folder}_entries_{stem}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def write_atomically(path, text):
    """Write text to path through a temporary file renamed into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def loop_compiled():
    """True when the run loop's machine code is in the cache (a run starts in seconds)."""
    import numba

    folder = Path(numba.config.CACHE_DIR or "")
    return numba.config.CACHE_DIR is not None and any(folder.rglob(LOOP))


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
        "descent: compiling the simulator, once (about a minute and a half on 2 cores); "
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
