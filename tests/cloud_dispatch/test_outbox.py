"""The outbox against the stand-ins: rate limits, outages, bad numbers, expired subscriptions."""

from __future__ import annotations

import asyncio
import time
import urllib.error
import urllib.request

import pytest
from py_vapid import Vapid02
from sqlalchemy import select
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from cloud.notify.models import BlockedNumber, Notification, PushSubscription
from cloud.notify.outbox import Recipient, enqueue
from cloud.notify.push import PushSender, generate_vapid_keys
from cloud.notify.push_standin import PushStandin
from cloud.notify.sms import BaseUrlHttpClient
from cloud.notify.twilio_standin import TwilioStandin
from tests.cloud_dispatch.conftest import SID, STANDIN_POLICY, TOKEN, Rig


async def subscribe(rig: Rig, push: PushStandin, owner: str) -> str:
    sub = push.new_subscription()
    async with rig.sm() as s, s.begin():
        s.add(
            PushSubscription(
                owner=owner,
                endpoint=sub["endpoint"],
                p256dh=sub["keys"]["p256dh"],
                auth=sub["keys"]["auth"],
                created_at=rig.clock.now(),
            )
        )
    return str(sub["endpoint"])


async def queue(rig: Rig, phone: str, owner: str = "worker:1", body: str = "任务 T1") -> None:
    async with rig.sm() as s, s.begin():
        await enqueue(
            s, Recipient(owner, phone, "zh"), purpose="offer", body=body, now=rig.clock.now()
        )


async def rows(rig: Rig) -> list[Notification]:
    async with rig.sm() as s:
        return list(await s.scalars(select(Notification).order_by(Notification.id)))


async def test_rate_limit_is_retried_with_backoff(rig: Rig, twilio: TwilioStandin) -> None:
    twilio.rate_limit(times=2)
    await queue(rig, "+8613812345678")
    out = rig.dispatcher.outbox
    assert await out.process(rig.clock.now()) == 1
    (row,) = await rows(rig)
    assert row.state == "pending" and row.attempts == 1 and row.last_error.startswith("20429")
    first_wait = (row.next_attempt_at - rig.clock.now()).total_seconds()
    assert 3.0 <= first_wait <= 5.0  # 4 s base for rate limits, jittered
    assert await out.process(rig.clock.now()) == 0  # not due yet
    rig.clock.advance(first_wait)
    await out.process(rig.clock.now())
    (row,) = await rows(rig)
    second_wait = (row.next_attempt_at - rig.clock.now()).total_seconds()
    assert row.attempts == 2 and second_wait > first_wait
    rig.clock.advance(second_wait)
    await out.process(rig.clock.now())
    (row,) = await rows(rig)
    assert row.state == "sent" and row.provider_id and row.provider_status == "queued"
    assert twilio.attempts == [("+8613812345678", 429)] * 2 + [("+8613812345678", 201)]
    assert twilio.messages[0].body == "任务 T1"


async def test_outage_delays_but_never_loses(rig: Rig, twilio: TwilioStandin) -> None:
    twilio.fail(503, 20500, "Service Unavailable", times=5)
    await queue(rig, "+8613812345678")
    for _ in range(6):
        await rig.dispatcher.outbox.process(rig.clock.now())
        rig.clock.advance(400)
    (row,) = await rows(rig)
    assert row.state == "sent" and row.attempts == 6
    assert len(twilio.messages) == 1


async def test_long_outage_sends_a_push_copy_and_keeps_retrying(
    rig: Rig, twilio: TwilioStandin, push: PushStandin
) -> None:
    twilio.fail(503, 20500, "Service Unavailable", times=10)
    await subscribe(rig, push, "worker:4")
    await queue(rig, "+8613812345678", owner="worker:4")
    for _ in range(12):
        await rig.dispatcher.outbox.process(rig.clock.now())
        rig.clock.advance(400)
    sms, push_row, copy = await rows(rig)
    assert (sms.state, sms.attempts) == ("sent", 11)
    assert copy.payload["fallback_for"] == sms.id and copy.state == "sent"
    assert len(push.deliveries) == 2 and len(twilio.messages) == 1
    assert push_row.state == "sent"


