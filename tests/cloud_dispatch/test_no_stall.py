"""Dispatch never stalls: no supervisor means offering on (unstaffed), and a task waiting
for someone is offered the moment a worker becomes available, on any instance."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.cli import main
from cloud.console.live import open_tasks
from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.actors import Actor
from cloud.dispatch.clock import ManualClock
from cloud.dispatch.models import Offer, Task, TaskEvent
from cloud.dispatch.staffing import districts_without_target
from cloud.models import Household, Resident, Worker
from cloud.notify.twilio_standin import TwilioStandin
from testbed import free_port
from tests.cloud_dispatch.conftest import (
    HOME,
    T0,
    City,
    LiveServer,
    Rig,
    add_login,
    close_rig,
    fast_config,
    make_rig,
    raise_alarm,
    seed_city,
    settings_for,
    settle,
)
from tests.cloud_dispatch.test_api import login

FRESH = 86_400.0  # positions stay fresh for the whole test


async def _offers(rig: Rig, task_id: int | None = None) -> list[tuple[int, int]]:
    """(worker_id, round) of every offer, in order."""
    async with rig.sm() as s:
        query = select(Offer).order_by(Offer.id)
        if task_id is not None:
            query = query.where(Offer.task_id == task_id)
        return [(o.worker_id, o.round) for o in await s.scalars(query)]


async def _actions(rig: Rig) -> list[str]:
    async with rig.sm() as s:
        return [e.action for e in await s.scalars(select(TaskEvent).order_by(TaskEvent.id))]


async def _tasks(rig: Rig) -> list[Task]:
    async with rig.sm() as s:
        return list(await s.scalars(select(Task).order_by(Task.id)))


async def _drop_supervisors(rig: Rig, ids: list[int]) -> None:
    async with rig.sm() as s, s.begin():
        await s.execute(delete(Worker).where(Worker.id.in_(ids)))


async def test_no_supervisor_in_the_district_offers_on_to_every_worker(
    db_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(db_url, twilio, vapid, config=fast_config(max_location_age_s=FRESH))
    try:
        city = await seed_city(rig.sm, workers=15)
        await _drop_supervisors(rig, city.supervisors[:1])  # d1 has none; d2's remains
        w, other_sup = city.workers, city.supervisors[1]
        await raise_alarm(rig.sm, city, "sos", "critical")  # 3 at once, 120 s
        await settle(rig)
        for _ in range(5):
            rig.clock.advance(121)
            await settle(rig)
        by_round: dict[int, set[int]] = {}
        for worker_id, rnd in await _offers(rig):
            by_round.setdefault(rnd, set()).add(worker_id)
        assert by_round[1] | by_round[2] | by_round[3] == set(w[:9])
        assert by_round[4] == {other_sup, *w[9:12]}  # was: the supervisor only, then stall
        assert by_round[5] == {other_sup, *w[12:15]}
        assert set(w[:3]) <= by_round[6]  # everyone asked: round again, nobody dropped
        (task,) = await _tasks(rig)
        assert task.unstaffed and task.state == "offered"
        actions = Counter(await _actions(rig))
        assert actions["unstaffed"] == 1 and actions["no_one_available"] == 0
        async with rig.sm() as s:
            (live,), _more = await open_tasks(s)
            assert live.unstaffed and live.number == task.number
            assert await districts_without_target(s) == [("d1", 1)]
    finally:
        await close_rig(rig)


async def test_no_supervisor_anywhere_still_offers_to_the_remaining_workers(
    db_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    config = fast_config(workers_before_escalation=2, max_location_age_s=FRESH)
    rig = await make_rig(db_url, twilio, vapid, config=config)
    try:
        city = await seed_city(rig.sm, workers=4)
        await _drop_supervisors(rig, city.supervisors)
        w = city.workers
        await raise_alarm(rig.sm, city, "inactivity", "high")  # one at a time, 300 s
        await settle(rig)
        for _ in range(4):
            rig.clock.advance(301)
            await settle(rig)
        assert [worker for worker, _ in await _offers(rig)] == [w[0], w[1], w[2], w[3], w[0]]
        actions = Counter(await _actions(rig))
        assert actions["no_one_available"] == 0 and actions["escalated"] == 1
        assert (await _tasks(rig))[0].unstaffed
    finally:
        await close_rig(rig)


async def _on_duty(rig: Rig, worker_id: int) -> int:
    """What the worker app's duty call does: the row, then the dispatcher is told."""
    async with rig.sm() as s, s.begin():
        await s.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(duty_status="on", updated_at=rig.clock.now())
        )
    async with rig.sm() as s:
        worker = await s.get(Worker, worker_id)
    assert worker is not None
    return await rig.dispatcher.worker_changed(worker)


