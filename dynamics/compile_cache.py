"""Where Numba keeps compiled code: a folder keyed by a hash of this project's sources.

Numba's own cache is invalidated per source file only: a function whose file did not change
keeps the machine code it inlined from a callee in another file that did. Keying the cache
folder by all of the project's sources makes any edit start from a fresh cache (one cold
compile, ~15 s) instead of silently running stale code. A NUMBA_CACHE_DIR set by the user
is respected.
"""

import hashlib
import os
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
