"""What a flight software commands through the interface is what the truth flies: a throttle
per engine (two engines off the axis commanded apart turn the lander as their thrusts'
moment says), a torque through the attitude layer's RCS modulation, and the engines held off
after a computer reset whatever it commands."""

import numpy as np
import pytest

from dynamics import mass_properties
from gnc.interface.python_class import Commands
from sims import api
from sims.run import packing
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop

ENGINE = closed_loop()["vehicle"]["main_engine"]
ARM_M, THRUST_N, SHARES = 0.5, 1250.0, (0.6, 0.3)
TORQUE_NM = (0.0, 0.0, 3.0)  # about the thrust axis, where no engine acts


class Differential:
    """The engines commanded apart, no RCS (zero on-times), or a torque about +z."""

    def initialise(self, handover, configuration):
        self.torque = configuration.parameters.get("torque")

    def step(self, inputs):
        if self.torque is not None:
            return Commands(throttle=0.3, torque_body_nm=self.torque)
        return Commands(throttle=list(SHARES), on_time_s=np.zeros(12))

    def restart(self, reset):
        pass


def two_engines(**table):
    d = closed_loop(simulation={"time_step": "10 ms", "max_time": "1 s", "output_rate": "10 Hz"})
    d["vehicle"]["main_engine"] = [
        ENGINE | {"position": [f"{x} m", "0 m", "-0.4 m"], "max_thrust": f"{THRUST_N} N"}
        for x in (ARM_M, -ARM_M)
    ]
    d["vehicle"]["main_engine"][0]["misalignment"] = "0 deg"
    d["vehicle"]["main_engine"][1]["misalignment"] = "0 deg"
    d["flight_software"] = {
        "kind": "python",
        "class": "tests.sims.test_interface_actuators:Differential",
        "parameters": table,
    }
    return d


def inertia_at_pdi(d):
    m = packing.build(scenario.load(d))
    inertia = np.zeros((3, 3))
    mass = m.x0[13]
    mass_properties.evaluate(m.mass, mass, np.zeros(3), inertia, np.zeros((3, 3)))
    return inertia


def test_a_throttle_per_engine_turns_the_lander_by_their_moment():
    """0.6 and 0.3 of 1250 N at x = +-0.5 m: a pitch torque -x F summed, -0.5 (750 - 375) =
    -187.5 N m, through the engines' first-order lag (0.1 s): after 1 s the pitch rate is that
    torque over the inertia times (t - tau (1 - exp(-t / tau)))."""
    d = two_engines()
    tau, t = 0.1, 1.0
    torque = -ARM_M * THRUST_N * (SHARES[0] - SHARES[1])
    expected = torque / inertia_at_pdi(d)[1, 1] * (t - tau * (1 - np.exp(-t / tau)))
    trace = api.run(d, seed=0).trajectory.to_pandas()
    end = trace[trace.t_s == t].iloc[0]
    assert np.radians(end.wy_dps) == pytest.approx(expected, rel=0.03)
    assert abs(end.wx_dps) < 0.02 * abs(end.wy_dps)


def test_a_torque_command_is_flown_by_the_attitude_layers_rcs():
    """3 N m about the thrust axis, for 1 s, through the RCS's pulses (impulse carried below
    the minimum pulse): the yaw rate is that torque over the inertia, to the pulses'
    granularity."""
    d = two_engines(torque=list(TORQUE_NM))
    trace = api.run(d, seed=0).trajectory.to_pandas()
    end = trace[trace.t_s == 1.0].iloc[0]
    expected = TORQUE_NM[2] / inertia_at_pdi(d)[2, 2] * 1.0
    assert np.radians(end.wz_dps) == pytest.approx(expected, rel=0.1)


def test_after_a_reset_the_engines_stay_off_until_the_relight_time_whatever_it_commands():
    """A reset at 0.2 s, back on line at 0.3 s, engines allowed again at 0.6 s: its commands
    (0.6 of full throttle) fly only from then; meanwhile the thrust decays with the engines'
    0.1-s lag."""
    d = two_engines()
    d["faults"] = [
        {
            "name": "reset",
            "target": "flight_computer",
            "mode": "reset",
            "reboot_time": "0.1 s",
            "relight_delay": "0.4 s",
            "trigger": {"time": "0.2 s"},
        }
    ]
    trace = api.run(d, seed=0).trajectory.to_pandas()
    trace = trace.set_index(trace.t_s.round(6))  # each sample: the command of the cycle before
    assert trace.throttle_command[0.2] == 0.6
    assert (trace.throttle_command[[0.3, 0.4, 0.5, 0.6]] == 0.0).all()
    assert trace.throttle[0.6] < 0.6 * np.exp(-3.5)  # 0.4 s of decay, less a step
    assert trace.throttle_command[0.8] == 0.6 and trace.throttle[1.0] > 0.4
