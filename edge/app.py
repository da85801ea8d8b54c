"""The gateway, wired in reading order: config → home → library → routing → detectors →
alarms → outbox → uplink, each stage a named task with bounded queues between them.

In-process use (demo, benches, tests)::

    gw = Gateway(config)          # GatewayConfig; see edge.configfile.load_config
    task = asyncio.create_task(gw.run())
    await gw.ready.wait()
    ...
    gw.stop(); await task
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, Protocol

import httpx

from edge import __version__
from edge.alarms import AlarmManager
from edge.clock import SimClock
from edge.config import GatewayConfig
from edge.configfile import credential, library_for, load_config, load_home_for
from edge.detectors import build_bank
from edge.detectors.base import DetectorBank
from edge.devicestatus import DeviceBoard
from edge.health import cpu_temp_c, disk_free_mb
from edge.homereload import FileWatch, HomeReloadError, HomeSwap, diff_homes
from edge.ingest import Ingest
from edge.items import Barrier
from edge.modefile import MODE_FILE, read_mode
from edge.outbox import Outbox
from edge.routing import Router, UnknownProfileError
from edge.sdnotify import notify, watchdog_interval_s
from edge.stages import Queues, Stages
from edge.telemetry import TelemetryAggregator
from edge.timecheck import TimeCheck
from edge.timesync import TimeSync
from edge.uplink import Uplink, UplinkError, make_client, post_json
from firmware_profiles import ProfileLibrary
from protocol import GatewayHeartbeat, HomeManifest
from protocol.api import HEARTBEAT_PATH
from protocol.envelopes import utcnow
from protocol.topics import CLOCK_TOPIC

log = logging.getLogger(__name__)

STATE_FILE = "detectors.json"
FILTERS_FILE = "subscriptions.json"  # the broker session's filters (edge.ingest)
BankFactory = Callable[[HomeManifest, ProfileLibrary, GatewayConfig], DetectorBank]
DRAIN_S = 5.0
ACK_EVERY_S = 0.05
STALL_S = 120.0


def default_bank(
    home: HomeManifest, library: ProfileLibrary, config: GatewayConfig
) -> DetectorBank:
    """The real detectors of ``edge.detectors`` for this home."""
    return build_bank(home, library, config.detectors)


class Gateway:
    """One home's gateway. ``run()`` until ``stop()``; ``ready`` is set once it is running."""

    def __init__(
        self,
        config: GatewayConfig,
        *,
        home: HomeManifest | None = None,
        library: ProfileLibrary | None = None,
        bank_factory: BankFactory = default_bank,
        config_file: Path | None = None,
    ) -> None:
        self.config = config
        self.config_file = config_file  # its `devices` are re-read with the manifest
        self.bank_factory = bank_factory
        self.home = home or load_home_for(config)
        self.library = library or library_for(config)
        try:
            self.router = Router(self.home, self.library)
        except UnknownProfileError as exc:
            raise UnknownProfileError(f"home manifest {config.home}: {exc}") from exc
        self.bank = bank_factory(self.home, self.library, config)
        self.data_dir = Path(config.data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        st = config.storage
        self.outbox = Outbox(
            self.data_dir,
            quarantine_keep=st.quarantine_keep,
            quarantine_payload_bytes=st.quarantine_payload_bytes,
            telemetry_keep=st.telemetry_keep,
        )
        ck = config.clock
        self.timecheck = TimeCheck(
            earliest=ck.earliest_epoch(),
            max_ahead_s=ck.device_max_ahead_s,
            max_behind_s=ck.device_max_behind_s,
        )
        self.timesync = TimeSync()
        self.alarms = AlarmManager(
            self.home, config.alarms, ids=self.outbox.cloud_id, timecheck=self.timecheck
        )
        self.alarms.restore([(o.alarm, o.severity, o.key) for o in self.outbox.open_alarms()])
        q = config.queues
        self.queues = Queues(
            raw=asyncio.Queue(q.raw),
            readings=asyncio.Queue(q.readings),
            detections=asyncio.Queue(q.detections),
            records=asyncio.Queue(q.records),
        )
        sim = SimClock(tick_s=config.clock.tick_s) if config.clock.source == "sim" else None
        heartbeats = {
            d.device_id: float(self.router.profiles[d.profile].heartbeat_interval_s)
            for d in self.home.devices
        }
        self.board = DeviceBoard(self.home, heartbeats)
        self.uplink_wake = asyncio.Event()
        self.stages = Stages(
            queues=self.queues,
            router=self.router,
            bank=self.bank,
            alarms=self.alarms,
            telemetry=TelemetryAggregator(self.home),
            outbox=self.outbox,
            board=self.board,
            sim_clock=sim,
            tick_s=config.clock.tick_s,
            on_commit=self.uplink_wake,
            timecheck=self.timecheck,
        )
        self._restore_state()
        self.ingest = Ingest(
            config.broker,
            self._filters(self.router),
            self.queues.raw,
            identifier=config.broker.client_id or f"carewatch-gw-{self.home.gateway_id}",
            on_fatal=self._fatal,
            filters_file=self.data_dir / FILTERS_FILE,
        )
        self.credential = credential(config)
        self.uplink: Uplink | None = None
        self.ready = asyncio.Event()
        self._stop = asyncio.Event()
        self.fatal: Exception | None = None
        self._started = time.monotonic()
        self._mode_mtime: float | None = None
        watched = [p for p in (config.home, config_file) if p is not None]
        self._home_watch = FileWatch(watched) if home is None else None
        self._reload_asked = False
        self.reloads = 0
        self.reload_refused = 0

    # -- lifecycle ----------------------------------------------------------------------

    def stop(self) -> None:
        """Ask ``run()`` to finish: stop ingest, drain the queues, save state, close."""
        self._stop.set()

    def _fatal(self, exc: Exception) -> None:
        """Stop as ``stop()`` does, then make ``run()`` raise ``exc``."""
        self.fatal = exc
        self.stop()

    async def run(self) -> None:
        """Run every stage until ``stop()``; a crashed stage stops the gateway with its error."""
        client = self._cloud_client()
        try:
            async with asyncio.TaskGroup() as tg:
                core = self._spawn(tg, client)
                ingest = tg.create_task(self.ingest.run(), name="ingest")
                self.ready.set()
                notify(f"READY=1\nSTATUS=running home={self.home.home_id}")
                log.info(
                    "gateway running home=%s gateway=%s devices=%d data_dir=%s",
                    self.home.home_id,
                    self.home.gateway_id,
                    len(self.home.devices),
                    self.data_dir,
                )
                await self._stop.wait()
                notify("STOPPING=1")
                self.ingest.paused = True
                if await self._drain():
                    self.ingest.acknowledge_all()
                if await self.ingest.close(ingest):
                    await self._drain()
                for task in core:
                    task.cancel()
        finally:
            await self.stages.flush_records()
            self.save_state()
            self.outbox.close()
            if client is not None:
                await client.aclose()
            log.info("gateway stopped home=%s", self.home.home_id)
        if self.fatal is not None:
            raise self.fatal

    def _spawn(
        self, tg: asyncio.TaskGroup, client: httpx.AsyncClient | None
    ) -> list[asyncio.Task[None]]:
        jobs: dict[str, Coroutine[Any, Any, None]] = {
            "decode": self.stages.decode(),
            "detect": self.stages.detect(),
            "alarms": self.stages.alarm_stage(),
            "outbox": self.stages.outbox_writer(),
            "housekeeping": self._housekeeping(),
            "acks": self.ingest.acknowledge(every_s=ACK_EVERY_S),
        }
        if client is not None:
            c = self.config.cloud
            self.uplink = Uplink(
                self.outbox,
                client,
                batch_size=c.batch_size,
                max_body_bytes=c.max_body_bytes,
                backoff_min_s=c.backoff_min_s,
                backoff_max_s=c.backoff_max_s,
                auth_retry_s=c.auth_retry_s,
                wake=self.uplink_wake,
            )
            jobs["uplink"] = self.uplink.run()
            jobs["heartbeat"] = self._heartbeat(client)
        if self.stages.sim_clock is None:
            jobs["ticker"] = self.stages.ticker()
        interval = watchdog_interval_s()
        if interval is not None:
            jobs["watchdog"] = self._watchdog(interval)
        return [tg.create_task(coro, name=name) for name, coro in jobs.items()]

    def _filters(self, router: Router) -> list[str]:
        clock = [CLOCK_TOPIC] if self.config.clock.source == "sim" else []
        return router.subscriptions + clock

    def _cloud_client(self) -> httpx.AsyncClient | None:
        url = self.config.cloud.url
        if url is None:
            log.warning("no cloud url: alarms stay in the outbox at %s", self.outbox.path)
            return None
        return make_client(
            url,
            self.credential,
            timeout_s=self.config.cloud.timeout_s,
            on_date=self.timesync.note_cloud_date,
        )

    async def _drain(self) -> bool:
        try:
            await asyncio.wait_for(self.queues.join(), timeout=DRAIN_S)
        except TimeoutError:
            log.warning("queues not drained within %.0fs: %s", DRAIN_S, self.queues.depths())
            return False
        return True

    # -- periodic jobs ------------------------------------------------------------------

    async def _housekeeping(self) -> None:
        """Detector state saved, outbox pruned, run-time mode (away, maintenance) re-read.

        Saves start at a random phase: gateways started together (a building or a district
        after a power cut) must not all write at the same second, nor report in lockstep.
        """
        last_save = time.monotonic() - random.uniform(0, self.config.storage.state_save_s)
        while True:
            await asyncio.sleep(1.0)
            self._reload_mode()
            await self._watch_home()
            if time.monotonic() - last_save >= self.config.storage.state_save_s:
                last_save = time.monotonic()
                await self._save_at_barrier()
                self.outbox.prune(delivered_keep_s=self.config.storage.delivered_keep_days * 86400)

    def _reload_mode(self) -> None:
        path = self.data_dir / MODE_FILE
        try:
            mtime = path.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._mode_mtime:
            return
        self._mode_mtime = mtime
        mode = read_mode(path)
        if mode is not None:
            away, maintenance = mode
            cfg = self.config.alarms
            self.alarms.set_mode(
                away=away or cfg.resident_away,
                maintenance=maintenance | set(cfg.maintenance_devices),
            )

    # -- home manifest hot reload ------------------------------------------------------

    def reload(self) -> None:
        """Re-read the home manifest at the next housekeeping round (SIGHUP), changed or not."""
        self._reload_asked = True

    async def _watch_home(self) -> None:
        if self._home_watch is None:
            return
        changed = self._home_watch.changed()
        if changed or self._reload_asked:
            self._reload_asked = False
            await self.reload_home()

    def _read_home(self) -> HomeSwap:
        """The manifest as the files say now, with everything built from it, or an error
        naming file, line and field."""
        config = self.config
        if self.config_file is not None:
            config = config.model_copy(update={"devices": load_config(self.config_file).devices})
        home = load_home_for(config)
        change = diff_homes(self.home, home)
        try:
            router = Router(home, self.library)
        except UnknownProfileError as exc:
            raise HomeReloadError(f"{config.home}: {exc}") from exc
        bank = self.bank_factory(home, self.library, self.config)
        heartbeats = {
            d.device_id: float(router.profiles[d.profile].heartbeat_interval_s)
            for d in home.devices
        }
        return HomeSwap(home, router, bank, heartbeats, change)

    async def reload_home(self) -> bool:
        """Validate the home manifest as it is on disk and apply it without a restart: new
        devices subscribed and routed, removed ones unsubscribed (what still arrives from
        them is quarantined), detectors rebuilt with their learned state kept for unchanged
        devices. A bad manifest is refused and logged; the last good one stays. Returns
        whether a new manifest was applied."""
        try:
            swap = self._read_home()
        except (ValueError, KeyError) as exc:  # FileError, HomeReloadError, profile errors
            self.reload_refused += 1
            log.error("home manifest refused, the last good one stays in effect: %s", exc)
            return False
        if not swap.change and swap.home == self.home:
            log.info("home manifest re-read: nothing changed")
            return False
        barrier = Barrier(swap=swap)
        await self.queues.raw.put(barrier)
        await swap.routed.wait()  # decode routes by the new table: now let the topics in
        added, dropped = await self.ingest.set_filters(self._filters(swap.router))
        await barrier.done.wait()
        self.home, self.router, self.bank = swap.home, swap.router, swap.bank
        self.reloads += 1
        log.info(
            "home manifest applied home=%s devices=%d %s subscribed=%s unsubscribed=%s",
            swap.home.home_id,
            len(swap.home.devices),
            swap.change.describe(),
            ",".join(added) or "-",
            ",".join(dropped) or "-",
        )
        return True

    async def _heartbeat(self, client: httpx.AsyncClient) -> None:
        while True:
            await asyncio.to_thread(self.timesync.refresh)
            clock = self.timesync.state()
            self.alarms.gateway_clock_suspect = clock.synchronized is False
            wrong = clock.synchronized is False and clock.offset_s is not None
            self.stages.clock_correction_s = clock.offset_s if wrong and clock.offset_s else 0.0
            body = self.heartbeat().model_dump_json().encode()
            try:
                await post_json(client, HEARTBEAT_PATH, body)
            except UplinkError as exc:
                log.warning("heartbeat not delivered: %s", exc)
            # +-10 % so gateways started together drift apart instead of arriving in bursts.
            await asyncio.sleep(self.config.cloud.heartbeat_s * random.uniform(0.9, 1.1))

    async def _watchdog(self, interval: float) -> None:
        """Ping systemd while the pipeline moves; a stage stuck with a full queue in front of
        it for STALL_S stops the pings, and systemd restarts the gateway."""
        seen, stuck_since = -1, time.monotonic()
        while True:
            moved = self.stages.counters.messages != seen or not self.queues.raw.full()
            seen = self.stages.counters.messages
            if moved:
                stuck_since = time.monotonic()
            if time.monotonic() - stuck_since < STALL_S:
                notify("WATCHDOG=1")
            else:
                log.error("pipeline stalled for %.0fs: %s", STALL_S, self.queues.depths())
            await asyncio.sleep(interval)

    # -- state and health ---------------------------------------------------------------

    def _restore_state(self) -> None:
        """Detector state and the last state values (change detection) from STATE_FILE."""
        path = self.data_dir / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.error("detector state unreadable, starting fresh file=%s error=%s", path, exc)
            return
        if isinstance(data, list):  # written before change detection: detectors only
            data = {"detectors": data}
        self.bank.restore(data.get("detectors", []))
        self.stages.changes.restore(data.get("last_values", {}))
        log.info("detector state restored file=%s detectors=%d", path, len(data["detectors"]))

    async def _save_at_barrier(self) -> None:
        """Save the state as it was when a barrier passed each stage: exactly that of the
        messages committed before it. A message replayed after a crash is then never taken
        for a repeat of a value (or a press) whose alarm was not yet written; one committed
        and acknowledged after the barrier is not in the state, which only ever repeats an
        event (its alarm key is stable) and never loses one (a cancel always reaches the
        alarm manager)."""
        barrier = Barrier(save=True)
        try:
            async with asyncio.timeout(STALL_S):  # not wait_for: it can swallow a cancel
                await self.queues.raw.put(barrier)
                await barrier.done.wait()
        except TimeoutError:
            log.warning("state not saved: the pipeline did not pass a barrier in %.0fs", STALL_S)
            return
        self.save_state(barrier.state)

    def save_state(self, state: dict[str, Any] | None = None) -> None:
        """Write the detectors' state and the last state values as JSON, atomically
        (``state``: as collected by a save barrier; default: as they are now)."""
        if state is None:
            state = {"detectors": self.bank.state(), "last_values": self.stages.changes.state()}
        path = self.data_dir / STATE_FILE
        tmp = path.with_suffix(".tmp")
        try:
            with tmp.open("w") as f:
                json.dump(state, f, separators=(",", ":"))
                f.flush()
                os.fsync(f.fileno())
            tmp.replace(path)
        except (OSError, TypeError, ValueError) as exc:
            log.error("detector state not saved file=%s error=%s", path, exc)

    def heartbeat(self) -> GatewayHeartbeat:
        """The gateway's health now: its clock, and what the cloud refused for good."""
        failed, latest = self.outbox.failures()
        return GatewayHeartbeat(
            gateway_id=self.home.gateway_id,
            home_id=self.home.home_id,
            ts=utcnow(),
            version=__version__,
            uptime_s=round(time.monotonic() - self._started, 1),
            broker_connected=self.ingest.connected,
            queue_depths=self.queues.depths(),
            outbox_pending=sum(self.outbox.backlog().values()),
            quarantine_count=self.outbox.counter("quarantine_total")
            + self.stages.counters.quarantine_dropped,
            disk_free_mb=disk_free_mb(self.data_dir),
            cpu_temp_c=cpu_temp_c(),
            devices_online=self.board.online(time.time()),
            devices_total=len(self.home.devices),
            clock=self.timesync.state(),
            outbox_failed=failed,
            failed=latest,
        )

    def status(self) -> dict[str, Any]:
        """Counters for logs, benches and tests."""
        c = self.stages.counters
        a = self.alarms.stats
        return {
            "messages": c.messages,
            "readings": c.readings,
            "quarantined": c.quarantined,
            "quarantine_dropped": c.quarantine_dropped,
            "telemetry_dropped": c.telemetry_dropped,
            "telemetry_late": self.stages.telemetry.late,
            "detections": c.detections,
            "envelopes": c.envelopes,
            "ticks": c.ticks,
            "ticks_skipped": c.ticks_skipped,
            "stage_errors": dict(c.stage_errors),
            "broker_connects": self.ingest.connects,
            "broker_received": self.ingest.received,
            "broker_acked": self.ingest.acked,
            "state_repeats": self.stages.changes.repeats,
            "alarms_raised": dict(a.by_kind),
            "alarms_deduplicated": a.deduplicated,
            "alarms_suppressed": a.suppressed,
            "open_alarms": self.alarms.open_count,
            "backlog": self.outbox.backlog(),
            "delivered": self.uplink.delivered if self.uplink else 0,
            "device_times_replaced": self.timecheck.replaced,
        }


class Stoppable(Protocol):
    """A service with ``run()`` and ``stop()`` (the gateway, the BLE bridge)."""

    async def run(self) -> None: ...

    def stop(self) -> None: ...


async def run_until_signalled(gateway: Stoppable) -> None:
    """Run a service until SIGTERM or SIGINT."""
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, gateway.stop)
    reload = getattr(gateway, "reload", None)
    if reload is not None:  # the gateway: SIGHUP re-reads the home manifest
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGHUP, reload)
    await gateway.run()
