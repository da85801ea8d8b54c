"""SMS reply codes, quiet hours, family claims."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from cloud.dispatch.actors import Actor
from cloud.dispatch.family import quiet_until
from cloud.dispatch.models import Clue, Offer, Outcome, Task
from cloud.dispatch.replies import Command, Reply, parse_reply
from cloud.models import FamilyContact
from cloud.notify.models import Notification
from tests.cloud_dispatch.conftest import Rig, raise_alarm, seed_city, settle


@pytest.mark.parametrize(
    ("body", "want"),
    [
        ("1", Reply(Command.ACCEPT)),
        (" 1 T0042 ", Reply(Command.ACCEPT, 42)),
        ("yes t7", Reply(Command.ACCEPT, 7)),
        ("接受", Reply(Command.ACCEPT)),
        ("2 T0042", Reply(Command.DECLINE, 42)),
        ("拒绝", Reply(Command.DECLINE)),
        ("3", Reply(Command.ARRIVED)),
        ("到达 T1", Reply(Command.ARRIVED, 1)),
        ("4 T0042 2", Reply(Command.DONE, 42, Outcome.FALSE_ALARM)),
        ("4 1", Reply(Command.DONE, None, Outcome.ASSISTED)),
        ("done hospital", Reply(Command.DONE, None, Outcome.HOSPITAL)),
        ("4", Reply(Command.DONE)),
        ("hello", None),
        ("", None),
        ("1 banana", None),
        ("4 T1 99", None),
    ],
)
def test_parse_reply(body: str, want: Reply | None) -> None:
    assert parse_reply(body) == want


def test_quiet_hours() -> None:
    night = datetime(2026, 11, 22, 15, 30, tzinfo=UTC)  # 23:30 in Shanghai
    end = quiet_until(night, "22:00", "07:00", "Asia/Shanghai")
    assert end == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)  # 07:00 next morning there
    day = datetime(2026, 11, 22, 4, 0, tzinfo=UTC)  # noon there
    assert quiet_until(day, "22:00", "07:00", "Asia/Shanghai") is None
    assert quiet_until(night, None, None, "Asia/Shanghai") is None
    assert quiet_until(day, "11:00", "13:00", "Asia/Shanghai") == datetime(
        2026, 11, 22, 5, 0, tzinfo=UTC
    )


async def test_family_claim_and_quiet_hours(rig: Rig) -> None:
    city = await seed_city(rig.sm, workers=2)
    async with rig.sm() as s, s.begin():
        await s.execute(
            update(FamilyContact)
            .where(FamilyContact.id == city.family[0])
            .values(quiet_start="15:00", quiet_end="17:00")  # 16:00 in Shanghai now
        )
    await raise_alarm(rig.sm, city, "inactivity", "high")
    await settle(rig)
    async with rig.sm() as s:
        held = (
            await s.scalars(
                select(Notification).where(Notification.recipient == f"family:{city.family[0]}")
            )
        ).one()
    assert held.state == "pending" and held.next_attempt_at.hour == 9  # 17:00 local = 09:00 UTC

    son = Actor(f"family:{city.family[0]}", "sms")
    task = await rig.dispatcher.find_task(son, Command.ACCEPT, None)
    assert task is not None
    await rig.dispatcher.act(task.id, son, Command.ACCEPT)
    daughter = Actor(f"family:{city.family[1]}", "sms")  # may_claim is off for her
    assert await rig.dispatcher.find_task(daughter, Command.ACCEPT, None) is None
    async with rig.sm() as s:
        task = await s.get(Task, task.id)
        offers = list(await s.scalars(select(Offer)))
    assert task is not None and task.state == "accepted"
    assert task.family_contact_id == city.family[0] and task.worker_id is None
    assert [o.state for o in offers] == ["withdrawn"]
    await rig.dispatcher.act(task.id, son, Command.ARRIVED)
    await rig.dispatcher.act(task.id, son, Command.DONE, outcome="assisted")


async def test_repeated_night_wandering_leaves_one_clue(rig: Rig) -> None:
    city = await seed_city(rig.sm, workers=2)
    for _ in range(4):
        await raise_alarm(rig.sm, city, "night_wandering", "high", now=rig.clock.now())
        await settle(rig)
        rig.clock.advance(3600)
    async with rig.sm() as s:
        clues = [(c.kind, c.note) for c in await s.scalars(select(Clue))]
        tasks = list(await s.scalars(select(Task)))
    assert clues == [("night_wandering_repeated", "night wandering: 3+ times in 7 days")]
    assert len(tasks) == 1  # each one also a response: they joined the open task


async def test_a_fall_the_resident_got_up_from_is_a_clue_not_a_task(rig: Rig) -> None:
    city = await seed_city(rig.sm, workers=2)
    for _ in range(2):
        await raise_alarm(rig.sm, city, "fall_recovered", "info", now=rig.clock.now())
        await settle(rig)
        rig.clock.advance(86400)
    async with rig.sm() as s:
        clues = sorted(c.kind for c in await s.scalars(select(Clue)))
        tasks = list(await s.scalars(select(Task)))
        offers = list(await s.scalars(select(Offer)))
    assert clues == ["fall_recovered", "fall_recovered", "fall_recovered_repeated"]
    assert tasks == [] and offers == []
