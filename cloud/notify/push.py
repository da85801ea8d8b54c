"""Web Push with VAPID through pywebpush's async path, only to allowed push services.

Every send checks the endpoint against the ``PushPolicy`` again, connects only to
addresses the ``GuardedResolver`` lets through, and follows no redirect.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from cloud.notify.endpoints import (
    EndpointRefused,
    GuardedResolver,
    InternalAddressError,
    PushPolicy,
    parse_endpoint,
)
from cloud.notify.errors import DeliveryError

logger = logging.getLogger(__name__)


def b64url_decode(text: str) -> bytes:
    """Base64url without padding → bytes."""
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data: bytes) -> str:
    """Bytes → base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def generate_vapid_keys() -> tuple[str, str]:
    """A new VAPID key pair as base64url (public uncompressed point, private 32-byte scalar)."""
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(public), b64url(key.private_numbers().private_value.to_bytes(32, "big"))


def load_vapid(private_key: str) -> Vapid02:
    """A VAPID signer from a PEM or base64url (raw or DER) private key."""
    if "BEGIN" in private_key:
        return Vapid02.from_pem(private_key.encode())
    return Vapid02.from_string(private_key)


class PushSender:
    """Sends encrypted Web Push messages signed with the service's VAPID key."""

    def __init__(
        self,
        *,
        private_key: str,
        subject: str,
        policy: PushPolicy | None = None,
        ttl: int = 3600,
        resolver: aiohttp.abc.AbstractResolver | None = None,
    ) -> None:
        self._vapid = load_vapid(private_key)
        self.subject = subject
        self.policy = policy or PushPolicy()
        self.ttl = ttl
        self._resolver = resolver
        self._session: aiohttp.ClientSession | None = None

    async def send(self, subscription: dict[str, Any], payload: dict[str, Any]) -> int:
        """Push ``payload`` as JSON; returns the HTTP status.

        404/410, a redirect and an endpoint the policy refuses are permanent errors.
        """
        try:
            parse_endpoint(str(subscription.get("endpoint", "")), self.policy)
        except EndpointRefused as exc:
            logger.warning("push endpoint refused: %s", exc)
            raise DeliveryError(f"endpoint refused: {exc}", code="refused", permanent=True) from exc
        if self._session is None:
            guard = GuardedResolver(self.policy, self._resolver)
            self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(resolver=guard))
        try:
            resp = await webpush_async(
                subscription_info=subscription,
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self.subject},
                ttl=self.ttl,
                timeout=10,
                aiohttp_session=_NoRedirects(self._session),
            )
        except WebPushException as exc:
            status = exc.response.status if exc.response is not None else None
            gone = status in (404, 410) or (status is not None and 300 <= status < 400)
            logger.warning("push refused with status %s", status)
            raise DeliveryError(
                f"push service answered {status}",
                code=str(status),
                permanent=gone,
                rate_limited=status == 429,
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            if isinstance(exc.os_error, InternalAddressError):
                logger.warning("push endpoint refused at connect: %s", exc.os_error.strerror)
                raise DeliveryError(
                    f"endpoint refused: {exc.os_error.strerror}", code="refused", permanent=True
                ) from exc
            raise DeliveryError(f"push service unreachable: {exc}", code="network") from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"push service unreachable: {exc}", code="network") from exc
        return int(resp.status) if not isinstance(resp, str) else 201

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()


class _NoRedirects:
    """The part of ``aiohttp.ClientSession`` pywebpush uses, never following a redirect."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def post(self, url: str, **kwargs: Any) -> Any:
        """``session.post`` with ``allow_redirects=False``."""
        return self._session.post(url, allow_redirects=False, **kwargs)
