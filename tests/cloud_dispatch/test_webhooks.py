"""The running service: gateway alarm in, SMS out, signed SMS replies and status callbacks in."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from twilio.request_validator import RequestValidator

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.models import Offer, Task, TaskEvent
from cloud.dispatch.service import build_senders
from cloud.gateways.service import add_gateway
from cloud.models import Worker
from cloud.notify.models import BlockedNumber, DeliveryReceipt, Notification
from cloud.notify.outbox import OutboxSender, Recipient, enqueue
from cloud.notify.push_standin import PushStandin
from cloud.notify.sms import SmsReceipt, SmsSender
from cloud.notify.twilio_standin import TwilioStandin
from cloud.settings import Settings
from protocol.api import ALARMS_PATH
from testbed import free_port
from tests.cloud_dispatch.conftest import (
    TOKEN,
    LiveServer,
    fast_config,
    seed_city,
    settings_for,
    worker_phone,
)


async def _prepare(url: str) -> str:
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    await seed_city(sm, now=datetime.now(UTC))
    async with sm() as s, s.begin():
        _, credential = await add_gateway(s, "gw-live", "home-1")
        await create_user(s, "disp", "dispatcher-password", Role.DISPATCHER)
    await engine.dispose()
    return credential


async def _query(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as s:
            return await fn(s)
    finally:
        await engine.dispose()


def query(url: str, fn: Any) -> Any:
    """Run ``fn(session)`` on a fresh engine (the server runs in its own thread and loop)."""
    return asyncio.run(_query(url, fn))


async def _task(s: Any) -> Task:
    return (await s.scalars(select(Task))).one()


@pytest.fixture
def live(db_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str]) -> Any:
    credential = asyncio.run(_prepare(db_url))
    settings = settings_for(db_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    with LiveServer(settings, dispatch_config=fast_config(idle_s=1.0)) as server:
        yield server, credential


def test_alarm_to_sms_and_signed_replies(live: Any, db_url: str, twilio: TwilioStandin) -> None:
    server, credential = live
    now = datetime.now(UTC).isoformat()
    alarm = {
        "alarm_id": "live-1",
        "gateway_id": "gw-live",
        "home_id": "home-1",
        "kind": "fall",
        "severity": "critical",
        "raised_at": now,
        "detector": "fall",
    }
    with httpx.Client(base_url=server.url, timeout=10) as http:
        resp = http.post(
            ALARMS_PATH, json={"alarms": [alarm]}, headers={"Authorization": f"Bearer {credential}"}
        )
        assert resp.status_code == 200, resp.text
        assert resp.json()["accepted"] == ["live-1"]
        offers = twilio.wait_for_messages(3, where=lambda m: m.to.startswith("+86138"))
        assert {m.to for m in offers} == {worker_phone(i) for i in range(3)}
        number = query(db_url, _task).number
        ref = "T" + number[-4:]

        hook = server.url + "/webhooks/twilio/sms"
        form = {
            "MessageSid": "SM" + "f" * 32,
            "From": worker_phone(0),
            "Body": f"1 {ref}",
            "AccountSid": twilio.account_sid,
        }
        bad = http.post(hook, data=form, headers={"X-Twilio-Signature": "AAAA"})
        unsigned = http.post(hook, data=form)
        other_url = RequestValidator(TOKEN).compute_signature("http://evil.example/x", form)
        moved = http.post(hook, data=form, headers={"X-Twilio-Signature": other_url})
        assert (bad.status_code, unsigned.status_code, moved.status_code) == (403, 403, 403)
        assert query(db_url, _task).state == "offered"

        assert twilio.send_reply(hook, worker_phone(0), f"1 {ref}") == 200
        assert query(db_url, _task).state == "accepted"
        hello = {**form, "MessageSid": "SM" + "e" * 32, "Body": "hello"}
        good = RequestValidator(TOKEN).compute_signature(hook, hello)
        reply = http.post(hook, data=hello, headers={"X-Twilio-Signature": good})
        assert reply.status_code == 200 and "Not understood" not in reply.text
        assert "<Message>" in reply.text  # 无法识别 (the worker's language is zh)
        assert twilio.send_reply(hook, worker_phone(0), "3") == 200
        assert twilio.send_reply(hook, worker_phone(0), f"4 {ref} 1") == 200
        task = query(db_url, _task)
        assert (task.state, task.outcome) == ("resolved", "assisted")

        sid = offers[0].sid
        assert twilio.send_status(sid, "delivered") == 200
        receipts = query(
            db_url,
            lambda s: s.scalars(select(DeliveryReceipt).where(DeliveryReceipt.provider_id == sid)),
        )
        assert len(list(receipts)) == 1

        token = http.post(
            "/api/v1/auth/login", json={"username": "disp", "password": "dispatcher-password"}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        detail = http.get(f"/api/v1/tasks/{task.id}", headers=auth).json()
        assert [e["channel"] for e in detail["events"] if e["action"] == "accepted"] == ["sms"]
        assert http.get(f"/api/v1/tasks/{task.id}/audit/verify", headers=auth).json()["ok"]
        sent = http.get("/api/v1/notifications", params={"task_id": task.id}, headers=auth).json()
        by_sid = {n["provider_id"]: n for n in sent}
        assert by_sid[sid]["provider_status"] == "delivered"
        assert worker_phone(0) not in {n["address"] for n in sent}  # masked
        assert http.get("/api/v1/tasks/0", headers=auth).status_code == 422
        assert http.get("/api/v1/tasks/999", headers=auth).status_code == 404
        assert http.get("/api/v1/tasks", params={"state": "nope"}, headers=auth).status_code == 422
        assert http.get("/api/v1/tasks").status_code == 401
    states = query(db_url, lambda s: s.scalars(select(Notification.state)))
    assert "failed" not in set(states)


def _post_alarm(http: httpx.Client, credential: str, alarm_id: str) -> None:
    alarm = {
        "alarm_id": alarm_id,
        "gateway_id": "gw-live",
        "home_id": "home-1",
        "kind": "sos",
        "severity": "critical",
        "raised_at": datetime.now(UTC).isoformat(),
        "detector": "sos",
    }
    resp = http.post(
        ALARMS_PATH, json={"alarms": [alarm]}, headers={"Authorization": f"Bearer {credential}"}
    )
    assert resp.status_code == 200 and resp.json()["accepted"] == [alarm_id], resp.text


def _wait_offered(db_url: str, worker_id: int, tasks: int) -> Task:
    """The newest task once there are ``tasks`` and it has a pending offer to ``worker_id``."""

    async def look(s: Any) -> Task | None:
        rows = list(await s.scalars(select(Task).order_by(Task.id)))
        if len(rows) < tasks:
            return None
        pending = await s.scalar(
            select(Offer.id).where(
                Offer.task_id == rows[-1].id, Offer.worker_id == worker_id, Offer.state == "pending"
            )
        )
        return rows[-1] if pending is not None else None

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        task = query(db_url, look)
        if task is not None:
            return task
        time.sleep(0.05)
    raise AssertionError(f"no pending offer of task {tasks} to worker {worker_id}")


def test_a_replayed_sms_reply_changes_nothing(
    live: Any, db_url: str, twilio: TwilioStandin
) -> None:
    """Finding 5: a worker's old signed ``1`` does not accept the next task offered to them."""
    server, credential = live
    hook = server.url + "/webhooks/twilio/sms"
    worker0 = query(
        db_url, lambda s: s.scalar(select(Worker.id).where(Worker.phone == worker_phone(0)))
    )
    accept = {
        "MessageSid": "SM" + "a" * 32,
        "AccountSid": twilio.account_sid,
        "From": worker_phone(0),
        "To": "+10000000000",
        "Body": "1",
        "NumMedia": "0",
    }
    with httpx.Client(base_url=server.url, timeout=10) as http:
        _post_alarm(http, credential, "replay-1")
        first = _wait_offered(db_url, worker0, 1)
        assert twilio.signed_post(hook, accept) == 200
        assert query(db_url, _task).state == "accepted"
        assert twilio.send_reply(hook, worker_phone(0), "3") == 200
        assert twilio.send_reply(hook, worker_phone(0), "4 1") == 200
        assert query(db_url, _task).state == "resolved"

        _post_alarm(http, credential, "replay-2")
        second = _wait_offered(db_url, worker0, 2)
        assert second.id != first.id
        assert twilio.signed_post(hook, accept) == 200  # the replay: answered, not applied
        again = query(db_url, lambda s: s.get(Task, second.id))
        assert again.state == "offered" and again.worker_id is None
        offer = query(
            db_url,
            lambda s: s.scalar(
                select(Offer.state).where(Offer.task_id == second.id, Offer.worker_id == worker0)
            ),
        )
        assert offer == "pending"


