"""PIR motion sensors: detections with the sensor's blind time, occupancy cleared after a hold."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from device_sim.devices.common import heartbeats, illuminance
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec, Stream
from device_sim.timeline import Activity
from protocol.home import PairedDevice

F64 = npt.NDArray[np.float64]

# Mean time between detectable movements (s) per activity; 0 = no movement at all.
_MEAN_GAP_S = {
    Activity.SLEEP: 2400.0,
    Activity.REST: 240.0,
    Activity.ACTIVE: 20.0,
    Activity.WALK: 5.0,
    Activity.OUT: 0.0,
    Activity.LYING: 0.0,
    Activity.STILL: 0.0,
}
BLIND_S = 60.0  # Aqara RTCGQ11LM: after a detection the sensor ignores motion for ~60 s
HOLD_S = 90.0  # occupancy is cleared this long after the last detection (Zigbee2MQTT default)
FALSE_TRIGGERS_PER_DAY = 0.3


def detections(ctx: HomeContext, room: int, rng: np.random.Generator, blind_s: float) -> F64:
    """Detection times of a PIR in ``room``: one array op per visit segment."""
    tl = ctx.timeline
    out: list[F64] = []
    last = -np.inf
    prev_room = -2
    for i in range(len(tl.t0)):
        here = int(tl.room[i]) == room
        entered = here and prev_room != room
        prev_room = int(tl.room[i])
        gap = _MEAN_GAP_S[Activity(int(tl.activity[i]))]
        if not here or gap == 0.0:
            continue
        a, b = float(tl.t0[i]), float(tl.t1[i])
        first = max(
            a + (rng.uniform(0.5, 3.0) if entered else rng.exponential(gap)),
            last + blind_s + rng.exponential(min(gap, 10.0)),
        )
        if first >= b:
            continue
        n = int((b - first) / blind_s) + 2
        times = first + np.concatenate(([0.0], np.cumsum(blind_s + rng.exponential(gap, n))))
        times = times[times < b]
        if len(times):
            out.append(times)
            last = float(times[-1])
    det = np.concatenate(out) if out else np.zeros(0)
    return _add_false_triggers(ctx, det, rng, blind_s)


def _add_false_triggers(
    ctx: HomeContext, det: F64, rng: np.random.Generator, blind_s: float
) -> F64:
    """Rare spurious triggers (sunlight, heating), never during a no-movement episode."""
    n = rng.poisson(FALSE_TRIGGERS_PER_DAY * (ctx.end - ctx.start) / 86400.0)
    extra = rng.uniform(ctx.start, ctx.end, n)
    for ep in ctx.episodes:
        if ep.kind in ("fall", "stop_moving"):
            extra = extra[(extra < ep.at) | (extra >= ep.at + ep.length_s)]
    if len(det) and len(extra):
        nxt = np.searchsorted(det, extra)
        before = det[np.clip(nxt - 1, 0, len(det) - 1)]
        after = det[np.clip(nxt, 0, len(det) - 1)]
        extra = extra[(np.abs(extra - before) > blind_s) & (np.abs(after - extra) > blind_s)]
    extra = np.sort(extra)
    extra = extra[np.diff(extra, prepend=-np.inf) > blind_s]
    return np.asarray(np.sort(np.concatenate([det, extra])), dtype=np.float64)


def pir(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """Everything a PIR motion sensor sends over the span."""
    rng = ctx.rng(dev.device_id, "pir")
    det = detections(ctx, ctx.room_index(dev), rng, BLIND_S)
    det = det[(det >= ctx.start) & (det < ctx.end)]
    gaps = np.diff(np.concatenate([det, [np.inf]]))
    clears = (det + HOLD_S)[gaps > HOLD_S]
    hb, _ = heartbeats(ctx, dev, spec)
    streams = [
        Stream.make(
            det, spec.kinds, motion=True, occupancy=True, illuminance=illuminance(ctx, det, rng)
        ),
        Stream.make(clears[clears < ctx.end], spec.kinds, motion=False, occupancy=False),
        hb,
    ]
    return DeviceStreams(dev.device_id, [s for s in streams if s.values], BlockStream([], []))
