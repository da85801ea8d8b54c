"""Emergency buttons and pull cords: SOS presses (and cancels) from episodes, plus heartbeats."""

from __future__ import annotations

import numpy as np

from device_sim.devices.common import heartbeats
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec, Stream
from protocol.home import PairedDevice


def sos_streams(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> list[Stream]:
    """SOS presses bound to this device, and cancels when an episode asks for one."""
    eps = ctx.episodes_for("sos", dev.device_id)
    presses = np.array([e.at for e in eps], dtype=np.float64)
    cancels = np.array(
        [e.at + float(e.params["cancel_after_s"]) for e in eps if "cancel_after_s" in e.params],
        dtype=np.float64,
    )
    return [
        Stream.make(presses, spec.kinds, sos=True),
        Stream.make(cancels[cancels < ctx.end], spec.kinds, cancel=True),
    ]


def button(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """Everything an SOS button sends over the span."""
    hb, _ = heartbeats(ctx, dev, spec)
    streams = [*sos_streams(ctx, dev, spec), hb]
    return DeviceStreams(dev.device_id, [s for s in streams if s.values], BlockStream([], []))
