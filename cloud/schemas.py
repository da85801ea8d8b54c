"""Base of every request and response schema: strict, finite numbers, no NUL characters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, field_validator

QUERY_TIME_RANGE = (datetime(1900, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


def _query_time(value: datetime) -> datetime:
    low, high = QUERY_TIME_RANGE
    if not low <= value < high:
        raise ValueError("must be between 1900-01-01 and 2200-01-01")
    return value


QueryTime = Annotated[AwareDatetime, AfterValidator(_query_time)]
"""A time in a query (``start``, ``end``, ``since``): with a zone, 1900..2200, else 422."""


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
