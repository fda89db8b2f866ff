"""A peer's speed: the closed-loop nominal against a Basilisk descent, in alternating pairs.

The peer is NASA/CU Boulder's Basilisk (`pip install bsk`, optional; in another environment
if its numpy differs: `--basilisk-python PATH`). Its descent is simpler than ours: 600 s at a
10-ms step of a 700-kg rigid lander (the nominal's mass and inertia at PDI) in the Moon's
point-mass gravity from 15 km at 1.69 km/s, its 2,500-N main engine (body +z) at a constant
80 % pitched 22 deg up from retrograde (it ends near the mean radius), and eight 22-N RCS
thrusters holding that inertial attitude (inertial3D, attTrackingError and mrpFeedback on the
true attitude from simpleNav, thrForceMapping and thrFiringSchmitt at 10 Hz): truth and an
attitude loop; no terrain, sensors, filter or guidance. Ours is the nominal's compiled call
(20-ms truth step, 50-Hz IMU, 10-Hz flight software with its filter, star tracker and
rangefinder over terrain, ~596 s flown), per run, best of `--repeats` batches of `--runs`.

Each pair times one Basilisk descent in a fresh process (its start-up and module set-up
excluded: `ExecuteSimulation` alone) and then ours in another fresh process; the ratio is taken
pair by pair, so that the machine's drift cancels.

    python benchmarks/bench_peer_basilisk.py [--pairs N] [--runs N] [--repeats R]
        [--basilisk-python PATH]
"""

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DURATION_S, STEP_S, CONTROL_S = 600.0, 0.01, 0.1
MASS_KG, INERTIA_KGM2 = 700.0, (410.0, 420.0, 430.0)
MAIN_THRUST_N, MAIN_LEVEL, RCS_THRUST_N = 2500.0, 0.8, 22.0
PITCH_UP_RAD = 0.385  # the thrust 22 deg above the retrograde horizontal: it ends near 0 m
# RCS: roll couples from lateral pairs at +-1 m along x, pitch and yaw from axial pairs.
RCS = (
    ((1.0, 0.0, 0.8), (0.0, 1.0, 0.0)),
    ((-1.0, 0.0, 0.8), (0.0, -1.0, 0.0)),
    ((1.0, 0.0, 0.8), (0.0, -1.0, 0.0)),
    ((-1.0, 0.0, 0.8), (0.0, 1.0, 0.0)),
    ((0.0, 1.0, 0.8), (0.0, 0.0, 1.0)),
    ((0.0, -1.0, 0.8), (0.0, 0.0, 1.0)),
    ((1.0, 0.0, 0.8), (0.0, 0.0, 1.0)),
    ((-1.0, 0.0, 0.8), (0.0, 0.0, 1.0)),
)


