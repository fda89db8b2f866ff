"""Uncertainty quantification with nothing of the lander in it: probability distributions by
name with parameters in units, campaign designs (Latin hypercube, Sobol, Saltelli), Gaussian
copulas for correlated inputs, subset simulation and importance sampling on any margin
function of standard normal points, and Sobol sensitivity indices. `sims.campaigns` flies
campaign runs through them.
"""
