"""Security: the auth audit log, applied inbound SMS (replays), one worker per phone number.

Revision ID: 0005_security
Revises: 0004_alarm_identity
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_security"
down_revision = "0004_alarm_identity"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables; make ``workers.phone`` unique (refused while duplicates exist)."""
    op.create_table(
        "auth_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer),
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
    )
    op.create_index("ix_auth_events_username_at", "auth_events", ["username", "at"])
    op.create_index("ix_auth_events_client_at", "auth_events", ["client", "at"])
    op.create_table(
        "sms_inbound",
        sa.Column("message_sid", sa.String(64), primary_key=True),
        sa.Column("received_at", TS, nullable=False),
    )
    dupes = op.get_bind().execute(
        sa.text("SELECT phone, COUNT(*) FROM workers GROUP BY phone HAVING COUNT(*) > 1")
    )
    shared = [row[0] for row in dupes]
    if shared:
        raise RuntimeError(
            f"workers.phone: {len(shared)} numbers are shared by several workers; give each "
            "worker its own number (or deactivate and renumber the duplicates) and migrate "
            "again (SELECT phone FROM workers GROUP BY phone HAVING COUNT(*) > 1)"
        )
    with op.batch_alter_table("workers") as batch_op:
        batch_op.drop_index("ix_workers_phone")
        batch_op.create_index("ix_workers_phone", ["phone"], unique=True)


def downgrade() -> None:
    """Drop the tables; ``workers.phone`` is indexed without uniqueness again."""
    with op.batch_alter_table("workers") as batch_op:
        batch_op.drop_index("ix_workers_phone")
        batch_op.create_index("ix_workers_phone", ["phone"], unique=False)
    op.drop_table("sms_inbound")
    op.drop_index("ix_auth_events_client_at", "auth_events")
    op.drop_index("ix_auth_events_username_at", "auth_events")
    op.drop_table("auth_events")
