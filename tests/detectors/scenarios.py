"""Synthetic streams for every registered detector, and a runner that can chunk them.

A scenario is a time-ordered list of ``Data`` (one device's samples of one kind) and
``Tick`` items. The runner turns each ``Data`` into readings: one block, random-sized
blocks, or single scalar readings, optionally with NaN samples slipped in, and calls
``tick`` at the same instants whatever the chunking, so every chunking must give the same
detections.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from edge.detectors import Detection, Detector
from edge.detectors.bathroom_dwell import BathroomDwellDetector
from edge.detectors.device_health import DeviceHealthDetector
from edge.detectors.fall import FallDetector, waist_defaults
from edge.detectors.home import HomeContext
from edge.detectors.inactivity import InactivityDetector
from edge.detectors.night_wandering import NightWanderingDetector
from edge.detectors.radar_fall import RadarFallDetector
from edge.detectors.sensor_silence import SensorSilenceDetector
from edge.detectors.sos import SosDetector
from edge.detectors.vitals import VitalsDetector
from protocol import Reading, ReadingKind

T0 = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
DAY = 86400.0


@dataclass(frozen=True)
class Data:
    """Samples of one kind from one device (values: (n,), (n, 3), or strings)."""

    device: str
    kind: ReadingKind
    t: np.ndarray
    v: Any


@dataclass(frozen=True)
class Tick:
    """The gateway's clock tick."""

    now: float


Item = Data | Tick


def _reading(d: Data, a: int, b: int, single: bool) -> Reading:
    if d.kind == ReadingKind.TARGET_STATE or (single and d.kind != ReadingKind.ACCEL):
        value = d.v[a]
        if d.kind in (
            ReadingKind.MOTION,
            ReadingKind.PRESENCE,
            ReadingKind.OCCUPANCY,
            ReadingKind.SOS,
            ReadingKind.CANCEL,
            ReadingKind.WORN,
            ReadingKind.DOOR_OPEN,
            ReadingKind.TAMPER,
            ReadingKind.RADAR_FALL,
        ) and not np.isnan(value):
            value = bool(value)
        elif d.kind != ReadingKind.TARGET_STATE:
            value = float(value)
        return Reading(d.device, float(d.t[a]), d.kind, value=value)
    t = np.asarray(d.t[a:b], dtype=np.float64)
    v = np.asarray(d.v[a:b], dtype=np.float64)
    return Reading(d.device, float(t[0]), d.kind, samples=v, sample_ts=t)


