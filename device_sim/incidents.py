"""Episodes applied to a home: timeline overlays, device choice, and the truth each one yields."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from device_sim.episodes import EPISODE_ALARMS, Episode, TruthEvent
from device_sim.household import HomeContext
from device_sim.routine import MIN
from device_sim.streams import ProfileSpec
from device_sim.timeline import OUT, Activity, Segment, overlay
from protocol.home import HomeManifest, PairedDevice

DEVICE_BOUND = ("sos", "device_offline", "battery_die", "off_wrist")
_DEVICE_PREFERENCE: dict[str, tuple[str, ...]] = {
    "sos": ("button", "fall_pendant", "wearable"),
    "device_offline": ("motion", "door", "radar", "wearable", "fall_pendant", "button"),
    "battery_die": ("wearable", "fall_pendant", "motion", "door", "button"),
    "off_wrist": ("wearable",),
}
_NEEDS_KIND = {"sos": "sos", "battery_die": "battery", "off_wrist": "worn"}


def bind_devices(
    home: HomeManifest, specs: dict[str, ProfileSpec], episodes: list[Episode]
) -> list[Episode]:
    """Episodes with ``device_id`` filled in for device-bound kinds; errors name the episode."""
    out = []
    for ep in episodes:
        if ep.kind not in DEVICE_BOUND:
            out.append(ep)
            continue
        need = _NEEDS_KIND.get(ep.kind)
        if ep.device_id is not None:
            if ep.device_id not in specs:
                raise ValueError(
                    f"home {home.home_id}: episode {ep.kind}: device {ep.device_id!r} is not "
                    "in the manifest"
                )
            if need and need not in specs[ep.device_id].kinds:
                raise ValueError(
                    f"home {home.home_id}: episode {ep.kind}: device {ep.device_id!r} has no "
                    f"{need!r} reading in its profile"
                )
            out.append(ep)
            continue
        chosen = next(
            (
                d.device_id
                for fam in _DEVICE_PREFERENCE[ep.kind]
                for d in home.devices
                if specs[d.device_id].family == fam
                and (need is None or need in specs[d.device_id].kinds)
            ),
            None,
        )
        if chosen is None:
            raise ValueError(f"home {home.home_id}: episode {ep.kind}: no device can play it")
        out.append(replace(ep, device_id=chosen))
    return out


def overlay_episodes(
    segments: list[Segment],
    episodes: list[Episode],
    roles: dict[str, int],
    rooms: list[str],
    rng: np.random.Generator,
) -> list[Segment]:
    """The resident's timeline with falls, collapses, outings and night wandering laid in."""
    for ep in sorted(episodes, key=lambda e: e.at):
        end = ep.at + ep.length_s
        if ep.kind in ("fall", "stop_moving"):
            room = _room_at(segments, ep.at, roles["entrance"])
            if "room" in ep.params:
                room = _named_room(rooms, ep)
            act = Activity.LYING if ep.kind == "fall" else Activity.STILL
            segments = overlay(segments, Segment(ep.at, end, room, act, ep.kind))
        elif ep.kind == "go_out":
            entrance = roles["entrance"]
            segments = overlay(segments, Segment(ep.at - 2 * MIN, ep.at, entrance, Activity.ACTIVE))
            segments = overlay(segments, Segment(ep.at, end, OUT, Activity.OUT, "out"))
            segments = overlay(segments, Segment(end, end + 2 * MIN, entrance, Activity.ACTIVE))
        elif ep.kind == "night_wandering":
            segments = _wander(segments, ep, roles, rng)
    return segments


def _named_room(rooms: list[str], ep: Episode) -> int:
    name = str(ep.params["room"])
    if name not in rooms:
        raise ValueError(f"episode {ep.kind}: room {name!r} is not one of the home's {rooms}")
    return rooms.index(name)


def _room_at(segments: list[Segment], t: float, default: int) -> int:
    seg = next((s for s in segments if s.t0 <= t < s.t1), None)
    return default if seg is None or seg.room == OUT else seg.room


def _wander(
    segments: list[Segment], ep: Episode, roles: dict[str, int], rng: np.random.Generator
) -> list[Segment]:
    rooms = [roles[r] for r in ("living", "kitchen", "entrance", "bathroom", "entrance")]
    t, end = ep.at, ep.at + ep.length_s
    exits = bool(ep.params.get("exits", False))
    while t < end:
        length = min(rng.uniform(2, 6) * MIN, end - t)
        room = int(rng.choice(rooms))
        if exits and t > ep.at + ep.length_s / 2:
            segments = overlay(segments, Segment(t, t + length, OUT, Activity.OUT, "wander_out"))
            exits = False
        else:
            segments = overlay(segments, Segment(t, t + length, room, Activity.WALK, "wander"))
        t += length
    return segments


