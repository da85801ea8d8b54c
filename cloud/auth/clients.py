"""The client address a request came from, for the login limits and the audit log.

The TCP peer, unless it is one of ``CAREWATCH_TRUSTED_PROXIES`` (addresses or networks of
the TLS front: nginx, HAProxy): then the right-most ``X-Forwarded-For`` entry that is not
itself a trusted proxy. Without that setting ``X-Forwarded-For`` is never believed, since
anyone can send it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from functools import lru_cache

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(t.strip(), strict=False) for t in trusted if t.strip())


def _trusted(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(request: Request, trusted_proxies: Sequence[str]) -> str:
    """The address to hold a request against (see the module docstring)."""
    peer = request.client.host if request.client else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _trusted(peer, networks):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",")]
    for hop in reversed([h for h in hops if h]):
        if not _trusted(hop, networks):
            return hop[:64]
    return peer
