"""What every sensor channel of a scenario has, whatever its kind: a rate, where it sits on the
body, its processing latency, and the gate the flight software puts on its measurements. A
kind's `Spec` extends `ChannelSpec` with its mounting directions and error parameters."""

from typing import Literal

from pydantic import Field, model_validator

from dynamics.units import BodyVector, Count, NonNegativeTime, Number, PositiveFrequency, Strict


class Gate(Strict):
    """Innovation gate of a channel (`gnc.navigation.gating`). The threshold on the normalised
    innovation squared is given directly, or as the probability that a consistent measurement
    passes (the chi-square quantile for each measurement dimension)."""

    policy: Literal["accept_all", "latch", "recover", "vote"]
    threshold: Number | None = Field(default=None, gt=0.0)
    probability: Number | None = Field(default=None, gt=0.0, lt=1.0)
    reject_limit: Count = Field(default=1, ge=1)  # consecutive rejections before acting

    @model_validator(mode="after")
    def _one_threshold(self):
        if self.policy != "accept_all" and (self.threshold is None) == (self.probability is None):
            raise ValueError(f"policy '{self.policy}' needs one of 'threshold' or 'probability'")
        return self


class ChannelSpec(Strict):
    kind: str
    rate: PositiveFrequency  # must divide the control rate's truth steps (sampled at cycles)
    position: BodyVector = (0.0, 0.0, 0.0)  # where the sensor sits, body axes
    # from the sample's time of validity to its delivery to the flight software (processing,
    # e.g. an image's matching); the data carry their time of validity
    latency: NonNegativeTime = 0.0
    gate: Gate = Gate(policy="accept_all")
