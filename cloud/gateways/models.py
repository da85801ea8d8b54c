"""The gateways table: identity, hashed credential, liveness."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base, UTCDateTime, utcnow


class Gateway(Base):
    """One home gateway. Only a SHA-256 of its credential's secret is stored."""

    __tablename__ = "gateways"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    household_id: Mapped[str | None] = mapped_column(
        ForeignKey("households.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(128), default="")
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    offline_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[str] = mapped_column(String(32), default="")
    health: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
