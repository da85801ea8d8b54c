"""Logins: limited per account and per address, audited, argon2id off the event loop,
scrypt hashes upgraded, disabled logins (and deactivated or deleted workers) locked out."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import cloud.auth.passwords as passwords
from cloud.app import create_app
from cloud.auth.deps import Role
from cloud.auth.models import AuthEvent, User
from cloud.auth.service import create_user
from cloud.cli import main
from cloud.db import make_engine, make_sessionmaker
from cloud.models import Worker
from cloud.settings import Settings
from testbed import free_port

LOGIN = "/api/v1/auth/login"


def settings(url: str, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "migrate_on_start": False,
        "influx_url": f"http://127.0.0.1:{free_port()}",
        "login_account_failures": 3,
        "login_client_failures": 6,
    }
    return Settings(**{**values, **extra})


class Rig:
    """The app in-process (ASGI) on a migrated database, with a session factory."""

    def __init__(self, cfg: Settings) -> None:
        self.settings = cfg
        self.app = create_app(cfg, features=[])
        self.sm: async_sessionmaker[AsyncSession] = self.app.state.sessionmaker

    def client(self, address: str = "127.0.0.1") -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=self.app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://cloud")

    async def events(self) -> list[tuple[str, str, str]]:
        async with self.sm() as s:
            rows = await s.scalars(select(AuthEvent).order_by(AuthEvent.id))
            return [(e.action, e.username, e.client) for e in rows]


async def _rig(url: str, **extra: Any) -> Rig:
    rig = Rig(settings(url, **extra))
    async with rig.sm() as s, s.begin():
        await create_user(s, "admin", "admin-password", Role.ADMIN)
        await create_user(s, "disp", "dispatcher-password", Role.DISPATCHER)
    return rig


@pytest.fixture
async def rig(db_url: str) -> AsyncIterator[Rig]:
    r = await _rig(db_url)
    yield r
    await r.app.state.engine.dispose()


async def _login(http: httpx.AsyncClient, user: str, password: str, **kw: Any) -> httpx.Response:
    return await http.post(LOGIN, json={"username": user, "password": password}, **kw)


async def test_failed_logins_are_limited_per_account_and_audited(rig: Rig) -> None:
    """Finding 6: wrong passwords in a row end in 429 with Retry-After, even for the right one."""
    async with rig.client() as http:
        for _ in range(3):
            assert (await _login(http, "admin", "wrong-password")).status_code == 401
        limited = await _login(http, "admin", "admin-password")
        assert limited.status_code == 429
        assert 0 < int(limited.headers["Retry-After"]) <= 900
        again = await _login(http, "admin", "wrong-password")  # answered from memory
        assert again.status_code == 429 and "Retry-After" in again.headers
        assert (await _login(http, "disp", "dispatcher-password")).status_code == 200
    events = await rig.events()
    assert events == [
        *[("login_failed", "admin", "127.0.0.1")] * 3,
        ("login_limited", "admin", "127.0.0.1"),
        ("login_ok", "disp", "127.0.0.1"),
    ]


async def test_failed_logins_are_limited_per_client_address(rig: Rig) -> None:
    async with rig.client("203.0.113.7") as http:
        for i in range(6):  # a different (unknown) account each time: the account limit stays
            assert (await _login(http, f"guess{i}", "wrong-password")).status_code == 401
        assert (await _login(http, "disp", "dispatcher-password")).status_code == 429
    async with rig.client("198.51.100.9") as other:
        assert (await _login(other, "disp", "dispatcher-password")).status_code == 200


async def test_a_parallel_burst_gets_no_more_401s_than_the_limit(rig: Rig) -> None:
    """32 wrong passwords at once, per account and per address: the limit's 401s, then 429s.

    One instance has no slack: attempts for one account or address take turns (several
    instances sharing the database may each add one attempt in flight; see limits.py).
    """
    async with rig.client() as http:
        burst = await asyncio.gather(*(_login(http, "admin", "wrong-password") for _ in range(32)))
    codes = sorted(r.status_code for r in burst)
    assert codes == [401] * 3 + [429] * 29, codes
    async with rig.client("203.0.113.8") as http:
        burst = await asyncio.gather(
            *(_login(http, f"guess{i}", "wrong-password") for i in range(32))
        )
    codes = sorted(r.status_code for r in burst)
    assert codes == [401] * 6 + [429] * 26, codes
    failed = [e for e in await rig.events() if e[0] == "login_failed"]
    assert len(failed) == 3 + 6


async def test_forwarded_for_is_believed_only_from_trusted_proxies(db_url: str) -> None:
    spoofed = await _rig(db_url)
    try:
        async with spoofed.client("203.0.113.7") as http:
            for i in range(7):  # a fresh X-Forwarded-For each time does not reset the limit
                resp = await _login(
                    http, f"g{i}", "wrong-password", headers={"X-Forwarded-For": f"192.0.2.{i}"}
                )
            assert resp.status_code == 429
        assert {c for _, _, c in await spoofed.events()} == {"203.0.113.7"}
    finally:
        await spoofed.app.state.engine.dispose()

    behind = Rig(settings(db_url, trusted_proxies=["10.0.0.0/8"]))
    try:
        async with behind.client("10.0.0.2") as proxy:
            fwd = {"X-Forwarded-For": "203.0.113.7, 10.0.0.9"}  # client, then an inner proxy
            resp = await _login(proxy, "disp", "wrong-password", headers=fwd)
            assert resp.status_code == 429  # the same address as above: still limited
            fwd = {"X-Forwarded-For": "198.51.100.20"}
            resp = await _login(proxy, "disp", "dispatcher-password", headers=fwd)
            assert resp.status_code == 200
        clients = [c for _, _, c in await behind.events()][-2:]
        assert clients == ["203.0.113.7", "198.51.100.20"]
    finally:
        await behind.app.state.engine.dispose()


def _scrypt(password: str) -> str:
    """A hash in the format the service wrote before argon2id."""
    salt = b"0123456789abcdef"
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    b64 = base64.b64encode
    return f"scrypt$16384$8$1${b64(salt).decode()}${b64(digest).decode()}"


async def test_scrypt_hashes_keep_working_and_are_upgraded_to_argon2id(rig: Rig) -> None:
    async with rig.sm() as s, s.begin():
        s.add(User(username="old", password_hash=_scrypt("old-password"), role="dispatcher"))
    async with rig.client() as http:
        assert (await _login(http, "old", "wrong-password")).status_code == 401
        assert (await _login(http, "old", "old-password")).status_code == 200
        async with rig.sm() as s:
            stored = await s.scalar(select(User.password_hash).where(User.username == "old"))
        assert stored is not None and stored.startswith("$argon2id$")
        assert (await _login(http, "old", "old-password")).status_code == 200
    assert ("password_upgraded", "old", "") in await rig.events()


async def test_password_hashing_runs_off_the_event_loop(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = passwords.verify_password

    def spy(password: str, stored: str) -> bool:
        threads.append(threading.current_thread().name)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify_password", spy)
    async with rig.client() as http:
        assert (await _login(http, "disp", "dispatcher-password")).status_code == 200
        assert (await _login(http, "nobody", "whatever-password")).status_code == 401
    loop_thread = threading.current_thread().name
    assert len(threads) == 2 and loop_thread not in threads
    assert all(t.startswith("password-hash") for t in threads)


async def _token(http: httpx.AsyncClient, user: str, password: str) -> dict[str, str]:
    resp = await _login(http, user, password)
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def test_disabling_a_user_ends_its_tokens_at_once(rig: Rig) -> None:
    async with rig.client() as http:
        admin = await _token(http, "admin", "admin-password")
        disp = await _token(http, "disp", "dispatcher-password")
        users = {
            u["username"]: u["id"] for u in (await http.get("/api/v1/users", headers=admin)).json()
        }
        resp = await http.post(f"/api/v1/users/{users['disp']}/disable", headers=admin)
        assert resp.status_code == 200 and resp.json()["active"] is False
        assert (await http.get("/api/v1/auth/me", headers=disp)).status_code == 401
        assert (await _login(http, "disp", "dispatcher-password")).status_code == 401
        assert (
            await http.post(f"/api/v1/users/{users['disp']}/disable", headers=disp)
        ).status_code == 401
        resp = await http.post(f"/api/v1/users/{users['disp']}/enable", headers=admin)
        assert resp.status_code == 200 and resp.json()["active"] is True
        again = await _token(http, "disp", "dispatcher-password")
        assert (await http.get("/api/v1/auth/me", headers=again)).status_code == 200
        assert (await http.post("/api/v1/users/999/disable", headers=admin)).status_code == 404
    actions = [a for a, _, _ in await rig.events()]
    assert "user_disabled" in actions and "user_enabled" in actions


async def _add_worker_login(rig: Rig, phone: str, username: str) -> int:
    async with rig.sm() as s, s.begin():
        worker = Worker(name=username, phone=phone, role="worker", district="d1", skills=[])
        s.add(worker)
        await s.flush()
        await create_user(s, username, "worker-password", Role.WORKER, worker_id=worker.id)
        return worker.id


async def test_deactivated_or_deleted_workers_cannot_log_in(rig: Rig) -> None:
    """Finding 8 (logins): a worker taken off the register loses their login at once."""
    w1 = await _add_worker_login(rig, "+8613800000001", "w1")
    w2 = await _add_worker_login(rig, "+8613800000002", "w2")
    async with rig.client() as http:
        admin = await _token(http, "admin", "admin-password")
        t1, t2 = (
            await _token(http, "w1", "worker-password"),
            await _token(http, "w2", "worker-password"),
        )
        resp = await http.patch(f"/api/v1/workers/{w1}", json={"active": False}, headers=admin)
        assert resp.status_code == 200
        assert (await http.delete(f"/api/v1/workers/{w2}", headers=admin)).status_code == 204
        for token in (t1, t2):
            assert (await http.get("/api/v1/auth/me", headers=token)).status_code == 401
        for name in ("w1", "w2"):
            assert (await _login(http, name, "worker-password")).status_code == 401
    async with rig.sm() as s:
        active = dict((await s.execute(select(User.username, User.active))).all())
    assert active["w1"] is False and active["w2"] is False


def test_cli_users_disable_and_enable(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def prepare() -> None:
        engine = make_engine(db_url)
        async with make_sessionmaker(engine)() as s, s.begin():
            await create_user(s, "disp", "dispatcher-password", Role.DISPATCHER)
        await engine.dispose()

    asyncio.run(prepare())
    rig = Rig(settings(db_url))

    async def held_token() -> dict[str, str]:
        async with rig.client() as http:
            headers = await _token(http, "disp", "dispatcher-password")
        await rig.app.state.engine.dispose()
        return headers

    async def use(headers: dict[str, str]) -> int:
        async with rig.client() as http:
            status = (await http.get("/api/v1/auth/me", headers=headers)).status_code
        await rig.app.state.engine.dispose()
        return status

    headers = asyncio.run(held_token())
    monkeypatch.setenv("CAREWATCH_DATABASE_URL", db_url)
    assert main(["users", "disable", "disp"]) == 0
    assert "disabled" in capsys.readouterr().out
    assert asyncio.run(use(headers)) == 401
    assert main(["users", "enable", "disp"]) == 0
    assert asyncio.run(use(asyncio.run(held_token()))) == 200
    assert main(["users", "disable", "nobody"]) == 2
