"""Base of every request and response schema: strict, finite numbers, no NUL characters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


class Strict(BaseModel):
    """Request bodies: unknown fields, NaN/Infinity and NUL characters are 422s."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, str_strip_whitespace=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        if has_nul(value):
            raise ValueError("must not contain NUL characters")
        return value


class Public(BaseModel):
    """Response bodies, read from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


def has_nul(value: Any) -> bool:
    """True if a string anywhere inside ``value`` contains a NUL character."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(has_nul(k) or has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple | set):
        return any(has_nul(v) for v in value)
    return False


def nul_path(value: Any, path: str = "") -> str | None:
    """The path (``evidence[0].kind``) of the first string holding a NUL, or None."""
    if isinstance(value, str):
        return path or "body" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            key = f"{path}.{k}" if path else str(k)
            if "\x00" in str(k):
                return key
            found = nul_path(v, key)
            if found:
                return found
    if isinstance(value, list):
        for i, v in enumerate(value):
            found = nul_path(v, f"{path}[{i}]")
            if found:
                return found
    return None
