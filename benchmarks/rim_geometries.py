"""Historical pair 1 (ispace M1) on other crater rims: `ispace_m1_improved` and what each of
its improvements buys, over rims of several heights and distances before the site, on the
same seeds.

    python benchmarks/rim_geometries.py [--runs N]

Variants: the rim on the onboard map with a recovering gate (map + gate); that with the high
gate raised over the mapped terrain (+ high gate); that with a radar altimeter instead
(+ radar); all three (the bundled improved scenario). Per variant and rim: runs landed.
"""

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api
from sims.scenarios import scenario

RIMS_KM = ((20, 3), (8, 2), (8, 3), (8, 4), (12, 2), (12, 3), (12, 4), (25, 2), (25, 4))
VARIANTS = ("map + gate", "+ high gate", "+ radar", "all three (ispace_m1_improved)")


def flown(variant, distance_km, height_km):
    d = scenario.read_data("ispace_m1_improved")[1]
    d["terrain"]["features"][0].update(downrange=f"-{distance_km} km", height=f"{height_km} km")
    if variant in ("map + gate", "+ radar"):
        del d["flight_software"]["high_gate_clearance"]
    if variant in ("map + gate", "+ high gate"):
        del d["sensors"]["radar_altimeter"]
    return d


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print("| rim (before the site, height) | " + " | ".join(VARIANTS) + " |")
    print("| --- |" + " --- |" * len(VARIANTS))
    for distance, height in RIMS_KM:
        runs = 4 * args.runs if (distance, height) == (20, 3) else args.runs
        cells = []
        for variant in VARIANTS:
            results = api.run_seeds(flown(variant, distance, height), range(runs))
            cells.append(f"{sum(r.outcome == 'landed' for r in results)}/{runs}")
        print(f"| {distance} km, {height} km | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
