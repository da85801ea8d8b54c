"""Operator accounts, their bearer tokens (both stored hashed), and the auth audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base, UTCDateTime, utcnow


class User(Base):
    """An operator login: admin, dispatcher, supervisor or worker (linked to a Worker)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id", ondelete="SET NULL"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiToken(Base):
    """A bearer token issued at login; only its keyed hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuthEvent(Base):
    """One entry of the auth audit log: a login (good, wrong, limited), a disable, an enable.

    Failed logins are also what the per-account and per-address limits count.
    """

    __tablename__ = "auth_events"
    __table_args__ = (
        Index("ix_auth_events_username_at", "username", "at"),
        Index("ix_auth_events_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(32))
    username: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(String(64))
    actor: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
