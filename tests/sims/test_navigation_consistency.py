"""The navigation filter knows what it does not know: over 60 seeds of the full descent, the
mean NEES of position, velocity and attitude at the end of braking, at the end of the approach
and at the end of the run lies where a consistent filter puts it, over cratered and bare
terrain and with maps finer and coarser than the nominal's. The NEES the runs carry is the
one computed here from the final states."""

import numpy as np
import pandas as pd
import pytest

from dynamics.truth import X_R, X_V
from gnc.navigation import filter as ekf
from sims import api, campaign, consistency
from tests.sims.scenarios import (
    RECOVERING_GATE,
    closed_loop,
    full_suite,
    radar_suite,
    terrain_variant,
)

RUNS = 60
# 81 means checked (9 cases, 3 checkpoints, 3 blocks): each is held to its 99.9 % band,
# so that a consistent filter passes them all with about 92 % probability (Bonferroni)
PROBABILITY = 0.999
LOW, HIGH = consistency.band(RUNS, probability=PROBABILITY)


def mean_nees(d, runs=RUNS):
    """{(checkpoint, block): mean NEES over the runs} of a scenario flown with seeds 0 to
    runs - 1, every run reaching every checkpoint."""
    b = api.prepare(d, seeds=range(runs))
    api.execute(b)
    assert not b.errors
    means = consistency.mean_nees(b.summary["nees"])
    assert all(reached == runs for _, reached in means.values())
    return {key: mean for key, (mean, _) in means.items()}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(terrain_variant(density=0.0), id="bare ground"),
        pytest.param(radar_suite(camera=False), id="a radar altimeter for the rangefinder"),
        pytest.param(radar_suite(camera=True), id="radar altimeter and image navigation"),
    ],
)
def test_the_filter_is_consistent_at_every_checkpoint(case):
    """With no craters the range model is exact up to the sensors' noise; a radar
    altimeter's nadir ranges over the craters (its 0.5 % noise above their relief) and image
    fixes a second late (predicted at the image time) are modelled as they are: every mean in
    its band (measured over these seeds: 2.6-3.0 with the radar, 2.2-2.9 with the camera
    too)."""
    means = mean_nees(case)
    outside = {key: round(value, 2) for key, value in means.items() if not LOW < value < HIGH}
    assert not outside, f"band {LOW:.2f}-{HIGH:.2f}"


@pytest.mark.parametrize(
    "terrain, runs",
    [
        pytest.param(terrain_variant(), RUNS, id="nominal (mare, 25 m map)"),
        pytest.param(
            terrain_variant(map_resolution="5 m"), RUNS, id="map at 5 m (all craters on board)"
        ),
        pytest.param(terrain_variant(map_resolution="50 m"), RUNS, id="map at 50 m"),
        pytest.param(terrain_variant(density=1.0), RUNS, id="dense craters (equilibrium density)"),
        pytest.param(
            full_suite(gate=RECOVERING_GATE), 200, id="two rangefinders and a 3-beam Doppler lidar"
        ),
        pytest.param("nominal_doppler_lidar", 200, id="bundled rangefinder + Doppler lidar"),
    ],
)
def test_over_relief_the_filter_errs_on_the_side_of_caution(terrain, runs):
    """Over craters the range errors are not Gaussian: most runs know more than they claim
    and a few lock, for a while, onto the wrong craters. Position knowledge from ranging over
    relief is counted as correlated over the relief's whole correlation length
    (`sensors.terrain_range`): a deliberate bound, so the position mean lies between 1 and
    the band's top rather than in the band. Over the nominal terrain the per-run position NEES
    at the end of braking has a median of 0.45 and a tail to 28; means over these 60 seeds
    1.6-1.9 (nominal and 5 m map), 1.9-2.3 (50 m map), 1.7-2.8 (dense craters). With four or
    five ranging beams most runs claim twice what they know and the tail is rarer: over 60
    seeds the mean at the end of braking is 0.8-0.9, a few runs' draw; over 200 seeds
    (these cases fly them) 1.36-1.37, 1.86-1.87 and 1.95-1.97 for the two suites, on their
    recovering gates (ungated, a suite never finds itself lost, and five of seeds 60-199
    lock: benchmarks/README.md). Without the position found lost and found again these
    means were 22-26, 52-166 and 52-166 (seed 25 of the bundled one: below). Velocity and
    attitude are held to their band."""
    low, high = consistency.band(runs, probability=PROBABILITY)
    means = mean_nees(terrain, runs)
    for (checkpoint, block), value in means.items():
        if block == "position":
            assert 1.0 < value < high, (checkpoint, value)
        else:
            assert low < value < high, (checkpoint, block, value)