def basilisk_descent():
    """Seconds of Basilisk's ExecuteSimulation for the descent, and its final altitude [m]."""
    import time

    import numpy as np
    from Basilisk.architecture import messaging
    from Basilisk.fswAlgorithms import (
        attTrackingError,
        inertial3D,
        mrpFeedback,
        thrFiringSchmitt,
        thrForceMapping,
    )
    from Basilisk.simulation import simpleNav, spacecraft, thrusterDynamicEffector
    from Basilisk.utilities import (
        RigidBodyKinematics,
        SimulationBaseClass,
        macros,
        simIncludeGravBody,
        simIncludeThruster,
    )

    sim = SimulationBaseClass.SimBaseClass()
    sim.CreateNewProcess("dyn").addTask(sim.CreateNewTask("dynTask", macros.sec2nano(STEP_S)))
    sim.CreateNewProcess("fsw").addTask(sim.CreateNewTask("fswTask", macros.sec2nano(CONTROL_S)))

    sc = spacecraft.Spacecraft()
    sc.ModelTag = "lander"
    sc.hub.mHub = MASS_KG
    sc.hub.IHubPntBc_B = np.diag(INERTIA_KGM2).tolist()
    gravity = simIncludeGravBody.gravBodyFactory()
    moon = gravity.createMoon()
    moon.isCentralBody = True
    gravity.addBodiesTo(sc)
    # 15 km above the mean radius, 1.69 km/s along the surface
    radius = moon.radEquator + 15e3
    sc.hub.r_CN_NInit = [radius, 0.0, 0.0]
    sc.hub.v_CN_NInit = [0.0, 1690.0, 0.0]
    # body +z (the thrust) pitched up from retrograde: b3 = (sin a, -cos a, 0), b1 = N's z
    a = PITCH_UP_RAD
    dcm_bn = [[0.0, 0.0, 1.0], [-np.cos(a), -np.sin(a), 0.0], [np.sin(a), -np.cos(a), 0.0]]
    sigma_bn = RigidBodyKinematics.C2MRP(np.array(dcm_bn))
    sc.hub.sigma_BNInit = [[sigma_bn[0]], [sigma_bn[1]], [sigma_bn[2]]]
    sc.hub.omega_BN_BInit = [[0.0], [0.0], [0.0]]
    sim.AddModelToTask("dynTask", sc)

    main = thrusterDynamicEffector.ThrusterDynamicEffector()
    main_factory = simIncludeThruster.thrusterFactory()
    main_factory.create(
        "Blank_Thruster", [0.0, 0.0, -0.4], [0.0, 0.0, 1.0], MaxThrust=MAIN_THRUST_N * MAIN_LEVEL
    )
    main_factory.addToSpacecraft("main", main, sc)
    sim.AddModelToTask("dynTask", main)
    rcs = thrusterDynamicEffector.ThrusterDynamicEffector()
    rcs_factory = simIncludeThruster.thrusterFactory()
    for position, direction in RCS:
        rcs_factory.create(
            "Blank_Thruster", list(position), list(direction), MaxThrust=RCS_THRUST_N
        )
    rcs_factory.addToSpacecraft("rcs", rcs, sc)
    sim.AddModelToTask("dynTask", rcs)

    nav = simpleNav.SimpleNav()
    nav.scStateInMsg.subscribeTo(sc.scStateOutMsg)
    sim.AddModelToTask("dynTask", nav)

    target = inertial3D.inertial3D()
    target.sigma_R0N = list(sigma_bn)
    sim.AddModelToTask("fswTask", target)
    error = attTrackingError.attTrackingError()
    error.attNavInMsg.subscribeTo(nav.attOutMsg)
    error.attRefInMsg.subscribeTo(target.attRefOutMsg)
    sim.AddModelToTask("fswTask", error)
    vehicle = messaging.VehicleConfigMsgPayload()
    vehicle.ISCPntB_B = np.diag(INERTIA_KGM2).flatten().tolist()
    vehicle_msg = messaging.VehicleConfigMsg().write(vehicle)
    control = mrpFeedback.mrpFeedback()
    control.K, control.Ki, control.P = 40.0, -1.0, 300.0
    control.guidInMsg.subscribeTo(error.attGuidOutMsg)
    control.vehConfigInMsg.subscribeTo(vehicle_msg)
    sim.AddModelToTask("fswTask", control)
    thruster_config = rcs_factory.getConfigMessage()
    mapping = thrForceMapping.thrForceMapping()
    mapping.cmdTorqueInMsg.subscribeTo(control.cmdTorqueOutMsg)
    mapping.thrConfigInMsg.subscribeTo(thruster_config)
    mapping.vehConfigInMsg.subscribeTo(vehicle_msg)
    mapping.controlAxes_B = [1, 0, 0, 0, 1, 0, 0, 0, 1]
    mapping.thrForceSign = 1
    sim.AddModelToTask("fswTask", mapping)
    firing = thrFiringSchmitt.thrFiringSchmitt()
    firing.thrConfInMsg.subscribeTo(thruster_config)
    firing.thrForceInMsg.subscribeTo(mapping.thrForceCmdOutMsg)
    firing.thrMinFireTime = 0.01
    firing.level_on, firing.level_off = 0.75, 0.25
    sim.AddModelToTask("fswTask", firing)
    rcs.cmdsInMsg.subscribeTo(firing.onTimeOutMsg)

    burn = messaging.THRArrayOnTimeCmdMsgPayload()
    burn.OnTimeRequest = [DURATION_S]  # on for the whole descent, at its thrust level
    burn_msg = messaging.THRArrayOnTimeCmdMsg().write(burn)
    main.cmdsInMsg.subscribeTo(burn_msg)

    sim.InitializeSimulation()
    sim.ConfigureStopTime(macros.sec2nano(DURATION_S))
    t0 = time.perf_counter()
    sim.ExecuteSimulation()
    seconds = time.perf_counter() - t0
    r = np.array(sc.scStateOutMsg.read().r_BN_N)
    return seconds, float(np.linalg.norm(r) - moon.radEquator)


def _last_json(command):
    out = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def spread(values, digits=1):
    return (
        f"{statistics.median(values):.{digits}f} "
        f"(min {min(values):.{digits}f}, max {max(values):.{digits}f})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--basilisk-python", default=sys.executable)
    parser.add_argument("--basilisk", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.basilisk:  # the peer's side, in its own environment
        print(json.dumps(basilisk_descent()))
        return
    from benchmarks.bench_closed_loop import in_process  # ours: ms per run, in a process

    python = shutil.which(args.basilisk_python) or args.basilisk_python
    peer = [python, str(Path(__file__).resolve()), "--basilisk"]
    in_process(ROOT, 2, 1)  # compiled before the clock matters
    theirs_s, ours_s, ratios = [], [], []
    for _ in range(args.pairs):
        seconds, altitude = _last_json(peer)
        mine = in_process(ROOT, args.runs, args.repeats) / 1e3
        theirs_s.append(seconds)
        ours_s.append(mine)
        ratios.append(seconds / mine)
    print(
        f"Basilisk descent ({DURATION_S:.0f} s at {STEP_S * 1e3:.0f} ms, ended {altitude:.0f} m "
        f"up): {spread(theirs_s, 3)} s; our closed-loop nominal {spread([t * 1e3 for t in ours_s])}"
        f" ms per run; Basilisk / ours, pair by pair over {args.pairs} pairs: {spread(ratios)}"
    )


if __name__ == "__main__":
    main()
