"""Speed of the descent camera's renderer (sensors/camera_render.py): a 512 x 512 image of the
nominal scenario's terrain from 2 km, looking straight down, its Sun (10 deg), cast shadows,
one sub-frame, on one core. Issue 14 asks for well under a second.

    python benchmarks/bench_render.py [--pixels N] [--repeats R]
"""

import argparse
import math
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dynamics import frames
from sensors import camera_render
from sims.run import packing
from sims.scenarios import scenario


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pixels", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sc = scenario.load("nominal")
    truth = packing.build(sc).terrain
    site = truth.site
    up = np.array(site["up"])
    origin = tuple((site["map_radius_m"] + 2000.0) * up)
    axes = camera_render.camera_axes(-up, site["track_downrange"])
    sun = tuple(frames.sun_direction(sc.site))
    out = np.zeros((args.pixels, args.pixels))
    lighting = camera_render.scene(sun, 0.12, 0.1, 1.0)
    call = (truth, lighting, (origin, axes, math.tan(math.radians(20.0))), ((0.0, 0.0, 0.0), 1))
    camera_render.render(*call, out)  # compile
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        camera_render.render(*call, out)
        seconds.append(time.perf_counter() - start)
    print(
        f"{args.pixels} x {args.pixels} image: {statistics.median(seconds):.3f} s median "
        f"(min {min(seconds):.3f}, max {max(seconds):.3f}) over {args.repeats}; "
        f"{1e6 * min(seconds) / args.pixels**2:.2f} us a pixel"
    )


if __name__ == "__main__":
    main()