def test_logs_carry_no_phone_number_in_clear(
    live: Any, twilio: TwilioStandin, caplog: pytest.LogCaptureFixture
) -> None:
    server, _credential = live
    stranger = "+8613999998888"
    with caplog.at_level(logging.INFO, logger="cloud"):
        assert twilio.send_reply(server.url + "/webhooks/twilio/sms", stranger, "1") == 200
    logged = caplog.text
    assert "SMS from unknown number +86*******8888 ignored" in logged  # the privacy policy's log
    assert stranger not in logged


def _footprint(sid: str) -> Any:
    """What a status callback for ``sid`` could touch: its notification, the receipts, the
    blocked numbers, and the recipient's entries in the audit trail (the dispatcher's own
    background work, other messages and timers, is left out: it goes on meanwhile)."""

    async def look(s: Any) -> tuple[Any, ...]:
        note = (await s.scalars(select(Notification).where(Notification.provider_id == sid))).one()
        fields = ("state", "attempts", "provider_status", "last_error", "next_attempt_at")
        receipts = await s.execute(select(DeliveryReceipt.provider_id, DeliveryReceipt.status))
        blocked = await s.execute(select(BlockedNumber.phone, BlockedNumber.code))
        events = await s.execute(
            select(TaskEvent.id, TaskEvent.action).where(TaskEvent.actor == note.recipient)
        )
        return (
            tuple(getattr(note, f) for f in fields),
            sorted(tuple(r) for r in receipts),
            sorted(tuple(r) for r in blocked),
            sorted(tuple(r) for r in events),
        )

    return look


