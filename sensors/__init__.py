"""Sensor models: what the lander can know about its state (IMU, star tracker, rangefinders...).

One module per sensor, each with its own parameters, noise and fault modes; they read the
truth from `dynamics` and report measurements to the flight software in `gnc`.
"""
