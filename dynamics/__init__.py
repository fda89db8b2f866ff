"""Truth models of the descent: the Moon, the lander as a rigid body, its engines and the terrain.

Everything in this package is plain floats and NumPy arrays so that Numba can compile it;
units are SI throughout.
"""

from dynamics import compile_cache

compile_cache.configure()
