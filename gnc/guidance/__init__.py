"""Guidance: powered-descent laws for braking and approach, and the terminal vertical descent."""
