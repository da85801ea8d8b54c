"""The BLE-to-MQTT bridge: one link per band, one publisher, each reconnecting on its own.

A link connects with bleak, subscribes to what the band's profile decodes (Heart Rate
Measurement, Battery Level, Polar PMD accelerometer), and turns every notification into one
JSON message on the profile's topic (:mod:`edge.ble.payloads`). A value that does not parse
is logged with its bytes and counted; the link and every other band go on.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.exc import BleakError

from edge.ble import polar_pmd as pmd
from edge.ble.config import BLE_TOPIC_PREFIX, BLE_USER, BleBridgeConfig, BleDevice
from edge.ble.errors import FrameError
from edge.ble.heart_rate import (
    BATTERY_LEVEL,
    HEART_RATE_MEASUREMENT,
    decode_battery_level,
    decode_heart_rate,
)
from edge.ble.payloads import accel_payload, battery_payload, heart_rate_payload
from edge.ble.publisher import Publisher
from firmware_profiles import ProfileLibrary, load_library
from protocol.readings import ReadingKind

log = logging.getLogger(__name__)

ClientFactory = Callable[[str, Callable[[BleakClient], None]], BleakClient]


class BridgeError(RuntimeError):
    """A band or its config cannot be served as asked; the message names the device."""


class PmdRefused(BridgeError):
    """The sensor answered a PMD command with an error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class DevicePlan:
    """What the bridge reads from one band, from its profile."""

    device: BleDevice
    profile: str
    topic: str
    heart_rate: bool
    battery: bool
    accel_rate_hz: float | None  # Polar PMD accelerometer at this rate, or none


def plan_devices(config: BleBridgeConfig, library: ProfileLibrary) -> list[DevicePlan]:
    """Each band's plan; BridgeError names a device whose profile is not a carewatch-ble one."""
    plans = []
    for dev in config.devices:
        where = f"device {dev.device_id!r} ({dev.address})"
        try:
            prof = library.get(dev.profile)
        except KeyError as exc:
            raise BridgeError(f"{where}: {exc}") from None
        if not prof.topic_pattern.startswith(BLE_TOPIC_PREFIX):
            raise BridgeError(
                f"{where}: profile {prof.id!r} publishes on {prof.topic_pattern!r}, not a "
                f"carewatch-ble topic ({BLE_TOPIC_PREFIX}...)"
            )
        kinds = prof.kinds
        rate = prof.spec.sample_rate_hz if ReadingKind.ACCEL in kinds else None
        if ReadingKind.ACCEL in kinds and rate is None:
            raise BridgeError(f"{where}: profile {prof.id!r} streams accel without sample_rate_hz")
        plans.append(
            DevicePlan(
                device=dev,
                profile=prof.id,
                topic=prof.topic_for(dev.device_id),
                heart_rate=ReadingKind.HEART_RATE in kinds,
                battery=ReadingKind.BATTERY in kinds,
                accel_rate_hz=rate,
            )
        )
    return plans


class SensorClock:
    """Maps a sensor's clock onto the gateway's.

    The offset is the smallest (arrival - sensor time) seen, as radio delivery only ever adds
    delay; a jump of more than ``jump_s`` (the sensor's clock reset) re-anchors it.
    """

    def __init__(self, jump_s: float = 5.0) -> None:
        self.jump_s = jump_s
        self.offset: float | None = None

    def to_wall(self, sensor_s: float, arrival_s: float) -> float:
        """The gateway time of a sensor time observed at ``arrival_s``."""
        gap = arrival_s - sensor_s
        if self.offset is None or gap < self.offset or gap - self.offset > self.jump_s:
            self.offset = gap
        return sensor_s + self.offset


@dataclass(slots=True)
class LinkStats:
    """Counters of one band's link."""

    connects: int = 0
    notifications: int = 0
    invalid: int = 0
    last_error: str = ""
    by_kind: dict[str, int] = field(default_factory=dict)


