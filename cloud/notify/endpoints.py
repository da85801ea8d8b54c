"""Which Web Push endpoints the service will ever POST to (against request forgery).

An endpoint is refused unless it is ``https``, its host is on the allow-list of push
services (``*.`` matches any subdomain), it carries no user info, and every address its
host resolves to is public: never loopback, private, link-local, multicast, reserved or
unspecified. The check runs when a subscription is registered and again when a push is
sent, on the very addresses the connection uses (``GuardedResolver``), so a name that
is re-pointed at an internal address after registration (DNS rebinding) is refused too.

``allow_loopback`` is for tests and the demo only (a push stand-in on 127.0.0.1): it
lets loopback addresses through, by ``http`` too; no other internal range ever passes.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

from cloud.settings import DEFAULT_PUSH_HOSTS, Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Lookup = Callable[[str, int], Awaitable[list[str]]]


class EndpointRefused(ValueError):
    """A push endpoint the service must not call; the message says why."""


class InternalAddressError(OSError):
    """Raised by ``GuardedResolver`` (aiohttp wants an ``OSError``): a host went internal."""


@dataclass(frozen=True, slots=True)
class PushPolicy:
    """Allowed push hosts and whether loopback is let through (tests and demo only)."""

    allowed_hosts: tuple[str, ...] = tuple(DEFAULT_PUSH_HOSTS)
    allow_loopback: bool = False

    def host_allowed(self, host: str) -> bool:
        """True when ``host`` (lower case, no port) matches an allow-list entry."""
        for pattern in self.allowed_hosts:
            p = pattern.strip().lower().rstrip(".")
            if p.startswith("*."):
                if host.endswith(p[1:]) and len(host) > len(p) - 1:
                    return True
            elif host == p:
                return True
        return False

    def address_allowed(self, address: Address) -> bool:
        """True for a public address (or loopback, when ``allow_loopback``)."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if address.is_loopback:
            return self.allow_loopback
        return address.is_global and not address.is_multicast


def parse_endpoint(url: str, policy: PushPolicy) -> tuple[str, int, Address | None]:
    """Host, port and (for a literal) address of an allowed endpoint; ``EndpointRefused``.

    Checks everything that needs no DNS: scheme, user info, host on the allow-list and,
    when the host is an IP literal, the address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"not a valid URL: {exc}") from exc
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise EndpointRefused("no host")
    if parts.username is not None or parts.password is not None:
        raise EndpointRefused("user info is not allowed in a push endpoint")
    literal = _ip(host)
    loopback = policy.allow_loopback and literal is not None and literal.is_loopback
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise EndpointRefused(f"scheme must be https, not {parts.scheme or 'none'!r}")
    if not policy.host_allowed(host):
        raise EndpointRefused(f"host {host!r} is not an allowed push service")
    if literal is not None and not policy.address_allowed(literal):
        raise EndpointRefused(f"address {literal} is internal")
    return host, port or (443 if parts.scheme == "https" else 80), literal


async def system_lookup(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to (getaddrinfo in the loop's executor)."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


async def check_endpoint(url: str, policy: PushPolicy, lookup: Lookup = system_lookup) -> None:
    """Refuse (``EndpointRefused``) an endpoint the service must not call, DNS included."""
    host, port, literal = parse_endpoint(url, policy)
    if literal is not None:
        return
    try:
        addresses = await lookup(host, port)
    except OSError as exc:
        raise EndpointRefused(f"host {host!r} does not resolve: {exc}") from exc
    refuse_internal(host, addresses, policy)


def refuse_internal(host: str, addresses: Iterable[str], policy: PushPolicy) -> None:
    """``EndpointRefused`` when ``host`` resolved to nothing or to any internal address."""
    found = [a for a in (_ip(x) for x in addresses) if a is not None]
    if not found:
        raise EndpointRefused(f"host {host!r} resolves to no address")
    bad = [a for a in found if not policy.address_allowed(a)]
    if bad:
        raise EndpointRefused(f"host {host!r} resolves to internal address {bad[0]}")


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that refuses a host resolving to any internal address."""

    def __init__(self, policy: PushPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self.inner = inner or ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The inner resolver's answer, or ``OSError`` naming the internal address."""
        results = await self.inner.resolve(host, port, family)
        try:
            refuse_internal(host, [r["host"] for r in results], self.policy)
        except EndpointRefused as exc:
            raise InternalAddressError(errno.EACCES, str(exc)) from exc
        return results

    async def close(self) -> None:
        """Close the inner resolver."""
        await self.inner.close()


def _ip(text: str) -> Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def policy_from(settings: Settings) -> PushPolicy:
    """The policy configured in ``Settings`` (``push_allowed_hosts``, ``push_allow_loopback``)."""
    return PushPolicy(tuple(settings.push_allowed_hosts), settings.push_allow_loopback)
