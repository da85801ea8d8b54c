"""Password hashing (argon2id; older scrypt hashes still verify) and token hashing.

Hashing a password costs tens of milliseconds of CPU and memory on purpose, so the async
wrappers run it in a one-thread pool of its own, at a lower CPU priority: a flood of
logins queues there and never stalls the event loop that takes alarms. Argon2 releases
the GIL while it works.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2id with OWASP's first recommended parameters (19 MiB, 2 passes, one lane): one lane
# keeps a hash on one core, so the hashing pool's thread leaves the other to the loop.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def _lower_priority() -> None:
    """Run the hashing thread 10 nice levels below the rest (Linux: threads have their own)."""
    with contextlib.suppress(AttributeError, OSError):
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + 10))


_POOL = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="password-hash", initializer=_lower_priority
)


def hash_password(password: str) -> str:
    """An argon2id hash (``$argon2id$v=19$m=...,t=...,p=...$salt$hash``) of ``password``."""
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches ``stored`` (argon2id, or a legacy scrypt hash)."""
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash to replace at the next good login (scrypt, or older argon2 parameters)."""
    if stored.startswith("scrypt$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


def _verify_scrypt(password: str, stored: str) -> bool:
    """The format this service used before argon2id: ``scrypt$n$r$p$salt$hash``."""
    try:
        _, n, r, p, salt, digest = stored.split("$")
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


@cache
def _dummy_hash() -> str:
    return hash_password("not-a-real-password")


async def hash_password_async(password: str) -> str:
    """``hash_password`` in the hashing pool."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, hash_password, password)


def _check(password: str, stored: str | None) -> bool:
    if stored is None:  # no such user: spend the same time, so timing does not tell
        verify_password(password, _dummy_hash())
        return False
    return verify_password(password, stored)


async def verify_password_async(password: str, stored: str | None) -> bool:
    """``verify_password`` in the hashing pool; ``stored=None`` (no such user) costs the same."""
    return await asyncio.get_running_loop().run_in_executor(_POOL, _check, password, stored)


def new_token() -> str:
    """A random bearer token for an operator."""
    return "cwo_" + secrets.token_urlsafe(32)


def token_hash(token: str, pepper: bytes) -> str:
    """Keyed hash under which a token is stored and looked up."""
    return hmac.new(pepper, token.encode(), hashlib.sha256).hexdigest()


def secret_hash(secret: str) -> str:
    """SHA-256 of a gateway secret (random and long, so no slow KDF is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()
