"""Navigation: the error-state extended Kalman filter and its measurement models."""
