"""Faults as data: what a scenario's `[[faults]]` may inject into a sensor channel, the IMU, the
main engines, the RCS thrusters or the flight computer, and what each fault does in flight.

One module per target family (`channel`, `imu`, `main_engine`, `rcs`, `flight_computer`)
declares its modes, each once (`table.Mode`: its name, the parameters it needs and may take,
what it does and how a run it fails is classed), beside the compiled code that acts where the
real fault would. `table` is the `[[faults]]` section (schema, checks, packed rows, the
README's mode table); `triggers` fires and ends the faults of a run.
"""
