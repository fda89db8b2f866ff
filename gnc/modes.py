"""Mode manager vocabulary: flight phases and the event log.

Phases run in order: braking (PDI to high gate), approach (high gate to low gate), terminal
(constant-rate vertical descent from low gate), engine_off (after contact-probe signal).
Events are appended with their time and reason; the run writes them to summary.json.
"""

import numpy as np
from numba import njit

PHASES = ("braking", "approach", "terminal", "engine_off")
BRAKING, APPROACH, TERMINAL, ENGINE_OFF = range(4)

SENSORS = ("star_tracker", "laser_rangefinder")
STAR_TRACKER, LASER_RANGEFINDER = range(2)

EVENT_DTYPE = np.dtype(
    [("t_s", np.float64), ("code", np.int64), ("detail", np.int64), ("value", np.float64)]
)
EVENTS = (
    "phase_change",  # detail: new phase; value: estimated altitude [m]
    "measurement_rejected",  # detail: sensor; value: NIS (first of a streak only)
    "sensor_latched_off",  # detail: sensor; value: NIS
    "sensor_recovered",  # detail: sensor; value: NIS
    "sensor_acquired",  # detail: sensor; value: first accepted measurement
    "low_propellant",  # value: estimated propellant left [kg]
    "engine_cutoff",  # value: estimated altitude [m]
    "flameout",  # value: time [s] (truth: the propellant ran out)
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
) = range(8)


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


def describe(events, count):
    """Events as JSON-ready dicts."""
    out = []
    for e in events[: min(int(count), len(events))]:
        item = {"t_s": round(float(e["t_s"]), 3), "event": EVENTS[e["code"]]}
        code = int(e["code"])
        if code == PHASE_CHANGE:
            item["phase"] = PHASES[e["detail"]]
            item["altitude_est_m"] = float(e["value"])
        elif code in (MEASUREMENT_REJECTED, SENSOR_LATCHED_OFF, SENSOR_RECOVERED):
            item["sensor"] = SENSORS[e["detail"]]
            item["nis"] = float(e["value"])
        elif code == SENSOR_ACQUIRED:
            item["sensor"] = SENSORS[e["detail"]]
            item["measurement"] = float(e["value"])
        elif code == LOW_PROPELLANT:
            item["propellant_est_kg"] = float(e["value"])
        elif code == ENGINE_CUTOFF:
            item["altitude_est_m"] = float(e["value"])
        out.append(item)
    if count > len(events):
        out.append({"event": "log_full", "not_stored": int(count - len(events))})
    return out
