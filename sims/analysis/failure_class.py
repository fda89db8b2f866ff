"""Why a run failed, as a class read from what happened in flight (its faults, sensor events,
propellant and navigation), not only from the touchdown limit it broke: what a fault-analysis
report groups failures by. A landed run has no class.

The first that holds, in this order (a cause before its consequences: a lander that hovers
out of propellant because it believes itself higher has a wrong altitude estimate):
- `engine_out`, `thrust_loss` (a partial loss), `engine_shutdown`, `computer_reset`,
  `imu_fault`: a fault of that kind fired in flight (the earliest such fault names it; each
  mode's class is declared with it, `faults.<family>`);
- `sensor_latched_off`: the flight software declared an altitude sensor failed and ignored it
  for the rest of the flight (ispace M1);
- `altitude_estimate_diverged`: at the end the altitude estimate was off by more than
  ALTITUDE_DIVERGED_M (IM-1, its rangefinders never enabled: ~100 m near the surface);
- `late_altitude_acquisition`: the estimate was right at the end, but no altitude sensor was
  acquired, or the first acquisition left less than LATE_ACQUISITION_MARGIN_S before the high
  gate (the phase change to the approach; the end of the flight if it never came) to take
  out the altitude error it revealed (ispace M2: valid data only below ~900 m, after its high
  gate; a rangefinder at a quarter of its power: ~2 km, 9-15 s before it);
- `propellant_exhausted_hovering`: the propellant ran out in the air, the estimate right;
- `lands_long`, `lands_short`, `lands_off_track`: touched down more than OFF_TARGET_M from
  the target, beyond it along the track, before it, or farther across the track than along
  it (Apollo 11: ~3 nmi long);
- `tipped_on_boulder`, `tipped_in_fresh_crater`, `tipped_on_slope`: tipped over on ground
  steeper than the limit, where a footpad stood on a boulder or in a fresh crater of a hazard
  field (`ground_feature`), or elsewhere;
- otherwise the touchdown limit it broke or the reason the run ended (`cause_of`).

The sensor-verdict classes (`sensor_latched_off`, `late_altitude_acquisition`) are read from
the flight software's own events: only a form that logs them (`LOGS_SENSOR_VERDICTS`, ours
does) is given them. Altitude sensors are the channels of kinds that declare
`MEASURES_ALTITUDE`: their (first)
value is a distance to the ground, which their acquisition event carries (the laser
rangefinder, the radar altimeter, or a kind of your own; not the Doppler lidar, whose first
value is a velocity).
"""

import math

from dynamics import hazards, touchdown
from faults import table as fault_table
from gnc.interface import forms
from sensors import registry
from sims.run import bookkeeping

# An altitude first measured less than this before the high gate leaves too little braking to
# take out the error it reveals. Measured: 100 dispersed runs of the nominal with its
# rangefinder at 25 % power (first range ~2 km): the 5 that crashed acquired 8.6-15 s before
# the high gate, short of the target at horizontal speed; of those acquiring 20 s or more
# before it all landed but 2 that tipped on slopes. For scale: a ZEM correction of the PDI's
# 100-m (1 sigma) altitude knowledge in t seconds asks 6 dh / t^2, 1.5 m/s^2 at 20 s, a
# quarter of the nominal's thrust acceleration near the high gate.
LATE_ACQUISITION_MARGIN_S = 20.0
# the terminal descent flies down at a constant rate to contact, absorbing an altitude error
# smaller than the height it starts at (60 m in the bundled scenarios): half of that
ALTITUDE_DIVERGED_M = 30.0
OFF_TARGET_M = 1000.0

TIPPED_ON = {"boulder": "tipped_on_boulder", "fresh crater": "tipped_in_fresh_crater"}
FAULT_CLASSES = fault_table.failure_classes()  # as each fault family declares its modes


def cause_of(summary, limits, n_gear_points, error=None):
    """Which limit a run broke first (or why it ended): a class to group failures by.
    summary is the run's record from the compiled loop; error the message of a run that
    raised inside the model."""
    if error is not None:
        return error
    outcome = int(summary["outcome"])
    if outcome == touchdown.DIVERGED:
        return bookkeeping.DIVERGENCE_REASONS[int(summary["diverged_reason"])]
    if outcome in (touchdown.TIMEOUT, touchdown.LANDED):
        return touchdown.OUTCOMES[outcome]
    if summary["contact_point"] >= n_gear_points:
        return "structure_contact"
    if outcome == touchdown.FUEL_EXHAUSTED:
        return "propellant"
    checks = (
        ("vertical_speed", summary["descent_rate_mps"], limits.vertical_speed),
        ("horizontal_speed", summary["horizontal_speed_mps"], limits.horizontal_speed),
        ("tilt", summary["tilt_rad"], limits.tilt),
        ("slope", summary["slope_rad"], limits.slope),
        ("body_rate", summary["body_rate_radps"], limits.body_rate),
    )
    return max(checks, key=lambda c: c[1] / c[2] if c[2] > 0 else 0.0)[0]


