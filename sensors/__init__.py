"""Sensor models: what the lander can know about its state.

The IMU (the strapdown navigation's input), contact probes, and the sensor bus: channels of
any registered kind (star tracker, laser rangefinder, Doppler lidar, or one of your
own: sensors/README.md), each kind one module holding its sensor model and the filter's
measurement model for it. They read the truth from `dynamics`; the flight software in `gnc`
sees only their records.
"""
