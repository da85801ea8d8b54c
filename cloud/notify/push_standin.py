"""A local Web Push service stand-in: checks VAPID, decrypts aes128gcm, records payloads.

``new_subscription()`` plays a browser: it makes a P-256 key pair and an auth secret and
returns the ``PushSubscription`` JSON a page would send to the service. A push to its
endpoint must carry ``Authorization: vapid t=<JWT>,k=<public key>`` with an ES256 JWT
signed by that key, whose ``aud`` is this server's origin and ``exp`` in the future; the
body is decrypted with the subscriber's private key (RFC 8291 / http_ece). Answers 201,
401/403 on a bad VAPID header, 400 on a body that does not decrypt, and 404/410 for a
subscription marked expired with ``expire()``.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from cloud.notify.push import b64url, b64url_decode
from cloud.notify.standin_http import QuietHandler, StandinServer


@dataclass(slots=True)
class _Subscriber:
    private_key: ec.EllipticCurvePrivateKey
    auth: bytes
    expired_status: int | None = None


@dataclass(frozen=True, slots=True)
class PushDelivery:
    """One push the stand-in accepted, decrypted."""

    token: str
    payload: bytes
    vapid_sub: str
    ttl: int

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.payload)


@dataclass(slots=True)
class _State:
    subscribers: dict[str, _Subscriber] = field(default_factory=dict)
    deliveries: list[PushDelivery] = field(default_factory=list)
    rejections: list[tuple[str, int, str]] = field(default_factory=list)  # token, status, why


class PushStandin(StandinServer):
    """A push service on 127.0.0.1; see the module docstring."""

    def __init__(self, *, port: int = 0) -> None:
        super().__init__(port)
        self.state = _State()
        self.handler_class = _PushHandler

    def new_subscription(self) -> dict[str, Any]:
        """A fresh browser-side subscription: ``{"endpoint", "keys": {"p256dh", "auth"}}``."""
        key = ec.generate_private_key(ec.SECP256R1())
        auth = os.urandom(16)
        token = secrets.token_urlsafe(16)
        with self.lock:
            self.state.subscribers[token] = _Subscriber(key, auth)
        public = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{self.url}/push/{token}",
            "keys": {"p256dh": b64url(public), "auth": b64url(auth)},
        }

    def expire(self, endpoint: str, status: int = 410) -> None:
        """Make every later push to ``endpoint`` answer ``status`` (404 or 410)."""
        with self.lock:
            self.state.subscribers[endpoint.rsplit("/", 1)[-1]].expired_status = status

    @property
    def deliveries(self) -> list[PushDelivery]:
        """Pushes accepted so far."""
        with self.lock:
            return list(self.state.deliveries)

    @property
    def rejections(self) -> list[tuple[str, int, str]]:
        """Pushes refused: (token, status, reason)."""
        with self.lock:
            return list(self.state.rejections)

    def wait_for_deliveries(self, n: int, timeout: float = 10.0) -> list[PushDelivery]:
        """Block until at least ``n`` pushes were accepted; raises TimeoutError."""
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.state.deliveries) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.state.deliveries)} of {n} pushes in {timeout}s")
                self.lock.wait(left)
            return list(self.state.deliveries)

    def _receive(self, token: str, headers: dict[str, str], body: bytes) -> tuple[int, str]:
        with self.lock:
            sub = self.state.subscribers.get(token)
        if sub is None:
            return 404, "no such subscription"
        if sub.expired_status is not None:
            return sub.expired_status, "subscription expired"
        try:
            claims = verify_vapid(headers.get("authorization", ""), audience=self.url)
        except ValueError as exc:
            return 401, f"vapid: {exc}"
        if headers.get("content-encoding", "") != "aes128gcm":
            return 400, "content-encoding must be aes128gcm"
        try:
            payload = http_ece.decrypt(
                body, private_key=sub.private_key, auth_secret=sub.auth, version="aes128gcm"
            )
        except Exception as exc:  # http_ece raises several types for a bad body
            return 400, f"decryption failed: {type(exc).__name__}"
        ttl = int(headers.get("ttl", "0") or 0)
        with self.lock:
            self.state.deliveries.append(PushDelivery(token, payload, str(claims["sub"]), ttl))
            self.lock.notify_all()
        return 201, ""


def verify_vapid(header: str, *, audience: str) -> dict[str, Any]:
    """Check an RFC 8292 ``vapid t=...,k=...`` header; returns the JWT claims."""
    scheme, _, rest = header.partition(" ")
    if scheme.lower() != "vapid":
        raise ValueError("Authorization scheme is not vapid")
    parts = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
    if "t" not in parts or "k" not in parts:
        raise ValueError("t= and k= are required")
    try:
        head_b64, claims_b64, sig_b64 = parts["t"].split(".")
        head = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(claims_b64))
        sig = b64url_decode(sig_b64)
        key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64url_decode(parts["k"])
        )
    except (ValueError, TypeError) as exc:
        raise ValueError(f"malformed token or key: {exc}") from exc
    if head.get("alg") != "ES256" or len(sig) != 64:
        raise ValueError("JWT must be ES256 with a 64-byte signature")
    der = encode_dss_signature(int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big"))
    try:
        key.verify(der, f"{head_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ValueError("bad JWT signature") from exc
    if claims.get("aud") != audience:
        raise ValueError(f"aud {claims.get('aud')!r} is not {audience!r}")
    if int(claims.get("exp", 0)) < time.time() or int(claims["exp"]) > time.time() + 86400:
        raise ValueError("exp missing, past, or more than 24 h ahead")
    if not claims.get("sub"):
        raise ValueError("sub is required")
    return dict(claims)


class _PushHandler(QuietHandler):
    def do_POST(self) -> None:
        owner: PushStandin = self.server.owner  # type: ignore[attr-defined]
        body = self.read_body()
        path = self.path.split("?", 1)[0]
        if not path.startswith("/push/"):
            self.send_body(404, b"", "text/plain")
            return
        token = path[len("/push/") :]
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, why = owner._receive(token, headers, body)
        if status != 201:
            with owner.lock:
                owner.state.rejections.append((token, status, why))
        self.send_body(status, why.encode(), "text/plain")
