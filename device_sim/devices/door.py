"""Door contacts: the front door opens and closes around every outing; inner doors on entry."""

from __future__ import annotations

import numpy as np

from device_sim.devices.common import heartbeats
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec, Stream
from device_sim.timeline import OUT
from protocol.home import PairedDevice


def door(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """Everything a door contact sends over the span."""
    rng = ctx.rng(dev.device_id, "door")
    tl = ctx.timeline
    if dev.front_door:
        out = tl.room == OUT
        prev_out = np.concatenate(([out[0]], out[:-1]))
        leaving = tl.t0[out & ~prev_out]
        returning = tl.t0[~out & prev_out]
        opens = np.concatenate([leaving - rng.uniform(2, 5, len(leaving)), returning])
    else:
        entries = tl.entries()
        entries = entries[tl.room[entries] == ctx.room_index(dev)]
        opens = tl.t0[entries][rng.random(len(entries)) < 0.6]
    opens = np.sort(opens[(opens >= ctx.start) & (opens < ctx.end)])
    closes = opens + rng.uniform(3, 10, len(opens))
    hb, _ = heartbeats(ctx, dev, spec)
    streams = [
        Stream.make(opens, spec.kinds, door_open=True),
        Stream.make(closes[closes < ctx.end], spec.kinds, door_open=False),
        hb,
    ]
    return DeviceStreams(dev.device_id, [s for s in streams if s.values], BlockStream([], []))
