"""Nearest available workers by great-circle distance: a k-d tree plus a small delta set.

Positions are 3-D unit vectors, so the straight-line (chord) distance the tree measures is
monotonic in the great-circle distance: ``arc = 2 * asin(chord / 2)``. The main tree holds
the workers that were available when it was built; a worker who moves or becomes available
later sits in a small delta set scanned with numpy, and its old tree entry is tombstoned.
When the delta outgrows ``rebuild_at`` the tree is rebuilt (about 25 ms for 30,000 workers):
in a worker thread when an event loop is running, queries meanwhile using the old tree and
the delta, which keeps every change made after the snapshot the new tree is built from.
Stale locations, skills and exclusions are checked at query time, widening the tree query
until enough candidates pass; no query scans every worker unless the filters reject most.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import cKDTree

EARTH_RADIUS_KM = 6371.0088


def unit_vector(lat: float, lon: float) -> NDArray[np.float64]:
    """WGS84 degrees to a point on the unit sphere."""
    la, lo = math.radians(lat), math.radians(lon)
    return np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])


def unit_vectors(lat: NDArray[np.float64], lon: NDArray[np.float64]) -> NDArray[np.float64]:
    """Vectorised :func:`unit_vector` for arrays of degrees; shape (n, 3)."""
    la, lo = np.radians(lat), np.radians(lon)
    return np.column_stack((np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)))


def chord_to_km(chord: NDArray[np.float64] | float) -> NDArray[np.float64]:
    """Chord length on the unit sphere to great-circle kilometres."""
    c = np.clip(np.asarray(chord, dtype=np.float64), 0.0, 2.0)
    return np.asarray(2.0 * np.arcsin(c / 2.0) * EARTH_RADIUS_KM)


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True, slots=True)
class WorkerState:
    """What the index knows about one worker."""

    worker_id: int
    lat: float
    lon: float
    location_at: float  # epoch seconds
    on_duty: bool = True
    capacity_left: int = 1
    skills: frozenset[str] = field(default_factory=frozenset)
    district: str = ""

    @property
    def available(self) -> bool:
        """On duty with room for another task."""
        return self.on_duty and self.capacity_left > 0


@dataclass(frozen=True, slots=True)
class Candidate:
    """A worker and their great-circle distance from the home."""

    worker_id: int
    km: float


def _build(snapshot: list[WorkerState]) -> cKDTree | None:
    """A k-d tree over the snapshot's positions (None when empty)."""
    if not snapshot:
        return None
    lat = np.fromiter((w.lat for w in snapshot), dtype=np.float64, count=len(snapshot))
    lon = np.fromiter((w.lon for w in snapshot), dtype=np.float64, count=len(snapshot))
    return cKDTree(unit_vectors(lat, lon))


