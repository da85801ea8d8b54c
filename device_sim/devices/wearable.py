"""Wristbands and fall pendants: vitals, worn flag, charging, SOS and accelerometer bursts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from device_sim import accel as acc
from device_sim.datasets import PLACEMENT, load_trial
from device_sim.devices.button import sos_streams
from device_sim.devices.common import heartbeats
from device_sim.household import HomeContext
from device_sim.streams import BlockStream, DeviceStreams, ProfileSpec, Stream
from device_sim.timeline import OUT, Activity
from device_sim.vitals import heart_rate, spo2
from protocol.home import PairedDevice

F64 = npt.NDArray[np.float64]
VITALS_PERIOD_S = 60.0
SPO2_EVERY = 5  # SpO2 in every 5th vitals report
BLOCK_S = 2.0  # accelerometer block length per message
BUMPS_PER_DAY = 2.0
CHARGE_BELOW = 45.0  # charged in the evening when the level is under this
CHARGE_RATE = 60.0  # percent per hour on the charger


def charging_sessions(
    ctx: HomeContext, dev: PairedDevice, rng: np.random.Generator
) -> tuple[list[tuple[float, float]], F64, F64]:
    """Evening charging sessions and the battery curve as knots (times, levels)."""
    tz = ZoneInfo(ctx.home.timezone)
    dies = [e.at for e in ctx.episodes_for("battery_die", dev.device_id)]
    stop_charging = min(dies) if dies else np.inf
    drain = rng.uniform(0.9, 1.4) / 3600.0
    t, level = ctx.start, rng.uniform(60, 100)
    knots_t, knots_l = [t], [level]
    sessions: list[tuple[float, float]] = []
    day = datetime.fromtimestamp(ctx.start, tz).date()
    while True:
        plug = datetime(day.year, day.month, day.day, 19, tzinfo=tz).timestamp()
        plug += rng.uniform(0, 2.5 * 3600)
        day += timedelta(days=1)
        if plug >= ctx.end:
            break
        if plug <= t:
            continue
        at_plug = level - drain * (plug - t)
        if at_plug >= CHARGE_BELOW or plug >= stop_charging:
            continue
        at_plug = max(at_plug, 0.0)
        unplug = plug + (100.0 - at_plug) / CHARGE_RATE * 3600.0 + rng.uniform(0, 1200)
        knots_t += [plug, plug + (100.0 - at_plug) / CHARGE_RATE * 3600.0, unplug]
        knots_l += [at_plug, 100.0, 100.0]
        sessions.append((plug, unplug))
        t, level = unplug, 100.0
    knots_t.append(ctx.end + 1.0)
    knots_l.append(max(level - drain * (ctx.end + 1.0 - t), 0.0))
    return sessions, np.array(knots_t), np.clip(np.array(knots_l), 0, 100)


def _off_mask(t: F64, spans: list[tuple[float, float]]) -> npt.NDArray[np.bool_]:
    off = np.zeros(t.shape, dtype=bool)
    for a, b in spans:
        off |= (t >= a) & (t < b)
    return off


def wearable(ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec) -> DeviceStreams:
    """Everything a wristband or pendant sends over the span."""
    rng = ctx.rng(dev.device_id, "vitals")
    kinds = spec.kinds
    sessions: list[tuple[float, float]] = []
    if spec.family == "wearable" and "battery" in kinds:
        sessions, bt, bl = charging_sessions(ctx, dev, rng)
        hb, _ = heartbeats(ctx, dev, spec, battery=bl, times=bt)
    else:
        hb, _ = heartbeats(ctx, dev, spec)
    off = sessions + [
        (e.at, e.at + e.length_s) for e in ctx.episodes_for("off_wrist", dev.device_id)
    ]
    ctx.off_wrist[dev.device_id] = sorted(off)
    streams = [hb, *sos_streams(ctx, dev, spec)]
    if kinds & {"heart_rate", "spo2", "worn"}:
        t = ctx.grid(VITALS_PERIOD_S, dev.device_id, "vitals")
        act = ctx.timeline.activity_at(t)
        worn = ~_off_mask(t, off)
        res = ctx.home.resident
        hr = heart_rate(
            t,
            act,
            resting=res.resting_heart_rate,
            utc_offset_s=ctx.utc_offset_s,
            rng=rng,
            episodes=ctx.episodes,
        )
        sp = spo2(t, act, baseline=res.baseline_spo2, rng=rng, episodes=ctx.episodes)
        with_sp = worn & (np.arange(len(t)) % SPO2_EVERY == 0)
        hr_only = worn & ~with_sp
        sparse_off = ~worn & (np.arange(len(t)) % SPO2_EVERY == 0)
        streams += [
            Stream.make(t[with_sp], kinds, heart_rate=hr[with_sp], spo2=sp[with_sp], worn=True),
            Stream.make(t[hr_only], kinds, heart_rate=hr[hr_only], worn=True),
            Stream.make(t[sparse_off], kinds, worn=False),
        ]
    blocks = BlockStream([], [])
    if ctx.accel and "accel" in kinds and spec.sample_rate_hz:
        blocks = accel_bursts(ctx, dev, spec, off)
        if "worn" in kinds:
            blocks.extra = {"worn": True}  # bursts are only played while the band is worn
    return DeviceStreams(dev.device_id, [s for s in streams if s.values and len(s)], blocks)


def accel_bursts(
    ctx: HomeContext, dev: PairedDevice, spec: ProfileSpec, off: list[tuple[float, float]]
) -> BlockStream:
    """Accelerometer blocks: walks on entering a room, daily bumps, falls (worn times only)."""
    rng = ctx.rng(dev.device_id, "accel")
    fs = float(spec.sample_rate_hz or 50.0)
    placement = "wrist" if spec.family == "wearable" else "waist"
    tl = ctx.timeline
    bursts: list[tuple[float, F64]] = []
    entries = tl.entries()
    for t0 in tl.t0[entries]:
        bursts.append((float(t0), acc.walk(rng.uniform(4, 8), fs, placement, rng)))
    n = rng.poisson(BUMPS_PER_DAY * (ctx.end - ctx.start) / 86400.0)
    for t0 in rng.uniform(ctx.start, ctx.end, n):
        a = int(tl.activity_at(np.array([t0]))[0])
        if a in (Activity.ACTIVE, Activity.REST) and int(tl.room_at(np.array([t0]))[0]) != OUT:
            kind = "sit_down_hard"
            if placement == "wrist":
                kind = str(rng.choice(["clap", "table_hit", "sit_down_hard"]))
            bursts.append((float(t0), acc.bump(kind, fs, placement, rng)))
    falls: list[tuple[float, F64]] = []
    for ep in ctx.episodes_for("fall"):
        samples, impact = _fall_samples(ctx, ep.params, fs, placement, rng)
        falls.append((ep.at - impact, samples))
    for ep in ctx.episodes_for("fall_recovered"):
        samples, impact = acc.fall_recovered(fs, placement, rng)
        falls.append((ep.at - impact, samples))
    bursts = _one_at_a_time(falls, bursts, fs)
    bursts = [
        b for b in bursts if ctx.start <= b[0] < ctx.end and not _off_mask(np.array([b[0]]), off)[0]
    ]
    times: list[float] = []
    blocks: list[F64] = []
    per = max(1, round(BLOCK_S * fs))
    for t0, samples in bursts:
        for k in range(0, len(samples), per):
            times.append(t0 + k / fs)
            blocks.append(samples[k : k + per])
    return BlockStream(times, blocks)


def _one_at_a_time(
    first: list[tuple[float, F64]], rest: list[tuple[float, F64]], fs: float
) -> list[tuple[float, F64]]:
    """Bursts in time order with no two overlapping: one sensor records one motion at a time.

    ``first`` (falls) win over ``rest`` (walks, bumps); among equals the earlier one wins.
    """
    kept: list[tuple[float, F64]] = []
    for t0, samples in [*first, *sorted(rest, key=lambda b: b[0])]:
        t1 = t0 + len(samples) / fs
        if all(t1 <= a or t0 >= a + len(b) / fs for a, b in kept):
            kept.append((t0, samples))
    kept.sort(key=lambda b: b[0])
    return kept


def _fall_samples(
    ctx: HomeContext,
    params: dict[str, object],
    fs: float,
    placement: str,
    rng: np.random.Generator,
) -> tuple[F64, float]:
    """A fall: a recorded trial when ``params.replay`` names one, else synthesized."""
    post_s = float(params.get("post_s", 30.0))  # type: ignore[arg-type]
    replay = params.get("replay")
    if isinstance(replay, str) and ctx.datasets_dir is not None:
        dataset, _, trial = replay.partition(":")
        rec = load_trial(ctx.datasets_dir, dataset, trial, fs)
        impact = rec.fall_at_s if rec.fall_at_s is not None else rec.duration_s / 2
        tail = acc.still(post_s, fs, PLACEMENT[dataset], rng, lying=True)
        return np.concatenate([rec.samples, tail]), impact
    return acc.fall(fs, placement, rng, post_s=post_s)
