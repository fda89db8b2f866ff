"""Hazard avoidance in our flight software (`gnc.fdir.hazard_avoidance`) over the bundled rough
site: it hovers, takes a map, diverts and lands on a site the truth holds safe; with the hazard
lidar off it lands where it is once the wait is over; with no safe site it looks again, then
lands at the target; a channel that recommends no sites is one sentence."""

import copy

import pytest

from sims import api, commands
from sims.scenarios import scenario

ROUGH = scenario.read_data("rough_site_hda")[1]


def flown(seeds, **changes):
    """Results of the rough site with HDA, its hazard_avoidance table and hazard lidar's fields
    changed, and faults added."""
    data = copy.deepcopy(ROUGH)
    data["flight_software"]["hazard_avoidance"].update(changes.pop("hda", {}))
    data["sensors"]["hazard_lidar"].update(changes.pop("lidar", {}))
    data.update(changes)
    return api.run_seeds(data, seeds)


def hazard_events(result):
    return [e for e in result.summary["events"] if e["event"] in ("hazard_map", "site_selected")]


def test_it_diverts_to_a_safe_site_and_lands_there():
    """Four seeds: each takes a map once settled in its hover over the target and chooses a safe
    site within its 15-m divert; it lands there (as far from the target as it diverted, to the
    navigation's metre), on ground its pads hold under the 8-deg slope the map judged (the
    slope limit is 12), no boulder taller than its 0.25-m clearance under a pad."""
    for r in flown(range(4)):
        events = hazard_events(r)
        assert [e["event"] for e in events] == ["hazard_map", "site_selected"], events
        assert events[1]["choice"] == "safe_site" and 0.0 <= events[1]["divert_m"] <= 15.0
        assert r.outcome == "landed", r.summary["touchdown"]
        divert = events[1]["divert_m"]
        assert r.summary["touchdown"]["position_error_m"] == pytest.approx(divert, abs=1.5)
        assert r.summary["touchdown"]["slope_deg"] < 8.0
        said = commands.describe(r.summary)  # what `descent run` prints
        assert f"site_selected (safe_site, {divert:.1f} m)" in said
        under = r.summary["touchdown"].get("ground_feature") or {"feature": "none"}
        assert under["feature"] != "boulder" or under["height_m"] < 0.25, under


def test_retargeting_moves_the_approach_and_lands_on_the_site():
    """Without a hover: a map taken in the approach (the lidar reaching 120 m, 0.5-m cells)
    moves its target over a safe site; it lands there, the site as far from the target as
    the divert says (the approach's target was the target), to the navigation's metre."""
    lidar = {"max_range": "120 m", "cell": "0.5 m"}
    (r,) = flown([0], hda={"mode": "retarget", "wait": "70 s"}, lidar=lidar)
    events = [e for e in r.summary["events"] if e["event"] in ("phase_change", "site_selected")]
    order = [e.get("phase") or e["choice"] for e in events]
    assert order == ["braking", "approach", "safe_site", "terminal", "engine_off"], order
    assert r.outcome == "landed"
    divert = events[2]["divert_m"]
    assert r.summary["touchdown"]["position_error_m"] == pytest.approx(divert, abs=1.0)


def test_with_the_hazard_lidar_off_it_lands_at_the_target_after_the_wait():
    """No map: it flies over the target, settles, waits its 20 s and lands there."""
    fault = [{"name": "lidar_dead", "target": "hazard_lidar", "mode": "off"}]
    (r,) = flown([0], faults=fault)
    events = hazard_events(r)
    assert [(e["event"], e.get("choice")) for e in events] == [("site_selected", "no_hazard_map")]
    terminal = next(e["t_s"] for e in r.summary["events"] if e.get("phase") == "terminal")
    assert events[0]["t_s"] - terminal > 20.0  # the wait counts from the hover settling
    assert r.summary["touchdown"]["position_error_m"] < 1.5


@pytest.mark.parametrize(
    ("policy", "maps"), [("land_at_target", 1), ("look_again", 2)], ids=["once", "twice"]
)
def test_with_no_safe_site_it_looks_again_then_keeps_the_target(policy, maps):
    """A slope limit no ground meets (0.1 deg with 3 sigma of noise kept): no site is safe."""
    (r,) = flown([0], hda={"no_safe_site": policy, "looks": 2}, lidar={"max_slope": "0.1 deg"})
    events = hazard_events(r)
    assert [e["event"] for e in events] == ["hazard_map"] * maps + ["site_selected"]
    assert all(e["safe_fraction"] == 0.0 for e in events[:-1])
    assert events[-1]["choice"] == "no_safe_site" and events[-1]["divert_m"] == 0.0


def test_a_channel_that_recommends_no_sites_is_one_sentence():
    data = copy.deepcopy(ROUGH)
    data["flight_software"]["hazard_avoidance"]["sensor"] = "laser_rangefinder"
    with pytest.raises(scenario.ScenarioError) as err:
        scenario.parse(data, "hda.toml")
    message = str(err.value)
    assert "hazard_avoidance.sensor 'laser_rangefinder' is a laser_rangefinder" in message
    assert message.count("\n") == 0
    data["flight_software"]["hazard_avoidance"]["sensor"] = "lidar"
    with pytest.raises(scenario.ScenarioError, match="'lidar' is not a sensor channel"):
        scenario.parse(data, "hda.toml")
