"""Innovation gating after a terrain step: the legacy policy latches the rangefinder off for
good (ispace M1), the recovering policy re-initialises the altitude and re-admits it. The
measurements go through the real path: the laser rangefinder kind's compiled predict entry
point, the error-state Jacobian, the gate."""

import math

import numpy as np
import pytest
from numba import njit

from dynamics import frames, quaternion, terrain
from dynamics.constants import MOON_MEAN_RADIUS_M
from dynamics.views import record
from gnc.navigation import filter as ekf
from gnc.navigation import gating, updates
from sensors import bus, laser_rangefinder, registry

SITE = frames.make_site(0.3, 0.2, 0.0, 0.0, MOON_MEAN_RADIUS_M)
NO_TILES, NO_HEIGHTS = terrain.make_tiles([])
ALTITUDE = 5000.0
SPEC = record(
    laser_rangefinder.SPEC_DTYPE,
    beam_body=(0.0, 0.0, -1.0),
    noise_m=2.0,  # and no jitter: 2 m at any signal
    laser_power_w=1000.0,
    receiver_aperture_m=0.05,
    optics_transmission=0.7,
    sensitivity_w=2e-10,  # reaches 21 km on albedo 0.2
    ray_step_m=5.0,
)


def hovering_nav():
    """Navigation state 5 km above a flat map, thrust axis (body +z) up, 20 m altitude sigma."""
    nav = np.zeros(1, ekf.NAV_DTYPE)[0]
    up = SITE["up"]
    nav["r_mci_m"] = (MOON_MEAN_RADIUS_M + ALTITUDE) * up
    nav["q_body_to_mci"] = quaternion.from_axes(
        tuple(SITE["east"]), tuple(SITE["north"]), tuple(up)
    )
    nav["P"] = np.diag(
        [20.0**2] * 3 + [0.1**2] * 3 + [1e-8] * 3 + [1e-12] * 3 + [1e-8] * 3 + [1e-10] * 12
    )
    return nav


@njit
def _update(
    nav, channel, gates, index, knowledge, pose, site, tiles, heights, meas, model, view, lost_m2
):
    bus.describe_surface(view, site, tiles, heights)
    bus.fill_pose(
        pose,
        0.0,
        (nav.r_mci_m[0], nav.r_mci_m[1], nav.r_mci_m[2]),
        (0.0, 0.0, 0.0),
        (nav.q_body_to_mci[0], nav.q_body_to_mci[1], nav.q_body_to_mci[2], nav.q_body_to_mci[3]),
        (0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0),
        0.0,
    )
    meas.channel = index
    return updates.update(nav, (channel, knowledge), gates, (pose, 0.0), view, meas, model, lost_m2)


def range_update(gate, states, nav, measured, index=0, t_s=0.0, pdi_sigma_m=0.0):
    """(verdict, NIS) of one slant range, taken at t_s, of channel `index` (states: every
    channel's gate state) through the filter's measurement update (a PDI horizontal
    knowledge of pdi_sigma_m for a lost position)."""
    channel = np.zeros(1, updates.FSW_CHANNEL_DTYPE)[0]
    channel["predict_entry"] = registry.entry_points("laser_rangefinder")[1]
    channel["gate"] = gate
    meas = record(bus.MEASUREMENT_DTYPE, valid=True, m=1, y=[measured] + [0.0] * 7, t_s=t_s)
    model = np.zeros(1, bus.MODEL_DTYPE)[0]
    knowledge = np.frombuffer(SPEC.tobytes(), np.uint8).copy()
    pose, view = np.zeros(1, bus.POSE_DTYPE)[0], np.zeros(1, bus.SURFACE_DTYPE)[0]
    verdict, nis, _ = _update(
        nav,
        channel,
        states,
        index,
        knowledge,
        pose,
        SITE,
        NO_TILES,
        NO_HEIGHTS,
        meas,
        model,
        view,
        pdi_sigma_m**2,
    )
    return verdict, nis, model


def gate_record(policy, threshold, reject_limit):
    return record(
        gating.GATE_DTYPE,
        policy=policy,
        threshold=[threshold] * (bus.MAX_DIMENSION + 1),
        reject_limit=reject_limit,
    )


def altitude_of(nav):
    return np.linalg.norm(nav["r_mci_m"]) - MOON_MEAN_RADIUS_M


def test_flat_map_range_model_predicts_the_altitude_and_its_jacobian():
    nav = hovering_nav()
    gate = gate_record(gating.LATCH, 1e9, 1)
    states = np.zeros(1, gating.GATE_STATE_DTYPE)
    verdict, nis, model = range_update(gate, states, nav, ALTITUDE + 7.0)
    assert verdict == gating.ACCEPTED and model["usable"] and model["m"] == 1
    assert model["innovation"][0] == pytest.approx(7.0, abs=1e-3)
    # d range / d position = +up for a nadir beam over level ground: higher, longer range
    assert model["j_position"][0] == pytest.approx(SITE["up"], abs=1e-9)
    assert model["noise_cov"][0, 0] == pytest.approx(4.0)
    assert nis == pytest.approx(49.0 / (4.0 + 400.0), rel=1e-6)


