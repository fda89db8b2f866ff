"""The control authority a two-engine lander needs to land upright after losing an engine at
50 m (historical pair 8, SLIM): `slim_engine_loss` flown with RCS thrusters of each size, with
the nominal flight software (PD attitude control, the thrust it believes) and with actuator
estimation (`gnc/control/actuator_estimation.py`), on the same seeds.

    python benchmarks/engine_loss_authority.py [--runs N] [--thrusts 22,50,...]

Per case: runs landed (95 % Wilson interval), and the median touchdown vertical speed,
horizontal speed and tilt.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sims import api
from sims.analysis import campaign_statistics
from sims.scenarios import scenario


def flown(thrust_n, estimation):
    """slim_engine_loss with every RCS thruster of thrust_n [N], actuator estimation or not."""
    d = scenario.read_data("slim_engine_loss")[1]
    for thruster in d["vehicle"]["rcs"]["thrusters"]:
        thruster["thrust"] = f"{thrust_n} N"
    if estimation:
        d["flight_software"]["actuator_estimation"] = {"time_constant": "1 s"}
    return d


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--thrusts", default="22,50,60,75,100,150")
    args = parser.parse_args()
    for estimation in (False, True):
        for thrust in (float(t) for t in args.thrusts.split(",")):
            runs = api.run_seeds(flown(thrust, estimation), range(args.runs))
            landed = sum(r.outcome == "landed" for r in runs)
            low, high = campaign_statistics.wilson_interval(landed, len(runs))
            down = [r.summary["touchdown"] for r in runs if r.summary["touchdown"]]
            keys = ("descent_rate_mps", "horizontal_speed_mps", "tilt_deg")
            median = {k: np.median([t[k] for t in down]) for k in keys} if down else {}
            print(
                f"{'estimation' if estimation else 'PD only':>10}, {thrust:5.0f}-N thrusters: "
                f"{landed}/{len(runs)} landed ({100 * low:.0f}-{100 * high:.0f} %); median "
                f"touchdown {median.get('descent_rate_mps', np.nan):.1f} m/s down, "
                f"{median.get('horizontal_speed_mps', np.nan):.1f} m/s sideways, "
                f"tilt {median.get('tilt_deg', np.nan):.0f} deg"
            )


if __name__ == "__main__":
    main()
