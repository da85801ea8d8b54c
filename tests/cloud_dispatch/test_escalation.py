"""Timeouts, declines, escalation to supervisors, at-risk re-dispatch, cancel on clear."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from cloud.dispatch.actors import Actor
from cloud.dispatch.models import Offer, Task, TaskEvent
from cloud.models import Alarm, Household, Resident, Worker
from cloud.notify.twilio_standin import TwilioStandin
from tests.cloud_dispatch.conftest import (
    City,
    Rig,
    close_rig,
    fast_config,
    make_rig,
    raise_alarm,
    seed_city,
    settle,
    worker_phone,
)


async def offers_of(rig: Rig) -> list[tuple[int, str, int]]:
    async with rig.sm() as s:
        rows = await s.scalars(select(Offer).order_by(Offer.id))
        return [(o.worker_id, o.state, o.escalation) for o in rows]


async def the_task(rig: Rig) -> Task:
    async with rig.sm() as s:
        return (await s.scalars(select(Task))).one()


async def test_timeouts_and_declines_escalate_to_supervisors_and_beyond(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(sqlite_url, twilio, vapid, config=fast_config(workers_before_escalation=3))
    try:
        city = await seed_city(rig.sm, workers=5)
        w, sup = city.workers, city.supervisors
        await raise_alarm(rig.sm, city, "inactivity", "high")  # high: one at a time, 300 s
        await settle(rig)
        assert await offers_of(rig) == [(w[0], "pending", 0)]

        rig.clock.advance(299)
        await settle(rig)
        assert len(await offers_of(rig)) == 1  # not yet
        rig.clock.advance(2)
        await settle(rig)
        assert await offers_of(rig) == [(w[0], "timeout", 0), (w[1], "pending", 0)]

        task = await the_task(rig)
        await rig.dispatcher.act(task.id, Actor(f"worker:{w[1]}", "sms"), "decline")
        await settle(rig)  # a decline moves on at once
        assert (await offers_of(rig))[-1] == (w[2], "pending", 0)

        rig.clock.advance(301)
        await settle(rig)  # three workers asked: the district supervisor next
        assert (await offers_of(rig))[-1] == (sup[0], "pending", 1)
        rig.clock.advance(301)
        await settle(rig)  # then any supervisor
        assert (await offers_of(rig))[-1] == (sup[1], "pending", 2)
        rig.clock.advance(301)
        await settle(rig)  # and round again: nobody is ever dropped
        assert (await offers_of(rig))[-1][1:] == ("pending", 3)

        await rig.dispatcher.act(
            task.id, Actor(f"worker:{(await offers_of(rig))[-1][0]}", "sms"), "accept"
        )
        task = await the_task(rig)
        assert task.state == "accepted" and task.escalation == 3
        async with rig.sm() as s:
            actions = [e.action for e in await s.scalars(select(TaskEvent).order_by(TaskEvent.id))]
        assert actions.count("offer_timeout") == 4
        assert actions.count("declined") == 1
        assert actions.count("escalated") == 3
        sms_to = [m.to for m in twilio.messages]
        assert worker_phone(3) not in sms_to  # N=3 workers, then supervisors
        assert "+8613700000001" in sms_to and "+8613700000002" in sms_to
    finally:
        await close_rig(rig)


async def test_unfit_workers_are_skipped(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(
        sqlite_url, twilio, vapid, config=fast_config(kind_skills={"fall": ["lift"]})
    )
    try:
        city = await seed_city(rig.sm, workers=6)
        w = city.workers
        async with rig.sm() as s, s.begin():
            await s.execute(update(Worker).where(Worker.id == w[0]).values(duty_status="off"))
            stale = rig.clock.now().replace(hour=6)
            await s.execute(update(Worker).where(Worker.id == w[1]).values(location_at=stale))
            await s.execute(update(Worker).where(Worker.id.in_(w[2:4])).values(skills=["nurse"]))
            await s.execute(update(Worker).where(Worker.id.in_(w[3:])).values(skills=["lift"]))
        await rig.dispatcher.sync_index(full=True)
        await raise_alarm(rig.sm, city, "fall", "critical")
        await settle(rig)
        assert [o[0] for o in await offers_of(rig)] == w[3:6]
    finally:
        await close_rig(rig)


async def test_at_risk_task_is_redispatched(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(sqlite_url, twilio, vapid, config=fast_config(at_risk_minutes=20))
    try:
        city = await seed_city(rig.sm, workers=4)
        w = city.workers
        await raise_alarm(rig.sm, city, "not_up", "high")
        await settle(rig)
        task = await the_task(rig)
        rig.clock.advance(60)
        await rig.dispatcher.act(task.id, Actor(f"worker:{w[0]}", "app"), "accept")
        rig.clock.advance(18 * 60)
        await settle(rig)
        assert (await the_task(rig)).state == "accepted"
        async with rig.sm() as s, s.begin():  # phones keep reporting their position
            await s.execute(update(Worker).values(location_at=rig.clock.now()))
        await rig.dispatcher.sync_index(full=True)
        rig.clock.advance(2 * 60)
        await settle(rig)
        task = await the_task(rig)
        assert task.at_risk and task.state == "offered" and task.worker_id is None
        assert (await offers_of(rig))[-1] == (w[1], "pending", 0)
        assert any("改派" in m.body for m in twilio.messages if m.to == worker_phone(0))
    finally:
        await close_rig(rig)


async def test_cleared_alarm_cancels_task_nobody_went_to(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(sqlite_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm)
        pk = await raise_alarm(rig.sm, city, "fall", "critical")
        await settle(rig)
        async with rig.sm() as s, s.begin():
            await s.execute(update(Alarm).where(Alarm.id == pk).values(status="cancelled"))
        await settle(rig)
        task = await the_task(rig)
        assert task.state == "cancelled"
        assert {o[1] for o in await offers_of(rig)} == {"withdrawn"}
        async with rig.sm() as s:
            ev = (await s.scalars(select(TaskEvent).where(TaskEvent.action == "cancelled"))).one()
        assert ev.detail == {"reason": "alarm cleared"}

        # once someone is on the way, a clear does not call them back
        pk2 = await raise_alarm(rig.sm, city, "sos", "critical")
        await settle(rig)
        async with rig.sm() as s:
            t2 = (await s.scalars(select(Task).where(Task.id != task.id))).one()
            first = (await s.scalars(select(Offer).where(Offer.task_id == t2.id))).first()
        assert first is not None
        await rig.dispatcher.act(t2.id, Actor(f"worker:{first.worker_id}", "sms"), "accept")
        await rig.dispatcher.act(t2.id, Actor(f"worker:{first.worker_id}", "sms"), "en_route")
        async with rig.sm() as s, s.begin():
            await s.execute(update(Alarm).where(Alarm.id == pk2).values(status="cleared"))
        await settle(rig)
        async with rig.sm() as s:
            assert (await s.get(Task, t2.id)).state == "en_route"  # type: ignore[union-attr]
    finally:
        await close_rig(rig)


async def test_warnings_become_maintenance_and_hints_become_clues(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(sqlite_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm, workers=3)
        async with rig.sm() as s, s.begin():
            await s.execute(
                update(Worker).where(Worker.id == city.workers[2]).values(skills=["installer"])
            )
        await rig.dispatcher.sync_index(full=True)
        await raise_alarm(rig.sm, city, "battery_low", "warning")
        await raise_alarm(rig.sm, city, "off_wrist", "warning")
        await raise_alarm(rig.sm, city, "test", "info")
        await settle(rig)
        task = await the_task(rig)
        assert task.kind == "maintenance" and task.skills == ["installer"]
        assert [o[0] for o in await offers_of(rig)] == [city.workers[2]]
        async with rig.sm() as s:
            states = sorted((a.kind, a.dispatch_state) for a in await s.scalars(select(Alarm)))
        assert states == [("battery_low", "queued"), ("off_wrist", "done"), ("test", "ignored")]
        assert not [m for m in twilio.messages if m.to.startswith("+86139")]  # family not told
    finally:
        await close_rig(rig)


async def test_one_failing_task_does_not_stall_the_others(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(sqlite_url, twilio, vapid)
    try:
        city = await seed_city(rig.sm, workers=4)
        await raise_alarm(rig.sm, city, "inactivity", "high")
        await settle(rig)
        first = await the_task(rig)
        real_advance = rig.dispatcher.lifecycle.advance

        async def advance(session: object, task: Task, now: object) -> None:
            if task.id == first.id:
                raise RuntimeError("injected fault")
            await real_advance(session, task, now)  # type: ignore[arg-type]

        rig.dispatcher.lifecycle.advance = advance  # type: ignore[method-assign]
        async with rig.sm() as s, s.begin():  # a second home with its own alarm
            s.add(Household(id="home-2", address="2 Road", lat=31.23, lon=121.47, district="d1"))
            await s.flush()
            s.add(Resident(household_id="home-2", first_name="Bo"))
        await raise_alarm(rig.sm, City(household_id="home-2"), "inactivity", "high")
        rig.clock.advance(301)  # the first task's offer is due: its advance fails
        await settle(rig)
        async with rig.sm() as s:
            tasks = {t.household_id: t for t in await s.scalars(select(Task))}
        assert tasks["home-2"].state == "offered"
        stuck = tasks["home-1"]
        assert stuck.next_action_at == rig.clock.now() + timedelta(seconds=60)
        rig.dispatcher.lifecycle.advance = real_advance  # type: ignore[method-assign]
        rig.clock.advance(61)
        await settle(rig)
        async with rig.sm() as s:
            offers = await s.scalars(select(Offer).where(Offer.task_id == first.id))
            assert [(o.worker_id, o.state) for o in offers] == [
                (city.workers[0], "timeout"),
                (city.workers[1], "pending"),
            ]
    finally:
        await close_rig(rig)
