"""The compiled-code cache: an entry is stale when its file or any project module that file
imports (directly or not) changed, and only then; the run loop counts as compiled only when
its machine code was made from the present sources."""

import importlib
import pickle
import shutil
import sys
import textwrap
from pathlib import Path

import numba

from dynamics import compile_cache

ROOT = Path(__file__).resolve().parents[2]


def _stamps(files):
    compile_cache._imported_files.cache_clear()
    compile_cache._dependency_digest.cache_clear()
    return {name: compile_cache.dependency_digest(path) for name, path in files.items()}


def test_an_edit_restamps_the_modules_that_depend_on_it_and_no_other(tmp_path, monkeypatch):
    for package in compile_cache.PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package)
    monkeypatch.setattr(compile_cache, "ROOT", tmp_path)
    files = {
        "loop": tmp_path / "sims/run/loop.py",
        "star tracker": tmp_path / "sensors/star_tracker.py",
        "flight software": tmp_path / "gnc/flight_software.py",
    }
    try:
        before = _stamps(files)

        def edit(path):
            with open(tmp_path / path, "a") as f:
                f.write("\n# edited\n")
            now = _stamps(files)
            changed = {name for name in files if now[name] != before[name]}
            before.update(now)
            return changed

        assert edit("sensors/star_tracker.py") == {"star tracker"}
        assert edit("gnc/guidance/laws.py") == {"flight software"}
        assert edit("sims/run/bookkeeping.py") == {"loop"}
        assert edit("dynamics/vector.py") == {"loop", "star tracker", "flight software"}
    finally:
        _stamps({})


def test_numba_stamps_a_cached_function_with_its_dependency_digest(tmp_path, monkeypatch):
    """A function compiled with cache=True is indexed under the digest of its file and the
    project modules it imports (Numba's own stamp is its file alone)."""
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path / "cache"))
    probe = tmp_path / "cache_probe.py"
    probe.write_text(
        textwrap.dedent(
            """
            from numba import njit

            from dynamics import vector


            @njit(cache=True)
            def length(x, y, z):
                return vector.norm((x, y, z))
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("cache_probe")
    try:
        assert module.length(3.0, 4.0, 12.0) == 13.0
        (index,) = (tmp_path / "cache").rglob("cache_probe.length-*.nbi")
        with open(index, "rb") as f:
            assert pickle.load(f) == numba.__version__
            stamp, overloads = pickle.loads(f.read())
        assert stamp == compile_cache.dependency_digest(probe) and overloads
        assert stamp != compile_cache.dependency_digest(ROOT / "dynamics" / "vector.py")
    finally:
        sys.modules.pop("cache_probe", None)


def _loop_index(folder, stamp):
    """An index of the run loop's machine code as Numba writes one (its version, then the
    source stamp and the overloads), where Numba would look for it."""
    locator, _ = compile_cache._stamped_locator()
    where = folder / locator.get_suitable_cache_subpath(str(compile_cache.LOOP_FILE))
    where.mkdir(parents=True, exist_ok=True)
    with open(where / "loop.simulate_batch-801.py311.nbi", "wb") as f:
        pickle.dump(numba.__version__, f)
        f.write(pickle.dumps((stamp, {"signature": "loop.simulate_batch-801.py311.1.nbc"})))


def test_the_loop_is_compiled_only_for_its_present_sources(tmp_path, monkeypatch):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    assert not compile_cache.loop_compiled()
    _loop_index(tmp_path, "0123456789abcdef")  # made from other sources
    assert not compile_cache.loop_compiled()
    _loop_index(tmp_path, compile_cache.dependency_digest(compile_cache.LOOP_FILE))
    assert compile_cache.loop_compiled()
