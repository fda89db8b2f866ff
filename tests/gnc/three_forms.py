"""The tests' ZEM/ZEV flight software in its three forms, each as the `[flight_software]` table of
the bundled `nominal_high_gate` scenario: a compiled module (`zem_zev.py`), a Python class
(`zem_zev_class.py`) and an FMU built from C (`fmu_build.py`). Keyword settings are the law's
and the tests' faults (`zem_zev.Spec`), given to each form its own way."""

from sims.scenarios import scenario

BASE = "nominal_high_gate"


def _with(table, base=BASE):
    d = scenario.read_data(base)[1]
    d["flight_software"] = table
    return d


UNITS = {"time_to_go": "s", "terminal_time": "s", "fail_at": "s", "nan_at": "s"}
UNITS |= {"target_height": "m", "descent_rate": "m/s"}


def compiled(base=BASE, **settings):
    """Its table (a scenario's quantities carry their units)."""
    written = {k: f"{v} {UNITS[k]}" if k in UNITS else v for k, v in settings.items()}
    return _with({"module": "tests.gnc.zem_zev", **written}, base)


def python_class(base=BASE, **settings):
    table = {"kind": "python", "class": "tests.gnc.zem_zev_class:ZemZev"}
    return _with(table | {"parameters": settings}, base)


def fmu_mapping():
    """(inputs, outputs) of the test FMU: interface signal = its variable."""
    inputs = {
        "time": "time",
        "imu.interval_s": "interval",
        "laser_rangefinder.y[0]": "range",
        "laser_rangefinder.valid": "range_valid",
        "probe": "probe",
        "restart": "restart",
        "handover.mass_kg": "mass0",
        "handover.rotation_rate_radps": "omega",
        "handover.gm_m3ps2": "gm",
    }
    outputs = {"throttle": "throttle", "engine_on": "engine_on", "phase": "phase"}
    outputs["altitude_est_m"] = "altitude"
    for i in range(3):
        inputs[f"imu.dv_body_mps[{i}]"] = f"dv_{i}"
        inputs[f"imu.dtheta_body_rad[{i}]"] = f"dtheta_{i}"
        inputs[f"handover.r_mci_m[{i}]"] = f"r0_{i}"
        inputs[f"handover.v_mci_mps[{i}]"] = f"v0_{i}"
        inputs[f"handover.site_mcmf_m[{i}]"] = f"site_{i}"
        outputs[f"r_mci_m[{i}]"] = f"r_{i}"
        outputs[f"v_mci_mps[{i}]"] = f"v_{i}"
    for i in range(4):
        inputs[f"handover.q_body_to_mci[{i}]"] = f"q0_{i}"
        outputs[f"q_command_body_to_mci[{i}]"] = f"q_command_{i}"
        outputs[f"q_body_to_mci[{i}]"] = f"q_{i}"
    for i in range(9):
        inputs[f"handover.site_axes_mcmf[{i}]"] = f"site_axes_{i}"
    return inputs, outputs


def fmu(path, base=BASE, **settings):
    """The FMU's table: its vehicle parameters from the scenario (what the compiled module and
    the class read from their configuration), the settings as parameters."""
    sc = scenario.load(base)
    engine = sc.vehicle.engines[0]
    beam = sc.sensors.channels["laser_rangefinder"].beam
    parameters = {f"beam_{i}": beam[i] for i in range(3)}
    parameters |= {"max_thrust": engine.max_thrust, "isp": engine.isp}
    parameters |= {"throttle_min": engine.throttle_min, "throttle_max": engine.throttle_max}
    parameters |= {name: float(value) for name, value in settings.items()}
    inputs, outputs = fmu_mapping()
    table = {"kind": "fmu", "path": str(path), "inputs": inputs, "outputs": outputs}
    return _with(table | {"parameters": parameters}, base)
