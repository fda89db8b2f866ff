"""What a fault mode is, as its target family declares it."""

from typing import NamedTuple

# The target families, one module each (`faults.<family>`), in the order packed rows number
# them; a sensor channel's faults name the channel, the others the family.
FAMILIES = ("channel", "imu", "main_engine", "rcs", "flight_computer")


class Mode(NamedTuple):
    """A fault mode: its name in a scenario, the parameters it needs and those it may take
    (`faults.table.PARAMETERS`), what it does (one sentence, the README's), and the failure
    class of a run it fires in (`sims.analysis.failure_class`; None: the run is classed by what
    followed)."""

    name: str
    needs: tuple[str, ...]
    may_take: tuple[str, ...]
    does: str
    failure_class: str | None = None


def numbers(modes):
    """{name: number} of a family's modes: the number its packed rows carry."""
    return {mode.name: i for i, mode in enumerate(modes)}