def episode_truth(ctx: HomeContext, ep: Episode, dead_at: dict[str, float]) -> list[TruthEvent]:
    """What an episode should cause: one or two truth events."""
    hid, length = ctx.home.home_id, ep.length_s
    details: dict[str, object] = {"duration_s": round(length, 3), **ep.params}
    expected = EPISODE_ALARMS[ep.kind]
    if ep.kind == "fall":
        return [_fall_truth(ctx, ep, details)]
    if ep.kind == "fall_recovered":
        return [_fall_recovered_truth(ctx, ep, details)]
    if ep.kind == "device_offline":
        spec = ctx.specs[ep.device_id or ""]
        hb = float(spec.heartbeat_interval_s or 3600.0)
        silence = spec.offline_timeout_s or 1.5 * hb  # Zigbee2MQTT's timeout, or heartbeats
        expected = "device_offline" if length > silence else None
        details["heartbeat_interval_s"] = hb
        details["offline_after_s"] = silence
        return [TruthEvent(ep.at, hid, ep.kind, ep.device_id, expected, length, details)]
    if ep.kind == "battery_die":
        dev = ep.device_id or ""
        death = ep.at + length
        if dead_at.get(dev, death) < ep.at:
            return []  # the device died before this episode began: nothing left to drain
        hb = float(ctx.specs[dev].heartbeat_interval_s or 3600.0)
        window = max(3 * hb, 1.1 * (ctx.specs[dev].offline_timeout_s or 0.0))
        return [
            TruthEvent(ep.at, hid, "battery_low", dev, "battery_low", length, details),
            TruthEvent(death, hid, "battery_dead", dev, "device_offline", window, details),
        ]
    if ep.kind == "sos":
        return [TruthEvent(ep.at, hid, ep.kind, ep.device_id, expected, 60.0, details)]
    if ep.kind in ("tachycardia", "bradycardia", "spo2_low"):
        vitals = next(
            (d for d, s in ctx.specs.items() if {"heart_rate", "spo2"} & set(s.kinds)), None
        )
        return [TruthEvent(ep.at, hid, ep.kind, vitals, expected, length, details)]
    return [TruthEvent(ep.at, hid, ep.kind, ep.device_id, expected, length, details)]


def _worn_accel(ctx: HomeContext, at: float) -> list[PairedDevice]:
    """The resident's devices with an accelerometer that are worn at ``at``."""
    return [
        dev
        for dev in ctx.home.devices
        if dev.worn_by
        and "accel" in ctx.specs[dev.device_id].kinds
        and not any(a <= at < b for a, b in ctx.off_wrist.get(dev.device_id, []))
    ]


def _fall_recovered_truth(ctx: HomeContext, ep: Episode, details: dict[str, object]) -> TruthEvent:
    """Up again at once: a waist pendant's detector makes it a fall_recovered hint; a
    wristband's angle says nothing about posture, so a band raises a fall alarm."""
    hid = ctx.home.home_id
    worn = _worn_accel(ctx, ep.at)
    pendant = next((d for d in worn if ctx.specs[d.device_id].family == "fall_pendant"), None)
    if pendant is not None and ctx.accel:
        return TruthEvent(ep.at, hid, ep.kind, pendant.device_id, "fall_recovered", 60.0, details)
    if worn and ctx.accel:
        return TruthEvent(ep.at, hid, ep.kind, worn[0].device_id, "fall", 120.0, details)
    return TruthEvent(ep.at, hid, ep.kind, None, None, ep.length_s, details)


def _fall_truth(ctx: HomeContext, ep: Episode, details: dict[str, object]) -> TruthEvent:
    hid = ctx.home.home_id
    room = int(ctx.timeline.room_at(np.array([ep.at]))[0])
    details = {**details, "room": ctx.home.rooms[room] if room != OUT else None}
    radars = [
        d.device_id
        for d in ctx.home.devices
        if ctx.specs[d.device_id].family == "radar"
        and "radar_fall" in ctx.specs[d.device_id].kinds
        and ctx.room_index(d) == room
    ]
    if radars:
        details["also_seen_by"] = radars
    for dev in _worn_accel(ctx, ep.at):
        details["accel_generated"] = ctx.accel
        return TruthEvent(ep.at, hid, "fall", dev.device_id, "fall", 120.0, details)
    if radars:
        return TruthEvent(ep.at, hid, "fall", radars[0], "radar_fall", 120.0, details)
    return TruthEvent(ep.at, hid, "fall", None, "inactivity", ep.length_s, details)
