"""The ZEM/ZEV flight software of `zem_zev.py` written as a plain Python class (the interface's
prototyping form, `kind = "python"`), with NumPy: the same navigation, law and commands, in
rotation matrices instead of the compiled module's quaternion helpers."""

import numpy as np

from gnc.interface.python_class import Commands

G0_MPS2 = 9.80665  # standard gravity (Isp)
TERMINAL_TIME_CONSTANT_S = 2.0
MAX_TILT_RAD = np.radians(20.0)


def rotation(q):
    """Rotation matrix of a unit quaternion (scalar first)."""
    w, x, y, z = q
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def quaternion_of(rotation_vector):
    angle = np.linalg.norm(rotation_vector)
    if angle < 1e-12:
        return np.array([1.0, *(0.5 * rotation_vector)])
    return np.array([np.cos(angle / 2), *(np.sin(angle / 2) / angle * rotation_vector)])


def product(a, b):
    w1, v1, w2, v2 = a[0], a[1:], b[0], b[1:]
    return np.array([w1 * w2 - v1 @ v2, *(w1 * v2 + w2 * v1 + np.cross(v1, v2))])


def pointing(z_axis, y_reference):
    """Quaternion (body to frame) with body +z along z_axis, +y toward y_reference."""
    z = z_axis / np.linalg.norm(z_axis)
    y = y_reference - (y_reference @ z) * z
    y /= np.linalg.norm(y)
    m = np.column_stack([np.cross(y, z), y, z])
    w = np.sqrt(max(1.0 + np.trace(m), 1e-30)) / 2
    if w > 0.1:
        return np.array([w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w),
                         (m[1, 0] - m[0, 1]) / (4 * w)])  # fmt: skip
    i = int(np.argmax(np.diag(m)))
    j, k = (i + 1) % 3, (i + 2) % 3
    s = np.sqrt(1.0 + m[i, i] - m[j, j] - m[k, k]) * 2
    q = np.zeros(4)
    q[0], q[1 + i] = (m[k, j] - m[j, k]) / s, s / 4
    q[1 + j], q[1 + k] = (m[j, i] + m[i, j]) / s, (m[k, i] + m[i, k]) / s
    return q if q[0] >= 0 else -q


class ZemZev:
    def initialise(self, handover, configuration):
        p = configuration.parameters
        self.t_go_total = p.get("time_to_go", 70.0)
        self.height = p.get("target_height", 30.0)
        self.rate = p.get("descent_rate", 1.0)
        self.terminal_time = p.get("terminal_time", 5.0)
        self.altitude_gain = p.get("altitude_gain", 0.1)
        self.climb_gain = p.get("climb_gain", 0.005)
        self.rangefinder = p.get("rangefinder", "laser_rangefinder")
        # the tests' faults: it raises from this time [s], or when restarted
        self.fail_at = p.get("fail_at", np.inf)
        self.fail_on_restart = p.get("fail_on_restart", False)
        mission = configuration.scenario  # the vehicle and sensors, as it knows them
        self.beam = np.asarray(mission.sensors.channels[self.rangefinder].beam)
        engines = mission.vehicle.engines
        self.max_thrust = sum(e.max_thrust for e in engines)
        self.isp = self.max_thrust / sum(e.max_thrust / e.isp for e in engines)
        self.throttle_range = (engines[0].throttle_min, engines[0].throttle_max)
        self.r, self.v = handover.r_mci_m.copy(), handover.v_mci_mps.copy()
        self.q, self.mass = handover.q_body_to_mci.copy(), float(handover.mass_kg)
        self.site, self.axes = handover.site_mcmf_m, handover.site_axes_mcmf
        self.omega, self.gm = float(handover.rotation_rate_radps), float(handover.gm_m3ps2)
        self.throttle, self.phase, self.restarts = 0.0, "approach", 0

    def restart(self, reset):
        """Its memory survives a reset; it counts them."""
        if self.fail_on_restart:
            raise ValueError("the test's fault: restarted")
        self.restarts += 1

    def step(self, inputs):
        t = inputs.t_s
        if t >= self.fail_at:
            raise ValueError("the test's fault: fail_at reached")
        self.navigate(inputs)
        c, s = np.cos(self.omega * t), np.sin(self.omega * t)
        to_mcmf = np.array([[c, s, 0.0], [-s, c, 0.0], [0.0, 0.0, 1.0]])
        r_mcmf = to_mcmf @ self.r
        v_rel = to_mcmf @ self.v - np.cross([0.0, 0.0, self.omega], r_mcmf)
        p, u = self.axes @ (r_mcmf - self.site), self.axes @ v_rel
        g = np.array([0.0, 0.0, -self.gm / (self.r @ self.r)])
        t_go = self.t_go_total - t
        if self.phase == "approach" and t_go <= self.terminal_time:
            self.phase = "terminal"
        if inputs.probe_contact:
            self.phase = "engine_off"
        if self.phase == "approach":
            zem = np.array([0.0, 0.0, self.height]) - (p + u * t_go + 0.5 * g * t_go**2)
            zev = np.array([0.0, 0.0, -self.rate]) - (u + g * t_go)
            accel = 6 * zem / t_go**2 - 2 * zev / t_go
        else:
            accel = (np.array([0.0, 0.0, -self.rate]) - u) / TERMINAL_TIME_CONSTANT_S - g
            limit = max(accel[2], 0.0) * np.tan(MAX_TILT_RAD)
            horizontal = np.hypot(accel[0], accel[1])
            if horizontal > limit:
                accel[:2] *= limit / horizontal
        to_mci = to_mcmf.T
        d_mci = to_mci @ (self.axes.T @ accel)
        along = d_mci @ rotation(self.q)[:, 2]
        throttle = np.clip(along * self.mass / self.max_thrust, self.throttle_range[0], 1.0)
        on = self.phase != "engine_off"
        self.throttle = min(throttle, self.throttle_range[1]) if on else 0.0
        return Commands(
            throttle=self.throttle,
            engine_on=on,
            q_command_body_to_mci=pointing(d_mci, to_mci @ self.axes[1]),
            phase=self.phase,
            r_mci_m=self.r,
            v_mci_mps=self.v,
            q_body_to_mci=self.q,
            altitude_est_m=self.altitude(),
        )

    def altitude(self):
        return np.linalg.norm(self.r) - np.linalg.norm(self.site)

    def navigate(self, inputs):
        dt = inputs.imu.interval_s
        if dt > 0:
            dtheta = inputs.imu.dtheta_body_rad
            dv = rotation(product(self.q, quaternion_of(dtheta / 2))) @ inputs.imu.dv_body_mps
            q = product(self.q, quaternion_of(dtheta))
            self.q = q / np.linalg.norm(q)
            g = -self.gm * self.r / np.linalg.norm(self.r) ** 3
            v = self.v + dv + g * dt
            self.r = self.r + 0.5 * (self.v + v) * dt
            self.v = v
            self.mass -= self.throttle * self.max_thrust / (self.isp * G0_MPS2) * dt
        for m in inputs.measurements:
            if m.channel != self.rangefinder or not m.valid:
                continue
            up = self.r / np.linalg.norm(self.r)
            cosine = -(rotation(self.q) @ self.beam) @ up
            error = m.values[0] * cosine - self.altitude()
            self.r = self.r + self.altitude_gain * error * up
            self.v = self.v + self.climb_gain * error * up
