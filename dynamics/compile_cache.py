"""Where Numba keeps compiled code: a folder keyed by a hash of this project's sources.

Numba's own cache is invalidated per source file only: a function whose file did not change
keeps the machine code it inlined from a callee in another file that did. Keying the cache
folder by all of the project's sources makes any edit start from a fresh cache (one cold
compile, ~15 s) instead of silently running stale code. A NUMBA_CACHE_DIR set by the user
is respected.
"""

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

PACKAGES = ("dynamics", "sensors", "gnc", "sims")


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
