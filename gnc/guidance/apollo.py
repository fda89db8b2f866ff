"""The Apollo lunar-descent law (Klumpp 1974): the A2PDG law with k = 12, which also targets the
final acceleration. A guidance-law plug-in (`gnc.guidance.laws`)."""

from typing import Literal

from dynamics.units import AccelerationVector
from gnc.guidance import powered_descent
from gnc.guidance.powered_descent import PARAMS_DTYPE, command  # noqa: F401  (the contract)

NAME = "apollo"
K = 12.0


class Spec(powered_descent.Target):
    law: Literal["apollo"]
    acceleration: AccelerationVector = (0.0, 0.0, 0.0)  # at the target


def pack(spec):
    return powered_descent.pack(K, spec)
