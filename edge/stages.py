"""The pipeline stages after ingest: decode → detect → alarms → outbox, and the ticker.

Queue policies when full: raw, readings and detections make the producer wait (alarm
material is never dropped); into the outbox, alarms and updates wait, while telemetry
batches and quarantine rows are dropped and counted. One bad item is logged and counted;
it never stops a stage.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from edge import zigbee2mqtt
from edge.alarms import AlarmManager, Envelope
from edge.changes import ChangeFilter
from edge.clock import ClockError, SimClock
from edge.detectors.activity import shows_someone
from edge.detectors.base import DetectorBank
from edge.devicestatus import DeviceBoard
from edge.homereload import HomeSwap, carried_state
from edge.items import (
    Activity,
    AlarmInput,
    Barrier,
    BridgeState,
    DeviceAvailability,
    Quarantined,
    RawMessage,
    Tick,
)
from edge.outbox import Outbox, Record
from edge.routing import Route, Router
from edge.telemetry import TelemetryAggregator
from edge.timecheck import TimeCheck
from firmware_profiles import DecodeError, PartialDecodeError
from firmware_profiles.availability import availability_state
from protocol import Reading, ReadingKind
from protocol.topics import CLOCK_TOPIC

log = logging.getLogger(__name__)

WRITE_BATCH = 256
QUARANTINE_EVERY_S = 10.0  # at most one quarantine row per topic this often (SD-card writes)
# motion and presence place the resident in a room (a door or cupboard says less)
LOCATING_KINDS = frozenset(
    {ReadingKind.MOTION, ReadingKind.PRESENCE, ReadingKind.OCCUPANCY, ReadingKind.TARGET_STATE}
)
ACTIVITY_EVERY_S = 1.0  # the alarm manager needs "someone moved", not every PIR event


@dataclass(slots=True)
class Counters:
    """Pipeline counters, reported in the heartbeat and by the bench."""

    messages: int = 0
    readings: int = 0
    quarantined: int = 0
    quarantine_dropped: int = 0
    telemetry_dropped: int = 0
    detections: int = 0
    envelopes: int = 0
    ticks: int = 0
    ticks_skipped: int = 0
    stage_errors: dict[str, int] = field(default_factory=dict)


@dataclass(slots=True)
class Queues:
    """The bounded queues between stages."""

    raw: asyncio.Queue[RawMessage | Barrier]
    readings: asyncio.Queue[DecodedItem | Barrier]  # one item per message
    detections: asyncio.Queue[AlarmInput | Barrier]
    records: asyncio.Queue[Record | Barrier]

    def depths(self) -> dict[str, int]:
        """Current depth of each queue."""
        return {
            "raw": self.raw.qsize(),
            "readings": self.readings.qsize(),
            "detections": self.detections.qsize(),
            "records": self.records.qsize(),
        }

    async def join(self) -> None:
        """Wait until everything queued has gone through every stage, in pipeline order."""
        await self.raw.join()
        await self.readings.join()
        await self.detections.join()
        await self.records.join()


DecodedItem = list[Reading] | Tick | DeviceAvailability | BridgeState


def _truncate(payload: bytes, n: int = 80) -> bytes:
    return payload if len(payload) <= n else payload[:n] + b"..."


class Stages:
    """Decode, detect, alarms, outbox writer and ticker of one gateway."""

    def __init__(
        self,
        *,
        queues: Queues,
        router: Router,
        bank: DetectorBank,
        alarms: AlarmManager,
        telemetry: TelemetryAggregator,
        outbox: Outbox,
        board: DeviceBoard,
        sim_clock: SimClock | None,
        tick_s: float,
        on_commit: asyncio.Event,
        timecheck: TimeCheck | None = None,
    ) -> None:
        self.q = queues
        self.timecheck = timecheck
        self.clock_correction_s = 0.0  # cloud's clock minus ours, while ours is known wrong
        self.router = router
        self.bank = bank
        self.alarms = alarms
        self.telemetry = telemetry
        self.outbox = outbox
        self.board = board
        self.sim_clock = sim_clock
        self.tick_s = tick_s
        self.on_commit = on_commit
        self.counters = Counters()
        self.changes = ChangeFilter()
        self.bridge_devices: dict[str, dict[str, zigbee2mqtt.BridgeDevice]] = {}  # by base
        self._activity_sent = float("-inf")
        self._located_room: str | None = None  # the room of the latest Activity sent located
        self._quarantine_last: dict[str, float] = {}

    def _error(self, stage: str) -> None:
        errors = self.counters.stage_errors
        errors[stage] = errors.get(stage, 0) + 1

    def _quarantine(self, item: Quarantined) -> None:
        self.counters.quarantined += 1
        last = self._quarantine_last.get(item.topic)
        if last is not None and item.received_at - last < QUARANTINE_EVERY_S:
            self.counters.quarantine_dropped += 1  # a chattering bad device: count, don't write
            return
        if len(self._quarantine_last) > 10_000:
            self._quarantine_last.clear()
        self._quarantine_last[item.topic] = item.received_at
        log.warning(
            "quarantined topic=%s device=%s reason=%s payload=%r",
            item.topic,
            item.device_id,
            item.reason[:200],
            _truncate(item.payload),
        )
        try:
            self.q.records.put_nowait(item)
        except asyncio.QueueFull:
            self.counters.quarantine_dropped += 1

    # -- decode -------------------------------------------------------------------------

    async def decode(self) -> None:
        """raw → readings: route by topic, decode, quarantine what does not fit; clock
        messages become ticks, in order with the readings around them."""
        while True:
            msg = await self.q.raw.get()
            if isinstance(msg, Barrier):
                if msg.swap is not None:
                    self._swap_routes(msg.swap)
                if msg.save:
                    msg.state["last_values"] = self.changes.state()
                await self.q.readings.put(msg)
                self.q.raw.task_done()
                continue
            try:
                items = self.decode_one(msg)
            except Exception:
                self._error("decode")
                log.exception("decode stage failed topic=%s", msg.topic)
                items = []
            for item in items:
                await self.q.readings.put(item)
            self.q.raw.task_done()

    def decode_one(self, msg: RawMessage) -> list[DecodedItem]:
        """What one message puts on the readings queue: its readings (repeated states left
        out), an availability or bridge state, or clock ticks."""
        self.counters.messages += 1
        if msg.topic == CLOCK_TOPIC:
            return list(self._clock_ticks(msg))
        bridge = self.router.bridge_topics.get(msg.topic)
        if bridge is not None:
            return self._bridge(msg, *bridge)
        route = self.router.route(msg.topic)
        if route is None:
            device_id = self.router.device_id_guess(msg.topic)
            reason = f"unknown device {device_id!r}" if device_id else "no paired device's topic"
            self._quarantine(
                Quarantined(msg.received_at, msg.topic, device_id, reason, msg.payload)
            )
            return []
        if route.availability:
            return self._availability(msg, route)
        readings = self._decode_readings(msg, route)
        return [self.changes.filter(readings)] if readings else []

    def _bridge(self, msg: RawMessage, base: str, topic: str) -> list[DecodedItem]:
        try:
            if topic == zigbee2mqtt.STATE:
                if not msg.payload:
                    return []  # a retained state being cleared
                return [BridgeState(base, availability_state(msg.payload), self._time_of(msg))]
            self.bridge_devices[base] = zigbee2mqtt.parse_devices(msg.payload)
            self._check_models(base)
        except (DecodeError, zigbee2mqtt.BridgeMessageError) as exc:
            reason = f"zigbee2mqtt bridge: {exc}"
            self._quarantine(Quarantined(msg.received_at, msg.topic, None, reason, msg.payload))
        return []

    def _check_models(self, base: str) -> None:
        """Log paired devices Zigbee2MQTT does not know, or knows as another model."""
        known = self.bridge_devices[base]
        for dev, prof in self.router.zigbee_devices(base):
            found = known.get(dev.device_id)
            self.board.identify(dev.device_id, found)
            models = prof.zigbee2mqtt_models
            if found is None:
                log.warning("zigbee2mqtt has no device %s (paired as %s)", dev.device_id, prof.id)
            elif models and found.model not in models:
                log.warning(
                    "zigbee2mqtt device %s is %s, but its profile %s serves %s",
                    dev.device_id,
                    found.label(),
                    prof.id,
                    ",".join(models),
                )

    def _availability(self, msg: RawMessage, route: Route) -> list[DecodedItem]:
        if not msg.payload:
            return []  # a retained availability being cleared
        try:
            online = route.profile.decode_availability(msg.payload)
        except DecodeError as exc:
            dev = route.device.device_id
            self._quarantine(Quarantined(msg.received_at, msg.topic, dev, str(exc), msg.payload))
            return []
        return [DeviceAvailability(route.device.device_id, online, self._time_of(msg))]

    def _time_of(self, msg: RawMessage) -> float:
        """Event time of a message that carries none: its arrival, or the simulator's now."""
        if self.sim_clock is not None and self.sim_clock.now is not None:
            return self.sim_clock.now
        return msg.received_at

    def _clock_ticks(self, msg: RawMessage) -> list[Tick]:
        if self.sim_clock is None or msg.retained:  # a stale time from an earlier run
            return []
        try:
            times = self.sim_clock.advance(msg.payload, topic=msg.topic)
        except ClockError as exc:
            self._quarantine(Quarantined(msg.received_at, msg.topic, None, str(exc), msg.payload))
            return []
        self.counters.ticks += len(times)
        return [Tick(t) for t in times]

    def _arrival(self, msg: RawMessage) -> float:
        """The event time of a payload that carries none (an ESPHome value): its arrival,
        in simulated time while a simulator drives the clock."""
        clock = self.sim_clock
        return clock.now if clock is not None and clock.now is not None else msg.received_at

    def _decode_readings(self, msg: RawMessage, route: Route) -> list[Reading]:
        try:
            readings = route.profile.decode(msg.topic, msg.payload, received_at=self._arrival(msg))
        except PartialDecodeError as exc:  # a bad battery value must not cost the SOS beside it
            reason = f"profile {route.device.profile}: {type(exc).__name__}: {exc}"
            self._quarantine(
                Quarantined(msg.received_at, msg.topic, route.device.device_id, reason, msg.payload)
            )
            readings = exc.readings
        except Exception as exc:  # a decoder bug must not stop the pipeline either
            if not isinstance(exc, DecodeError):
                log.exception("decoder failed profile=%s topic=%s", route.device.profile, msg.topic)
            reason = f"profile {route.device.profile}: {type(exc).__name__}: {exc}"
            self._quarantine(
                Quarantined(msg.received_at, msg.topic, route.device.device_id, reason, msg.payload)
            )
            return []
        if self.timecheck is not None:
            readings = self._checked(readings, msg.received_at)
        self.board.update(route.device.device_id, readings, msg.received_at)
        self.counters.readings += len(readings)
        return readings

    def _swap_routes(self, swap: HomeSwap) -> None:
        """From here on, messages route by the new manifest (decode stage)."""
        self.router = swap.router
        self.board.reconcile(swap.home, swap.heartbeats)
        self.changes.forget(swap.change.removed)
        for base in self.bridge_devices:
            self._check_models(base)
        swap.routed.set()

    def _checked(self, readings: list[Reading], received_at: float) -> list[Reading]:
        """Implausible device times re-stamped with the gateway's now: the receive time,
        corrected by the cloud's clock while the gateway's own is known to be wrong (no RTC,
        no NTP yet); the simulator's under ``clock.source: sim``, once it has spoken, against
        which alone a simulated device time is judged (no wall-clock build date)."""
        assert self.timecheck is not None
        if self.sim_clock is None:
            return self.timecheck.check(readings, received_at + self.clock_correction_s)
        if self.sim_clock.now is None:
            return readings
        return self.timecheck.check(readings, self.sim_clock.now, simulated=True)

    # -- detect -------------------------------------------------------------------------

    def _swap_detectors(self, swap: HomeSwap) -> None:
        """The new manifest's detectors, with the learned state that carries over."""
        swap.bank.restore(carried_state(self.bank.state(), swap.change))
        self.bank = swap.bank
        self.board.prune({d.device_id for d in swap.home.devices})
        self.telemetry.set_rooms(swap.home)

    async def detect(self) -> None:
        """readings → detections, telemetry aggregates; ticks fire the timers."""
        while True:
            item = await self.q.readings.get()
            if isinstance(item, Barrier):
                if item.swap is not None:
                    self._swap_detectors(item.swap)
                if item.save:
                    item.state["detectors"] = self.bank.state()
                await self.q.detections.put(item)
                self.q.readings.task_done()
                continue
            try:
                out = self.detect_one(item)
            except Exception:
                self._error("detect")
                log.exception("detect stage failed on %s", type(item).__name__)
                out = []
            for x in out:
                await self.q.detections.put(x)
            self.q.readings.task_done()

    def detect_one(self, item: DecodedItem) -> list[AlarmInput]:
        """What the alarm manager must see for one message's readings, or a tick."""
        if isinstance(item, DeviceAvailability):
            return list(self.bank.availability(item.device_id, item.online, item.ts))
        if isinstance(item, BridgeState):
            return list(self.bank.bridge(item.base, item.online, item.ts))
        if isinstance(item, Tick):
            out: list[AlarmInput] = list(self.bank.tick(item.now))
            batch = self.telemetry.flush(item.now)
            if batch is not None:
                try:
                    self.q.records.put_nowait(batch)
                except asyncio.QueueFull:
                    self.counters.telemetry_dropped += 1
                    log.warning("telemetry batch dropped: outbox queue full")
            out.append(item)
            return out
        detections: list[AlarmInput] = []
        for reading in item:
            detections += self.bank.feed(reading)
            self.telemetry.add(reading)
            if shows_someone(reading):
                room = self.board.devices[reading.device_id].room
                located = reading.kind in LOCATING_KINDS
                moved = located and room != self._located_room
                if moved or reading.ts >= self._activity_sent + ACTIVITY_EVERY_S:
                    self._activity_sent = reading.ts
                    self._located_room = room if located else self._located_room
                    detections.append(Activity(reading.ts, room, located))
        self.counters.detections += len(detections)
        return detections

    # -- alarms -------------------------------------------------------------------------

    async def alarm_stage(self) -> None:
        """detections → alarm envelopes into the outbox queue (waits when full)."""
        while True:
            item = await self.q.detections.get()
            if isinstance(item, Barrier):
                if item.swap is not None:
                    self.alarms.home = item.swap.home
                await self.q.records.put(item)
                self.q.detections.task_done()
                continue
            try:
                envelopes: list[Envelope] = self.alarms.handle(item)
            except Exception:
                self._error("alarms")
                log.exception("alarm stage failed on %s", item)
                envelopes = []
            for env in envelopes:
                self.counters.envelopes += 1
                await self.q.records.put(env)
            self.q.detections.task_done()

    # -- outbox -------------------------------------------------------------------------

    async def outbox_writer(self) -> None:
        """records → SQLite, group-committed; the uplink is woken after each commit."""
        while True:
            batch: list[Record | Barrier] = [await self.q.records.get()]
            while len(batch) < WRITE_BATCH and not self.q.records.empty():
                batch.append(self.q.records.get_nowait())
            await self._commit(batch)
            for _ in batch:
                self.q.records.task_done()

    async def _commit(self, batch: list[Record | Barrier]) -> None:
        records = [r for r in batch if not isinstance(r, Barrier)]
        delay = 0.5
        while records:
            try:
                self.outbox.write(records)
            except Exception as exc:  # disk full, I/O error: keep the batch, try again
                self._error("outbox")
                log.error(
                    "outbox write failed n=%d error=%s retry_in=%.1fs", len(batch), exc, delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            self.on_commit.set()
            break
        for barrier in batch:
            if isinstance(barrier, Barrier):
                barrier.done.set()

    async def flush_records(self) -> None:
        """Write whatever is still queued for the outbox, and the open minutes (shutdown)."""
        batch: list[Record | Barrier] = []
        telemetry = self.telemetry.flush(float("-inf"), force=True)
        if telemetry is not None:
            batch.append(telemetry)
        while not self.q.records.empty():
            batch.append(self.q.records.get_nowait())
        if batch:
            await self._commit(batch)

    # -- ticker -------------------------------------------------------------------------

    async def ticker(self) -> None:
        """Wall-clock timers: a Tick every ``tick_s`` (skipped and counted when full)."""
        while True:
            await asyncio.sleep(self.tick_s)
            try:
                self.q.readings.put_nowait(Tick(time.time()))
                self.counters.ticks += 1
            except asyncio.QueueFull:
                self.counters.ticks_skipped += 1
