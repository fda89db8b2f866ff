"""Are the results of every bundled scenario the same to the bit in this checkout and in another
(a refactoring's before and after)? Seeds 0 to N-1 of each bundled scenario are flown in each
checkout (in its own process, with its own compile cache), and every run's summary and
trajectory compared: the trajectory's Arrow bytes by their hash, the summary's values one by
one (a key only one revision writes is listed, not counted as a difference).

    python benchmarks/fingerprints.py --baseline DIR [--seeds N] [SCENARIO ...]
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FLY = """
import hashlib, json, sys
import pyarrow as pa
from sims import api
try:
    from sims.scenarios import scenario
except ImportError:  # a checkout from before sims/ had rooms
    from sims import scenario
names, seeds, out = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
prints = {}
for name in names or scenario.bundled_names():
    for seed, r in enumerate(api.run_seeds(name, range(seeds))):
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, r.trajectory.schema) as writer:
            writer.write_table(r.trajectory)
        digest = hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()
        prints[f"{name}/{seed}"] = {"summary": r.summary, "trajectory": digest}
with open(out, "w") as f:
    json.dump(prints, f, default=str)
"""


def fly(root, names, seeds, folder):
    """{run: {summary, trajectory digest}} of a checkout."""
    out = Path(folder) / f"{hashlib.sha256(str(root).encode()).hexdigest()[:8]}.json"
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("NUMBA_CACHE_DIR", None)  # each checkout its own cache folders, by its path
    code = [sys.executable, "-c", FLY, json.dumps(names), str(seeds), str(out)]
    subprocess.run(code, env=env, cwd=root, check=True)
    return json.loads(out.read_text())


def differences(a, b, path=""):
    """(values that differ, keys only one side has) between two summaries, as dotted paths."""
    if isinstance(a, dict) and isinstance(b, dict):
        differ, only = [], []
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                only.append(f"{path}{key}")
                continue
            d, o = differences(a[key], b[key], f"{path}{key}.")
            differ += d
            only += o
        return differ, only
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        differ, only = [], []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d, o = differences(x, y, f"{path}{i}.")
            differ += d
            only += o
        return differ, only
    same = a == b or (isinstance(a, float) and isinstance(b, float) and a != a and b != b)
    return ([] if same else [path.rstrip(".")]), []  # NaN is NaN here


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenarios", nargs="*")
    parser.add_argument("--baseline", type=Path, required=True)
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        here = fly(ROOT, args.scenarios, args.seeds, folder)
        there = fly(args.baseline.resolve(), args.scenarios, args.seeds, folder)
    common = sorted(set(here) & set(there))
    changed, new_keys = [], set()
    for run in common:
        differ, only = differences(here[run]["summary"], there[run]["summary"])
        new_keys.update(only)
        if differ or here[run]["trajectory"] != there[run]["trajectory"]:
            changed.append((run, differ[:3] or ["trajectory"]))
    print(
        f"{len(common)} runs in both ({len(set(here) - set(there))} only here, "
        f"{len(set(there) - set(here))} only in {args.baseline}): {len(changed)} differ"
    )
    for run, what in changed[:20]:
        print(f"  {run}: {', '.join(what)}")
    if new_keys:
        print(
            "keys one revision's summaries have and the other's not: " + ", ".join(sorted(new_keys))
        )


if __name__ == "__main__":
    main()
