"""What a flight records, in the interface's words: its phases and its event log.

Phases run in order: braking (PDI to high gate), approach (high gate to low gate), terminal
(constant-rate vertical descent from low gate), engine_off (after contact-probe signal). A
flight software reports its phase as one of these (or NO_PHASE): fault triggers, the
consistency checkpoints and the report read it.
Events are appended with their time and reason, by the simulator (faults, flame-out) and by
the flight software (phase changes, sensor verdicts, FDIR decisions: any form may log these
codes through the log its interface record carries); the run writes them to summary.json,
naming the sensor channel or fault an event is about.
"""

import numpy as np
from numba import njit

PHASES = ("braking", "approach", "terminal", "engine_off")
BRAKING, APPROACH, TERMINAL, ENGINE_OFF = range(4)
NO_PHASE = -1  # a flight software that reports none, or has not cycled yet

EVENT_DTYPE = np.dtype(
    [("t_s", np.float64), ("code", np.int64), ("detail", np.int64), ("value", np.float64)]
)
EVENTS = (
    "phase_change",  # detail: new phase; value: estimated altitude [m]
    "measurement_rejected",  # detail: channel; value: NIS (first of a streak only)
    "sensor_latched_off",  # detail: channel; value: NIS
    "sensor_recovered",  # detail: channel; value: NIS
    "sensor_acquired",  # detail: channel; value: first admitted measurement's first value
    "low_propellant",  # value: estimated propellant left [kg]
    "engine_cutoff",  # value: estimated altitude [m]
    "flameout",  # value: time [s] (truth: the propellant ran out)
    "fault_activated",  # detail: fault; value: true altitude [m]
    "fault_ended",  # detail: fault; value: true altitude [m]
    "computer_restarted",  # value: seconds the flight software was off
    "land_now",  # detail: why (LAND_NOW_REASONS); value: estimated altitude [m]
    "accelerometer_failed",  # value: the modelled thrust acceleration it missed [m/s^2]
    # detail: the channel whose recovery found it lost; value: how far the terrain
    # correlation moved the estimate [m] (`gnc.navigation.reacquisition`)
    "position_lost",
    "hazard_map",  # detail: the hazard sensor's channel; value: the share of its sites safe
    # detail: what was chosen (SITE_CHOICES); value: the divert distance [m] from the target
    # it was flying to (0 when it stays)
    "site_selected",
)
(
    PHASE_CHANGE,
    MEASUREMENT_REJECTED,
    SENSOR_LATCHED_OFF,
    SENSOR_RECOVERED,
    SENSOR_ACQUIRED,
    LOW_PROPELLANT,
    ENGINE_CUTOFF,
    FLAMEOUT,
    FAULT_ACTIVATED,
    FAULT_ENDED,
    COMPUTER_RESTARTED,
    LAND_NOW,
    ACCELEROMETER_FAILED,
    POSITION_LOST,
    HAZARD_MAP,
    SITE_SELECTED,
) = range(16)
LAND_NOW_REASONS = ("low_propellant", "touchdown_overdue")
LAND_NOW_PROPELLANT, LAND_NOW_OVERDUE = range(2)
# a safe site seen; none seen in its looks: the target kept; no map came in time: the target
SITE_CHOICES = ("safe_site", "no_safe_site", "no_hazard_map")
SAFE_SITE, NO_SAFE_SITE, NO_HAZARD_MAP = range(3)
SENSOR_EVENTS = (MEASUREMENT_REJECTED, SENSOR_LATCHED_OFF, SENSOR_RECOVERED, SENSOR_ACQUIRED)


@njit(cache=True)
def log(events, count, t_s, code, detail, value):
    """Append an event; count is a one-element array holding the number logged so far.
    Events past the buffer's capacity are counted but not stored."""
    k = count[0]
    if k < events.shape[0]:
        e = events[k]
        e.t_s = t_s
        e.code = code
        e.detail = detail
        e.value = value
    count[0] = k + 1


def describe(events, count, channels=(), faults=()):
    """Events as JSON-ready dicts; channels are the names of the sensor channels, faults a
    dict per fault (name, target, mode) in the order of the run's tables."""
    out = []
    for e in events[: min(int(count), len(events))]:
        item = {"t_s": round(float(e["t_s"]), 3), "event": EVENTS[e["code"]]}
        code, detail, value = int(e["code"]), int(e["detail"]), float(e["value"])
        if code == PHASE_CHANGE:
            item["phase"] = PHASES[detail]
            item["altitude_est_m"] = value
        elif code in SENSOR_EVENTS:
            item["sensor"] = channels[detail]
            item["measurement" if code == SENSOR_ACQUIRED else "nis"] = value
        elif code == LOW_PROPELLANT:
            item["propellant_est_kg"] = value
        elif code == ENGINE_CUTOFF:
            item["altitude_est_m"] = value
        elif code in (FAULT_ACTIVATED, FAULT_ENDED):
            item.update(faults[detail])
            item["altitude_m"] = value
        elif code == COMPUTER_RESTARTED:
            item["offline_s"] = value
        elif code == LAND_NOW:
            item["reason"] = LAND_NOW_REASONS[detail]
            item["altitude_est_m"] = value
        elif code == ACCELEROMETER_FAILED:
            item["thrust_acceleration_mps2"] = value
        elif code == POSITION_LOST:
            item["sensor"] = channels[detail]
            item["moved_m"] = value
        elif code == HAZARD_MAP:
            item["sensor"] = channels[detail]
            item["safe_fraction"] = value
        elif code == SITE_SELECTED:
            item["choice"] = SITE_CHOICES[detail]
            item["divert_m"] = value
        out.append(item)
    if count > len(events):
        out.append({"event": "log_full", "not_stored": int(count - len(events))})
    return out
