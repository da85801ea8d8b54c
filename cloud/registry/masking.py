"""Masking of personal data by operator role."""

from __future__ import annotations

from cloud.auth.deps import Role

# Which roles see a field in clear; everyone else sees it masked.
CLEAR_FOR: dict[str, frozenset[str]] = {
    "phone": frozenset({Role.ADMIN, Role.DISPATCHER, Role.SUPERVISOR}),
    "id_number": frozenset({Role.ADMIN}),
}


def mask(value: str, keep_start: int = 3, keep_end: int = 4) -> str:
    """``13812345678`` -> ``138****5678``; short values are masked entirely."""
    if not value:
        return value
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_for(role: str, field: str, value: str) -> str:
    """``value`` as ``role`` may see it."""
    return value if role in CLEAR_FOR.get(field, frozenset()) else mask(value)
