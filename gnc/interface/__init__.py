"""The flight-software interface (gnc/README.md): what the simulator and any flight software
exchange (`contract`, `flight_log`), the attitude layer it offers (`attitude_layer`), and the
forms a flight software takes behind it (`forms`: a compiled module like ours, an FMU, a
Python class)."""
