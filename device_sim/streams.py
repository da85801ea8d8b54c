"""Columnar report streams: what one simulated device sends, as arrays until it is published."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
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
    @property
    def offline_timeout_s(self) -> float | None: ...


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
    # Values every block's frame also carries: a band's frame always says whether it is worn,
    # and an accel-only frame of a binary band would otherwise read as "not worn".
    extra: dict[str, Any] = field(default_factory=dict)


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
        self.accel = BlockStream([p[0] for p in pairs], [p[1] for p in pairs], self.accel.extra)

    def reports(self, t0: float, t1: float) -> list[DeviceReport]:
        """Reports with ``t0 <= ts < t1``, in time order."""
        rows: list[tuple[float, dict[str, Any]]] = []
        for s in self.streams:
            a, b = (int(x) for x in np.searchsorted(s.times, [t0, t1]))
            if b <= a:
                continue
            keys = list(s.values)
            cols = [s.values[k][a:b].tolist() for k in keys]
            times = s.times[a:b].tolist()
            rows += [
                (t, dict(zip(keys, vals, strict=True)))
                for t, vals in zip(times, zip(*cols, strict=True), strict=True)
            ]
        if self.accel.times:
            a, b = (int(x) for x in np.searchsorted(self.accel.times, [t0, t1]))
            rows += [
                (self.accel.times[i], {"accel": self.accel.blocks[i], **self.accel.extra})
                for i in range(a, b)
            ]
        rows.sort(key=lambda r: r[0])
        return [DeviceReport(t, self.device_id, v) for t, v in rows]