class DeviceLink:
    """One band: connect, subscribe, publish; reconnect with jittered backoff when lost."""

    def __init__(
        self,
        plan: DevicePlan,
        config: BleBridgeConfig,
        publisher: Publisher,
        factory: ClientFactory,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.plan = plan
        self.clock = clock
        self.bt = config.bluetooth
        self.publisher = publisher
        self.factory = factory
        self.stats = LinkStats()
        self.connected = False
        self.streaming = asyncio.Event()  # set once every planned stream runs
        self._clock = SensorClock()
        self._factor = 1.0
        self._lost = asyncio.Event()
        self._was_streaming = False

    @property
    def _who(self) -> str:
        d = self.plan.device
        return f"device={d.device_id} address={d.address}"

    async def run(self) -> None:
        """Serve the band until cancelled."""
        delay = self.bt.reconnect_min_s
        while True:
            try:
                await self._session()
                reason = "disconnected"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a link never dies: BlueZ, D-Bus and the band all fail
                reason = f"{type(exc).__name__}: {exc}"
            self.connected = False
            self.streaming.clear()
            self.stats.last_error = reason
            if self.stats.connects and self._was_streaming:
                delay = self.bt.reconnect_min_s
            wait = random.uniform(delay / 2, delay)
            log.warning("ble link lost %s reason=%s retry_in=%.1fs", self._who, reason, wait)
            await asyncio.sleep(wait)
            delay = min(self.bt.reconnect_max_s, delay * 2)

    async def _session(self) -> None:
        # One event per connection: a late callback of an old client cannot end a new one.
        lost = self._lost = asyncio.Event()
        self._clock = SensorClock()
        self._was_streaming = False
        client = self.factory(self.plan.device.address, lambda _c: lost.set())
        async with asyncio.timeout(self.bt.connect_timeout_s):
            await client.connect()
        try:
            self.connected = True
            self.stats.connects += 1
            log.info("ble connected %s", self._who)
            poll = await self._start_streams(client)
            self._was_streaming = True
            self.streaming.set()
            log.info(
                "ble streaming %s heart_rate=%s battery=%s accel_hz=%s",
                self._who,
                self.plan.heart_rate,
                self.plan.battery,
                self.plan.accel_rate_hz,
            )
            if poll is None:
                await self._lost.wait()
            else:
                await self._poll_battery(client, poll)
        finally:
            self.connected = False
            if client.is_connected:
                await client.disconnect()

    async def _start_streams(self, client: BleakClient) -> BleakGATTCharacteristic | None:
        """Subscribe to every planned stream; the battery characteristic if it must be polled."""
        poll = None
        if self.plan.heart_rate:
            self._require(client, HEART_RATE_MEASUREMENT, "Heart Rate Measurement 0x2A37")
            await client.start_notify(HEART_RATE_MEASUREMENT, self._on_heart_rate)
        if self.plan.battery:
            poll = await self._start_battery(client)
        if self.plan.accel_rate_hz is not None:
            await self._start_accel(client, self.plan.accel_rate_hz)
        return poll

    async def _start_battery(self, client: BleakClient) -> BleakGATTCharacteristic | None:
        """Read the battery and subscribe to it; the characteristic if it must be polled.
        A band whose battery cannot be read still streams the rest."""
        char = client.services.get_characteristic(BATTERY_LEVEL)
        if char is None:
            log.info("ble no battery level %s", self._who)
            return None
        try:
            self._on_battery(char, await client.read_gatt_char(char))
            if "notify" in char.properties:
                await client.start_notify(char, self._on_battery)
                return None
        except BleakError as exc:
            log.warning("ble battery level unreadable %s error=%s", self._who, exc)
            return None
        return char

    async def _poll_battery(self, client: BleakClient, char: BleakGATTCharacteristic) -> None:
        while not self._lost.is_set():
            try:
                async with asyncio.timeout(self.bt.battery_poll_s):
                    await self._lost.wait()
            except TimeoutError:
                try:
                    self._on_battery(char, await client.read_gatt_char(char))
                except BleakError as exc:
                    log.warning("ble battery level unreadable %s error=%s", self._who, exc)

    def _require(self, client: BleakClient, uuid: str, what: str) -> None:
        if client.services.get_characteristic(uuid) is None:
            raise BridgeError(f"{self._who}: the band offers no {what} ({uuid})")

    # -- Polar PMD -----------------------------------------------------------------------

    async def _start_accel(self, client: BleakClient, rate_hz: float) -> None:
        self._require(client, pmd.PMD_CONTROL, "Polar PMD control point")
        self._require(client, pmd.PMD_DATA, "Polar PMD data")
        answers: asyncio.Queue[bytes] = asyncio.Queue(32)

        def on_control(_char: BleakGATTCharacteristic, data: bytearray) -> None:
            if data and data[0] == pmd.DEVICE_STOPPED:
                log.warning(
                    "pmd stream stopped by the sensor %s types=%s", self._who, list(data[1:])
                )
                self._lost.set()
            elif not answers.full():
                answers.put_nowait(bytes(data))

        await client.start_notify(pmd.PMD_CONTROL, on_control)
        await client.start_notify(pmd.PMD_DATA, self._on_pmd_data)
        features = pmd.parse_features(await client.read_gatt_char(pmd.PMD_CONTROL))
        if pmd.MEASUREMENT_ACC not in features:
            raise BridgeError(
                f"{self._who}: the sensor offers no PMD accelerometer "
                f"(measurement types {sorted(features)})"
            )
        acc = pmd.MEASUREMENT_ACC
        offered = await self._command(client, answers, pmd.settings_request(acc))
        try:
            chosen = pmd.choose_settings(
                pmd.parse_settings(offered.params),
                rate_hz=rate_hz,
                range_g=self.plan.device.accel_range_g,
            )
        except ValueError as exc:
            raise BridgeError(f"{self._who}: accelerometer {exc}") from None
        start = pmd.start_request(acc, chosen)
        try:
            started = await self._command(client, answers, start)
        except PmdRefused as exc:
            if exc.status != pmd.STATUS_ALREADY_IN_STATE:
                raise
            # Still streaming from an earlier connection, maybe with other settings: restart.
            log.info("pmd acc already running %s: stopping it first", self._who)
            await self._command(client, answers, pmd.stop_request(acc))
            started = await self._command(client, answers, start)
        factor = pmd.parse_settings(started.params).get(pmd.Setting.FACTOR, [1.0])
        self._factor = factor[0]
        log.info(
            "pmd acc started %s settings=%s factor=%g",
            self._who,
            ",".join(f"{k.name.lower()}={v}" for k, v in chosen.items()),
            self._factor,
        )

    async def _command(
        self, client: BleakClient, answers: asyncio.Queue[bytes], command: bytes
    ) -> pmd.ControlResponse:
        """Write one control point command and gather its answer (with its continuations)."""
        while not answers.empty():
            answers.get_nowait()
        await client.write_gatt_char(pmd.PMD_CONTROL, command, response=True)
        op = pmd.Op(command[0]).name
        params = b""
        async with asyncio.timeout(self.bt.response_timeout_s):
            while True:
                resp = pmd.parse_control_response(await answers.get())
                if resp.op != command[0]:
                    continue
                if not resp.ok:
                    raise PmdRefused(
                        f"{self._who}: PMD {op} refused: {resp.status_text}", resp.status
                    )
                params += resp.params
                if not resp.more:
                    return pmd.ControlResponse(resp.op, resp.measurement, 0, False, params)

    # -- notifications -------------------------------------------------------------------

    def _count(self, kind: str) -> None:
        self.stats.notifications += 1
        self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + 1

    def _invalid(self, exc: FrameError) -> None:
        self.stats.invalid += 1
        log.warning("ble value invalid %s error=%s", self._who, exc)

    def _on_heart_rate(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self.clock()
        self._count("heart_rate")
        try:
            m = decode_heart_rate(data)
        except FrameError as exc:
            self._invalid(exc)
            return
        self.publisher.offer(self.plan.topic, heart_rate_payload(self.plan.profile, m, now))

    def _on_battery(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self.clock()
        self._count("battery")
        try:
            percent = decode_battery_level(data)
        except FrameError as exc:
            self._invalid(exc)
            return
        self.publisher.offer(self.plan.topic, battery_payload(self.plan.profile, percent, now))

    def _on_pmd_data(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        now = self.clock()
        self._count("accel")
        if data and data[0] != pmd.MEASUREMENT_ACC:
            return  # another PMD stream someone else started: not ours to publish
        try:
            frame = pmd.decode_acc_frame(data, factor=self._factor)
        except FrameError as exc:
            self._invalid(exc)
            return
        rate = self.plan.accel_rate_hz
        assert rate is not None
        n = len(frame.samples_g)
        last = self._clock.to_wall(frame.last_sample_s, now)
        block = accel_payload(self.plan.profile, frame.samples_g, last - (n - 1) / rate)
        self.publisher.offer(self.plan.topic, block)


def default_factory(config: BleBridgeConfig) -> ClientFactory:
    """BleakClient on the configured adapter."""
    bt = config.bluetooth
    adapter: dict[str, Any] = {}
    if bt.adapter:
        # bleak 3 takes BlueZ options as ``bluez={...}``; older releases as ``adapter=``.
        new_style = "bluez" in inspect.signature(BleakClient.__init__).parameters
        adapter = {"bluez": {"adapter": bt.adapter}} if new_style else {"adapter": bt.adapter}

    def make(address: str, on_disconnect: Callable[[BleakClient], None]) -> BleakClient:
        return BleakClient(address, on_disconnect, timeout=bt.connect_timeout_s, **adapter)

    return make


class BleBridge:
    """Every configured band and one publisher. ``run()`` until ``stop()``."""

    def __init__(
        self,
        config: BleBridgeConfig,
        *,
        library: ProfileLibrary | None = None,
        client_factory: ClientFactory | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``clock`` stamps each notification's arrival (the wall clock; tests inject one)."""
        self.config = config
        self.plans = plan_devices(config, library or load_library())
        self.publisher = Publisher(
            config.broker, identifier=config.broker.client_id or BLE_USER, maxlen=config.queue
        )
        factory = client_factory or default_factory(config)
        self.links = [
            DeviceLink(p, config, self.publisher, factory, clock=clock) for p in self.plans
        ]
        self._stop = asyncio.Event()

    def stop(self) -> None:
        """Ask ``run`` to return."""
        self._stop.set()

    async def run(self) -> None:
        """Serve every band until ``stop()``."""
        tasks = [asyncio.create_task(self.publisher.run(), name="mqtt-publisher")]
        tasks += [
            asyncio.create_task(link.run(), name=f"ble-{link.plan.device.device_id}")
            for link in self.links
        ]
        log.info(
            "ble bridge running devices=%s broker=%s",
            ",".join(p.device.device_id for p in self.plans),
            self.config.broker.url,
        )
        try:
            await self._stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            log.info(
                "ble bridge stopped published=%d dropped=%d pending=%d",
                self.publisher.published,
                self.publisher.dropped,
                self.publisher.pending,
            )
