"""Attitude and throttle control laws and their mapping to actuator commands."""
