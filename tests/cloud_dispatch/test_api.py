"""The worker and operator APIs: validation names the field, clues, cancel, subscriptions."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.models import Clue, Task
from cloud.notify.models import PushSubscription
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from testbed import free_port
from tests.cloud_dispatch.conftest import (
    City,
    LiveServer,
    add_login,
    fast_config,
    raise_alarm,
    seed_city,
    settings_for,
)


async def _db(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        return await fn(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def db(url: str, fn: Any) -> Any:
    """Run ``fn(sessionmaker)`` against the service's database."""
    return asyncio.run(_db(url, fn))


def login(http: httpx.Client, user: str, password: str) -> dict[str, str]:
    resp = http.post("/api/v1/auth/login", json={"username": user, "password": password})
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


def test_worker_and_operator_api(
    sqlite_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str]
) -> None:
    async def prepare(sm: async_sessionmaker[AsyncSession]) -> City:
        city = await seed_city(sm, workers=2, now=datetime.now(UTC))
        await add_login(sm, "w0", "worker-password", city.workers[0])
        async with sm() as s, s.begin():
            await create_user(s, "op", "operator-password", Role.DISPATCHER)
        await raise_alarm(sm, city, "off_wrist", "warning", now=datetime.now(UTC))
        return city

    city = db(sqlite_url, prepare)
    settings = settings_for(sqlite_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    with (
        LiveServer(settings, dispatch_config=fast_config(idle_s=0.3)) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        w = login(http, "w0", "worker-password")
        op = login(http, "op", "operator-password")

        bad = http.post("/api/v1/worker/location", json={"lat": 91, "lon": 0}, headers=w)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "lat"
        bad = http.post("/api/v1/worker/duty", json={"on_duty": "maybe"}, headers=w)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "on_duty"
        bad = http.post("/api/v1/worker/tasks/1/fly", json={}, headers=w)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "action"
        bad = http.post("/api/v1/worker/tasks/1/resolve", json={}, headers=w)
        assert bad.status_code == 422 and "outcome" in bad.text
        bad = http.post("/api/v1/worker/tasks/1/resolve", json={"outcome": "x"}, headers=w)
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "outcome"
        assert http.post("/api/v1/worker/tasks/77/accept", headers=w).status_code == 404
        assert http.get("/api/v1/worker/tasks", headers=op).status_code == 403
        assert http.get("/api/v1/tasks", headers=w).status_code == 403

        sub = push.new_subscription()
        resp = http.post("/api/v1/worker/push/subscriptions", json=sub, headers=w)
        assert resp.status_code == 201
        bad = http.post(
            "/api/v1/worker/push/subscriptions",
            json={**sub, "endpoint": "ftp://x"},
            headers=w,
        )
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "endpoint"
        assert http.get("/api/v1/worker/push/key", headers=w).json() == {"public_key": vapid[0]}
        fam = push.new_subscription()
        resp = http.post(
            f"/api/v1/family-contacts/{city.family[0]}/push-subscriptions",
            json={"endpoint": fam["endpoint"], **fam["keys"]},
            headers=op,
        )
        assert resp.status_code == 201

        clues = http.get("/api/v1/households/home-1/clues", headers=op).json()
        assert [c["kind"] for c in clues] == ["off_wrist"]
        assert http.get("/api/v1/households/nope/clues", headers=op).status_code == 404
        visit_path = "/api/v1/worker/households/home-1/visit"
        stranger = http.post(visit_path, headers=w)  # no task of w0's there (yet)
        assert stranger.status_code == 404, stranger.text
        assert http.post("/api/v1/worker/households/nope/visit", headers=w).status_code == 404
        assert [
            c["kind"] for c in http.get("/api/v1/households/home-1/clues", headers=op).json()
        ] == ["off_wrist"]

        db(sqlite_url, lambda sm: raise_alarm(sm, city, "sos", "critical", now=datetime.now(UTC)))
        offered: list[Any] = []
        for _ in range(100):  # the loop picks the alarm up within its idle time
            offered = http.get("/api/v1/worker/tasks", headers=w).json()["offered"]
            if offered:
                break
            time.sleep(0.05)
        (card,) = offered
        assert card["clues"] == ["off_wrist"]
        (delivery,) = push.wait_for_deliveries(1)  # the offer, also by push (the family: SMS)
        assert delivery.json()["number"] == card["number"]
        assert card["number"] in delivery.json()["body"]
        visit = http.post(visit_path, headers=w)  # offered to w0: their visit closes the clue
        assert visit.json() == {"closed": 1}
        assert http.get("/api/v1/households/home-1/clues", headers=op).json() == []

        resp = http.post(f"/api/v1/tasks/{card['id']}/cancel", json={"reason": ""}, headers=op)
        assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "reason"
        resp = http.post(
            f"/api/v1/tasks/{card['id']}/cancel", json={"reason": "duplicate call"}, headers=op
        )
        assert resp.status_code == 200 and resp.json()["state"] == "cancelled"
        again = http.post(
            f"/api/v1/tasks/{card['id']}/cancel", json={"reason": "again"}, headers=op
        )
        assert again.status_code == 409

        assert http.post(visit_path, headers=w).status_code == 404  # cancelled: out of scope

    async def check(sm: async_sessionmaker[AsyncSession]) -> tuple[list[Clue], list[str], Task]:
        async with sm() as s:
            clues = list(await s.scalars(select(Clue)))
            owners = list(await s.scalars(select(PushSubscription.owner)))
            task = (await s.scalars(select(Task))).one()
            return clues, owners, task

    clues, owners, task = db(sqlite_url, check)
    assert clues[0].closed_by == f"worker:{city.workers[0]}"
    assert sorted(owners) == sorted([f"worker:{city.workers[0]}", f"family:{city.family[0]}"])
    assert task.state == "cancelled"
