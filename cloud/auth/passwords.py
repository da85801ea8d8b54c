"""Password and token hashing (hashlib.scrypt; keyed SHA-256 for random tokens)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$hash`` for a password."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_N}${_R}${_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (constant-time comparison)."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=32,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def new_token() -> str:
    """A random bearer token for an operator."""
    return "cwo_" + secrets.token_urlsafe(32)


def token_hash(token: str, pepper: bytes) -> str:
    """Keyed hash under which a token is stored and looked up."""
    return hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()


def secret_hash(secret: str) -> str:
    """SHA-256 of a gateway secret (random and long, so no slow KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