@pytest.mark.parametrize(("code", "setup"), [("21211", "invalid"), ("21610", "unsubscribed")])
async def test_permanent_error_blocks_number_and_falls_back_to_push(
    rig: Rig, twilio: TwilioStandin, push: PushStandin, code: str, setup: str
) -> None:
    phone = "+8613800000099"
    getattr(twilio, "invalid_numbers" if setup == "invalid" else "unsubscribed").add(phone)
    await subscribe(rig, push, "worker:7")
    await queue(rig, phone, owner="worker:7")
    await rig.dispatcher.outbox.process(rig.clock.now())  # the SMS fails; the push was queued too
    await rig.dispatcher.outbox.process(rig.clock.now())  # the fallback push
    states = [(r.channel, r.state) for r in await rows(rig)]
    assert states == [("sms", "failed"), ("push", "sent"), ("push", "sent")]
    async with rig.sm() as s:
        blocked = await s.get(BlockedNumber, phone)
    assert blocked is not None and blocked.code == code
    assert [d.json()["body"] for d in push.deliveries] == ["任务 T1", "任务 T1"]
    await queue(rig, phone, owner="worker:7", body="next")  # later: no SMS to a blocked number
    assert [r.channel for r in (await rows(rig))[3:]] == ["push"]


async def test_expired_subscription_is_removed(rig: Rig, push: PushStandin) -> None:
    endpoint = await subscribe(rig, push, "family:3")
    push.expire(endpoint, 410)
    async with rig.sm() as s, s.begin():
        await enqueue(
            s, Recipient("family:3", "", "en"), purpose="x", body="hello", now=rig.clock.now()
        )
    await rig.dispatcher.outbox.process(rig.clock.now())
    (row,) = await rows(rig)
    assert row.state == "failed" and row.last_error.startswith("410")
    async with rig.sm() as s:
        assert (await s.scalars(select(PushSubscription))).first() is None
    assert push.rejections[0][1] == 410


async def test_push_standin_checks_vapid_and_decrypts(push: PushStandin) -> None:
    pub, priv = generate_vapid_keys()
    sender = PushSender(private_key=priv, subject="mailto:ops@example.org", policy=STANDIN_POLICY)
    sub = push.new_subscription()
    try:
        assert await sender.send(sub, {"title": "T1", "body": "跌倒"}) == 201
    finally:
        await sender.close()
    delivery = push.deliveries[0]
    assert delivery.json() == {"title": "T1", "body": "跌倒"}
    assert delivery.vapid_sub == "mailto:ops@example.org"

    # a JWT signed by one key but presented with another is refused, as is no VAPID at all
    signer = Vapid02.from_string(generate_vapid_keys()[1])
    headers = signer.sign(
        {"sub": "mailto:x@example.org", "aud": push.url, "exp": int(time.time()) + 600}
    )
    token = headers["Authorization"].split("t=")[1].split(",")[0]
    for auth in (f"vapid t={token},k={pub}", ""):
        req = urllib.request.Request(
            sub["endpoint"],
            data=b"x" * 100,
            headers={"Authorization": auth, "Content-Encoding": "aes128gcm", "TTL": "60"},
            method="POST",
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            await asyncio.to_thread(urllib.request.urlopen, req, timeout=5)
        assert err.value.code == 401
    assert [r[2].split(":")[0] for r in push.rejections] == ["vapid", "vapid"]
    assert "bad JWT signature" in push.rejections[0][2]


def test_blocking_twilio_client_reaches_the_standin(twilio: TwilioStandin) -> None:
    client = Client(SID, TOKEN, http_client=BaseUrlHttpClient(twilio.url))
    msg = client.messages.create(to="+8613800000042", from_="+15550000001", body="你好")
    assert msg.sid == twilio.messages[0].sid and msg.status == "queued"
    wrong = Client(SID, "not-the-token", http_client=BaseUrlHttpClient(twilio.url))
    with pytest.raises(TwilioRestException) as err:
        wrong.messages.create(to="+8613800000042", from_="+15550000001", body="x")
    assert err.value.status == 401 and err.value.code == 20003


async def test_one_numbers_messages_arrive_in_the_order_written(
    rig: Rig, twilio: TwilioStandin
) -> None:
    for i in range(6):
        await queue(rig, "+8613800000001", body=f"a{i}")
        await queue(rig, "+8613800000002", body=f"b{i}")
    assert await rig.dispatcher.outbox.process(rig.clock.now()) == 12
    for phone, prefix in (("+8613800000001", "a"), ("+8613800000002", "b")):
        bodies = [m.body for m in twilio.messages if m.to == phone]
        assert bodies == [f"{prefix}{i}" for i in range(6)]
