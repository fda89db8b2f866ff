"""A flight software of one's own, as a Python class: `descend.py`'s, from the increments the
IMU gave since the last cycle. gnc/README.md shows it whole."""

import numpy as np
from scipy.spatial.transform import Rotation

from gnc.interface.python_class import Commands


def pointing(thrust, y_reference):
    """Quaternion (scalar first, body to MCI) with body +z along the thrust, +y near y."""
    z = thrust / np.linalg.norm(thrust)
    y = np.cross(z, np.cross(y_reference, z))
    matrix = np.column_stack([np.cross(y / np.linalg.norm(y), z), y / np.linalg.norm(y), z])
    return np.roll(Rotation.from_matrix(matrix).as_quat(), 1)


class Descend:
    def initialise(self, handover, configuration):
        self.tau = configuration.parameters.get("time_constant", 5.0)
        engines = configuration.scenario.vehicle.engines
        self.max_thrust = sum(e.max_thrust for e in engines)
        self.flow = sum(e.max_thrust / (e.isp * 9.80665) for e in engines)
        self.r, self.v = handover.r_mci_m, handover.v_mci_mps
        self.attitude = Rotation.from_quat(np.roll(handover.q_body_to_mci, -1))
        self.mass, self.gm = float(handover.mass_kg), float(handover.gm_m3ps2)
        self.site_radius = np.linalg.norm(handover.site_mcmf_m)
        self.omega, self.period = (
            float(handover.rotation_rate_radps),
            float(handover.control_period_s),
        )

    def step(self, inputs):
        imu = inputs.imu
        if imu.interval_s > 0.0:  # the increments since the last step, over that interval
            half = self.attitude * Rotation.from_rotvec(imu.dtheta_body_rad / 2)
            self.attitude = self.attitude * Rotation.from_rotvec(imu.dtheta_body_rad)
            g = -self.gm * self.r / np.linalg.norm(self.r) ** 3
            dv = half.apply(imu.dv_body_mps) + g * imu.interval_s
            self.r = self.r + (self.v + dv / 2) * imu.interval_s
            self.v = self.v + dv
        up = self.r / np.linalg.norm(self.r)
        height = np.linalg.norm(self.r) - self.site_radius
        over_ground = self.v - np.cross([0.0, 0.0, self.omega], self.r)
        wanted = -np.clip(0.04 * height, 1.0, 20.0) * up
        thrust = (wanted - over_ground) / self.tau + self.gm / (self.r @ self.r) * up
        along = thrust @ self.attitude.apply([0.0, 0.0, 1.0])
        throttle = float(np.clip(along * self.mass / self.max_thrust, 0.2, 1.0))
        self.mass -= throttle * self.flow * self.period
        q = np.roll(self.attitude.as_quat(), 1)
        return Commands(
            throttle=throttle,
            engine_on=not inputs.probe_contact,
            q_command_body_to_mci=pointing(thrust, self.attitude.apply([0.0, 1.0, 0.0])),
            phase="terminal",
            r_mci_m=self.r,
            v_mci_mps=self.v,
            q_body_to_mci=q,
            altitude_est_m=height,
        )

    def restart(self, reset):
        pass  # its memory survives a reset
