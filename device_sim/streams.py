"""Columnar report streams: what one simulated device sends, as arrays until it is published."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from protocol.readings import ReadingKind


class ProfileSpec(Protocol):
    """What the simulator needs to know of a firmware profile."""

    @property
    def family(self) -> str: ...
    @property
    def kinds(self) -> frozenset[ReadingKind]: ...
    @property
    def sample_rate_hz(self) -> float | None: ...
    @property
    def heartbeat_interval_s(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class DeviceReport:
    """One message a device sends: values keyed by ReadingKind value, at simulated time ``ts``."""

    ts: float
    device_id: str
    values: Mapping[str, Any]


@dataclass(slots=True)
class Stream:
    """Reports of one device that all carry the same keys: ``times`` and one array per key."""

    times: npt.NDArray[np.float64]
    values: dict[str, npt.NDArray[Any]]

    @classmethod
    def make(cls, times: npt.ArrayLike, kinds: frozenset[ReadingKind], **cols: Any) -> Stream:
        """A stream keeping only the columns named in ``kinds`` (scalars are broadcast)."""
        t = np.asarray(times, dtype=np.float64)
        order = np.argsort(t, kind="stable")
        vals = {
            k: np.broadcast_to(np.asarray(v), t.shape)[order] for k, v in cols.items() if k in kinds
        }
        return cls(t[order], vals)

    def __len__(self) -> int:
        return len(self.times)

    def keep(self, mask: npt.NDArray[np.bool_]) -> Stream:
        """Only the rows where ``mask`` is true."""
        return Stream(self.times[mask], {k: v[mask] for k, v in self.values.items()})


@dataclass(slots=True)
class BlockStream:
    """Accelerometer blocks of one device: start times and (n, 3) arrays in g."""

    times: list[float]
    blocks: list[npt.NDArray[np.float64]]


@dataclass(slots=True)
class DeviceStreams:
    """All a device sends over the simulated span, sorted into one time order on demand."""

    device_id: str
    streams: list[Stream]
    accel: BlockStream

    def drop_between(self, t0: float, t1: float) -> None:
        """Remove everything sent in [t0, t1) (the device is silent)."""
        self.streams = [s.keep((s.times < t0) | (s.times >= t1)) for s in self.streams]
        pairs = [
            (t, b)
            for t, b in zip(self.accel.times, self.accel.blocks, strict=True)
            if not t0 <= t < t1
        ]
        self.accel = BlockStream([p[0] for p in pairs], [p[1] for p in pairs])

    def reports(self, t0: float, t1: float) -> Iterator[DeviceReport]:
        """Reports with ``t0 <= ts < t1``, in time order."""
        times: list[npt.NDArray[np.float64]] = []
        refs: list[npt.NDArray[np.int64]] = []
        for i, s in enumerate(self.streams):
            a, b = np.searchsorted(s.times, [t0, t1])
            if b > a:
                times.append(s.times[a:b])
                refs.append(np.stack([np.full(b - a, i), np.arange(a, b)], axis=1))
        a, b = np.searchsorted(np.asarray(self.accel.times, dtype=np.float64), [t0, t1])
        if b > a:
            times.append(np.asarray(self.accel.times[a:b], dtype=np.float64))
            refs.append(np.stack([np.full(b - a, -1), np.arange(a, b)], axis=1))
        if not times:
            return
        all_t = np.concatenate(times)
        all_r = np.concatenate(refs)
        for j in np.argsort(all_t, kind="stable"):
            si, row = int(all_r[j, 0]), int(all_r[j, 1])
            if si < 0:
                values: dict[str, Any] = {"accel": self.accel.blocks[row]}
            else:
                s = self.streams[si]
                values = {k: v[row].item() for k, v in s.values.items()}
            yield DeviceReport(float(all_t[j]), self.device_id, values)
