"""Alembic environment: runs on the connection ``cloud.migrate`` passes in."""

from __future__ import annotations

from alembic import context

import cloud.models  # noqa: F401  (registers every core table on Base.metadata)
from cloud.db import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `carewatch-cloud migrate` (cloud.migrate)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
