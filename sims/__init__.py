"""Drivers of the simulation: scenarios, the compiled run loop, results and the `descent` CLI."""
