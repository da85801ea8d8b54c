"""Timers live in PostgreSQL: a restart loses nothing, two instances never double-offer."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from cloud.dispatch.clock import ManualClock
from cloud.dispatch.models import Offer, Task
from cloud.models import Household, Resident
from cloud.notify.models import Notification
from cloud.notify.twilio_standin import TwilioStandin
from tests.cloud_dispatch.conftest import (
    HOME,
    T0,
    City,
    Rig,
    close_rig,
    fast_config,
    make_rig,
    raise_alarm,
    seed_city,
    settle,
)


async def test_restart_keeps_pending_offer_and_its_timeout(
    pg_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    clock = ManualClock(T0)
    first = await make_rig(pg_url, twilio, vapid, clock=clock)
    city = await seed_city(first.sm)
    await raise_alarm(first.sm, city, "inactivity", "high")
    await settle(first)
    await close_rig(first)  # the instance goes away with an offer pending

    clock.advance(301)
    second = await make_rig(pg_url, twilio, vapid, clock=clock)
    try:
        await settle(second)
        async with second.sm() as s:
            offers = [
                (o.worker_id, o.state) for o in await s.scalars(select(Offer).order_by(Offer.id))
            ]
        assert offers == [(city.workers[0], "timeout"), (city.workers[1], "pending")]
        assert len(twilio.wait_for_messages(2)) >= 2
    finally:
        await close_rig(second)


async def test_two_instances_share_the_work_without_duplicates(
    pg_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    clock = ManualClock(T0)
    config = fast_config(parallel_offers={"critical": 2})
    a = await make_rig(pg_url, twilio, vapid, clock=clock, config=config)
    b = await make_rig(pg_url, twilio, vapid, clock=clock, config=config)
    try:
        city = await seed_city(a.sm, workers=60)
        homes = 30
        async with a.sm() as s, s.begin():
            for i in range(homes):
                hid = f"home-x{i}"
                s.add(
                    Household(
                        id=hid,
                        address=f"{i} Road",
                        lat=HOME[0] + 0.001 * i,
                        lon=HOME[1],
                        district="d1",
                    )
                )
                await s.flush()
                s.add(Resident(household_id=hid, first_name=f"R{i}"))
        for i in range(homes):
            await raise_alarm(a.sm, City(household_id=f"home-x{i}", gateway_id=city.gateway_id))
        await a.dispatcher.sync_index(full=True)
        await b.dispatcher.sync_index(full=True)

        busy: Counter[str] = Counter()

        async def drive(rig: Rig, name: str) -> None:
            for _ in range(40):
                if not await rig.dispatcher.run_due(batch=3):
                    break
                busy[name] += 1
            await settle(rig)

        for _ in range(4):  # the first offers, then three timeouts, both instances racing
            while await a.dispatcher.intake():
                pass
            await asyncio.gather(drive(a, "a"), drive(b, "b"))
            clock.advance(121)

        async with a.sm() as s:
            tasks = list(await s.scalars(select(Task)))
            offers = list(await s.scalars(select(Offer)))
            sms = list(await s.scalars(select(Notification).where(Notification.channel == "sms")))
            unsent = await s.scalar(
                select(func.count()).select_from(Notification).where(Notification.state != "sent")
            )
        assert len(tasks) == homes  # one task per home, never two
        per_round = Counter((o.task_id, o.round) for o in offers)
        # exactly k=2 workers per task in rounds 1-3, then one supervisor in round 4
        shape = Counter((r, n) for (_, r), n in per_round.items())
        assert shape == {(1, 2): homes, (2, 2): homes, (3, 2): homes, (4, 1): homes}
        assert busy["a"] > 0 and busy["b"] > 0  # both instances did part of the work
        per_worker = Counter((o.task_id, o.worker_id) for o in offers)
        assert max(per_worker.values()) == 1  # nobody is offered the same task twice
        assert {t.offer_round for t in tasks} == {4}  # every timeout was taken, once
        assert unsent == 0
        provider = Counter(m.to for m in twilio.messages)
        ours = Counter(n.address for n in sms)
        assert provider == ours  # each queued SMS reached the provider exactly once
    finally:
        await close_rig(a)
        await close_rig(b)
