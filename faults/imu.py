"""Faults of the IMU (target `imu`), acting on its output increments: `triad` (`accelerometer`,
`gyro`, `both`) and `axis` (`x`, `y`, `z`, `all`) pick what. A run an IMU fault fires in is
classed `imu_fault`."""

from numba import njit

from faults.mode import FAMILIES, Mode, numbers

FAMILY = FAMILIES.index("imu")
TARGET = "`imu`"
CLASS = "imu_fault"
MODES = (
    Mode("off", (), (), "no increments: both triads read zero", CLASS),
    Mode("zero", (), ("triad", "axis"), "the axes read zero", CLASS),
    Mode("stuck", (), ("triad", "axis"), "the axes repeat the increments they had", CLASS),
    Mode("bias", ("value", "triad"), ("axis",), "adds `value`, an acceleration or rate", CLASS),
    Mode("drift", ("rate", "triad"), ("axis",), "adds a bias growing from zero at `rate`", CLASS),
    Mode("noise_scaled", ("factor",), ("triad",), "multiplies its white noise by `factor`", CLASS),
)
NUMBER = numbers(MODES)
OFF, ZERO, STUCK = NUMBER["off"], NUMBER["zero"], NUMBER["stuck"]
BIAS, DRIFT, NOISE_SCALED = NUMBER["bias"], NUMBER["drift"], NUMBER["noise_scaled"]
TRIADS = ("accelerometer", "gyro", "both")
AXES = ("x", "y", "z", "all")


def value_unit(fault, unit_of_channel):
    """The SI unit of an IMU fault's `value`: its triad's (None for both)."""
    return {"accelerometer": "m/s2", "gyro": "rad/s"}.get(fault.triad)


def check(fault):
    """ValueError for what the modes' parameters allow but the IMU does not."""
    if fault.triad == "both" and fault.mode in ("bias", "drift"):
        raise ValueError("an IMU bias or drift needs one triad: 'accelerometer' or 'gyro'")


@njit(cache=True)
def hold(f, imu, on):
    """The effect an IMU fault keeps in the IMU's state while active: a triad's noise."""
    if f.mode == NOISE_SCALED:
        if f.triad != 1:
            imu.accelerometer.noise_scale = f.factor if on else 1.0
        if f.triad != 0:
            imu.gyro.noise_scale = f.factor if on else 1.0


@njit(cache=True)
def on_imu(faults, fstates, dv, dtheta, interval_s, t_s):
    """Act on the IMU's output increments (dv [m/s], dtheta [rad] over interval_s)."""
    for i in range(faults.shape[0]):
        f, st = faults[i], fstates[i]
        if f.target != FAMILY or not f.occurs:
            continue
        if f.mode == STUCK and not st.active and not st.ended:
            for j in range(3):
                st.held[j] = dv[j]
                st.held[3 + j] = dtheta[j]
        if not st.active or f.mode == NOISE_SCALED:
            continue
        for triad in range(2):
            if f.mode != OFF and f.triad != 2 and f.triad != triad:
                continue
            out = dv if triad == 0 else dtheta
            for j in range(3):
                if f.mode != OFF and f.axis != 3 and f.axis != j:
                    continue
                if f.mode == OFF or f.mode == ZERO:
                    out[j] = 0.0
                elif f.mode == STUCK:
                    out[j] = st.held[3 * triad + j]
                elif f.mode == BIAS:
                    out[j] += f.value * interval_s
                elif f.mode == DRIFT:
                    out[j] += f.rate * (t_s - st.start_s) * interval_s
