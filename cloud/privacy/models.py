"""The access log: every read of a resident's personal record by a person."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cloud.db import Base, UTCDateTime, utcnow


class AccessLogEntry(Base):
    """Who read which record's which fields, when, and through what."""

    __tablename__ = "access_log"
    __table_args__ = (
        Index("ix_access_log_record", "record_type", "record_id"),
        Index("ix_access_log_user", "user_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int] = mapped_column(Integer)  # no foreign key: the log outlives logins
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(32))
    record_type: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(128))
    fields: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)  # column -> clear|masked
    via: Mapped[str] = mapped_column(String(128))
