"""Housekeeping every device sends: heartbeats with battery, voltage and link quality."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from device_sim.household import HomeContext, apply_battery_die, battery_curve_coin
from device_sim.streams import ProfileSpec, Stream
from protocol.home import PairedDevice

F64 = npt.NDArray[np.float64]
DEFAULT_HEARTBEAT_S = 3600.0


def heartbeat_period(spec: ProfileSpec) -> float:
    """How often the device checks in: a bit under its profile's longest healthy silence."""
    return 0.8 * float(spec.heartbeat_interval_s or DEFAULT_HEARTBEAT_S)


def heartbeats(
    ctx: HomeContext,
    dev: PairedDevice,
    spec: ProfileSpec,
    battery: F64 | None = None,
    times: F64 | None = None,
) -> tuple[Stream, float | None]:
    """The heartbeat stream and, if a battery_die episode kills the device, when it dies.

    ``battery`` (levels at ``times``) overrides the default coin-cell curve.
    """
    rng = ctx.rng(dev.device_id, "heartbeat")
    t = ctx.grid(heartbeat_period(spec), dev.device_id, "heartbeat")
    if battery is not None and times is not None:
        level = np.interp(t, times, battery)
    else:
        level = battery_curve_coin(ctx, dev.device_id, t)
    dead_at = None
    for ep in ctx.episodes_for("battery_die", dev.device_id):
        level, dead_at = apply_battery_die(level, t, ep)
    lqi = np.clip(rng.normal(rng.uniform(60, 200), 12, t.shape), 0, 255).round()
    stream = Stream.make(
        t,
        spec.kinds,
        heartbeat=True,
        battery=np.round(level),
        voltage=np.round(2.7 + 0.33 * level / 100.0, 3),
        link_quality=lqi,
        tamper=False,
        temperature=np.round(22.0 + rng.normal(0, 0.5, t.shape), 1),
    )
    return stream, dead_at