def _with_nans(d: Data, rng: np.random.Generator) -> Data:
    if d.kind == ReadingKind.TARGET_STATE or len(d.t) < 2:
        return d
    n = len(d.t)
    at = np.sort(rng.choice(n - 1, size=max(1, n // 10), replace=False)) + 1
    t = np.insert(d.t, at, (d.t[at - 1] + d.t[at]) / 2)
    v = np.asarray(d.v, dtype=np.float64)
    nan = np.full((len(at), *v.shape[1:]), np.nan)
    return Data(d.device, d.kind, t, np.insert(v, at, nan, axis=0))


def readings(d: Data, mode: str, rng: np.random.Generator) -> list[Reading]:
    """Cut one Data item: ``whole``, ``random`` sizes, or ``single`` readings."""
    n = len(d.t)
    if d.kind == ReadingKind.TARGET_STATE:
        return [_reading(d, i, i + 1, True) for i in range(n)]
    if mode == "whole":
        return [_reading(d, 0, n, False)]
    if mode == "single":
        size = 7 if d.kind == ReadingKind.ACCEL else 1
        return [_reading(d, a, min(n, a + size), True) for a in range(0, n, size)]
    cuts = [0]
    while cuts[-1] < n:
        cuts.append(min(n, cuts[-1] + int(rng.integers(1, 80))))
    return [_reading(d, a, b, False) for a, b in itertools.pairwise(cuts)]


def key(d: Detection) -> tuple[str, float, bool, str | None]:
    """What must not depend on chunking."""
    return (str(d.kind), round(d.ts, 6), d.active, d.device_id)


def run(
    make: Callable[[], Detector],
    items: list[Item],
    *,
    mode: str = "whole",
    seed: int = 0,
    nans: bool = False,
    save_at: int | None = None,
) -> list[tuple[str, float, bool, str | None]]:
    """Run a scenario; with ``save_at``, save state as JSON there and resume in a new detector."""
    rng = np.random.default_rng(seed)
    det = make()
    out: list[Detection] = []
    for i, item in enumerate(items):
        if save_at is not None and i == save_at:
            text = json.dumps(det.state(), allow_nan=False)
            det = make()
            det.restore(json.loads(text))
        if isinstance(item, Tick):
            out += det.tick(item.now)
            continue
        d = _with_nans(item, rng) if nans else item
        for r in readings(d, mode, rng):
            out += det.feed(r)
    return [key(d) for d in out]


# -- scenarios ------------------------------------------------------------------------------


def _segments(
    device: str, kind: ReadingKind, t: np.ndarray, v: np.ndarray, every: float
) -> list[Item]:
    """Split samples into Data items of ``every`` seconds, a tick after each."""
    items: list[Item] = []
    edges = np.arange(t[0], t[-1] + every, every)
    for a, b in itertools.pairwise(edges):
        m = (t >= a) & (t < b)
        if m.any():
            items.append(Data(device, kind, t[m], v[m]))
        items.append(Tick(float(b)))
    return items


def fall_scenario(seed: int) -> list[Item]:
    """Standing, walking, a fall (free fall, saturated impact, lying on the side), a gap,
    clapping, then a cancel."""
    rng = np.random.default_rng(seed)
    dt = np.tile([0.002, 0.002, 0.002, 0.074], 1000)[:1900] + rng.uniform(0, 0.001, 1900)
    t = T0 + np.cumsum(dt)
    rel = t - T0
    x = np.zeros((len(t), 3))
    x[:, 2] = 1.0
    walk = (rel > 8) & (rel < 16)
    x[walk, 2] += 0.3 * np.sin(2 * np.pi * 1.8 * rel[walk])
    x[walk, 0] += 0.2 * np.sin(2 * np.pi * 0.9 * rel[walk])
    ff = (rel >= 16) & (rel < 16.4)
    x[ff] = [0.1, 0.1, 0.2]
    hit = (rel >= 16.4) & (rel < 16.5)
    x[hit] = [4.0, -2.5, 4.0]
    lying = rel >= 16.5
    x[lying] = [1.0, 0.05, 0.0]
    clap = (rel > 30) & (rel < 33)
    x[clap, 1] += 3.5 * (np.sin(2 * np.pi * 3 * rel[clap]) > 0.95)
    x += rng.normal(0, 0.01, x.shape)
    x = np.clip(x, -4.0, 4.0)
    keep = (rel < 22) | (rel > 25)  # a 3 s gap
    items = _segments("band-1", ReadingKind.ACCEL, t[keep], x[keep], 5.0)
    items.append(Data("band-1", ReadingKind.CANCEL, np.array([T0 + 50]), np.array([1.0])))
    return items


def pendant_scenario(seed: int) -> list[Item]:
    """A waist pendant at 100 Hz: sitting, lying back hard and sitting up again (a recovery),
    then a fall that stays down."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, 60, 0.01)
    rel = t - T0
    upright, back, side = np.array([0.0, -1.0, 0.0]), np.array([0.0, 0.0, 1.0]), [1.0, 0, 0]

    def turn(a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> None:
        m = (rel >= t0) & (rel < t1)
        w = ((rel[m] - t0) / (t1 - t0))[:, None]
        x[m] = (1 - w) * a + w * b

    x = np.tile(upright, (len(t), 1))
    turn(upright, back, 12.0, 12.8)
    x[(rel >= 12.8) & (rel < 16.0)] = back
    x[(rel >= 12.8) & (rel < 12.86)] = [0.6, -1.2, 2.4]
    turn(back, upright, 16.0, 17.0)
    x[(rel >= 40.0) & (rel < 40.35)] = [0.1, -0.2, 0.1]
    x[(rel >= 40.35) & (rel < 40.42)] = [3.5, -3.0, 2.5]
    x[rel >= 40.42] = side
    x += rng.normal(0, 0.01, x.shape)
    return _segments("pendant-1", ReadingKind.ACCEL, t, x, 5.0)


def radar_scenario(seed: int) -> list[Item]:
    """Flags confirmed, dropped by movement, dropped by absence."""
    r = "radar-1"
    jitter = float(np.random.default_rng(seed).uniform(0, 1))

    def one(kind: ReadingKind, ts: float, v: Any) -> Data:
        return Data(
            r, kind, np.array([T0 + ts + jitter]), [v] if isinstance(v, str) else np.array([v])
        )

    return [
        one(ReadingKind.PRESENCE, 0, 1.0),
        one(ReadingKind.RADAR_FALL, 100, 1.0),
        one(ReadingKind.TARGET_STATE, 101, "lying"),
        Tick(T0 + 120),
        Tick(T0 + 140),
        one(ReadingKind.TARGET_STATE, 400, "moving"),
        one(ReadingKind.RADAR_FALL, 1000, 1.0),
        one(ReadingKind.TARGET_STATE, 1010, "moving"),
        Tick(T0 + 1100),
        Data(r, ReadingKind.MOTION, T0 + np.arange(2000.0, 2010.0), np.tile([0.0, 1.0], 5)),
        one(ReadingKind.RADAR_FALL, 3000, 1.0),
        one(ReadingKind.PRESENCE, 3005, 0.0),
        Tick(T0 + 3100),
        one(ReadingKind.PRESENCE, 4000, 1.0),
        Data(r, ReadingKind.RADAR_FALL, T0 + np.arange(4500.0, 4520.0), np.tile([0.0, 1.0], 10)),
        Tick(T0 + 4600),
    ]


def sos_scenario(seed: int) -> list[Item]:
    """Presses, repeats, a cancel, presses again."""
    off = float(np.random.default_rng(seed).uniform(0, 1))
    return [
        Data("btn-1", ReadingKind.SOS, T0 + off + np.array([10.0, 12, 30]), np.array([1.0, 1, 0])),
        Data("btn-1", ReadingKind.CANCEL, T0 + off + np.array([50.0]), np.array([1.0])),
        Data(
            "btn-1", ReadingKind.SOS, T0 + off + np.array([100.0, 130, 300]), np.array([1.0, 1, 1])
        ),
        Tick(T0 + 400),
    ]


def vitals_scenario(seed: int) -> list[Item]:
    """Two hours: tachycardia, SpO2 dip, bradycardia, off-wrist nonsense, back to normal."""
    rng = np.random.default_rng(seed)
    t = T0 + np.arange(0, 7200, 5.0) + rng.uniform(0, 0.5)
    m = (t - T0) / 60
    hr = 70 + rng.normal(0, 2, len(t))
    hr[(m > 20) & (m < 30)] = 132 + rng.normal(0, 2, ((m > 20) & (m < 30)).sum())
    hr[(m > 60) & (m < 70)] = 36
    hr[(m > 80) & (m < 90)] = 160  # band off the wrist: not the resident's heart
    ts = T0 + np.arange(0, 7200, 30.0) + 1
    ms = (ts - T0) / 60
    spo2 = 97 + rng.normal(0, 0.5, len(ts))
    spo2[(ms > 40) & (ms < 50)] = 85
    items: list[Item] = []
    for a in range(0, 7200, 600):
        lo, hi = T0 + a, T0 + a + 600
        if a == 4800:
            items.append(Data("band-1", ReadingKind.WORN, np.array([lo]), np.array([0.0])))
        if a == 5400:
            items.append(Data("band-1", ReadingKind.WORN, np.array([lo]), np.array([1.0])))
        sel = (t >= lo) & (t < hi)
        items.append(Data("band-1", ReadingKind.HEART_RATE, t[sel], hr[sel]))
        sel = (ts >= lo) & (ts < hi)
        items.append(Data("band-1", ReadingKind.SPO2, ts[sel], spo2[sel]))
        items.append(Tick(hi))
    stale = Data("band-1", ReadingKind.HEART_RATE, np.array([T0 + 100.0]), np.array([200.0]))
    return [*items, stale, Tick(T0 + 7300)]


def health_scenario(seed: int) -> list[Item]:
    """Battery down and up, tamper, off wrist for long, a silence that means offline."""
    rng = np.random.default_rng(seed)
    d = "band-1"
    hb = T0 + np.arange(0, 20000, 300.0) + rng.uniform(0, 5)
    hb = hb[(hb < T0 + 10000) | (hb > T0 + 13000)]
    batt = np.clip(
        np.concatenate(
            (np.linspace(100, 5, len(hb) // 2), np.linspace(5, 100, len(hb) - len(hb) // 2))
        ),
        0,
        100,
    )
    items: list[Item] = []
    for a in range(0, 20000, 1000):
        lo, hi = T0 + a, T0 + a + 1000
        sel = (hb >= lo) & (hb < hi)
        if sel.any():
            items.append(Data(d, ReadingKind.BATTERY, hb[sel], batt[sel]))
        if a == 3000:
            items.append(
                Data(
                    d,
                    ReadingKind.TAMPER,
                    np.array([lo + 10, lo + 50, lo + 90]),
                    np.array([1.0, 1.0, 0.0]),
                )
            )
        if a == 5000:
            items.append(
                Data(d, ReadingKind.WORN, np.array([lo + 1, lo + 2]), np.array([1.0, 0.0]))
            )
        if a == 8000:
            items.append(Data(d, ReadingKind.WORN, np.array([lo + 3]), np.array([1.0])))
        items += [Tick(lo + 500), Tick(hi)]
    return items


HOME = HomeContext(
    timezone="Europe/Amsterdam",
    sleep="22:30",
    wake="07:00",
    front_doors=frozenset({"door-front"}),
    rooms={
        "pir-kitchen": "kitchen",
        "pir-bath": "bathroom",
        "pir-bed": "bedroom",
        "door-front": "entrance",
    },
)


def home_scenario(seed: int) -> list[Item]:
    """Ten days of a routine, with an outing, a night departure, a long bathroom stay, and a
    resident who stops moving on the last day."""
    rng = np.random.default_rng(seed)
    day0 = T0 - (T0 % DAY) + DAY  # a UTC midnight; Amsterdam is UTC+1 in November
    events: list[tuple[float, str, ReadingKind, float]] = []
    for day in range(10):
        base = day0 + day * DAY - 3600  # local midnight
        t = base + 7.2 * 3600 + rng.uniform(0, 1800)
        end = base + (11 if day == 9 else 22) * 3600
        while t < end:
            if day == 4 and base + 13 * 3600 <= t < base + 17 * 3600:
                t = base + 17 * 3600 + 300
                continue
            if day == 6 and base + 10 * 3600 <= t < base + 12.5 * 3600:
                t = base + 12.5 * 3600
                continue
            dev = "pir-bath" if rng.uniform() < 0.2 else "pir-kitchen"
            events.append((t, dev, ReadingKind.MOTION, 1.0))
            t += rng.exponential(900) + 30
        if day == 5:  # restless at night: three rooms for half an hour
            walk = base + DAY + 3 * 3600 + np.arange(0.0, 1800.0, 120.0)
            events += [(t, "pir-kitchen", ReadingKind.MOTION, 1.0) for t in walk[::3]]
            events += [(t, "pir-bed", ReadingKind.MOTION, 1.0) for t in walk[1::3]]
            events += [(t, "pir-bath", ReadingKind.MOTION, 1.0) for t in walk[2::3]]
        if day == 4:
            events += [(base + 13 * 3600 + 5, "door-front", ReadingKind.DOOR_OPEN, 1.0)]
            events += [(base + 17 * 3600, "door-front", ReadingKind.DOOR_OPEN, 1.0)]
        if day == 6:
            events.append((base + 10 * 3600 - 60, "pir-bath", ReadingKind.MOTION, 1.0))
        if day == 3:
            events += [(base + DAY + 1.95 * 3600, "pir-bed", ReadingKind.MOTION, 1.0)]
            events += [(base + DAY + 2 * 3600, "door-front", ReadingKind.DOOR_OPEN, 1.0)]
            events += [(base + DAY + 2.7 * 3600, "pir-kitchen", ReadingKind.MOTION, 1.0)]
        events.append((base + 22.4 * 3600, "pir-bed", ReadingKind.MOTION, 1.0))
    return home_items(events, day0 - 3600, day0 + 10 * DAY)


def home_items(
    events: list[tuple[float, str, ReadingKind, float]], start: float, end: float
) -> list[Item]:
    """Events grouped into one Data per device and kind between ticks every 10 minutes."""
    events.sort()
    items: list[Item] = []
    tick = start
    i = 0
    while tick < end:
        tick += 600
        group: list[tuple[float, str, ReadingKind, float]] = []
        while i < len(events) and events[i][0] < tick:
            group.append(events[i])
            i += 1
        j = 0
        while j < len(group):
            k = j
            while k < len(group) and group[k][1:3] == group[j][1:3]:
                k += 1
            g = group[j:k]
            items.append(
                Data(g[0][1], g[0][2], np.array([e[0] for e in g]), np.array([e[3] for e in g]))
            )
            j = k
        items.append(Tick(tick))
    return items


def silent_sensor_scenario(seed: int) -> list[Item]:
    """Sixteen days of three PIRs; the bedroom's stops firing on day 8 and comes back on
    day 14, while the others go on."""
    rng = np.random.default_rng(seed)
    day0 = T0 - (T0 % DAY) + DAY
    events: list[tuple[float, str, ReadingKind, float]] = []
    for day in range(16):
        base = day0 + day * DAY
        t = base + 7 * 3600 + rng.uniform(0, 1800)
        while t < base + 22 * 3600:
            devs = ["pir-kitchen", "pir-bath"] + ([] if 8 <= day < 14 else ["pir-bed"])
            events.append((t, devs[int(rng.integers(len(devs)))], ReadingKind.MOTION, 1.0))
            t += rng.exponential(1200) + 30
    return home_items(events, day0, day0 + 16 * DAY)


SCENARIOS: dict[str, tuple[Callable[[], Detector], Callable[[int], list[Item]]]] = {
    "fall": (lambda: FallDetector(device_id="band-1", sample_rate_hz=50.0), fall_scenario),
    "radar_fall": (lambda: RadarFallDetector(device_id="radar-1"), radar_scenario),
    "sos": (lambda: SosDetector(device_id="btn-1"), sos_scenario),
    "vitals": (lambda: VitalsDetector(device_id="band-1"), vitals_scenario),
    "device_health": (
        lambda: DeviceHealthDetector(device_id="band-1", heartbeat_interval_s=300),
        health_scenario,
    ),
    "inactivity": (lambda: InactivityDetector(home=HOME), home_scenario),
    "night_wandering": (lambda: NightWanderingDetector(home=HOME), home_scenario),
    "bathroom_dwell": (lambda: BathroomDwellDetector(home=HOME), home_scenario),
    "sensor_silence": (lambda: SensorSilenceDetector(home=HOME), silent_sensor_scenario),
}

# Further configurations of registered types, held to the same contract.
VARIANTS: dict[str, tuple[Callable[[], Detector], Callable[[int], list[Item]]]] = {
    # every candidate scores past threshold 0, so the recovery window's state is exercised
    "fall_waist_recovery": (
        lambda: FallDetector(
            waist_defaults().model_copy(update={"threshold": 0.0}),
            device_id="pendant-1",
            sample_rate_hz=100.0,
        ),
        pendant_scenario,
    ),
}
CASES = {**SCENARIOS, **VARIANTS}
