"""edge.detectors.signal.Persistence: one sample at a time decides as one block does."""

from __future__ import annotations

import numpy as np

from edge.detectors.signal import Persistence


def test_samples_one_by_one_give_the_transitions_of_the_whole_block() -> None:
    rng = np.random.default_rng(7)
    dt = rng.choice([1.0, 5.0, 40.0], size=600, p=[0.6, 0.3, 0.1])  # 40 s: a broken run
    t = np.cumsum(dt)
    x = np.cumsum(rng.normal(0, 1, size=600))
    on, off = x > 1.0, x < -1.0
    block = Persistence(10.0, 20.0, 30.0)
    want = block.feed(t, on, off)
    single = Persistence(10.0, 20.0, 30.0)
    got = [
        tr for i in range(len(t)) for tr in single.feed(t[i : i + 1], on[i : i + 1], off[i : i + 1])
    ]
    assert len(want) > 4  # both directions, several times
    assert got == want
    assert single.state() == block.state()
