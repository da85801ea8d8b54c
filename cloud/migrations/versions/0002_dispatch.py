"""Dispatch and notification tables; on PostgreSQL the audit trail refuses UPDATE and DELETE.

Revision ID: 0002_dispatch
Revises: 0001_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_dispatch"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "dispatch_task_counters",
        sa.Column("day", sa.String(8), primary_key=True),
        sa.Column("last", sa.Integer, nullable=False),
    )
    op.create_table(
        "dispatch_tasks",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("number", sa.String(16), nullable=False, unique=True),
        sa.Column(
            "household_id",
            sa.String(128),
            sa.ForeignKey("households.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("alarm_kind", sa.String(32), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("worker_id", sa.Integer, sa.ForeignKey("workers.id", ondelete="SET NULL")),
        sa.Column(
            "family_contact_id",
            sa.Integer,
            sa.ForeignKey("family_contacts.id", ondelete="SET NULL"),
        ),
        sa.Column("outcome", sa.String(32)),
        sa.Column("offer_round", sa.Integer, nullable=False),
        sa.Column("escalation", sa.Integer, nullable=False),
        sa.Column("at_risk", sa.Boolean, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("deadline_at", TS, nullable=False),
        sa.Column("next_action_at", TS),
        sa.Column("accepted_at", TS),
        sa.Column("arrived_at", TS),
        sa.Column("closed_at", TS),
        sa.Column("last_hash", sa.String(64), nullable=False),
        sa.Column("last_seq", sa.Integer, nullable=False),
    )
    op.create_index("ix_dispatch_tasks_due", "dispatch_tasks", ["state", "next_action_at"])
    op.create_index(
        "ix_dispatch_tasks_household_state", "dispatch_tasks", ["household_id", "state"]
    )
    op.create_table(
        "dispatch_task_alarms",
        sa.Column(
            "task_id",
            sa.Integer,
            sa.ForeignKey("dispatch_tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column(
            "alarm_pk",
            sa.Integer,
            sa.ForeignKey("alarms.id", ondelete="CASCADE"),
            primary_key=True,
            unique=True,
        ),
        sa.Column("joined_at", TS, nullable=False),
    )
    op.create_table(
        "dispatch_offers",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer,
            sa.ForeignKey("dispatch_tasks.id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        sa.Column(
            "worker_id",
            sa.Integer,
            sa.ForeignKey("workers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("escalation", sa.Integer, nullable=False),
        sa.Column("distance_km", sa.Float),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("offered_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("answered_at", TS),
        sa.Column("channel", sa.String(16)),
        sa.UniqueConstraint("task_id", "worker_id", "round"),
    )
    op.create_index("ix_dispatch_offers_worker_state", "dispatch_offers", ["worker_id", "state"])
    op.create_table(
        "dispatch_task_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer,
            sa.ForeignKey("dispatch_tasks.id", ondelete="RESTRICT"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.UniqueConstraint("task_id", "seq"),
    )
    op.create_table(
        "dispatch_clues",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "household_id",
            sa.String(128),
            sa.ForeignKey("households.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("alarm_pk", sa.Integer, sa.ForeignKey("alarms.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("closed_at", TS),
        sa.Column("closed_by", sa.String(64)),
    )
    op.create_index("ix_dispatch_clues_open", "dispatch_clues", ["household_id", "closed_at"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "task_id",
            sa.Integer,
            sa.ForeignKey("dispatch_tasks.id", ondelete="SET NULL"),
            index=True,
        ),
        sa.Column("recipient", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("purpose", sa.String(32), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("provider_id", sa.String(64)),
        sa.Column("provider_status", sa.String(32)),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
    )
    op.create_index("ix_notifications_due", "notifications", ["state", "next_attempt_at"])
    op.create_index("ix_notifications_provider", "notifications", ["provider_id"])
    op.create_table(
        "notification_receipts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("error_code", sa.String(16)),
        sa.Column("received_at", TS, nullable=False),
        sa.UniqueConstraint("provider_id", "status"),
    )
    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner", sa.String(32), nullable=False, index=True),
        sa.Column("endpoint", sa.Text, nullable=False, unique=True),
        sa.Column("p256dh", sa.String(128), nullable=False),
        sa.Column("auth", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "sms_blocked_numbers",
        sa.Column("phone", sa.String(32), primary_key=True),
        sa.Column("code", sa.String(16), nullable=False),
        sa.Column("blocked_at", TS, nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_ONLY_FN)
        op.execute(APPEND_ONLY_TRIGGER)


APPEND_ONLY_FN = """
CREATE FUNCTION dispatch_events_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'dispatch_task_events is append-only';
END $$ LANGUAGE plpgsql
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER dispatch_task_events_append_only
BEFORE UPDATE OR DELETE ON dispatch_task_events
FOR EACH ROW EXECUTE FUNCTION dispatch_events_append_only()
"""


def downgrade() -> None:
    """Drop the tables."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER dispatch_task_events_append_only ON dispatch_task_events")
        op.execute("DROP FUNCTION dispatch_events_append_only()")
    for table in (
        "sms_blocked_numbers",
        "push_subscriptions",
        "notification_receipts",
        "notifications",
        "dispatch_clues",
        "dispatch_task_events",
        "dispatch_offers",
        "dispatch_task_alarms",
        "dispatch_tasks",
        "dispatch_task_counters",
    ):
        op.drop_table(table)
