"""The spatial index agrees with a brute-force haversine scan, however it was updated."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cloud.dispatch.nearest import WorkerIndex, WorkerState, great_circle_km

NOW = 1_000_000.0
SKILLS = ("lift", "nurse", "dementia")


def brute(
    workers: dict[int, WorkerState],
    lat: float,
    lon: float,
    k: int,
    *,
    max_age_s: float,
    skills: frozenset[str],
    exclude: set[int],
) -> list[tuple[float, int]]:
    rows = sorted(
        (great_circle_km(lat, lon, w.lat, w.lon), w.worker_id)
        for w in workers.values()
        if w.available
        and w.worker_id not in exclude
        and NOW - w.location_at <= max_age_s
        and skills <= w.skills
    )
    return rows[:k]


def random_worker(rng: random.Random, wid: int, lat0: float, lon0: float) -> WorkerState:
    return WorkerState(
        worker_id=wid,
        lat=lat0 + rng.uniform(-0.3, 0.3),
        lon=lon0 + rng.uniform(-0.3, 0.3),
        location_at=NOW - rng.choice([10, 100, 5000]),
        on_duty=rng.random() < 0.8,
        capacity_left=rng.choice([0, 1, 2]),
        skills=frozenset(s for s in SKILLS if rng.random() < 0.3),
    )


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    updates=st.integers(0, 200),
    k=st.integers(1, 6),
    lat0=st.floats(-80, 80),
    lon0=st.floats(-179.5, 179.5),
    rebuild_at=st.sampled_from([4, 64, 10_000]),
)
def test_matches_brute_force(
    seed: int, n: int, updates: int, k: int, lat0: float, lon0: float, rebuild_at: int
) -> None:
    rng = random.Random(seed)
    workers = {i: random_worker(rng, i, lat0, lon0) for i in range(n)}
    index = WorkerIndex(rebuild_at=rebuild_at)
    index.load(workers.values())
    for _ in range(updates):
        wid = rng.randrange(n + 20)
        if rng.random() < 0.1 and wid in workers:
            del workers[wid]
            index.remove(wid)
        else:
            workers[wid] = random_worker(rng, wid, lat0, lon0)
            index.upsert(workers[wid])
    skills = frozenset(s for s in SKILLS if rng.random() < 0.2)
    exclude = {rng.randrange(n + 20) for _ in range(rng.randrange(4))}
    qlat, qlon = lat0 + rng.uniform(-0.2, 0.2), lon0 + rng.uniform(-0.2, 0.2)
    got = index.nearest(qlat, qlon, k, now=NOW, max_age_s=900, skills=skills, exclude=exclude)
    want = brute(workers, qlat, qlon, k, max_age_s=900, skills=skills, exclude=exclude)
    assert [c.km for c in got] == pytest.approx([d for d, _ in want], abs=1e-6)
    assert len({c.worker_id for c in got}) == len(got)


def test_max_km_and_antimeridian() -> None:
    index = WorkerIndex()
    index.load(
        [
            WorkerState(1, 0.0, 179.99, NOW),
            WorkerState(2, 0.0, -179.99, NOW),
            WorkerState(3, 0.0, 170.0, NOW),
        ]
    )
    got = index.nearest(0.0, -179.999, 3, now=NOW, max_km=50)
    assert [c.worker_id for c in got] == [2, 1]
    assert got[1].km == pytest.approx(great_circle_km(0, -179.999, 0, 179.99))


def test_unavailable_worker_returns_without_moving() -> None:
    index = WorkerIndex()
    w = WorkerState(7, 31.2, 121.5, NOW)
    index.load([w])
    index.upsert(WorkerState(7, 31.2, 121.5, NOW, on_duty=False))
    assert index.nearest(31.2, 121.5, now=NOW) == []
    index.upsert(w)
    assert [c.worker_id for c in index.nearest(31.2, 121.5, now=NOW)] == [7]


async def test_background_rebuilds_keep_answers_exact() -> None:
    rng = random.Random(11)
    lat0, lon0 = 31.2, 121.5
    workers = {i: random_worker(rng, i, lat0, lon0) for i in range(2_000)}
    index = WorkerIndex(rebuild_at=40)
    index.load(workers.values())
    checked = 0
    for step in range(3_000):
        wid = rng.randrange(2_100)
        workers[wid] = random_worker(rng, wid, lat0, lon0)
        index.upsert(workers[wid])
        if step % 7 == 0:  # query while a rebuild may be in flight in its thread
            q = (lat0 + rng.uniform(-0.2, 0.2), lon0 + rng.uniform(-0.2, 0.2))
            got = index.nearest(*q, 4, now=NOW, max_age_s=900)
            want = brute(workers, *q, 4, max_age_s=900, skills=frozenset(), exclude=set())
            assert [c.km for c in got] == pytest.approx([d for d, _ in want], abs=1e-6)
            checked += 1
        if step % 50 == 0:
            await asyncio.sleep(0.001)  # let finished rebuilds install
    await index.wait_rebuilt()
    assert index.rebuilds > 5 and checked > 400
