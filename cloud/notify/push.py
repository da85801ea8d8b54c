"""Web Push with VAPID through pywebpush's async path."""

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

    def __init__(self, *, private_key: str, subject: str, ttl: int = 3600) -> None:
        self._vapid = load_vapid(private_key)
        self.subject = subject
        self.ttl = ttl
        self._session: aiohttp.ClientSession | None = None

    async def send(self, subscription: dict[str, Any], payload: dict[str, Any]) -> int:
        """Push ``payload`` as JSON; returns the HTTP status. 404/410 → permanent error."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            resp = await webpush_async(
                subscription_info=subscription,
                data=json.dumps(payload, ensure_ascii=False),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self.subject},
                ttl=self.ttl,
                timeout=10,
                aiohttp_session=self._session,
            )
        except WebPushException as exc:
            status = exc.response.status if exc.response is not None else None
            gone = status in (404, 410)
            logger.warning("push refused with status %s", status)
            raise DeliveryError(
                f"push service answered {status}",
                code=str(status),
                permanent=gone,
                rate_limited=status == 429,
            ) from exc
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"push service unreachable: {exc}", code="network") from exc
        return int(resp.status) if not isinstance(resp, str) else 201

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._session is not None:
            await self._session.close()
