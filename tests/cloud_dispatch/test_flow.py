"""An alarm becomes a task, is offered, accepted, reached and resolved, on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from cloud.dispatch.actors import Actor, TransitionError
from cloud.dispatch.audit import verify_task
from cloud.dispatch.models import Clue, Offer, Task, TaskEvent
from cloud.models import Alarm
from cloud.notify.models import Notification
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from tests.cloud_dispatch.conftest import (
    FROM,
    Rig,
    close_rig,
    make_rig,
    raise_alarm,
    seed_city,
    settle,
    worker_phone,
)


async def test_critical_alarm_full_lifecycle(
    db_url: str, twilio: TwilioStandin, push: PushStandin, vapid: tuple[str, str]
) -> None:
    rig: Rig = await make_rig(db_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm)
        await raise_alarm(rig.sm, city, "sos", "critical")
        await settle(rig)
        async with rig.sm() as s:
            task = (await s.scalars(select(Task))).one()
            offers = list(await s.scalars(select(Offer).order_by(Offer.distance_km)))
        assert task.number == "T20261122-0001"
        assert task.state == "offered"
        assert [o.worker_id for o in offers] == city.workers[:3]  # critical: 3 nearest at once
        assert offers[0].distance_km == pytest.approx(0.5, abs=0.01)

        sent = twilio.wait_for_messages(5)
        to_workers = {m.to: m for m in sent if m.to.startswith("+86138")}
        assert set(to_workers) == {worker_phone(i) for i in range(3)}
        zh = to_workers[worker_phone(0)].body
        assert "T20261122-0001" in zh and "Mei" in zh and "88 Huaihai Rd" in zh
        assert "紧急呼叫" in zh and "回复 1 T0001 接受" in zh
        assert "4711" not in zh  # the key-safe code only once the task is theirs
        en = to_workers[worker_phone(1)].body
        assert "an SOS call" in en and "Reply 1 T0001 to accept" in en and "diabetes" in en
        assert all(m.from_ == FROM for m in sent)
        family = {m.to: m.body for m in sent if m.to.startswith("+86139")}
        assert "reply 1 T0001" in family["+8613900000001"]  # may claim
        assert "我们正在派人上门" in family["+8613900000002"]  # wants sos

        # a related alarm from the same home joins the open task
        await raise_alarm(rig.sm, city, "inactivity", "high")
        await settle(rig)
        async with rig.sm() as s:
            assert (await s.scalar(select(Task.id).where(Task.id != task.id))) is None

        d = rig.dispatcher
        rig.clock.advance(30)
        await d.act(task.id, Actor(f"worker:{city.workers[1]}", "sms"), "accept")
        with pytest.raises(TransitionError):
            await d.act(task.id, Actor(f"worker:{city.workers[0]}", "sms"), "accept")
        with pytest.raises(TransitionError):  # nobody but the assignee may arrive
            await d.act(task.id, Actor(f"worker:{city.workers[0]}", "app"), "arrived")
        rig.clock.advance(600)
        await d.act(task.id, Actor(f"worker:{city.workers[1]}", "app"), "en_route")
        await d.act(task.id, Actor(f"worker:{city.workers[1]}", "sms"), "arrived")
        with pytest.raises(TransitionError):  # outcome is required
            await d.act(task.id, Actor(f"worker:{city.workers[1]}", "app"), "done")
        await d.act(
            task.id, Actor(f"worker:{city.workers[1]}", "app"), "done", outcome="false_alarm"
        )
        await settle(rig)

        async with rig.sm() as s:
            task = await s.get(Task, task.id)
            assert task is not None
            assert task.state == "resolved" and task.outcome == "false_alarm"
            states = {o.worker_id: o.state for o in await s.scalars(select(Offer))}
            assert states == {
                city.workers[0]: "withdrawn",
                city.workers[1]: "accepted",
                city.workers[2]: "withdrawn",
            }
            alarms = list(await s.scalars(select(Alarm)))
            assert {a.status for a in alarms} == {"resolved"}
            assert {a.dispatch_state for a in alarms} == {"done"}
            clue = (await s.scalars(select(Clue))).one()  # a false alarm is a clue
            assert clue.kind == "false_alarm"
            actions = [
                e.action
                for e in await s.scalars(
                    select(TaskEvent).where(TaskEvent.task_id == task.id).order_by(TaskEvent.seq)
                )
            ]
            assert actions[:5] == ["created", "offered", "offered", "offered", "alarm_joined"]
            assert actions[5:] == ["accepted", "en_route", "arrived", "resolved"]
            assert (await verify_task(s, task)).ok
            purposes = {(n.recipient, n.purpose) for n in await s.scalars(select(Notification))}
        assert (f"worker:{city.workers[1]}", "accepted") in purposes
        accepted = [m.body for m in twilio.messages if m.to == worker_phone(1)]
        assert any("You accepted" in b and "Access: key box 4711" in b for b in accepted)
        assert (f"family:{city.family[0]}", "family_on_the_way") in purposes
        assert (f"family:{city.family[0]}", "family_closed") in purposes
        son = [m.body for m in twilio.messages if m.to == "+8613900000001"]
        assert son[-1] == "[carewatch] Task T20261122-0001 is closed: it was a false alarm."
        assert son[-2] == "[carewatch] worker 1 is on the way to Mei (task T20261122-0001)."
        bodies = [m.body for m in twilio.messages if m.to == worker_phone(1)]
        assert any("3 T0001" in b and "4 T0001" in b for b in bodies)
    finally:
        await close_rig(rig)


async def test_tampering_is_detected(
    db_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(db_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm)
        await raise_alarm(rig.sm, city)
        await settle(rig)
        async with rig.sm() as s:
            task = (await s.scalars(select(Task))).one()
            assert (await verify_task(s, task)).ok
        async with rig.sm() as s, s.begin():
            await s.execute(text("ALTER TABLE dispatch_task_events DISABLE TRIGGER USER")) if (
                rig.engine.dialect.name == "postgresql"
            ) else None
            await s.execute(
                update(TaskEvent)
                .where(TaskEvent.task_id == task.id, TaskEvent.seq == 2)
                .values(actor="worker:999")
            )
        async with rig.sm() as s:
            v = await verify_task(s, task)
        assert not v.ok and v.first_bad_seq == 2
    finally:
        await close_rig(rig)


async def test_postgres_refuses_editing_the_trail(
    pg_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(pg_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm)
        await raise_alarm(rig.sm, city)
        await settle(rig)
        with pytest.raises(DBAPIError, match="append-only"):
            async with rig.sm() as s, s.begin():
                await s.execute(update(TaskEvent).values(actor="someone else"))
        with pytest.raises(DBAPIError, match="append-only"):
            async with rig.sm() as s, s.begin():
                await s.execute(text("DELETE FROM dispatch_task_events"))
    finally:
        await close_rig(rig)
