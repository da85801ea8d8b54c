"""Housekeeping every device sends: heartbeats with battery, voltage and link quality."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from device_sim.household import HomeContext, apply_battery_die, battery_curve_coin
from device_sim.streams import ProfileSpec, Stream
from device_sim.vitals import local_hour
from protocol.home import PairedDevice

F64 = npt.NDArray[np.float64]
DEFAULT_HEARTBEAT_S = 3600.0
ANNOUNCE_S = 30.0


def heartbeat_period(spec: ProfileSpec) -> float:
    """How often the device checks in: a bit under its profile's longest healthy silence."""
    return 0.8 * float(spec.heartbeat_interval_s or DEFAULT_HEARTBEAT_S)


def field_unit(spec: ProfileSpec, kind: str) -> str | None:
    """The unit the profile's payload uses for ``kind`` (e.g. dBm for link quality), if told."""
    model = getattr(spec, "spec", None)
    return next((f.unit for f in getattr(model, "fields", []) if f.kind == kind), None)


def enum_values(spec: ProfileSpec, kind: str) -> set[str] | None:
    """The normalized values the profile can carry for an enum ``kind`` (None: any)."""
    model = getattr(spec, "spec", None)
    for f in getattr(model, "fields", []):
        if f.kind == kind and f.lookup:
            return {str(v) for v in f.lookup.values()}
    return None


def battery_columns(spec: ProfileSpec, level: F64) -> dict[str, F64]:
    """Battery percent and cell voltage columns as the profile carries them.

    The voltage follows the profile's battery curve when it declares one; when the profile
    derives its battery reading from the voltage, only the voltage is sent.
    """
    model = getattr(spec, "spec", None)
    curve = getattr(model, "battery_curve", None)
    if curve:
        pts = sorted(curve, key=lambda vp: vp[1])
        volts = np.interp(level, [p for _, p in pts], [v for v, _ in pts])
    else:
        volts = 2.7 + 0.33 * level / 100.0
    cols = {"battery": np.round(level), "voltage": np.round(volts, 3)}
    fields = getattr(model, "fields", [])
    if any(
        f.kind == "battery" and getattr(f, "converter_name", "") == "battery_curve" for f in fields
    ):
        del cols["battery"]
    return cols


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
    period = heartbeat_period(spec)
    first = ctx.start + rng.uniform(0.0, min(ANNOUNCE_S, period))  # a check-in when play starts
    t = np.concatenate(([first], ctx.grid(period, dev.device_id, "heartbeat")))
    t = np.sort(t[t < ctx.end])
    if battery is not None and times is not None:
        level = np.interp(t, times, battery)
    else:
        level = battery_curve_coin(ctx, dev.device_id, t)
    dead_at = None
    for ep in ctx.episodes_for("battery_die", dev.device_id):
        level, dead_at = apply_battery_die(level, t, ep)
    battery_cols = battery_columns(spec, np.round(level, 1))
    if field_unit(spec, "link_quality") == "dBm":
        lqi = np.clip(rng.normal(rng.uniform(-85, -50), 4, t.shape), -100, -30).round()
    else:
        lqi = np.clip(rng.normal(rng.uniform(60, 200), 12, t.shape), 0, 255).round()
    stream = Stream.make(
        t,
        spec.kinds,
        heartbeat=True,
        **battery_cols,
        link_quality=lqi,
        tamper=False,
        temperature=np.round(22.0 + rng.normal(0, 0.5, t.shape), 1),
    )
    return stream, dead_at


def illuminance(ctx: HomeContext, t: F64, rng: np.random.Generator) -> F64:
    """Indoor light (lux): daylight curve, lamps in the evening, noise."""
    h = local_hour(t, ctx.utc_offset_s)
    day = np.clip(np.sin(np.pi * (h - 6.0) / 13.0), 0, None) * 250.0
    lamps = np.where((h > 18.0) | (h < 6.5), 60.0, 0.0)
    return np.asarray(
        np.round(np.clip(day + lamps + rng.normal(0, 8, t.shape), 0, None)), np.float64
    )
