"""The worker web app driven in headless Chromium: log in, duty, location, accept, resolve."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.db import make_engine, make_sessionmaker
from cloud.dispatch.models import Task, TaskEvent
from cloud.models import Worker
from cloud.notify.push_standin import PushStandin
from cloud.notify.twilio_standin import TwilioStandin
from testbed import free_port
from tests.cloud_dispatch.conftest import (
    HOME,
    LiveServer,
    add_login,
    fast_config,
    raise_alarm,
    seed_city,
    settings_for,
)

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
pytestmark = pytest.mark.skipif(
    not (CHROMIUM.exists() and DRIVER.exists()), reason="Debian chromium / chromium-driver absent"
)
webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402


async def _with_db(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        return await fn(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def with_db(url: str, fn: Any) -> Any:
    """Run ``fn(sessionmaker)`` on a fresh engine."""
    return asyncio.run(_with_db(url, fn))


@pytest.fixture
def browser() -> Iterator[Any]:
    profile = tempfile.mkdtemp(prefix="cw-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=412,915",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def test_worker_app_in_chromium(
    sqlite_url: str,
    twilio: TwilioStandin,
    push: PushStandin,
    vapid: tuple[str, str],
    browser: Any,
) -> None:
    async def prepare(sm: async_sessionmaker[AsyncSession]) -> int:
        city = await seed_city(sm, workers=3, now=datetime.now(UTC))
        me = city.workers[0]
        async with sm() as s, s.begin():  # starts off duty, nowhere
            await s.execute(
                update(Worker)
                .where(Worker.id == me)
                .values(duty_status="off", lat=None, lon=None, location_at=None)
            )
        await add_login(sm, "wang", "worker-password", me)
        return me

    me = with_db(sqlite_url, prepare)
    settings = settings_for(sqlite_url, twilio, vapid, public_url=f"http://127.0.0.1:{free_port()}")
    with LiveServer(settings, dispatch_config=fast_config(idle_s=0.5)) as server:
        origin = server.url
        browser.execute_cdp_cmd(
            "Browser.grantPermissions", {"origin": origin, "permissions": ["geolocation"]}
        )
        browser.execute_cdp_cmd(
            "Emulation.setGeolocationOverride",
            {"latitude": HOME[0] - 0.002, "longitude": HOME[1], "accuracy": 5},
        )
        wait = WebDriverWait(browser, 20)
        browser.get(origin + "/app/")
        browser.find_element(By.ID, "username").send_keys("wang")
        browser.find_element(By.ID, "password").send_keys("wrong-password")
        browser.find_element(By.ID, "login-btn").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "login-error"), "password"))
        browser.find_element(By.ID, "password").clear()
        browser.find_element(By.ID, "password").send_keys("worker-password")
        browser.find_element(By.ID, "login-btn").click()
        wait.until(ec.visibility_of_element_located((By.ID, "main-view")))
        assert "worker 0" in browser.find_element(By.ID, "who").text

        browser.find_element(By.ID, "duty-btn").click()  # on duty, then location shared
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "location shared"))

        async def state(sm: async_sessionmaker[AsyncSession]) -> Worker | None:
            async with sm() as s:
                return await s.get(Worker, me)

        w = with_db(sqlite_url, state)
        assert w.duty_status == "on" and w.lat == pytest.approx(HOME[0] - 0.002)

        async def alarm(sm: async_sessionmaker[AsyncSession]) -> None:
            from tests.cloud_dispatch.conftest import City

            await raise_alarm(sm, City(), "sos", "critical", now=datetime.now(UTC))

        with_db(sqlite_url, alarm)
        card = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#offered .card")))
        text = card.text
        assert "88 Huaihai Rd" in text and "diabetes" in text
        assert "4711" not in text  # the key-safe code once the task is theirs, not before
        assert "(0.2 km)" in text and "Mei" in text
        card.find_element(By.CSS_SELECTOR, "button.accept").click()
        active = wait.until(ec.visibility_of_element_located((By.CSS_SELECTOR, "#active .card")))
        assert "key box 4711" in active.text
        active.find_element(By.CSS_SELECTOR, "button.en-route").click()
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#active .card"), "en route"))
        browser.find_element(By.CSS_SELECTOR, "#active .card button.arrived").click()
        wait.until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "#active .card"), "on site"))
        browser.find_element(By.CSS_SELECTOR, "#active .card button.resolve").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "status"), "outcome"))
        Select(
            browser.find_element(By.CSS_SELECTOR, "#active .card select.outcome")
        ).select_by_value("assisted")
        browser.find_element(By.CSS_SELECTOR, "#active .card button.resolve").click()
        wait.until(ec.invisibility_of_element_located((By.CSS_SELECTOR, "#active .card")))

        manifest = browser.execute_async_script(
            "const done = arguments[0];"
            "fetch('/app/manifest.webmanifest').then(r => r.json()).then(m => done(m.start_url));"
        )
        assert manifest == "/app/"
        registered = browser.execute_async_script(
            "const done = arguments[0];"
            "navigator.serviceWorker.getRegistration('/app/').then(r => done(!!r));"
        )
        assert registered

    async def trail(sm: async_sessionmaker[AsyncSession]) -> tuple[Task, list[tuple[str, str]]]:
        async with sm() as s:
            task = (await s.scalars(select(Task))).one()
            evs = await s.scalars(
                select(TaskEvent).where(TaskEvent.actor == f"worker:{me}").order_by(TaskEvent.seq)
            )
            return task, [(e.action, e.channel) for e in evs]

    task, events = with_db(sqlite_url, trail)
    assert (task.state, task.outcome) == ("resolved", "assisted")
    assert events[-4:] == [
        ("accepted", "app"),
        ("en_route", "app"),
        ("arrived", "app"),
        ("resolved", "app"),
    ]
