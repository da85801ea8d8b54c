"""Batched line-protocol writes to InfluxDB's 1.x HTTP API, with a durable buffer.

Callers hand over lines and (for ``write``) wait until they are durable: written to
InfluxDB or, while it is down, stored in the buffer file. One flusher task groups the
lines of concurrent requests into few ``/write`` calls; one drainer task empties the
buffer when InfluxDB answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any, Literal

import httpx

from cloud.settings import Settings
from cloud.timeseries.buffer import BufferFullError, open_buffer

log = logging.getLogger(__name__)

PRECISION = "ms"


class InfluxError(RuntimeError):
    """InfluxDB refused a request; the message carries its answer."""


class InfluxWriter:
    """Group-committing writer with a bounded durable buffer; also runs InfluxQL queries."""

    def __init__(self, settings: Settings) -> None:
        self.url = settings.influx_url.rstrip("/")
        self.database = settings.influx_database
        self.batch_lines = settings.influx_batch_lines
        self.flush_s = settings.influx_flush_ms / 1000
        auth = None
        if settings.influx_username:
            pw = settings.influx_password.get_secret_value() if settings.influx_password else ""
            auth = httpx.BasicAuth(settings.influx_username, pw)
        self._http = httpx.AsyncClient(auth=auth, timeout=httpx.Timeout(10.0, connect=2.0))
        self.buffer = open_buffer(settings.data_dir, settings.influx_buffer_max_lines)
        self.up = False
        self.last_error = ""
        self.written_lines = 0
        self.dropped_lines = 0
        self._pending: list[str] = []
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._db_ready = False

    async def start(self) -> None:
        """Start the flusher and drainer tasks."""
        await self._ensure_database()
        self._tasks = [
            asyncio.create_task(self._flusher(), name="influx-flusher"),
            asyncio.create_task(self._drainer(), name="influx-drainer"),
        ]

    async def stop(self) -> None:
        """Flush what is pending, stop the tasks, close the client and the buffer."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._pending:
            await self._flush_once()
        await self._http.aclose()
        self.buffer.close()

    async def write(self, lines: list[str]) -> None:
        """Return once ``lines`` are in InfluxDB or the buffer; BufferFullError if neither."""
        if not lines:
            return
        if not self.up and self.buffer.lines + len(lines) > self.buffer.max_lines:
            raise BufferFullError(
                f"InfluxDB is down and its buffer is full ({self.buffer.lines} lines)"
            )
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.extend(lines)
        self._waiters.append(fut)
        self._wake.set()
        await fut

    def submit(self, lines: list[str]) -> None:
        """Queue ``lines`` without waiting (best effort, e.g. alarm events)."""
        self._pending.extend(lines)
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """Reachability and how far behind the time series are."""
        oldest = self.buffer.oldest
        return {
            "up": self.up,
            "buffered_lines": self.buffer.lines,
            "buffer_max_lines": self.buffer.max_lines,
            "lag_s": round(time.time() - oldest, 3) if oldest else 0.0,
            "pending_lines": len(self._pending),
            "written_lines": self.written_lines,
            "dropped_lines": self.dropped_lines,
            "last_error": self.last_error,
        }

    async def query(self, q: str, params: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """Run InfluxQL; the ``series`` of the first statement (epoch milliseconds)."""
        data = {"db": self.database, "q": q, "epoch": PRECISION}
        if params:
            data["params"] = json.dumps(params)
        resp = await self._http.post(f"{self.url}/query", data=data)
        if resp.status_code != 200:
            raise InfluxError(f"InfluxDB query failed ({resp.status_code}): {resp.text[:200]}")
        result = resp.json()["results"][0]
        if "error" in result:
            raise InfluxError(f"InfluxDB query failed: {result['error']}")
        series: list[dict[str, Any]] = result.get("series", [])
        return series

    async def ping(self) -> bool:
        """True when InfluxDB answers ``/ping``."""
        try:
            resp = await self._http.get(f"{self.url}/ping", timeout=2.0)
        except httpx.HTTPError:
            return False
        return resp.status_code == 204

    async def _ensure_database(self) -> None:
        try:
            resp = await self._http.post(
                f"{self.url}/query", data={"q": f'CREATE DATABASE "{self.database}"'}
            )
        except httpx.HTTPError as exc:
            self._mark_down(f"cannot reach InfluxDB at {self.url}: {exc!r}")
            return
        if resp.status_code != 200:
            self._mark_down(f"CREATE DATABASE failed ({resp.status_code}): {resp.text[:200]}")
            return
        self._db_ready = True
        self.up = True

    def _mark_down(self, error: str) -> None:
        if self.up or error != self.last_error:
            log.warning("InfluxDB unavailable, buffering: %s", error)
        self.up = False
        self.last_error = error

    async def _flusher(self) -> None:
        # Group commit: lines arriving while one write is in flight go in the next one.
        while True:
            await self._wake.wait()
            if self.flush_s:
                await asyncio.sleep(self.flush_s)
            self._wake.clear()
            await self._flush_once()

    async def _flush_once(self) -> None:
        lines, waiters = self._pending, self._waiters
        self._pending, self._waiters = [], []
        error: BaseException | None = None
        for i in range(0, len(lines), self.batch_lines):
            chunk = lines[i : i + self.batch_lines]
            try:
                await self._store(chunk)
            except BufferFullError as exc:
                self.dropped_lines += len(chunk)
                error = exc
        for fut in waiters:
            if not fut.done():
                if error is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(error)

    async def _store(self, chunk: list[str]) -> None:
        if self.up:
            outcome = await self._send("\n".join(chunk).encode())
            if outcome == "ok":
                self.written_lines += len(chunk)
            if outcome != "down":
                return
        await asyncio.to_thread(self.buffer.put, chunk)

    async def _send(self, body: bytes) -> Literal["ok", "dropped", "down"]:
        """Write one body; "down" when InfluxDB is unreachable or failing (caller buffers)."""
        if not self._db_ready:
            await self._ensure_database()
            if not self._db_ready:
                return "down"
        try:
            resp = await self._http.post(
                f"{self.url}/write",
                params={"db": self.database, "precision": PRECISION},
                content=body,
            )
        except httpx.HTTPError as exc:
            self._mark_down(f"write failed: {exc!r}")
            return "down"
        if resp.status_code == 204:
            self.up = True
            return "ok"
        if resp.status_code == 404 and "database not found" in resp.text:
            self._db_ready = False
            self._mark_down(resp.text[:200])
            return "down"
        if resp.status_code >= 500:
            self._mark_down(f"write failed ({resp.status_code}): {resp.text[:200]}")
            return "down"
        # 4xx other than a missing database: points InfluxDB will never take; retrying is futile.
        self.dropped_lines += body.count(b"\n") + 1
        self.last_error = f"write rejected ({resp.status_code}): {resp.text[:200]}"
        log.error("InfluxDB rejected a batch: %s", self.last_error)
        return "dropped"

    async def _drainer(self) -> None:
        delay = 0.5
        while True:
            chunk = await asyncio.to_thread(self.buffer.peek)
            if chunk is None:
                if not self.up and await self.ping():
                    await self._ensure_database()
                await asyncio.sleep(delay if not self.up else 0.5)
                continue
            chunk_id, body = chunk
            outcome = await self._send(body)
            if outcome != "down":
                await asyncio.to_thread(self.buffer.remove, chunk_id)
                if outcome == "ok":
                    self.written_lines += body.count(b"\n") + 1
                delay = 0.5
                continue
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