def test_legacy_gate_latches_after_a_terrain_step():
    """Past a ~3 km crater-rim cliff the true range jumps by 3 km while the map says level:
    the legacy gate rejects once and never listens again, even when ranges agree later."""
    gate = gate_record(gating.LATCH, 9.0, 1)
    states = np.zeros(1, gating.GATE_STATE_DTYPE)
    state = states[0]
    nav = hovering_nav()
    assert range_update(gate, states, nav, ALTITUDE + 1.0)[0] == gating.ACCEPTED
    verdict, nis, _ = range_update(gate, states, nav, ALTITUDE + 3000.0)
    assert verdict == gating.LATCHED and nis > 1000.0
    before = altitude_of(nav)
    for measured in (ALTITUDE + 3000.0, ALTITUDE + 2990.0, ALTITUDE):
        assert range_update(gate, states, nav, measured)[0] == gating.IGNORED
    assert altitude_of(nav) == before and state["latched_off"]


def test_recovering_gate_reinitialises_altitude_and_readmits():
    gate = gate_record(gating.RECOVER, 9.0, 3)
    states = np.zeros(1, gating.GATE_STATE_DTYPE)
    state = states[0]
    nav = hovering_nav()
    horizontal = nav["r_mci_m"] - SITE["up"] * (nav["r_mci_m"] @ SITE["up"])
    verdicts = [range_update(gate, states, nav, ALTITUDE + 3000.0)[0] for _ in range(3)]
    assert verdicts == [gating.REJECTED, gating.REJECTED, gating.RECOVERED]
    # the filter now believes the rangefinder: 3 km more altitude, horizontal unchanged
    assert altitude_of(nav) == pytest.approx(ALTITUDE + 3000.0, abs=0.2 * 3000.0 / 3)
    new_horizontal = nav["r_mci_m"] - SITE["up"] * (nav["r_mci_m"] @ SITE["up"])
    assert np.linalg.norm(new_horizontal - horizontal) < 1.0
    verdict, _, _ = range_update(gate, states, nav, ALTITUDE + 3000.0)
    assert verdict == gating.ACCEPTED
    assert altitude_of(nav) == pytest.approx(ALTITUDE + 3000.0, abs=30.0)
    assert not state["latched_off"] and math.isfinite(nav["P"].sum())


def test_recovery_reinitialises_the_position_along_what_the_measurement_sees():
    """A slant range 45 deg off the vertical re-initialises the altitude; a horizontal fix
    whose gradient leans 15 deg toward the vertical (track coordinates far from the site) the
    horizontal position along it; a velocity whose position gradient is the Moon's rotation
    nothing: over that sensitivity a 1-m/s innovation would make a 1e12-m^2 variance. Each
    grows its value's variance by twice its innovation squared."""
    up, east = SITE["up"], SITE["east"]
    slant = np.sqrt(0.5) * (up + east) / 0.5  # d rho / d r = -n / (n.d): 1.41 along up
    leaning = np.cos(np.radians(75.0)) * up + np.sin(np.radians(75.0)) * east
    rotation = 1e-6 * (0.6 * up + 0.8 * east)
    for gradient, innovation, axis in ((slant, 200.0, up), (leaning, 200.0, east)):
        nav = hovering_nav()
        before = nav["P"][:3, :3].copy()
        h = np.zeros((bus.MAX_DIMENSION, ekf.N_ERR))
        h[0, ekf.DR : ekf.DR + 3] = gradient
        y = np.array([innovation] + [0.0] * 7)
        assert ekf.reinitialise_position(nav, y, h, 1)
        grown = nav["P"][:3, :3] - before
        assert grown == pytest.approx(
            np.outer(axis, axis) * 2.0 * innovation**2 / (gradient @ axis) ** 2, rel=1e-9, abs=1e-6
        )
    nav = hovering_nav()
    h = np.zeros((bus.MAX_DIMENSION, ekf.N_ERR))
    h[0, ekf.DR : ekf.DR + 3] = rotation
    assert not ekf.reinitialise_position(nav, np.array([1.0] + [0.0] * 7), h, 1)


def horizontal_variances(nav):
    """The position's variances [m^2] along the site's east and north."""
    p = nav["P"][:3, :3]
    return [SITE[axis] @ p @ SITE[axis] for axis in ("east", "north")]


