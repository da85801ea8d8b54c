"""A small local stand-in of the cloud's gateway API (protocol/api.py), for the edge tests.

It stores each envelope once by its id (as the cloud does), answers IngestAck, and can be
switched down (503), to refuse the credential (401), or to refuse items one by one
(``refuse`` returns the reason, as the cloud's ``IngestAck.rejected`` gives it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from protocol.api import ALARM_UPDATES_PATH, ALARMS_PATH, HEARTBEAT_PATH, TELEMETRY_PATH
from testbed import free_port


@dataclass
class Receiver:
    """What the stand-in cloud received, and how it answers."""

    credential: str
    mode: str = "ok"  # ok | down | unauthorized | lose_answers (store, then answer 503)
    refuse: Callable[[dict[str, Any]], str | None] = lambda _item: None
    alarms: dict[str, dict[str, Any]] = field(default_factory=dict)
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    telemetry: dict[str, dict[str, Any]] = field(default_factory=dict)
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    alarm_posts: list[list[str]] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    def app(self) -> FastAPI:
        """The ASGI app."""
        api = FastAPI()

        def gate(request: Request) -> JSONResponse | None:
            if self.mode == "down":
                self.refused += 1
                return JSONResponse({"detail": "down"}, status_code=503)
            if (
                self.mode == "unauthorized"
                or request.headers.get("authorization") != f"Bearer {self.credential}"
            ):
                self.refused += 1
                return JSONResponse({"detail": "bad credential"}, status_code=401)
            return None

        def ingest(
            store: dict[str, dict[str, Any]], items: list[dict[str, Any]], key: str
        ) -> JSONResponse:
            accepted, duplicates, rejected = [], [], []
            for item in items:
                error = self.refuse(item)
                if error is not None:
                    rejected.append({"id": item[key], "error": error})
                    continue
                (duplicates if item[key] in store else accepted).append(item[key])
                store.setdefault(item[key], item)
            if self.mode == "lose_answers":
                return JSONResponse({"detail": "answer lost"}, status_code=503)
            answer = {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}
            return JSONResponse(answer)

        @api.post(ALARMS_PATH)
        async def alarms(request: Request) -> JSONResponse:
            refused = gate(request)
            if refused is not None:
                return refused
            items = json.loads(await request.body())["alarms"]
            self.alarm_posts.append([i["alarm_id"] for i in items])
            return ingest(self.alarms, items, "alarm_id")

        @api.post(ALARM_UPDATES_PATH)
        async def updates(request: Request) -> JSONResponse:
            refused = gate(request)
            if refused is not None:
                return refused
            items = json.loads(await request.body())["updates"]
            return ingest(self.updates, items, "update_id")

        @api.post(TELEMETRY_PATH)
        async def telemetry(request: Request) -> JSONResponse:
            refused = gate(request)
            if refused is not None:
                return refused
            return ingest(self.telemetry, [json.loads(await request.body())], "batch_id")

        @api.post(HEARTBEAT_PATH)
        async def heartbeat(request: Request) -> JSONResponse:
            refused = gate(request)
            if refused is not None:
                return refused
            self.heartbeats.append(json.loads(await request.body()))
            return JSONResponse({"ok": True})

        return api


@contextlib.asynccontextmanager
async def serve(receiver: Receiver) -> AsyncIterator[Receiver]:
    """Serve ``receiver`` on a free loopback port for the duration of the block."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "local cloud receiver did not start"
    receiver.url = f"http://127.0.0.1:{port}"
    try:
        yield receiver
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
