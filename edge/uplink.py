"""HTTPS to the cloud: drains the outbox in batches (critical alarms first), with backoff.

Answers: 2xx with an IngestAck marks the acknowledged ids delivered; a rejected one is
mended and sent again when the cloud named a field the gateway can fix (edge.mending),
else kept in the outbox as failed with the reason (shown by ``outbox``, counted in the
heartbeat, and raised by the cloud as ``delivery_failed``); 401/403 waits long (a bad
credential or a gateway without a household does not fix itself); 408/429/5xx and network
errors back off with jitter; another 4xx isolates the bad envelope by sending one at a time
and treats it as rejected.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from pydantic import ValidationError

from edge.outbox import Outbox, Pending, Table, dumps_list
from protocol import IngestAck
from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH, TELEMETRY_PATH

log = logging.getLogger(__name__)

USER_AGENT = "carewatch-gateway"


class UplinkError(RuntimeError):
    """A request the cloud did not take; ``retry`` says whether trying again may help."""

    def __init__(self, message: str, *, status: int | None, retry: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retry = retry


def make_client(
    base_url: str,
    credential: str | None,
    *,
    timeout_s: float,
    on_date: Callable[[str | None], None] | None = None,
) -> httpx.AsyncClient:
    """An HTTP client for the cloud, carrying the gateway's bearer credential; ``on_date``
    gets the ``Date`` header of every answer (the gateway's time reference)."""
    headers = {"User-Agent": USER_AGENT, "Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    hooks: dict[str, list[Callable[[httpx.Response], Awaitable[None]]]] = {}
    if on_date is not None:
        note = on_date

        async def date_of(resp: httpx.Response) -> None:
            note(resp.headers.get("date"))

        hooks["response"] = [date_of]
    return httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=timeout_s, event_hooks=hooks
    )


async def post_json(client: httpx.AsyncClient, path: str, content: bytes) -> httpx.Response:
    """POST a JSON body; raise UplinkError for anything but 2xx."""
    try:
        resp = await client.post(path, content=content)
    except httpx.HTTPError as exc:
        raise UplinkError(
            f"POST {client.base_url}{path}: {type(exc).__name__}: {exc}", status=None, retry=True
        ) from exc
    if resp.is_success:
        return resp
    code = resp.status_code
    where = f"POST {client.base_url}{path}: HTTP {code}: {resp.text[:300]}"
    if code in (401, 403):
        raise UplinkError(f"{where} (credential refused)", status=code, retry=False)
    retry = code in (408, 425, 429) or code >= 500
    raise UplinkError(where, status=code, retry=retry)


def parse_ack(resp: httpx.Response, path: str) -> IngestAck:
    """The IngestAck of a 2xx answer."""
    try:
        return IngestAck.model_validate_json(resp.content)
    except ValidationError as exc:
        raise UplinkError(
            f"POST {path}: answer is not an IngestAck: {resp.text[:200]}", status=None, retry=True
        ) from exc


@dataclass(frozen=True, slots=True)
class Lane:
    """One kind of envelope: its table, path and body key (None: the body is the envelope)."""

    table: Table
    path: str
    key: str | None
    fetch: Callable[[Outbox, int], list[Pending]]


LANES = (
    Lane("alarms", ALARMS_PATH, "alarms", Outbox.pending_alarms),
    Lane("updates", ALARM_UPDATES_PATH, "updates", Outbox.pending_updates),
    Lane("telemetry", TELEMETRY_PATH, None, lambda ob, _n: Outbox.pending_telemetry(ob, 1)),
)


def fit_body(batch: list[Pending], key: str | None, limit: int) -> list[Pending]:
    """The leading envelopes whose request body stays within ``limit`` bytes (at least one).

    The body is ``dumps_list(key, ...)``: ``{"<key>":[`` + bodies joined by commas + ``]}``.
    """
    if key is None:
        return batch[:1]
    size = len(json.dumps(key).encode()) + 4
    for n, pending in enumerate(batch):
        size += len(pending.body.encode()) + (1 if n else 0)
        if size > limit and n:
            return batch[:n]
    return batch


class Uplink:
    """Delivers the outbox to the cloud; ``wake`` is set when something new was committed."""

    def __init__(
        self,
        outbox: Outbox,
        client: httpx.AsyncClient,
        *,
        batch_size: int,
        max_body_bytes: int = 1 << 20,
        backoff_min_s: float,
        backoff_max_s: float,
        auth_retry_s: float,
        wake: asyncio.Event,
        idle_s: float = 5.0,
    ) -> None:
        self.outbox = outbox
        self.client = client
        self.batch_size = batch_size
        self.max_body_bytes = max_body_bytes
        self.backoff_min_s = backoff_min_s
        self.backoff_max_s = backoff_max_s
        self.auth_retry_s = auth_retry_s
        self.idle_s = idle_s
        self.wake = wake
        self.failures = 0
        self.delivered = 0
        self.last_error: str | None = None

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            try:
                sent = await self.drain_once()
            except UplinkError as exc:
                await self._back_off(exc)
                continue
            self.failures = 0
            if not sent:
                self.wake.clear()
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancellation that
                # arrives as the wake-up does, and the stopping gateway waits for ever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.idle_s):
                        await self.wake.wait()

    async def drain_once(self) -> int:
        """Send one batch of the most urgent lane with work; return how many were sent."""
        for lane in LANES:
            batch = lane.fetch(self.outbox, self.batch_size)
            if batch:
                batch = fit_body(batch, lane.key, self.max_body_bytes)
                await self._send(lane, batch)
                return len(batch)
        return 0

    async def _send(self, lane: Lane, batch: list[Pending]) -> None:
        body = dumps_list(lane.key, [p.body for p in batch]) if lane.key else batch[0].body.encode()
        try:
            resp = await post_json(self.client, lane.path, body)
        except UplinkError as exc:
            if exc.retry or exc.status in (401, 403):
                self.outbox.note_attempt(lane.table, [p.id for p in batch], str(exc))
                raise
            if len(batch) > 1:
                log.warning(
                    "cloud refused a batch lane=%s size=%d; sending one by one",
                    lane.table,
                    len(batch),
                )
                for one in batch:
                    await self._send(lane, [one])
                return
            self._refused(lane, {batch[0].id: str(exc)})
            return
        ack = parse_ack(resp, lane.path)
        ok = ack.delivered()
        ids = [p.id for p in batch]
        self.outbox.mark_delivered(lane.table, [i for i in ids if i in ok])
        rejected = {r.id: r.error for r in ack.rejected if r.id in ids}
        if rejected:
            self._refused(lane, rejected)
        missing = [i for i in ids if i not in ok and i not in rejected]
        self.delivered += len(ok)
        self.last_error = None
        log.debug("delivered lane=%s n=%d", lane.table, len(ok))
        if missing:
            self.outbox.note_attempt(lane.table, missing, "not in the cloud's answer")
            raise UplinkError(
                f"POST {lane.path}: answer left out {len(missing)} ids", status=None, retry=True
            )

    def _refused(self, lane: Lane, refusals: dict[str, str]) -> None:
        """Mended and sent again where the gateway can fix the field; kept as failed (shown
        by ``outbox``, counted in the heartbeat) where it cannot."""
        mended = self.outbox.refused(lane.table, refusals)
        for item_id, error in refusals.items():
            if item_id in mended:
                log.warning(
                    "cloud refused %s id=%s; mended %s, sending again: %s",
                    lane.table,
                    item_id,
                    mended[item_id],
                    error[:300],
                )
            else:
                log.error("cloud refused %s id=%s for good, kept: %s", lane.table, item_id, error)
        if mended:
            self.wake.set()

    async def _back_off(self, exc: UplinkError) -> None:
        self.failures += 1
        self.last_error = str(exc)
        if exc.status in (401, 403):
            delay = self.auth_retry_s
            log.error("cloud refused the gateway credential; retry in %.0fs: %s", delay, exc)
        else:
            ceiling = min(self.backoff_max_s, self.backoff_min_s * 2 ** min(self.failures, 30))
            delay = random.uniform(ceiling / 2, ceiling)
            log.warning(
                "uplink failed attempt=%d retry_in=%.1fs error=%s", self.failures, delay, exc
            )
        await asyncio.sleep(delay)
