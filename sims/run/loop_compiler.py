"""The run loop compiled in a second process while this one compiles the flight software's and
the sensors' entry points.

A first run compiles two things of about the same size that do not depend on each other: the
run loop (`sims.run.loop`), and the entry points of the flight software and sensor kinds it
flies (reached by address, `dynamics.plugins`). On a machine with two cores or more, `start`
(called before a batch is packed, which compiles the entry points) has another process fly
the bundled open-loop scenario, whose batch has the loop's argument types; `wait` (called
before the batch flies) waits for it, and the loop then loads from the cache. The first run
takes about the longer of the two compilations instead of their sum. Nothing is started when
the loop's machine code is in the cache already, on one core, outside POSIX (the processes
take turns by `flock`), or inside that process itself.
"""

import os
import subprocess
import sys

import numpy as np

from dynamics import compile_cache

COMPILING = "DESCENT_COMPILING_LOOP"  # set in the process that compiles the loop
_helper = None
_decided = False  # whether this process looked (once: a campaign packs a batch per run)


def start():
    """Start compiling the run loop in another process, unless it is compiled or being so."""
    global _helper, _decided
    if _decided:
        return
    _decided = True
    if os.environ.get(COMPILING) or os.name != "posix" or (os.cpu_count() or 1) < 2:
        return
    if compile_cache.loop_compiled():
        return
    import numba

    path = os.pathsep.join(p for p in (str(compile_cache.ROOT), os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, NUMBA_CACHE_DIR=numba.config.CACHE_DIR, PYTHONPATH=path)
    env[COMPILING] = "1"
    _helper = subprocess.Popen(
        [sys.executable, "-m", "sims.run.loop_compiler"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait():
    """Wait for the process compiling the loop, if this one started it (the loop then loads
    from the cache; if that process failed, this one compiles it)."""
    global _helper
    if _helper is not None and _helper.poll() is None:
        _helper.wait()


def _compile():
    """Fly the bundled open-loop scenario once, under a lock that lets one such process at
    a time compile (others wait for it, then find the loop compiled)."""
    import fcntl

    from sims.run import batch, packing
    from sims.scenarios import scenario

    lock = compile_cache.beside_cache("locks") / "loop.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not compile_cache.loop_compiled():
            sc = scenario.load("nominal_open_loop")
            b = batch.prepare(sc, [packing.build(sc)], [np.random.SeedSequence(0)], [0])
            batch.execute(b)


if __name__ == "__main__":
    _compile()
