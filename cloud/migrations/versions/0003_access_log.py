"""The access log of personal-record reads; tasks flagged unstaffed.

Revision ID: 0003_access_log
Revises: 0002_dispatch
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_access_log"
down_revision = "0002_dispatch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create ``access_log``; add ``dispatch_tasks.unstaffed``."""
    op.create_table(
        "access_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("audience", sa.String(32), nullable=False),
        sa.Column("record_type", sa.String(16), nullable=False),
        sa.Column("record_id", sa.String(128), nullable=False),
        sa.Column("fields", sa.JSON, nullable=False),
        sa.Column("via", sa.String(128), nullable=False),
    )
    op.create_index("ix_access_log_at", "access_log", ["at"])
    op.create_index("ix_access_log_record", "access_log", ["record_type", "record_id"])
    op.create_index("ix_access_log_user", "access_log", ["user_id", "at"])
    with op.batch_alter_table("dispatch_tasks") as batch:
        batch.add_column(
            sa.Column("unstaffed", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Drop them again."""
    with op.batch_alter_table("dispatch_tasks") as batch:
        batch.drop_column("unstaffed")
    op.drop_table("access_log")
