"""E-guidance: the A2PDG law with k = 6, the ZEM/ZEV law (target position and velocity; the final
acceleration free). A guidance-law plug-in (`gnc.guidance.laws`)."""

from typing import Literal

from gnc.guidance import powered_descent
from gnc.guidance.powered_descent import PARAMS_DTYPE, command  # noqa: F401  (the contract)

NAME = "e_guidance"
K = 6.0


class Spec(powered_descent.Target):
    law: Literal["e_guidance"]


def pack(spec):
    return powered_descent.pack(K, spec)
