"""Shared streaming building blocks: input checks, resampling, hysteresis trigger, clocks.

Every helper works on whole blocks (numpy arrays) and keeps its state as plain JSON data,
so a detector built from them is chunk-invariant and can be saved and restored exactly.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

from edge.detectors.base import DetectorInputError
from protocol import Reading, ReadingKind

F64 = npt.NDArray[np.float64]


def where(detector: str, reading: Reading) -> str:
    """'detector fall on device band-1 (accel at 1700000000.000)' for error messages."""
    return (
        f"detector {detector} on device {reading.device_id!r} ({reading.kind} at {reading.ts:.3f})"
    )


def check_block(reading: Reading, detector: str) -> None:
    """Reject an empty block, a block of the wrong shape, or one whose times do not match."""
    if reading.samples is None:
        return
    x = np.asarray(reading.samples)
    if x.ndim == 0 or x.shape[0] == 0:
        raise DetectorInputError(f"{where(detector, reading)}: empty block")
    want = "(n, 3)" if reading.kind == ReadingKind.ACCEL else "(n,)"
    ok = x.shape[1:] == (3,) if reading.kind == ReadingKind.ACCEL else x.shape[1:] in ((), (1,))
    if not ok:
        raise DetectorInputError(
            f"{where(detector, reading)}: samples must have shape {want}, got {x.shape}"
        )
    if reading.sample_ts is not None and np.shape(reading.sample_ts) != (x.shape[0],):
        raise DetectorInputError(
            f"{where(detector, reading)}: {np.size(reading.sample_ts)} sample times "
            f"for {x.shape[0]} samples"
        )


def accel_block(reading: Reading, detector: str) -> tuple[F64, F64]:
    """Times and (n, 3) samples of an accel block, NaN rows dropped; rejects malformed blocks."""
    if reading.samples is None:
        raise DetectorInputError(f"{where(detector, reading)}: accel reading carries no samples")
    check_block(reading, detector)
    x = np.asarray(reading.samples, dtype=np.float64)
    t = reading.times()
    ok = np.isfinite(x).all(axis=1) & np.isfinite(t)
    return t[ok], x[ok]


def scalar_series(reading: Reading, detector: str) -> tuple[F64, F64]:
    """Times and values of a scalar reading or a block of scalars (shape (n,) or (n, 1)).

    Booleans become 0/1; NaN values are dropped (treated as missing). A block that is empty
    or not one-dimensional, or a value that is not a number, raises DetectorInputError.
    """
    if reading.samples is not None:
        check_block(reading, detector)
        v = np.asarray(reading.samples, dtype=np.float64).reshape(-1)
        t = reading.times()
    else:
        value = reading.value
        if value is None:
            raise DetectorInputError(f"{where(detector, reading)}: reading has no value")
        if isinstance(value, str):
            raise DetectorInputError(
                f"{where(detector, reading)}: value {value[:32]!r} is not a number or bool"
            )
        v0, t0 = float(value), float(reading.ts)
        if math.isfinite(v0) and math.isfinite(t0):  # one sample: no mask to build
            return np.array([t0]), np.array([v0])
        return np.empty(0), np.empty(0)
    ok = np.isfinite(v) & np.isfinite(t)
    return t[ok], v[ok]


TARGET_STATES = frozenset({"none", "static", "moving", "lying"})


def target_state(reading: Reading, detector: str) -> str:
    """The radar target state of a reading (one of ``TARGET_STATES``)."""
    if reading.samples is not None or not isinstance(reading.value, str):
        raise DetectorInputError(f"{where(detector, reading)}: target_state must be one string")
    if reading.value not in TARGET_STATES:
        raise DetectorInputError(
            f"{where(detector, reading)}: unknown target_state {reading.value[:32]!r}"
        )
    return reading.value


def hysteresis(cf: F64, on: float, off: float, active: bool) -> tuple[list[tuple[int, int]], bool]:
    """On/off trigger over a characteristic function, ObsPy style.

    Returns (events, active_at_end): each event is (start, stop) sample indices, start
    inclusive, stop exclusive; an event still on at the end of the block has stop == len(cf).
    ``active`` says whether an event was already on before the block. The loop runs once
    per event, never per sample.
    """
    n = len(cf)
    above = np.flatnonzero(cf >= on)
    below = np.flatnonzero(cf < off)
    events: list[tuple[int, int]] = []
    pos = 0
    if active:
        start = 0
    else:
        i = int(np.searchsorted(above, pos))
        if i == len(above):
            return events, False
        start = int(above[i])
    while True:
        j = int(np.searchsorted(below, start))
        if j == len(below):
            events.append((start, n))
            return events, True
        stop = int(below[j])
        events.append((start, stop))
        i = int(np.searchsorted(above, stop))
        if i == len(above):
            return events, False
        start = int(above[i])


class Resampler:
    """Linear resampling of irregular samples onto a fixed grid, chunk-invariant.

    Grid points are ``t0 + k / rate`` with an integer ``k``, so the grid does not depend on
    how the samples were split into blocks. With ``spacing_s``, timestamps that arrive in
    bursts are first spread: sample ``j`` is moved to ``max(t_j, t'_{j-1} + spacing_s)``
    (a running maximum over the global sample count, so chunk-invariant). Out-of-order and
    repeated timestamps are dropped; a gap longer than ``max_gap_s`` restarts the grid.
    """

    def __init__(self, rate_hz: float, max_gap_s: float, spacing_s: float = 0.0) -> None:
        self.rate_hz = rate_hz
        self.max_gap_s = max_gap_s
        self.spacing_s = spacing_s
        self.n_seen = 0
        self.lead = -math.inf
        self.t0: float | None = None
        self.k = 0
        self.last_t = -math.inf
        self.last_x: list[float] = []

    def feed(self, t: F64, x: F64) -> list[tuple[F64, F64, bool]]:
        """Resample a block; returns segments (grid times, values, restarted)."""
        if self.spacing_s > 0 and len(t):
            # samples delivered in bursts: push each at least spacing_s after the previous
            j = self.n_seen + np.arange(len(t), dtype=np.float64)
            lead = np.maximum.accumulate(np.concatenate(([self.lead], t - j * self.spacing_s)))
            self.lead, self.n_seen = float(lead[-1]), self.n_seen + len(t)
            t = lead[1:] + j * self.spacing_s
        keep = t > np.maximum.accumulate(np.concatenate(([self.last_t], t)))[:-1]
        t, x = t[keep], x[keep]
        if len(t) == 0:
            return []
        prev_t = np.concatenate(([self.last_t], t[:-1]))
        cuts = np.flatnonzero(t - prev_t > self.max_gap_s)
        bounds = [*cuts.tolist(), len(t)]
        out: list[tuple[F64, F64, bool]] = []
        if bounds[0] > 0:
            out.append(self._segment(t[: bounds[0]], x[: bounds[0]], False))
        for a, b in itertools.pairwise(bounds):
            self.t0, self.k = float(t[a]), 0
            self.last_t, self.last_x = float(t[a]), x[a].tolist()
            out.append(self._segment(t[a:b], x[a:b], True))
        return [seg for seg in out if len(seg[0]) or seg[2]]

    def _segment(self, t: F64, x: F64, restarted: bool) -> tuple[F64, F64, bool]:
        assert self.t0 is not None
        tt = np.concatenate(([self.last_t], t))
        xx = np.vstack((np.asarray(self.last_x, dtype=np.float64).reshape(1, -1), x))
        k_end = math.floor((float(t[-1]) - self.t0) * self.rate_hz + 1e-9)
        ks = np.arange(self.k, k_end + 1, dtype=np.float64)
        grid = self.t0 + ks / self.rate_hz
        vals = np.column_stack([np.interp(grid, tt, xx[:, j]) for j in range(xx.shape[1])])
        self.k = k_end + 1
        self.last_t, self.last_x = float(t[-1]), x[-1].tolist()
        return grid, vals, restarted

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "n_seen": self.n_seen,
            "lead": finite_or_none(self.lead),
            "t0": self.t0,
            "k": self.k,
            "last_t": finite_or_none(self.last_t),
            "last_x": self.last_x,
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.n_seen, self.lead = int(state["n_seen"]), none_to(state["lead"], -math.inf)
        self.t0, self.k = state["t0"], int(state["k"])
        self.last_t = none_to(state["last_t"], -math.inf)
        self.last_x = [float(v) for v in state["last_x"]]


def hm_to_hours(hm: str) -> float:
    """'07:30' -> 7.5."""
    h, m = hm.split(":")
    return int(h) + int(m) / 60.0


def finite_or_none(x: float) -> float | None:
    """JSON has no infinities: -inf/inf/NaN become None."""
    return x if math.isfinite(x) else None


def none_to(x: float | None, default: float) -> float:
    """Inverse of finite_or_none."""
    return default if x is None else float(x)


class Persistence:
    """A condition that must hold for ``hold_on_s`` to start and its release for ``hold_off_s``
    to end, over irregular samples; a gap longer than ``max_gap_s`` breaks a run.

    ``feed`` takes the samples' times and two masks (condition on, condition released, so
    hysteresis is the caller's choice of thresholds) and returns the transitions it
    completes as (event time, active). It loops once per transition, never per sample.
    """

    def __init__(self, hold_on_s: float, hold_off_s: float, max_gap_s: float) -> None:
        self.hold = (hold_on_s, hold_off_s)
        self.max_gap_s = max_gap_s
        self.active = False
        self.run_start: float | None = None
        self.last_t = -math.inf

    def reset(self) -> None:
        """Forget the current run (e.g. the band came off the wrist); keep ``active``."""
        self.run_start = None

    def feed(
        self, t: F64, on: npt.NDArray[np.bool_], off: npt.NDArray[np.bool_]
    ) -> list[tuple[float, bool]]:
        """Transitions completed by these samples, in time order."""
        out: list[tuple[float, bool]] = []
        if not len(t):
            return out
        if len(t) == 1:  # a scalar reading: the same rule without the array work
            return self._feed_one(float(t[0]), bool(on[0]), bool(off[0]))
        gap_before = np.diff(np.concatenate(([self.last_t], t))) > self.max_gap_s
        i = 0
        while i < len(t):
            mask = off[i:] if self.active else on[i:]
            tt = t[i:]
            gap = gap_before[i:]
            idx = np.arange(len(tt))
            # index of the first sample of each sample's run of True (a gap starts a new run)
            reset = np.where(~mask, idx + 1, np.where(gap, idx, 0))
            start_idx = np.minimum(np.maximum.accumulate(reset), len(tt) - 1)
            starts = tt[start_idx]
            if self.run_start is not None and mask[0] and not gap[0]:
                first_run = start_idx == 0
                starts = np.where(first_run, self.run_start, starts)
            starts = np.where(mask, starts, np.inf)
            hold = self.hold[1] if self.active else self.hold[0]
            hit = np.flatnonzero(tt - starts >= hold)
            if not len(hit):
                self.run_start = float(starts[-1]) if mask[-1] else None
                break
            j = int(hit[0])
            self.active = not self.active
            out.append((float(tt[j]), self.active))
            self.run_start = None
            i += j + 1
        self.last_t = float(t[-1])
        return out

    def _feed_one(self, t: float, on: bool, off: bool) -> list[tuple[float, bool]]:
        """``feed`` for one sample."""
        out: list[tuple[float, bool]] = []
        mask = off if self.active else on
        gap = t - self.last_t > self.max_gap_s
        start = t
        if self.run_start is not None and mask and not gap:
            start = self.run_start
        if not mask:
            self.run_start = None
        elif t - start >= self.hold[1 if self.active else 0]:
            self.active = not self.active
            out.append((t, self.active))
            self.run_start = None
        else:
            self.run_start = start
        self.last_t = t
        return out

    def state(self) -> dict[str, Any]:
        """JSON state."""
        return {
            "active": self.active,
            "run_start": self.run_start,
            "last_t": finite_or_none(self.last_t),
        }

    def restore(self, state: dict[str, Any]) -> None:
        """Resume from ``state()``."""
        self.active = bool(state["active"])
        self.run_start = None if state["run_start"] is None else float(state["run_start"])
        self.last_t = none_to(state["last_t"], -math.inf)