async def test_a_waiting_task_goes_out_as_soon_as_a_worker_is_available(
    db_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    rig = await make_rig(db_url, twilio, vapid, config=fast_config(max_location_age_s=FRESH))
    try:
        city = await seed_city(rig.sm, workers=2)
        w = city.workers
        async with rig.sm() as s, s.begin():
            await s.execute(update(Worker).values(duty_status="off"))
            await s.execute(update(Worker).where(Worker.role == "supervisor").values(active=False))
        await rig.dispatcher.sync_index(full=True)
        await raise_alarm(rig.sm, city, "sos", "critical")
        await settle(rig)
        (first,) = await _tasks(rig)
        assert await _offers(rig) == [] and first.next_action_at == T0 + timedelta(seconds=120)

        assert await _on_duty(rig, w[0]) == 1  # goes on duty: due now, no two-minute wait
        await settle(rig)
        assert [o for o, _ in await _offers(rig, first.id)] == [w[0]]
        await rig.dispatcher.act(first.id, Actor(f"worker:{w[0]}", "app"), "accept")

        second_home = City(household_id="home-2", gateway_id=city.gateway_id)
        async with rig.sm() as s, s.begin():
            s.add(Household(id="home-2", address="2 Road", lat=HOME[0], lon=HOME[1], district="d1"))
            await s.flush()
            s.add(Resident(household_id="home-2", first_name="Bo"))
        await raise_alarm(rig.sm, second_home, "sos", "critical")
        await settle(rig)
        second = (await _tasks(rig))[1]
        assert await _offers(rig, second.id) == []  # the only worker on duty is busy

        rig.clock.advance(5)
        await rig.dispatcher.act(first.id, Actor(f"worker:{w[0]}", "app"), "arrived")
        await rig.dispatcher.act(
            first.id, Actor(f"worker:{w[0]}", "app"), "done", outcome="assisted"
        )
        await settle(rig)  # closing a task frees the worker: the waiting task is offered
        assert [o for o, _ in await _offers(rig, second.id)] == [w[0]]
    finally:
        await close_rig(rig)


async def test_an_instance_with_a_stale_index_still_offers_at_once(
    pg_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    clock = ManualClock(T0)
    stale = fast_config(index_refresh_s=3600.0, max_location_age_s=FRESH)
    a = await make_rig(pg_url, twilio, vapid, clock=clock, config=stale)
    b = await make_rig(pg_url, twilio, vapid, clock=clock, config=fast_config())
    try:
        city = await seed_city(a.sm, workers=2)
        async with a.sm() as s, s.begin():
            await s.execute(update(Worker).values(duty_status="off"))
            await s.execute(update(Worker).where(Worker.role == "supervisor").values(active=False))
        await a.dispatcher.sync_index(full=True)
        await raise_alarm(a.sm, city, "sos", "critical")
        await settle(a)
        assert await _offers(a) == []

        clock.advance(1)
        assert await _on_duty(b, city.workers[1]) == 1  # told to the other instance
        await settle(a)  # A's index was a second old and knew nobody on duty
        assert [o for o, _ in await _offers(a)] == [city.workers[1]]
    finally:
        await close_rig(a)
        await close_rig(b)


def test_check_reports_districts_without_an_escalation_target(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def seed() -> None:
        engine = make_engine(sqlite_url)
        sm = make_sessionmaker(engine)
        city = await seed_city(sm, workers=1)
        async with sm() as s, s.begin():
            await s.execute(delete(Worker).where(Worker.id == city.supervisors[0]))
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("CAREWATCH_DATABASE_URL", sqlite_url)
    assert main(["check"]) == 0  # development: a warning
    assert "district 'd1': no escalation target" in capsys.readouterr().out
    monkeypatch.setenv("CAREWATCH_PRODUCTION", "true")
    monkeypatch.setenv("CAREWATCH_SECRET_KEY", "k" * 40)
    assert main(["check"]) == 1
    assert "error: district 'd1'" in capsys.readouterr().out


def _until(url: str, query: Callable[[AsyncSession], Awaitable[bool]], what: str) -> None:
    """Wait (bounded) until ``query`` holds in the service's database."""

    async def check() -> bool:
        engine = make_engine(url)
        try:
            async with make_sessionmaker(engine)() as s:
                return await query(s)
        finally:
            await engine.dispose()

    deadline = time.monotonic() + 30
    while not asyncio.run(check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_duty_and_registration_through_the_api_retry_waiting_tasks(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    now = datetime.now(UTC)

    async def prepare() -> City:
        engine = make_engine(sqlite_url)
        sm = make_sessionmaker(engine)
        city = await seed_city(sm, workers=1, now=now)
        async with sm() as s, s.begin():
            await s.execute(update(Worker).values(duty_status="off"))
            await s.execute(update(Worker).where(Worker.role == "supervisor").values(active=False))
            await create_user(s, "op", "operator-password", Role.ADMIN)
        await add_login(sm, "w0", "worker-password", city.workers[0])
        await raise_alarm(sm, city, "sos", "critical", now=now)
        await engine.dispose()
        return city

    city = asyncio.run(prepare())

    def offered_to(worker_id: int | None = None) -> Callable[[AsyncSession], Awaitable[bool]]:
        async def query(s: AsyncSession) -> bool:
            ids = set(await s.scalars(select(Offer.worker_id)))
            return worker_id in ids if worker_id else not ids

        return query

    async def waiting(s: AsyncSession) -> bool:
        return "no_one_available" in set(await s.scalars(select(TaskEvent.action)))

    # the retry timer is far away: only the nudge can offer within the wait
    config = fast_config(idle_s=0.3, offer_timeout_s={"critical": 3600.0})
    settings = settings_for(sqlite_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    with (
        LiveServer(settings, dispatch_config=config) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        _until(sqlite_url, waiting, "the task to wait for someone")
        w = login(http, "w0", "worker-password")
        assert http.post("/api/v1/worker/duty", json={"on_duty": True}, headers=w).is_success
        _until(sqlite_url, offered_to(city.workers[0]), "the offer to the worker on duty")

        admin = login(http, "op", "operator-password")
        cancel = http.post(
            "/api/v1/tasks/1/cancel", json={"reason": "test: next case"}, headers=admin
        )
        assert cancel.is_success, cancel.text
        assert http.post("/api/v1/worker/duty", json={"on_duty": False}, headers=w).is_success
        asyncio.run(_raise(sqlite_url, city, now))
        _until(sqlite_url, waiting_twice, "the second task to wait")
        new = {
            "name": "new worker",
            "phone": "+8613811112222",
            "duty_status": "on",
            "lat": HOME[0],
            "lon": HOME[1],
            "location_at": datetime.now(UTC).isoformat(),
        }
        created = http.post("/api/v1/workers", json=new, headers=admin)
        assert created.status_code == 201, created.text
        _until(sqlite_url, offered_to(created.json()["id"]), "the offer to the new worker")


async def _raise(url: str, city: City, now: datetime) -> None:
    engine = make_engine(url)
    try:
        await raise_alarm(make_sessionmaker(engine), city, "sos", "critical", now=now)
    finally:
        await engine.dispose()


async def waiting_twice(s: AsyncSession) -> bool:
    """Two tasks have waited for someone."""
    actions = list(await s.scalars(select(TaskEvent.action)))
    return actions.count("no_one_available") >= 2


async def _fix(rig: Rig, worker_id: int, lat: float) -> int:
    """What the worker app's location call does."""
    async with rig.sm() as s:
        old = await s.get(Worker, worker_id)
        assert old is not None
        before = (old.lat, old.lon, old.location_at)
    async with rig.sm() as s, s.begin():
        await s.execute(
            update(Worker)
            .where(Worker.id == worker_id)
            .values(lat=lat, location_at=rig.clock.now(), updated_at=rig.clock.now())
        )
    async with rig.sm() as s:
        worker = await s.get(Worker, worker_id)
    assert worker is not None
    retry = rig.dispatcher.position_fix_matters(before, worker)
    return await rig.dispatcher.worker_changed(worker, retry=retry)


async def test_routine_position_fixes_do_not_churn_a_waiting_task(
    sqlite_url: str, twilio: TwilioStandin, vapid: tuple[str, str]
) -> None:
    config = fast_config(max_location_age_s=FRESH, max_distance_km=5.0)
    rig = await make_rig(sqlite_url, twilio, vapid, config=config)
    try:
        city = await seed_city(rig.sm, workers=1)
        w0 = city.workers[0]
        far = HOME[0] + 0.1  # about 11 km north: out of reach
        async with rig.sm() as s, s.begin():
            await s.execute(update(Worker).values(duty_status="off"))
            await s.execute(update(Worker).where(Worker.role == "supervisor").values(active=False))
            await s.execute(update(Worker).where(Worker.id == w0).values(lat=far))
        await rig.dispatcher.sync_index(full=True)
        await raise_alarm(rig.sm, city, "sos", "critical")
        await settle(rig)
        assert await _on_duty(rig, w0) == 1  # on duty, but too far: tried, nobody yet
        await settle(rig)
        assert await _fix(rig, w0, far + 0.001) == 0  # a fix 100 m on: nothing new in reach
        assert Counter(await _actions(rig))["no_one_available"] == 1  # once per wait
        assert await _fix(rig, w0, HOME[0] + 0.01) == 1  # came within reach
        await settle(rig)
        assert [o for o, _ in await _offers(rig)] == [w0]
    finally:
        await close_rig(rig)
