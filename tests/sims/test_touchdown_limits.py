"""The scenario's touchdown limits reach the compiled classifier in the right units: a flown
touchdown whose descent rate, horizontal speed, tilt, slope and body rate are all non-zero is
judged against each limit set 2 % above and 2 % below the flown value, the limits written in
other units than SI (cm/s, km/h, degrees, arcminutes, degrees per minute).

The flown values are computed here from the truth state after the contact step, with scipy's
rotations, not with the code under test: the run stops at contact with a 1-ms step, so they
differ from the contact instant's by at most g dt (0.08 % of the descent rate), far inside 2 %.
The slope is the scarp's: its face falls by h over w as a smoothstep, steepest (1.5 h / w) at
its middle, where the lander touches down (0.16 m from it: the slope there is flat to 1e-5)."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from dynamics.touchdown import OUTCOMES
from dynamics.truth import X_Q, X_R, X_V, X_W
from sims import api
from tests.sims.scenarios import free_fall

SCARP_HEIGHT_M, SCARP_WIDTH_M = 30.0, 200.0
WIDE = {
    "vertical_speed": "10 m/s",
    "vertical_speed_hard": "20 m/s",
    "horizontal_speed": "10 m/s",
    "horizontal_speed_hard": "20 m/s",
    "tilt": "60 deg",
    "slope": "60 deg",
    "body_rate": "60 deg/s",
}


def drop(limits=None):
    """The lander dropped, engine off, 2.6 m above the middle of a 30-m scarp's face, falling
    at 1.2 m/s and drifting at 0.32 m/s, tilted 7.5 deg with its RCS righting it."""
    d = free_fall()
    d["initial"] = {
        "site_relative": {
            "position": ["0 m", "0 m", "2.6 m"],
            "velocity": ["0.3 m/s", "0.1 m/s", "-1.2 m/s"],
        },
        "attitude_offset": ["0.12 rad", "0.05 rad", "0 rad"],
    }
    d["open_loop"]["attitude"] = "rcs"
    d["terrain"] = {
        "seed": 0,
        "max_crater_diameter": "1 km",
        "tiles": [
            {
                "downrange": ["-100 m", "100 m"],
                "crossrange": ["-100 m", "100 m"],
                "spacing": "1 m",
                "min_crater_diameter": "100 m",
                "crater_density": 0.0,
            }
        ],
        "features": [
            {
                "kind": "scarp",
                "downrange": "0 m",
                "height": f"{SCARP_HEIGHT_M} m",
                "width": f"{SCARP_WIDTH_M} m",
            }
        ],
    }
    d["touchdown_limits"] = dict(WIDE, **(limits or {}))
    b = api.prepare(d, seeds=[0])
    api.execute(b)
    return b


def flown_contact():
    """{limit: the flown value in SI} from the truth after the contact step."""
    x = drop().x[0]
    r, v, w = x[X_R : X_R + 3], x[X_V : X_V + 3], x[X_W : X_W + 3]
    up = r / np.linalg.norm(r)  # a non-rotating Moon: MCI is Moon-fixed
    down = -v @ up
    body_z = Rotation.from_quat(np.roll(x[X_Q : X_Q + 4], -1)).apply([0.0, 0.0, 1.0])
    return {
        "vertical_speed": down,
        "vertical_speed_hard": down,
        "horizontal_speed": np.linalg.norm(v + down * up),
        "horizontal_speed_hard": np.linalg.norm(v + down * up),
        "tilt": math.acos(body_z @ up),
        "slope": math.atan(1.5 * SCARP_HEIGHT_M / SCARP_WIDTH_M),
        "body_rate": np.linalg.norm(w),
    }


# each limit written in other units than SI: (unit, SI value of one unit)
UNITS = {
    "vertical_speed": ("cm/s", 0.01),
    "vertical_speed_hard": ("cm/s", 0.01),
    "horizontal_speed": ("km/h", 1 / 3.6),
    "horizontal_speed_hard": ("km/h", 1 / 3.6),
    "tilt": ("deg", math.pi / 180),
    "slope": ("arcmin", math.pi / 180 / 60),
    "body_rate": ("deg/min", math.pi / 180 / 60),
}
BEYOND = {
    "vertical_speed": "hard_landing",
    "vertical_speed_hard": "crashed",
    "horizontal_speed": "hard_landing",
    "horizontal_speed_hard": "crashed",
    "tilt": "tipped_over",
    "slope": "tipped_over",
    "body_rate": "tipped_over",
}


@pytest.fixture(scope="module")
def flown():
    return flown_contact()


@pytest.mark.parametrize("limit", sorted(UNITS))
def test_each_touchdown_limit_judges_a_flown_touchdown_at_its_edge(flown, limit):
    """Breaks it catches: the tilt limit stored in degrees where radians are meant, the
    body-rate limit in degrees per second, the hard vertical-speed limit packed as the soft
    one, the slope compared with twice its limit."""
    assert flown["vertical_speed"] > 1.5 and flown["horizontal_speed"] > 0.3
    assert flown["tilt"] > math.radians(3.0) and flown["body_rate"] > math.radians(1.0)
    unit, si = UNITS[limit]
    for share, expected in ((1.02, "landed"), (0.98, BEYOND[limit])):
        written = f"{flown[limit] * share / si:.9g} {unit}"
        outcome = drop({limit: written}).summary["outcome"][0]
        assert OUTCOMES[outcome] == expected, (limit, written)
