"""Gateway endpoints (``protocol.api`` paths): alarms, alarm updates, telemetry, heartbeats.

Bodies are parsed here rather than by FastAPI so that one bad item of a batch is
rejected on its own (``IngestAck.rejected`` names the field) while the rest is stored.
Heartbeats and telemetry, nearly every request a gateway makes, are answered by
``telemetry_answer`` and ``heartbeat_answer`` from the raw body; the routes below and
``cloud.gateways.front.GatewayFront`` (the served app, which skips FastAPI's layers for
them) both call these, so the answers are the same.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from pydantic import ValidationError
from starlette.datastructures import State

from cloud.alarms.ingest import (
    alarm_suspect,
    parse_items,
    store_alarms,
    store_updates,
    trusted_time,
)
from cloud.db import SessionDep, utcnow
from cloud.errors import field_name
from cloud.gateways.auth import CurrentGateway, GatewayAuth, GatewayIdentity
from cloud.gateways.delivery import DeliveryWatch
from cloud.metrics import HEARTBEATS, INGESTED, TELEMETRY_POINTS
from cloud.schemas import nul_path
from cloud.timeseries.buffer import BufferFullError
from cloud.timeseries.points import alarm_event_line, heartbeat_line, telemetry_lines
from cloud.timeseries.writer import InfluxWriter
from protocol import GatewayHeartbeat, IngestAck, IngestRejection, TelemetryBatch, TelemetryPoint
from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH

log = logging.getLogger(__name__)

router = APIRouter(tags=["gateway"])

MAX_ITEMS = 1000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)  # telemetry minutes outside are refused
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
MAX_INT = 2**53
_ACK: dict[int | str, dict[str, Any]] = {
    200: {"model": IngestAck, "description": "What was stored, seen before, or refused."}
}


def _invalid(field: str, msg: str) -> HTTPException:
    return HTTPException(
        status.HTTP_422_UNPROCESSABLE_CONTENT,
        detail=[
            {"field": field, "loc": ["body", *field.split(".")], "msg": msg, "type": "value_error"}
        ],
    )


def _forbidden(reason: str) -> HTTPException:
    return HTTPException(status.HTTP_403_FORBIDDEN, detail=reason)


def require_household(gw: GatewayIdentity) -> None:
    """403 naming why, for a gateway that is not registered to a household."""
    reason = gw.no_household()
    if reason is not None:
        raise _forbidden(reason)


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is out of range")
    return value


def _json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_no_constants, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        raise _invalid("body", f"not valid JSON: {exc}") from exc


async def _items(request: Request, key: str) -> list[Any]:
    data = _json(await request.body())
    if not isinstance(data, dict):
        raise _invalid("body", "must be a JSON object")
    extra = set(data) - {key}
    if extra:
        raise _invalid(sorted(extra)[0], "unknown field")
    items = data.get(key)
    if not isinstance(items, list):
        raise _invalid(key, "must be a list")
    if len(items) > MAX_ITEMS:
        raise _invalid(key, f"at most {MAX_ITEMS} items per request")
    return items


# Counter children resolved once: ``labels()`` is a locked dict lookup on every call.
_OUTCOMES = {
    kind: tuple(INGESTED.labels(kind, outcome) for outcome in ("accepted", "duplicate", "rejected"))
    for kind in ("alarm", "alarm_update", "telemetry")
}


def _ack_json(ack: IngestAck, kind: str) -> bytes:
    accepted, duplicate, rejected = _OUTCOMES[kind]
    accepted.inc(len(ack.accepted))
    duplicate.inc(len(ack.duplicates))
    rejected.inc(len(ack.rejected))
    return ack.model_dump_json().encode()


def _ack(ack: IngestAck, kind: str) -> Response:
    return Response(_ack_json(ack, kind), media_type="application/json")


@router.post(ALARMS_PATH, responses=_ACK, response_class=Response)
async def post_alarms(request: Request, gw: CurrentGateway, session: SessionDep) -> Response:
    """Store alarms (``{"alarms": [Alarm, ...]}``); a known ``alarm_id`` changes nothing.

    403 for a gateway without a household: it may send heartbeats only.
    """
    require_household(gw)
    raws = await _items(request, "alarms")
    ack, stored = await store_alarms(session, gw, raws)
    if stored:
        request.app.state.alarm_wakeup.set()
        now = utcnow()
        lines = [
            alarm_event_line(
                alarm_id=a.alarm_id,
                home_id=a.home_id,
                gateway_id=a.gateway_id,
                kind=str(a.kind),
                severity=str(a.severity),
                action="raised",
                ts=trusted_time(a.raised_at, now, suspect=alarm_suspect(a, now)),
            )
            for a in stored
        ]
        _influx(request.app.state).submit(lines)
    return _ack(ack, "alarm")


@router.post(ALARM_UPDATES_PATH, responses=_ACK, response_class=Response)
async def post_alarm_updates(request: Request, gw: CurrentGateway, session: SessionDep) -> Response:
    """Apply alarm updates (``{"updates": [AlarmUpdate, ...]}``) once each."""
    require_household(gw)
    raws = await _items(request, "updates")
    ack, applied = await store_updates(session, gw, raws)
    if applied:
        request.app.state.alarm_wakeup.set()
        now = utcnow()
        lines = [
            alarm_event_line(
                alarm_id=alarm.alarm_id,
                home_id=alarm.home_id,
                gateway_id=alarm.gateway_id,
                kind=alarm.kind,
                severity=alarm.severity,
                action=str(upd.action),
                ts=trusted_time(upd.ts, now),
            )
            for upd, alarm in applied
        ]
        _influx(request.app.state).submit(lines)
    return _ack(ack, "alarm_update")


@router.post(TELEMETRY_PATH, responses=_ACK, response_class=Response)
async def post_telemetry(request: Request) -> Response:
    """Write a TelemetryBatch to InfluxDB; returns once the points are durable.

    A redelivered batch writes the same points again, which InfluxDB stores once.
    Points of devices not registered to the gateway's household are refused one by one.
    403 for a gateway without a household; 503 with Retry-After when InfluxDB is down and
    the buffer is full.
    """
    content = await telemetry_answer(
        request.app.state, request.headers.get("authorization"), await request.body()
    )
    return Response(content, media_type="application/json")


async def telemetry_answer(state: State, authorization: str | None, body: bytes) -> bytes:
    """The IngestAck (JSON) for a telemetry request; HTTPException for 401, 403, 422, 503."""
    auth: GatewayAuth = state.gateway_auth
    gw = await auth.verify(authorization)
    require_household(gw)
    ack = IngestAck()
    try:  # the common case, parsed in one step; anything wrong takes the careful path
        batch = TelemetryBatch.model_validate_json(body)
        raw_points: list[Any] = list(batch.points)
    except ValidationError:
        data = _json(body)
        if not isinstance(data, dict):
            raise _invalid("body", "must be a JSON object") from None
        points_in = data.get("points")
        raw_points = points_in if isinstance(points_in, list) else []
        try:
            batch = TelemetryBatch.model_validate({**data, "points": []})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise _invalid(field_name(err["loc"]), err["msg"]) from exc
    if batch.gateway_id != gw.gateway_id:
        raise _invalid("gateway_id", "does not match the credential")
    if batch.home_id != gw.household_id:
        error = f"home_id: {batch.home_id!r} is not this gateway's household"
        ack.rejected.append(IngestRejection(id=batch.batch_id, error=error))
        return _ack_json(ack, "telemetry")
    if any(_device_of(p) not in gw.devices for p in raw_points):
        gw = await auth.recheck(gw)  # a device registered a moment ago
    points = _good_points(batch.batch_id, raw_points, gw, ack)
    try:
        await _influx(state).write(telemetry_lines(batch, points))
    except BufferFullError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "60"}
        ) from exc
    if points or not ack.rejected:
        ack.accepted.append(batch.batch_id)
    else:  # named, so the gateway keeps it as refused instead of sending it again forever
        first = ack.rejected[0].error
        ack.rejected.append(
            IngestRejection(id=batch.batch_id, error=f"points: every point refused ({first})")
        )
    TELEMETRY_POINTS.inc(len(points))
    return _ack_json(ack, "telemetry")


def _device_of(raw: Any) -> Any:
    if isinstance(raw, TelemetryPoint):
        return raw.device_id
    return raw.get("device_id") if isinstance(raw, dict) else None


def _good_points(
    batch_id: str, raws: list[Any], gw: GatewayIdentity, ack: IngestAck
) -> list[TelemetryPoint]:
    good: list[TelemetryPoint] = []
    for i, raw in enumerate(raws):
        item = f"{batch_id}#{i}"
        if isinstance(raw, TelemetryPoint):
            point = raw
        else:
            sub = IngestAck()
            parsed = parse_items([raw], TelemetryPoint, "", sub)
            if not parsed:
                ack.rejected.append(
                    IngestRejection(id=item, error=f"points[{i}].{sub.rejected[0].error}")
                )
                continue
            point = parsed[0]
        if point.device_id not in gw.devices:
            ack.rejected.append(
                IngestRejection(
                    id=item,
                    error=f"points[{i}].device_id: {point.device_id!r} is not registered to"
                    f" household {gw.household_id!r}",
                )
            )
        elif nul_path(point.metric) or nul_path(point.room or ""):
            ack.rejected.append(IngestRejection(id=item, error=f"points[{i}]: NUL character"))
        elif not EARLIEST <= point.minute < LATEST:
            ack.rejected.append(
                IngestRejection(id=item, error=f"points[{i}].minute: outside 2000-2100")
            )
        elif point.count > MAX_INT:
            ack.rejected.append(IngestRejection(id=item, error=f"points[{i}].count: too large"))
        elif any(
            v is not None and not math.isfinite(v) for v in (point.min, point.mean, point.max)
        ):
            ack.rejected.append(IngestRejection(id=item, error=f"points[{i}].mean: not finite"))
        else:
            good.append(point)
    return good


@router.post(HEARTBEAT_PATH, responses={200: {"description": '{"ok": true}'}})
async def post_heartbeat(request: Request) -> Response:
    """Record that the gateway is alive, and its health."""
    content = await heartbeat_answer(
        request.app.state, request.headers.get("authorization"), await request.body()
    )
    return Response(content, media_type="application/json")


async def heartbeat_answer(state: State, authorization: str | None, body: bytes) -> bytes:
    """``{"ok":true}`` once a heartbeat is recorded; HTTPException for 401, 403, 422.

    A gateway without a household may send heartbeats; one with a household only for it.
    Envelopes it holds as refused (``outbox_failed``) keep a ``delivery_failed`` alarm open.
    """
    auth: GatewayAuth = state.gateway_auth
    gw = await auth.verify(authorization)
    try:  # the common case in one step; anything wrong takes the careful path
        hb = GatewayHeartbeat.model_validate_json(body)
    except ValidationError:
        hb = _heartbeat_slowly(_json(body))
    bad = nul_path(hb.version) or nul_path(hb.queue_depths)
    if bad:
        raise _invalid("version" if bad == "body" else f"queue_depths.{bad}", "NUL character")
    for name in ("uptime_s", "disk_free_mb", "cpu_temp_c"):
        if not math.isfinite(getattr(hb, name) or 0.0):
            raise _invalid(name, "not a finite number")
    if hb.gateway_id != gw.gateway_id:
        raise _invalid("gateway_id", "does not match the credential")
    if gw.household_id is not None and hb.home_id != gw.household_id:
        gw = await auth.recheck(gw)  # moved to another household a moment ago
        if hb.home_id != gw.household_id:
            raise _forbidden(f"home_id: {hb.home_id!r} is not this gateway's household")
    for name in ("outbox_pending", "quarantine_count", "devices_online", "devices_total"):
        if abs(getattr(hb, name) or 0) > MAX_INT:
            raise _invalid(name, "too large")
    now = utcnow()
    health = hb.model_dump(
        mode="json", exclude={"gateway_id", "home_id", "schema_version", "version"}
    )
    bad = nul_path(health)
    if bad:
        raise _invalid(bad, "NUL character")
    state.heartbeats.record(gw.gateway_id, now, hb.version, health)
    _influx(state).submit([heartbeat_line(hb, now)])
    HEARTBEATS.inc()
    watch: DeliveryWatch = state.delivery_watch
    if await watch.heartbeat(gw, hb, now):
        state.alarm_wakeup.set()
    return b'{"ok":true}'


def _heartbeat_slowly(data: Any) -> GatewayHeartbeat:
    """Validate a heartbeat that failed the fast path, for an error naming the field."""
    try:
        return GatewayHeartbeat.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise _invalid(field_name(err["loc"]), err["msg"]) from exc


def _influx(state: State) -> InfluxWriter:
    writer: InfluxWriter | None = state.influx
    if writer is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "service is starting")
    return writer