def recoveries(readings, channels, every_s):
    """Verdicts of recovering gates (NIS 9, three rejections, 200 m of PDI horizontal
    knowledge) over a hovering estimate, one reading every every_s [s]: (channel, range) in
    turn; and the horizontal variances before each and after the last."""
    gate = gate_record(gating.RECOVER, 9.0, 3)
    states, nav = np.zeros(channels, gating.GATE_STATE_DTYPE), hovering_nav()
    verdicts, variances = [], []
    for k, (channel, measured) in enumerate(readings):
        variances.append(horizontal_variances(nav))
        t_s = 0.1 + every_s * k
        verdicts.append(range_update(gate, states, nav, measured, channel, t_s, 200.0)[0])
    return verdicts, [*variances, horizontal_variances(nav)]


def test_recoveries_that_keep_coming_from_two_channels_find_the_position_lost():
    """Two rangefinders that keep disagreeing with every estimate (each re-initialisation of
    the altitude makes the other disagree): the third recovery within 10 s, the other
    channel's among them, finds the horizontal position lost and adds the PDI horizontal
    variance along east and north (a nadir range over flat ground leaves them be: exactly
    that); the evidence is then spent: the next recovery is a recovery. The same recoveries
    6 s apart (12 s for the three), or all of one channel (a faulty sensor, IM-2's noisy
    altimeter): recoveries only."""
    far, near = ALTITUDE + 3000.0, ALTITUDE
    readings = [(0, far)] * 3 + [(1, near)] * 3 + [(0, far)] * 3 + [(1, near)] * 3
    verdicts, variances = recoveries(readings, 2, 0.1)
    recovered = [v for v in verdicts if v != gating.REJECTED]
    assert recovered == [gating.RECOVERED, gating.RECOVERED, gating.RELOCATED, gating.RECOVERED]
    grown = np.subtract(variances[9], variances[8])
    assert grown == pytest.approx([200.0**2] * 2, rel=1e-9)
    spaced, _ = recoveries(readings, 2, 2.0)
    assert gating.RELOCATED not in spaced and spaced.count(gating.RECOVERED) == 4
    one = [(0, far)] * 3 + [(0, near)] * 3 + [(0, far)] * 3
    alone, _ = recoveries(one, 1, 0.1)
    assert gating.RELOCATED not in alone and alone.count(gating.RECOVERED) == 3


def two_rangefinders(first, second, rounds):
    """Verdicts of rangefinder 0 (measuring `first`) and rangefinder 1 (`second`), both on a
    voting gate (NIS 9, three rejections), alternating at 10 Hz over a hovering estimate."""
    gate = gate_record(gating.VOTE, 9.0, 3)
    states, nav = np.zeros(2, gating.GATE_STATE_DTYPE), hovering_nav()
    verdicts = []
    for k in range(rounds):
        t_s = 0.1 * k
        verdicts.append(
            (
                range_update(gate, states, nav, first, index=0, t_s=t_s)[0],
                range_update(gate, states, nav, second, index=1, t_s=t_s + 0.05)[0],
            )
        )
    return verdicts, states, nav


def test_a_vote_tells_a_wrong_estimate_from_a_faulty_sensor():
    """Both rangefinders 3 km longer than the estimate (a cliff the map lacks, a wrong PDI
    altitude): each sees the other's error, so at its third rejection each recovers, and the
    altitude follows them. One reading 300 m long while the other agrees with the estimate:
    the odd one out stays rejected from its third rejection on, not latched (it would come
    back if it agreed again), and the altitude stays."""
    verdicts, states, nav = two_rangefinders(ALTITUDE + 3000.0, ALTITUDE + 3000.0, 4)
    assert verdicts[2][0] == gating.RECOVERED and not states["latched_off"].any()
    assert altitude_of(nav) == pytest.approx(ALTITUDE + 3000.0, abs=30.0)
    verdicts, states, nav = two_rangefinders(ALTITUDE + 300.0, ALTITUDE, 4)
    assert [v[0] for v in verdicts] == [gating.REJECTED] * 4
    assert all(v[1] == gating.ACCEPTED for v in verdicts)
    assert not states["latched_off"].any() and states["streak"].tolist() == [4, 0]
    assert altitude_of(nav) == pytest.approx(ALTITUDE, abs=5.0)


def test_a_vote_without_another_opinion_recovers_on_persistence():
    """A single voting rangefinder has no second opinion: it recovers as `recover` does."""
    gate = gate_record(gating.VOTE, 9.0, 3)
    states, nav = np.zeros(1, gating.GATE_STATE_DTYPE), hovering_nav()
    verdicts = [
        range_update(gate, states, nav, ALTITUDE + 3000.0, t_s=0.1 * k)[0] for k in range(3)
    ]
    assert verdicts == [gating.REJECTED, gating.REJECTED, gating.RECOVERED]
