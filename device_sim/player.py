"""Play simulated homes into a broker in accelerated simulated time, with a published clock."""

from __future__ import annotations

import json
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol, TextIO

from device_sim.encode import Encoder
from device_sim.episodes import TruthEvent
from device_sim.faults import Fault, FaultInjector, Outgoing
from device_sim.mqtt import Publisher
from device_sim.streams import DeviceReport
from device_sim.zigbee2mqtt import Zigbee2MQTTBridge
from protocol.topics import CLOCK_TOPIC, TRUTH_TOPIC

log = logging.getLogger(__name__)

CHUNK_WALL_S = 0.5  # fetch about this much wall time of reports from the models at a time
CLOCK_WALL_S = 0.2  # publish the clock at least this often in wall time


class Source(Protocol):
    """Anything that yields device reports by time window (a HomeSim, a replay)."""

    truth: list[TruthEvent]

    def reports(self, t0: float, t1: float) -> list[DeviceReport]: ...


@dataclass
class PlayStats:
    """What a run did."""

    messages: int = 0
    sim_start: float = 0.0
    sim_end: float = 0.0
    wall_s: float = 0.0
    reconnects: int = 0
    truth: list[TruthEvent] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Messages per wall second."""
        return self.messages / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def achieved_speed(self) -> float:
        """Simulated seconds played per wall second."""
        return (self.sim_end - self.sim_start) / self.wall_s if self.wall_s > 0 else 0.0


@dataclass
class Player:
    """Plays ``sources`` over [start, end) at ``speed`` through ``publisher``."""

    sources: Sequence[Source]
    encoder: Encoder
    publisher: Publisher
    start: float
    end: float
    speed: float
    faults: list[Fault] = field(default_factory=list)
    seed: int = 0
    home_of: dict[str, str] = field(default_factory=dict)
    on_restart: Callable[[Fault], None] | None = None
    publish_truth: bool = False
    progress: TextIO | None = None
    bridge: Zigbee2MQTTBridge | None = None  # plays Zigbee2MQTT's bridge and availability
    stats: PlayStats = field(default_factory=PlayStats)

    def run(self) -> PlayStats:
        """Publish everything in simulated-time order, pacing to ``speed``; returns stats."""
        inject = FaultInjector(self.faults, self.home_of, self.seed)
        restarts = deque(
            sorted((f for f in self.faults if f.kind == "broker_restart"), key=lambda f: f.at)
        )
        truth = deque(sorted((e for s in self.sources for e in s.truth), key=lambda e: e.ts))
        stats = self.stats = PlayStats(sim_start=self.start, sim_end=self.start)
        step = min(1.0, self.speed * CLOCK_WALL_S)
        chunk = min(max(60.0, self.speed * CHUNK_WALL_S), 3600.0)
        wall0 = last_progress = time.monotonic()
        pending: deque[DeviceReport] = deque()
        cursor = fetched = self.start
        self._clock(self.start, qos=1)
        for msg in self.bridge.startup(self.start) if self.bridge else []:
            self._send(msg, stats)
        while cursor < self.end:
            nxt = min(cursor + step, self.end)
            if nxt > fetched:
                upto = min(max(nxt, fetched + chunk), self.end)
                batch = [r for s in self.sources for r in s.reports(fetched, upto)]
                batch.sort(key=lambda r: r.ts)
                pending.extend(batch)
                fetched = upto
            while restarts and restarts[0].at < nxt:
                stats.truth.append(self._restart(restarts.popleft()))
            while pending and pending[0].ts < nxt:
                for out in self.encoder.encode_all(pending.popleft()):
                    for msg in inject.process(out):
                        self._send(msg, stats)
            for msg in inject.release(nxt):
                self._send(msg, stats)
            for msg in self.bridge.due(nxt) if self.bridge else []:
                self._send(msg, stats)
            while truth and truth[0].ts < nxt:
                event = truth.popleft()
                stats.truth.append(event)
                if self.publish_truth:
                    payload = json.dumps(event.to_json()).encode()
                    self.publisher.publish(TRUTH_TOPIC, payload, qos=1)
            self._clock(nxt, qos=0)
            cursor = stats.sim_end = nxt
            target = wall0 + self.publisher.waited_s + (cursor - self.start) / self.speed
            delay = target - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if self.progress is not None and time.monotonic() - last_progress >= 1.0:
                last_progress = time.monotonic()
                self._report(stats, last_progress - wall0)
        for msg in inject.release(float("inf")):
            self._send(msg, stats)
        self._clock(self.end, qos=1)
        self.publisher.flush()
        stats.wall_s = time.monotonic() - wall0
        stats.reconnects = self.publisher.reconnects
        stats.truth = sorted(stats.truth + inject.truth, key=lambda e: e.ts)
        if self.progress is not None:
            self._report(stats, stats.wall_s)
            print(file=self.progress)
        return stats

    def _send(self, msg: Outgoing, stats: PlayStats) -> None:
        for before in self.bridge.heard(msg) if self.bridge else []:
            self.publisher.publish(before.topic, before.payload, qos=before.qos, retain=True)
            stats.messages += 1
        self.publisher.publish(msg.topic, msg.payload, qos=msg.qos, retain=msg.retain)
        stats.messages += 1

    def _clock(self, ts: float, *, qos: int) -> None:
        payload = json.dumps({"ts": round(ts, 3), "speed": self.speed}).encode()
        self.publisher.publish(CLOCK_TOPIC, payload, qos=qos, retain=True)

    def _restart(self, fault: Fault) -> TruthEvent:
        log.info("fault: broker restart at simulated %s", fault.at)
        if self.on_restart is not None:
            self.on_restart(fault)
        else:
            self.publisher.drop_connection()
        homes = set(self.home_of.values())
        home_id = homes.pop() if len(homes) == 1 else ""
        return TruthEvent(
            fault.at, home_id, "fault_broker_restart", None, None, 0.0, dict(fault.params)
        )

    def _report(self, stats: PlayStats, wall_s: float) -> None:
        assert self.progress is not None
        done = (stats.sim_end - self.start) / max(self.end - self.start, 1e-9)
        when = datetime.fromtimestamp(stats.sim_end, UTC).strftime("%Y-%m-%d %H:%M:%S")
        rate = stats.messages / wall_s if wall_s > 0 else 0.0
        print(
            f"\r{done:6.1%}  sim {when}Z  {stats.messages} msgs  {rate:,.0f} msg/s  "
            f"x{(stats.sim_end - self.start) / max(wall_s, 1e-9):,.0f}",
            end="",
            file=self.progress,
            flush=True,
        )
