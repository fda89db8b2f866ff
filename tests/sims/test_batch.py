"""Batches: many runs in one compiled call give each run exactly what it gives alone, and a run
that raises inside the model is recorded without stopping the others."""

import numpy as np

from sims import api
from sims.run import batch, loop
from sims.scenarios import scenario
from tests.sims.scenarios import closed_loop

SHORT = {"time_step": "10 ms", "max_time": "15 s", "output_rate": "1 Hz"}


def test_a_run_in_a_batch_is_bit_identical_to_the_run_alone():
    sc = closed_loop(simulation=SHORT)
    together = api.prepare(sc, seeds=[5, 6, 7])
    api.execute(together)
    alone = api.prepare(sc, seed=6)
    api.execute(alone)
    assert np.array_equal(together.x[1], alone.x[0])
    assert together.summary[1].tobytes() == alone.summary[0].tobytes()
    assert together.fsw_state[1].tobytes() == alone.fsw_state[0].tobytes()
    assert not np.array_equal(together.x[0], together.x[1])  # different seeds, different runs
    # batches of one and of many share one compiled specialisation (no recompiling per size)
    assert len(loop.simulate_batch.signatures) == 1


def test_a_run_that_raises_is_recorded_and_the_batch_goes_on():
    sc = scenario.load(closed_loop(simulation=SHORT))
    b = api.prepare(sc, seeds=[1, 2, 3])
    # a zero engine time constant divides by zero in the truth's throttle response
    b.per_run.engines["time_constant_s"][1] = 0.0
    batch.execute(b, keep_going=True)
    assert list(b.errors) == [1] and "ZeroDivisionError" in b.errors[1]
    assert b.summary["time_s"][0] > 0.0 and b.summary["time_s"][2] > 0.0
    assert b.run_seconds.shape == (3,) and (b.run_seconds >= 0.0).all()
