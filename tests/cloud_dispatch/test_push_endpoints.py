"""Push endpoints: only allowed push services, never internal addresses, never another's."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from cloud.auth.deps import Role
from cloud.auth.service import create_user
from cloud.notify.endpoints import EndpointRefused, PushPolicy, check_endpoint, parse_endpoint
from cloud.notify.errors import DeliveryError
from cloud.notify.models import PushSubscription
from cloud.notify.push import PushSender, generate_vapid_keys
from cloud.notify.push_standin import PushStandin
from cloud.notify.standin_http import QuietHandler, StandinServer
from cloud.notify.twilio_standin import TwilioStandin
from cloud.settings import DEFAULT_PUSH_HOSTS, Settings
from testbed import InfluxServer, free_port
from tests.cloud_dispatch.conftest import (
    STANDIN_POLICY,
    City,
    LiveServer,
    add_login,
    fast_config,
    seed_city,
    settings_for,
)
from tests.cloud_dispatch.test_api import db, login

PROBE_DB = "ssrf_probe"


def influx_databases(influx: InfluxServer) -> set[str]:
    resp = httpx.get(f"{influx.url}/query", params={"q": "SHOW DATABASES"}, timeout=10)
    values = resp.json()["results"][0]["series"][0].get("values", [])
    return {v[0] for v in values}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://fcm.googleapis.com/fcm/send/x", "scheme must be https"),
        ("https://fcm.googleapis.com.evil.test/x", "not an allowed push service"),
        ("https://notify.windows.com/x", "not an allowed push service"),  # "*." needs a label
        ("https://127.0.0.1:8086/query?q=DROP+DATABASE+x", "not an allowed push service"),
        ("https://user:pw@fcm.googleapis.com/x", "user info"),
        ("ftp://fcm.googleapis.com/x", "scheme"),
    ],
)
def test_default_policy_refuses(url: str, why: str) -> None:
    with pytest.raises(EndpointRefused, match=why):
        parse_endpoint(url, PushPolicy())


def test_default_policy_accepts_the_browser_push_services() -> None:
    for url in (
        "https://fcm.googleapis.com/fcm/send/abc",
        "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "https://wns2-par02p.notify.windows.com/w/?token=abc",
        "https://web.push.apple.com/QGx",
    ):
        parse_endpoint(url, PushPolicy())
    assert "fcm.googleapis.com" in DEFAULT_PUSH_HOSTS


def test_internal_addresses_are_refused_even_when_allowed_by_name() -> None:
    for literal in ("10.0.0.5", "192.168.1.1", "169.254.169.254", "[::1]", "[fe80::1]", "0.0.0.0"):
        policy = PushPolicy((literal.strip("[]"),))
        with pytest.raises(EndpointRefused, match="internal"):
            parse_endpoint(f"https://{literal}/push/x", policy)
    # loopback only with the test switch, and nothing else internal even then
    parse_endpoint("http://127.0.0.1:9/push/x", STANDIN_POLICY)
    with pytest.raises(EndpointRefused, match="internal"):
        parse_endpoint("https://10.0.0.5/push/x", PushPolicy(("10.0.0.5",), allow_loopback=True))


async def test_a_name_resolving_to_an_internal_address_is_refused() -> None:
    async def private(host: str, port: int) -> list[str]:
        return ["93.184.215.14", "10.1.2.3"]

    policy = PushPolicy(("push.example.test",))
    with pytest.raises(EndpointRefused, match=r"internal address 10\.1\.2\.3"):
        await check_endpoint("https://push.example.test/x", policy, private)
    with pytest.raises(EndpointRefused, match=r"internal address 127\.0\.0\.1"):
        await check_endpoint("https://localhost/x", PushPolicy(("localhost",)))


async def test_a_push_is_never_sent_to_an_internal_service(
    influx: InfluxServer, push: PushStandin
) -> None:
    """Finding 1: a stored endpoint naming InfluxDB's query API is not called at send time."""
    keys = push.new_subscription()["keys"]
    target = f"http://127.0.0.1:{influx.port}/query?q=CREATE+DATABASE+{PROBE_DB}"
    sender = PushSender(private_key=generate_vapid_keys()[1], subject="mailto:ops@example.org")
    try:
        with pytest.raises(DeliveryError) as err:
            await sender.send({"endpoint": target, "keys": keys}, {"body": "x"})
    finally:
        await sender.close()
    assert err.value.permanent and err.value.code == "refused"
    assert PROBE_DB not in influx_databases(influx)


class _Recorder(StandinServer):
    """Answers every POST with ``status`` (and ``Location``), recording the paths."""

    def __init__(self, status: int = 201, location: str = "") -> None:
        super().__init__()
        self.status, self.location = status, location
        self.paths: list[str] = []
        self.handler_class = _RecorderHandler


class _RecorderHandler(QuietHandler):
    def do_POST(self) -> None:
        owner: _Recorder = self.server.owner  # type: ignore[attr-defined]
        self.read_body()
        with owner.lock:
            owner.paths.append(self.path)
        self.send_response(owner.status)
        if owner.location:
            self.send_header("Location", owner.location)
        self.send_header("Content-Length", "0")
        self.end_headers()


async def test_redirects_are_not_followed(push: PushStandin) -> None:
    keys = push.new_subscription()["keys"]
    with _Recorder() as target, _Recorder(307, "") as redirector:
        redirector.location = f"{target.url}/query?q=DROP+DATABASE+x"
        sender = PushSender(
            private_key=generate_vapid_keys()[1],
            subject="mailto:ops@example.org",
            policy=STANDIN_POLICY,
        )
        try:
            with pytest.raises(DeliveryError) as err:
                await sender.send({"endpoint": f"{redirector.url}/push/a", "keys": keys}, {})
        finally:
            await sender.close()
        assert redirector.paths == ["/push/a"]
        assert target.paths == []
    assert err.value.permanent and err.value.code == "307"