def test_a_replayed_status_callback_is_answered_200_and_changes_nothing(
    live: Any, db_url: str, twilio: TwilioStandin
) -> None:
    """Twilio retries a callback it saw no 2xx for; each is applied once, every copy gets 200."""
    server, credential = live
    with httpx.Client(base_url=server.url, timeout=10) as http:
        _post_alarm(http, credential, "status-1")
        (offer, *_) = twilio.wait_for_messages(1, where=lambda m: m.to.startswith("+86138"))
        assert offer.status_callback
        sent = {
            "MessageSid": offer.sid,
            "MessageStatus": "sent",
            "AccountSid": twilio.account_sid,
            "To": offer.to,
            "From": offer.from_,
        }
        undelivered = {**sent, "MessageStatus": "undelivered", "ErrorCode": "30003"}
        stored = select(Notification.id).where(Notification.provider_id == offer.sid)
        deadline = time.monotonic() + 20  # the outbox stores the sid after Twilio answers
        while query(db_url, lambda s: s.scalar(stored)) is None:
            assert time.monotonic() < deadline, "the offer's MessageSid was never stored"
            time.sleep(0.05)

        def post(form: dict[str, str]) -> httpx.Response:
            sig = RequestValidator(TOKEN).compute_signature(offer.status_callback or "", form)
            return http.post(
                offer.status_callback or "", data=form, headers={"X-Twilio-Signature": sig}
            )

        for form in (sent, undelivered):
            first = post(form)
            assert (first.status_code, first.content) == (200, b""), first.text
        before = query(db_url, _footprint(offer.sid))
        assert before[0][2] == "undelivered" and before[2]  # applied: the number is blocked
        for form in (sent, undelivered, sent):  # replays, out of order too
            again = post(form)
            assert (again.status_code, again.content) == (200, b""), again.text
        assert query(db_url, _footprint(offer.sid)) == before


class CallbackFirst:
    """An SMS channel whose send response comes back only once Twilio's status callback for
    that message has been answered 200 (stored): the order the outbox must survive."""

    def __init__(self, sms: SmsSender, twilio: TwilioStandin) -> None:
        self.sms, self.twilio = sms, twilio

    async def send(self, to: str, body: str) -> SmsReceipt:
        receipt = await self.sms.send(to, body)
        code = await asyncio.to_thread(
            self.twilio.send_status, receipt.provider_id, "undelivered", 30003
        )
        assert code == 200
        return receipt


async def _send_with_callback_first(settings: Settings, twilio: TwilioStandin) -> None:
    url = settings.database_url
    sms, _push = build_senders(settings)
    assert sms is not None
    engine = make_engine(url)
    sm = make_sessionmaker(engine)
    later = datetime.now(UTC) + timedelta(days=1)  # not due for the server's own outbox
    try:
        async with sm() as s, s.begin():
            await enqueue(
                s,
                Recipient("worker:99", "+8613900000099"),
                purpose="offer",
                body="任务 T9",
                now=datetime.now(UTC),
                not_before=later,
                push=False,
            )
        outbox = OutboxSender(sm, sms=CallbackFirst(sms, twilio), push=None)
        assert await outbox.process(later + timedelta(seconds=1)) == 1
    finally:
        await sms.close()
        await engine.dispose()


def test_status_callback_before_the_send_result_is_not_lost(
    live: Any, db_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    server, _ = live
    settings = settings_for(db_url, twilio, vapid, public_url=server.url)
    asyncio.run(_send_with_callback_first(settings, twilio))

    async def outcome(s: Any) -> tuple[Any, ...]:
        row = await s.scalar(select(Notification).where(Notification.recipient == "worker:99"))
        block = await s.get(BlockedNumber, "+8613900000099")
        return row.state, row.provider_status, block and block.code

    # the callback's status, not the send response's "queued"; its permanent error blocks
    assert query(db_url, outcome) == ("sent", "undelivered", "30003")
    (msg,) = [m for m in twilio.messages if m.to == "+8613900000099"]
    assert twilio.send_status(msg.sid, "sent") == 200  # late and out of order: stored only
    assert query(db_url, outcome) == ("sent", "undelivered", "30003")
