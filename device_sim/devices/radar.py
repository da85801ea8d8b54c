"""mmWave presence/fall radars: presence and target state per room, breathing, fall flag."""

from __future__ import annotations

import numpy as np

from device_sim.devices.common import enum_values, heartbeat_period, heartbeats, illuminance
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec, Stream
from device_sim.vitals import breathing_rate, heart_rate
from protocol.home import PairedDevice

# Target state per activity code (indexed by Activity value).
_STATE = np.array(["static", "static", "moving", "moving", "none", "lying", "static"])
DEFAULT_PERIOD_S = 60.0


def radar(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """Everything a radar sends over the span: changes, periodic reports, fall flags."""
    rng = ctx.rng(dev.device_id, "radar")
    tl = ctx.timeline
    here = tl.room == ctx.room_index(dev)
    states = _STATE.copy()
    allowed = enum_values(spec, "target_state")
    if allowed is not None and "lying" not in allowed:
        states[states == "lying"] = "static"  # this model flags falls only with radar_fall
    state = np.where(here, states[tl.activity], "none")
    changed = np.ones(len(state), dtype=bool)
    changed[1:] = state[1:] != state[:-1]
    t_change = tl.t0[changed] + rng.uniform(1, 4, int(changed.sum()))
    s_change = state[changed]
    keep = (t_change >= ctx.start) & (t_change < ctx.end)
    t_change, s_change = t_change[keep], s_change[keep]
    rate = spec.sample_rate_hz
    period = float(np.clip(1.0 / rate, 10.0, 600.0)) if rate else DEFAULT_PERIOD_S
    period = min(period, heartbeat_period(spec))  # never silent longer than its heartbeat
    t_per = ctx.grid(period, dev.device_id, "radar")
    idx = tl.index_at(t_per)
    s_per = np.where(here[idx], states[tl.activity[idx]], "none")
    act = tl.activity[idx]
    breathing = s_per != "moving"
    breathing &= s_per != "none"
    t_b = t_per[breathing]
    # Distance to the person (m): anywhere in the room while moving, near the bed or chair
    # while still; not measured with nobody there.
    moving = s_per[~breathing] == "moving"
    moving_distance = np.where(moving, rng.uniform(0.5, 4.0, moving.shape), np.nan).round(2)
    still_distance = rng.uniform(0.4, 2.5, t_b.shape).round(2)
    falls = [
        e
        for e in ctx.episodes_for("fall")
        if int(tl.room_at(np.array([e.at]))[0]) == ctx.room_index(dev)
    ]
    flag_on = np.array([e.at + rng.uniform(10, 30) for e in falls], dtype=np.float64)
    flag_off = np.array([e.at + e.length_s for e in falls], dtype=np.float64)
    hb, _ = heartbeats(ctx, dev, spec)
    streams = [
        Stream.make(
            t_change,
            spec.kinds,
            presence=s_change != "none",
            target_state=s_change,
            motion=s_change == "moving",  # a radar's moving-target flag (LD2410)
            still_target=(s_change == "static") | (s_change == "lying"),
        ),
        Stream.make(
            t_per[~breathing],
            spec.kinds,
            presence=s_per[~breathing] != "none",
            illuminance=illuminance(ctx, t_per[~breathing], rng),
            target_state=s_per[~breathing],
            moving_distance=moving_distance,
        ),
        Stream.make(
            t_b,
            spec.kinds,
            presence=True,
            target_state=s_per[breathing],
            distance=still_distance,
            still_distance=still_distance,
            breathing_rate=breathing_rate(t_b, act[breathing], rng),
            heart_rate=heart_rate(
                t_b,
                act[breathing],
                resting=ctx.home.resident.resting_heart_rate,
                utc_offset_s=ctx.utc_offset_s,
                rng=rng,
                episodes=ctx.episodes,
            ),
        ),
        Stream.make(flag_on[flag_on < ctx.end], spec.kinds, radar_fall=True),
        Stream.make(flag_off[flag_off < ctx.end], spec.kinds, radar_fall=False),
        hb,
    ]
    return DeviceStreams(dev.device_id, [s for s in streams if s.values], BlockStream([], []))