def test_a_lock_onto_the_wrong_craters_is_found_and_the_position_reacquired():
    """Seed 25 of the bundled rangefinder and Doppler lidar starts 578 m off (2.9 sigma of its
    PDI knowledge); ranging over mare pulls it onto the wrong craters and shrinks its sigma to
    a few metres with the error still ~600 m (position NEES ~200 at 1.6 km up), and its
    gates' recoveries keep coming. Before this was built it landed 500 m from where it
    believed, NEES 5,060. Now the third recovery finds the position lost, the terrain
    correlation of its recent ranges moves the estimate ~570 m back, and it lands knowing
    its position to metres, its NEES inside the 99 % point of chi-square(3)."""
    result = api.run("nominal_doppler_lidar", seed=25)
    lost = [e for e in result.summary["events"] if e["event"] == "position_lost"]
    assert len(lost) == 1 and 500.0 < lost[0]["moved_m"] < 650.0
    assert result.outcome == "landed"
    assert result.summary["navigation"]["final_position_error_m"] < 10.0
    assert result.summary["navigation"]["nees"]["end"]["position"] < 11.3


def test_the_runs_carry_the_nees_the_final_states_give(tmp_path):
    """The NEES at the end of each run, from the truth and the filter's state and covariance
    (numpy), is the runs table's; the table also carries the filter's 3-sigma bounds."""
    d = closed_loop(simulation={"time_step": "20 ms", "max_time": "60 s", "output_rate": "1 Hz"})
    b = api.prepare(d, seeds=range(4))
    api.execute(b)
    for k in range(4):
        nav, x = b.fsw_state[k]["nav"], b.x[k]
        e_r = nav["r_mci_m"] - x[X_R : X_R + 3]
        e_v = nav["v_mci_mps"] - x[X_V : X_V + 3]
        p = nav["P"]
        end = b.summary[k]["nees"][consistency.END]
        assert end["position"] == pytest.approx(e_r @ np.linalg.solve(p[:3, :3], e_r), rel=1e-9)
        assert end["velocity"] == pytest.approx(e_v @ np.linalg.solve(p[3:6, 3:6], e_v), rel=1e-9)
        assert np.isnan(b.summary[k]["nees"][consistency.END_BRAKING]["position"])  # not reached
        sigma = 3 * np.sqrt(np.trace(p[ekf.DR : ekf.DR + 3, ekf.DR : ekf.DR + 3]))
        assert b.summary[k]["nav_position_3sigma_m"] == pytest.approx(sigma, rel=1e-12)
    campaign.run(d, runs=4, seed=0, out=tmp_path / "c")
    runs = pd.read_parquet(tmp_path / "c" / "runs.parquet")
    assert runs["nees_position_end"].notna().all() and runs["nav_position_3sigma_m"].gt(0).all()
    assert runs["nees_velocity_end_braking"].isna().all()  # a 60-s run ends braking
    summary = api.run(d).summary["navigation"]
    assert set(summary["nees"]) == set(consistency.CHECKPOINTS)
    assert summary["nees"]["end_braking"]["attitude"] is None


def _over_a_cliff(on_map, faults=()):
    """The nominal over a 300-m scarp 2.5 km before the site (its foot crossed by the beam
    during braking), with a latching gate at 5 sigma (NIS 25: a consistent filter's ~1500
    ranges a run pass it with probability 0.999; at 9, one in a run does not): events and
    outcomes of seeds 0-3."""
    d = closed_loop()
    d["terrain"]["features"] = [
        {"kind": "scarp", "downrange": "-2.5 km", "height": "300 m", "width": "600 m"}
        | {"on_map": on_map}
    ]
    d["sensors"]["laser_rangefinder"]["gate"] = {"policy": "latch", "threshold": 25.0}
    d["faults"] = list(faults)
    return [(r.outcome, r.summary["events"]) for r in api.run_seeds(d, range(4))]


def _rejections(events):
    return [e for e in events if e["event"] in ("measurement_rejected", "sensor_latched_off")]


def test_the_map_predicting_gate_accepts_a_mapped_cliff_and_rejects_a_fault_there():
    """Ranges predicted from a map that holds the cliff, with the map's honest error, pass the
    gate all the way down; the cliff left off the map is refused as the beam's foot reaches
    it (457-462 s: ispace M1's rim, the latching gate then flies on without the rangefinder);
    and on the mapped cliff a 300-m bias step (the cliff's height, as a fault would fake it)
    from 459 s is refused within 3.5 s (at 5 sigma against a prediction that is, there,
    honestly uncertain by some 60 m: at once only once the foot has left the cliff's face).
    A rangefinder stuck from 457 s, before the foot reaches the cliff its readings do not
    show, is refused too, but later (0.2-23 s): its frozen range
    leaves the prediction only as the lander moves, against a prediction honestly uncertain
    by tens of metres near a cliff when the position is known to ~100 m."""
    for outcome, events in _over_a_cliff(on_map=True):
        assert outcome == "landed" and not _rejections(events)
    for _, events in _over_a_cliff(on_map=False):
        assert 457.0 < _rejections(events)[0]["t_s"] < 462.0
    step = {"name": "step", "target": "laser_rangefinder", "mode": "bias", "value": "-300 m"}
    for _, events in _over_a_cliff(True, [step | {"trigger": {"time": "459 s"}}]):
        assert 459.0 <= _rejections(events)[0]["t_s"] < 463.5
    stuck = {"name": "stuck", "target": "laser_rangefinder", "mode": "stuck"}
    for _, events in _over_a_cliff(True, [stuck | {"trigger": {"time": "457 s"}}]):
        assert 457.0 <= _rejections(events)[0]["t_s"] < 482.0