class _Rebound(AbstractResolver):
    """DNS that answers loopback for every name (a rebinding after registration)."""

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        return [
            {
                "hostname": host,
                "host": "127.0.0.1",
                "port": port,
                "family": socket.AF_INET,
                "proto": 0,
                "flags": socket.AI_NUMERICHOST,
            }
        ]

    async def close(self) -> None:
        return None


async def test_send_time_check_catches_dns_rebinding(push: PushStandin) -> None:
    keys = push.new_subscription()["keys"]
    sender = PushSender(
        private_key=generate_vapid_keys()[1],
        subject="mailto:ops@example.org",
        policy=PushPolicy(("push.example.test",)),
        resolver=_Rebound(),
    )
    try:
        with pytest.raises(DeliveryError, match=r"internal address 127\.0\.0\.1") as err:
            await sender.send({"endpoint": "https://push.example.test/push/a", "keys": keys}, {})
    finally:
        await sender.close()
    assert err.value.permanent and err.value.code == "refused"


def test_subscriptions_refuse_internal_endpoints_and_takeovers(
    sqlite_url: str,
    twilio: TwilioStandin,
    push: PushStandin,
    vapid: tuple[str, str],
    influx: InfluxServer,
) -> None:
    """Findings 1 and 10 through the API: the default policy, then the stand-in's."""

    async def prepare(sm: async_sessionmaker[AsyncSession]) -> City:
        city = await seed_city(sm, workers=2, now=datetime.now(UTC))
        await add_login(sm, "w0", "worker-password", city.workers[0])
        await add_login(sm, "w1", "worker-password", city.workers[1])
        async with sm() as s, s.begin():
            await create_user(s, "op", "operator-password", Role.DISPATCHER)
        return city

    city = db(sqlite_url, prepare)
    base = settings_for(sqlite_url, twilio, vapid)
    strict = base.model_copy(
        update={
            "public_url": f"http://127.0.0.1:{free_port()}",
            "push_allowed_hosts": list(DEFAULT_PUSH_HOSTS),
            "push_allow_loopback": False,
        }
    )
    sub = push.new_subscription()
    probe = f"http://127.0.0.1:{influx.port}/query?q=CREATE+DATABASE+{PROBE_DB}"
    with (
        LiveServer(strict, dispatch_config=fast_config()) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        w0, op = login(http, "w0", "worker-password"), login(http, "op", "operator-password")
        for endpoint in (probe, probe.replace("http:", "https:"), sub["endpoint"]):
            resp = http.post(
                "/api/v1/worker/push/subscriptions", json={**sub, "endpoint": endpoint}, headers=w0
            )
            assert resp.status_code == 422, resp.text
            assert resp.json()["detail"][0]["field"] == "endpoint"
        resp = http.post(
            f"/api/v1/family-contacts/{city.family[0]}/push-subscriptions",
            json={"endpoint": probe, **sub["keys"]},
            headers=op,
        )
        assert resp.status_code == 422 and resp.json()["detail"][0]["field"] == "endpoint"

    relaxed = base.model_copy(update={"public_url": f"http://127.0.0.1:{free_port()}"})
    with (
        LiveServer(relaxed, dispatch_config=fast_config()) as server,
        httpx.Client(base_url=server.url, timeout=10) as http,
    ):
        w0, w1 = login(http, "w0", "worker-password"), login(http, "w1", "worker-password")
        op = login(http, "op", "operator-password")
        assert (
            http.post("/api/v1/worker/push/subscriptions", json=sub, headers=w0).status_code == 201
        )
        renewed = {**sub, "keys": push.new_subscription()["keys"]}
        assert (
            http.post("/api/v1/worker/push/subscriptions", json=renewed, headers=w0).status_code
            == 201
        )
        stolen = {**sub, "keys": push.new_subscription()["keys"]}
        resp = http.post("/api/v1/worker/push/subscriptions", json=stolen, headers=w1)
        assert resp.status_code == 409 and "endpoint" in resp.json()["detail"]
        resp = http.post(
            f"/api/v1/family-contacts/{city.family[0]}/push-subscriptions",
            json={"endpoint": sub["endpoint"], **stolen["keys"]},
            headers=op,
        )
        assert resp.status_code == 409

    async def stored(sm: async_sessionmaker[AsyncSession]) -> list[Any]:
        async with sm() as s:
            return list(
                (await s.execute(select(PushSubscription.owner, PushSubscription.auth))).all()
            )

    assert db(sqlite_url, stored) == [(f"worker:{city.workers[0]}", renewed["keys"]["auth"])]
    assert PROBE_DB not in influx_databases(influx)


def test_production_refuses_the_loopback_switch() -> None:
    with pytest.raises(ValueError, match="CAREWATCH_PUSH_ALLOW_LOOPBACK"):
        Settings(production=True, secret_key="k" * 40, push_allow_loopback=True)


def test_allowed_hosts_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAREWATCH_PUSH_ALLOWED_HOSTS", "fcm.googleapis.com, *.push.apple.com")
    assert Settings().push_allowed_hosts == ["fcm.googleapis.com", "*.push.apple.com"]
    monkeypatch.setenv("CAREWATCH_PUSH_ALLOWED_HOSTS", '["127.0.0.1"]')
    assert Settings().push_allowed_hosts == ["127.0.0.1"]
