"""GatewayFront: heartbeats and telemetry answered before FastAPI, exactly as FastAPI would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY

from protocol.api import HEARTBEAT_PATH, TELEMETRY_PATH
from tests.cloud.conftest import new_gateway

pytestmark = pytest.mark.services

NOW = datetime(2026, 11, 22, 8, 0, tzinfo=UTC).isoformat()
POINT = {"minute": NOW, "device_id": "band-1", "metric": "heart_rate", "count": 6, "mean": 70}
BATCH = {"batch_id": "b-1", "gateway_id": "gw-1", "home_id": "home-1", "points": [POINT]}
HEARTBEAT = {
    "gateway_id": "gw-1",
    "home_id": "home-1",
    "ts": NOW,
    "version": "1.0",
    "uptime_s": 5,
    "broker_connected": True,
    "outbox_pending": 0,
    "quarantine_count": 0,
}


def _json(body: Any) -> bytes:
    return httpx.Request("POST", "http://x", json=body).read()


# (path, body, credential or None for the gateway's own); every case is sent twice.
CASES: list[tuple[str, bytes, str | None]] = [
    (TELEMETRY_PATH, _json(BATCH), None),
    (TELEMETRY_PATH, _json({**BATCH, "points": [POINT, {**POINT, "count": -1}]}), None),
    (TELEMETRY_PATH, _json({**BATCH, "gateway_id": "gw-2"}), None),
    (TELEMETRY_PATH, _json({**BATCH, "home_id": "home-2"}), None),
    (TELEMETRY_PATH, _json({**BATCH, "batch_id": "no spaces"}), None),
    (TELEMETRY_PATH, _json({**BATCH, "extra": 1}), None),
    (TELEMETRY_PATH, _json([BATCH]), None),
    (TELEMETRY_PATH, b'{"batch_id": "b-2", "points": [', None),
    (TELEMETRY_PATH, _json(BATCH).replace(b"70", b"NaN"), None),
    (TELEMETRY_PATH, b"", None),
    (TELEMETRY_PATH, _json(BATCH), "Bearer cwg_gw-1.wrong"),
    (TELEMETRY_PATH, _json(BATCH), ""),
    (HEARTBEAT_PATH, _json(HEARTBEAT), None),
    (HEARTBEAT_PATH, _json({**HEARTBEAT, "uptime_s": -1}), None),
    (HEARTBEAT_PATH, _json({k: v for k, v in HEARTBEAT.items() if k != "ts"}), None),
    (HEARTBEAT_PATH, _json({**HEARTBEAT, "queue_depths": {"a\x00": 1}}), None),
    (HEARTBEAT_PATH, _json({**HEARTBEAT, "gateway_id": "gw-2"}), None),
    (HEARTBEAT_PATH, b"[1e999]", None),
    (HEARTBEAT_PATH, _json(HEARTBEAT), "Basic abc"),
]


@pytest.fixture
async def plain(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the FastAPI app itself, without the front."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://cloud") as c:
        yield c


def _answer(resp: httpx.Response) -> tuple[int, Any, str | None, str | None]:
    body = resp.json() if resp.content else None
    return (
        resp.status_code,
        body,
        resp.headers.get("content-type"),
        resp.headers.get("www-authenticate"),
    )


async def test_front_answers_exactly_like_the_routes(
    app: FastAPI, client: httpx.AsyncClient, plain: httpx.AsyncClient
) -> None:
    own = f"Bearer {await new_gateway(app)}"
    for path, body, credential in CASES:
        headers = {"Authorization": own if credential is None else credential}
        answers = [
            _answer(await c.post(path, content=body, headers=headers))
            for c in (client, plain, client, plain)
        ]
        assert answers[0] == answers[1] == answers[2] == answers[3], (path, body)
        status, detail = answers[0][0], answers[0][1]
        assert status in (200, 401, 422), (path, body, answers[0])
        if status == 422:
            assert detail["detail"][0]["field"], (path, body)


async def test_redelivered_batch_gets_the_same_answer_and_stores_points_once(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    headers = {"Authorization": f"Bearer {await new_gateway(app)}"}
    first = await client.post(TELEMETRY_PATH, json=BATCH, headers=headers)
    again = await client.post(TELEMETRY_PATH, json=BATCH, headers=headers)
    assert first.json() == again.json() == {"accepted": ["b-1"], "duplicates": [], "rejected": []}
    series = await app.state.influx.query('SELECT count("mean") FROM "vitals"')
    assert series[0]["values"][0][1] == 1


async def test_front_passes_everything_else_to_the_app(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get(HEARTBEAT_PATH)).status_code == 405
    assert (await client.get("/no/such/path")).status_code == 404


async def test_front_records_request_latency(app: FastAPI, client: httpx.AsyncClient) -> None:
    headers = {"Authorization": f"Bearer {await new_gateway(app)}"}

    def count(status: str) -> float:
        labels = {"method": "POST", "route": HEARTBEAT_PATH, "status": status}
        return REGISTRY.get_sample_value("carewatch_http_request_seconds_count", labels) or 0.0

    ok, bad = count("200"), count("422")
    await client.post(HEARTBEAT_PATH, json=HEARTBEAT, headers=headers)
    await client.post(HEARTBEAT_PATH, json={**HEARTBEAT, "uptime_s": -1}, headers=headers)
    assert (count("200"), count("422")) == (ok + 1, bad + 1)