class WorkerIndex:
    """Nearest available on-duty workers, kept current as workers report."""

    def __init__(self, *, rebuild_at: int = 512) -> None:
        self.rebuild_at = rebuild_at
        self._workers: dict[int, WorkerState] = {}
        self._tree: cKDTree | None = None
        self._tree_ids: NDArray[np.int64] = np.empty(0, dtype=np.int64)
        self._in_tree: set[int] = set()  # ids whose tree entry is still current
        self._delta: dict[int, int] = {}  # worker id -> row of the delta arrays
        self._dxyz = np.empty((0, 3), dtype=np.float64)
        self._dids = np.empty(0, dtype=np.int64)  # -1 marks a freed row
        self._dn = 0
        self._building: asyncio.Task[None] | None = None
        self.rebuilds = 0

    def __len__(self) -> int:
        return len(self._workers)

    def get(self, worker_id: int) -> WorkerState | None:
        """The indexed state of a worker, or None."""
        return self._workers.get(worker_id)

    def load(self, workers: Iterable[WorkerState]) -> None:
        """Replace the whole index and build the tree."""
        self._workers = {w.worker_id: w for w in workers}
        self.rebuild()

    def upsert(self, worker: WorkerState) -> None:
        """Add or update a worker (location, duty, capacity, skills)."""
        old = self._workers.get(worker.worker_id)
        self._workers[worker.worker_id] = worker
        moved = old is None or (old.lat, old.lon) != (worker.lat, worker.lon)
        if moved or not worker.available:
            self._in_tree.discard(worker.worker_id)
            self._drop_delta(worker.worker_id)
        if worker.available and worker.worker_id not in self._in_tree:
            self._put_delta(worker.worker_id, unit_vector(worker.lat, worker.lon))
        self._maybe_rebuild()

    def remove(self, worker_id: int) -> None:
        """Forget a worker."""
        self._workers.pop(worker_id, None)
        self._in_tree.discard(worker_id)
        self._drop_delta(worker_id)

    def _put_delta(self, worker_id: int, xyz: NDArray[np.float64]) -> None:
        row = self._delta.get(worker_id)
        if row is None:
            if self._dn == len(self._dids):
                grow = max(64, 2 * self._dn)
                self._dxyz = np.vstack((self._dxyz, np.empty((grow, 3))))
                self._dids = np.concatenate((self._dids, np.full(grow, -1, dtype=np.int64)))
            row, self._dn = self._dn, self._dn + 1
            self._delta[worker_id] = row
            self._dids[row] = worker_id
        self._dxyz[row] = xyz

    def _drop_delta(self, worker_id: int) -> None:
        row = self._delta.pop(worker_id, None)
        if row is not None:
            self._dids[row] = -1

    def rebuild(self) -> None:
        """Rebuild the main tree now from every available worker; empties the delta."""
        snapshot = [w for w in self._workers.values() if w.available]
        self._install(snapshot, _build(snapshot))

    async def wait_rebuilt(self) -> None:
        """Wait for a background rebuild in flight, if any."""
        if self._building is not None:
            await asyncio.shield(self._building)

    def _maybe_rebuild(self) -> None:
        if len(self._delta) <= self.rebuild_at and self._dn <= 4 * self.rebuild_at:
            return
        if self._building is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.rebuild()
            return
        snapshot = [w for w in self._workers.values() if w.available]
        self._building = loop.create_task(
            self._rebuild_in_thread(snapshot, self.rebuilds), name="index-rebuild"
        )

    async def _rebuild_in_thread(self, snapshot: list[WorkerState], generation: int) -> None:
        try:
            tree = await asyncio.to_thread(_build, snapshot)
            if self.rebuilds == generation:  # else a newer tree was installed meanwhile
                self._install(snapshot, tree)
        finally:
            self._building = None

    def _install(self, snapshot: list[WorkerState], tree: cKDTree | None) -> None:
        """Swap in a tree built from ``snapshot``; later changes stay in the delta."""
        unchanged: list[int] = []
        for w in snapshot:
            cur = self._workers.get(w.worker_id)
            if cur is not None and cur.available and (cur.lat, cur.lon) == (w.lat, w.lon):
                unchanged.append(w.worker_id)
        still_delta = {wid: self._dxyz[row].copy() for wid, row in self._delta.items()}
        self._tree = tree
        self._tree_ids = np.fromiter(
            (w.worker_id for w in snapshot), dtype=np.int64, count=len(snapshot)
        )
        self._in_tree = set(unchanged)
        self._delta.clear()
        self._dids[: self._dn] = -1
        self._dn = 0
        for wid, xyz in still_delta.items():
            if wid not in self._in_tree:
                self._put_delta(wid, xyz)
        self.rebuilds += 1

    def _eligible(
        self,
        worker_id: int,
        now: float,
        max_age_s: float,
        skills: frozenset[str],
        exclude: Collection[int],
    ) -> bool:
        w = self._workers.get(worker_id)
        return (
            w is not None
            and w.available
            and worker_id not in exclude
            and now - w.location_at <= max_age_s
            and skills <= w.skills
        )

    def nearest(
        self,
        lat: float,
        lon: float,
        k: int = 1,
        *,
        now: float,
        max_age_s: float = 900.0,
        skills: Collection[str] = (),
        exclude: Collection[int] = (),
        max_km: float | None = None,
    ) -> list[Candidate]:
        """Up to ``k`` eligible workers nearest to (lat, lon), nearest first."""
        if k <= 0:
            return []
        need = frozenset(skills)
        q = unit_vector(lat, lon)
        bound = (
            np.inf if max_km is None else 2.0 * math.sin(min(max_km / EARTH_RADIUS_KM, math.pi) / 2)
        )
        found: dict[int, float] = {}
        if self._delta:
            ids = self._dids[: self._dn]
            chords = np.linalg.norm(self._dxyz[: self._dn] - q, axis=1)
            chords[ids < 0] = np.inf
            for i in np.argsort(chords):
                if chords[i] > bound or len(found) >= k:
                    break
                wid = int(ids[i])
                if self._eligible(wid, now, max_age_s, need, exclude):
                    found[wid] = float(chords[i])
        tree_found = self._query_tree(q, k, bound, now, max_age_s, need, exclude)
        merged = sorted({**tree_found, **found}.items(), key=lambda kv: (kv[1], kv[0]))[:k]
        return [Candidate(wid, float(chord_to_km(c))) for wid, c in merged]

    def _query_tree(
        self,
        q: NDArray[np.float64],
        k: int,
        bound: float,
        now: float,
        max_age_s: float,
        need: frozenset[str],
        exclude: Collection[int],
    ) -> dict[int, float]:
        tree = self._tree
        if tree is None:
            return {}
        n = len(self._tree_ids)
        ask = min(n, max(8, 2 * k + len(exclude)))
        while True:
            dist, idx = tree.query(q, k=ask, distance_upper_bound=bound)
            dist, idx = np.atleast_1d(dist), np.atleast_1d(idx)
            found: dict[int, float] = {}
            exhausted = ask >= n
            for d, i in zip(dist, idx, strict=True):
                if i >= n:  # beyond the bound: no more points
                    exhausted = True
                    break
                wid = int(self._tree_ids[i])
                if wid in self._in_tree and self._eligible(wid, now, max_age_s, need, exclude):
                    found[wid] = float(d)
                    if len(found) >= k:
                        return found
            if exhausted:
                return found
            ask = min(n, ask * 4)