def of_run(scenario, summary, n_gear_points, closed_loop, events, error=None):
    """(cause, failure class) of a run from its record of the compiled loop, its lander's
    gear points, whether it flew closed loop, its events (`flight_log.describe`) and the
    error of a run that raised inside the model or whose flight software failed."""
    outcome = touchdown.DIVERGED if error is not None else int(summary["outcome"])
    cause = cause_of(summary, scenario.touchdown_limits, n_gear_points, error)
    flown = error is None
    touched = outcome not in (touchdown.TIMEOUT, touchdown.DIVERGED)
    altitude_error = float(summary["nav_altitude_error_m"])
    judged = flown and closed_loop and not math.isnan(altitude_error)
    feature = ground_feature(scenario, summary) if touched else None
    return cause, classify(
        touchdown.OUTCOMES[outcome],
        cause,
        events,
        altitude_channels(scenario) if logs_sensor_verdicts(scenario) else None,
        altitude_error if judged else None,
        (float(summary["downrange_m"]), float(summary["crossrange_m"])) if touched else None,
        float(summary["flameout_time_s"]) if flown and summary["flameout_time_s"] >= 0 else None,
        float(summary["time_s"]),
        feature["feature"] if feature else None,
    )


def ground_feature(scenario, summary):
    """The hazard under the footpad the lander rested on worst (`dynamics.touchdown`'s
    resting pad on a hazard field), as `dynamics.hazards.feature_at` names it with the
    footpad's number; None off a hazard field or on bare ground there."""
    pad = int(summary["resting_pad"])
    field = scenario.terrain.hazards
    if pad < 0 or field is None:
        return None
    x, y = float(summary["pad_downrange_m"]), float(summary["pad_crossrange_m"])
    feature = hazards.feature_at(scenario.terrain, x, y, field.spacing)
    return None if feature is None else {**feature, "footpad": pad + 1}


def logs_sensor_verdicts(scenario):
    """Whether the scenario's flight software logs its sensor verdicts (acquired, latched
    off): the classes read from them are told only of those that do."""
    fs = scenario.flight_software
    return fs is not None and getattr(forms.form(fs.kind), "LOGS_SENSOR_VERDICTS", False)


def altitude_channels(scenario):
    """Names of a scenario's channels whose kind measures altitude."""
    channels = scenario.sensors.channels if scenario.sensors else {}
    return {
        name
        for name, spec in channels.items()
        if getattr(registry.kind(spec.kind), "MEASURES_ALTITUDE", False)
    }


def classify(
    outcome,
    limit_cause,
    events,
    altitude_sensors,
    final_altitude_error_m,
    touchdown_m,
    flameout_time_s,
    end_time_s,
    ground=None,
):
    """The failure class of a run (None if it landed) from its outcome, the limit cause
    (`cause_of`), its events (`flight_log.describe`), the names of its altitude channels
    (None when its flight software logs no sensor verdicts), the navigation's altitude error
    at the end (None in open loop or unreported), the touchdown point (downrange, crossrange
    [m] from the target; None without one), the flame-out time (None if none), the time
    the flight ended [s] and the hazard a footpad met (`ground_feature`'s name, or None)."""
    if outcome == "landed":
        return None
    for e in events:
        if e["event"] != "fault_activated":
            continue
        target = "main_engine" if e["target"].startswith("main_engine") else e["target"]
        if (target, e["mode"]) in FAULT_CLASSES:
            return FAULT_CLASSES[target, e["mode"]]
    verdicts = altitude_sensors is not None
    if verdicts and any(
        e["event"] == "sensor_latched_off" and e["sensor"] in altitude_sensors for e in events
    ):
        return "sensor_latched_off"
    if final_altitude_error_m is not None and abs(final_altitude_error_m) > ALTITUDE_DIVERGED_M:
        return "altitude_estimate_diverged"
    first = next(
        (
            e
            for e in events
            if verdicts and e["event"] == "sensor_acquired" and e["sensor"] in altitude_sensors
        ),
        None,
    )
    if (
        verdicts
        and final_altitude_error_m is not None
        and (
            first is None
            or _time_left_to_act(first, events, end_time_s) < LATE_ACQUISITION_MARGIN_S
        )
    ):
        return "late_altitude_acquisition"
    if flameout_time_s is not None:
        return "propellant_exhausted_hovering"
    if touchdown_m is not None and math.hypot(*touchdown_m) > OFF_TARGET_M:
        downrange, crossrange = touchdown_m
        if abs(crossrange) > abs(downrange):
            return "lands_off_track"
        return "lands_long" if downrange > 0.0 else "lands_short"
    if outcome == "tipped_over" and limit_cause == "slope":
        return TIPPED_ON.get(ground, "tipped_on_slope")
    return limit_cause


def _time_left_to_act(acquired, events, end_time_s):
    """Seconds from an altitude sensor's first acquisition to the high gate (the phase change
    to the approach), or to the end of the flight if the approach never began: negative when
    it came after the high gate."""
    high_gate = next(
        (e["t_s"] for e in events if e["event"] == "phase_change" and e["phase"] == "approach"),
        end_time_s,
    )
    return high_gate - acquired["t_s"]
