"""Alarm identity per gateway, the cloud's own receive time beside a suspect device time.

- ``alarms``: unique by (gateway_id, alarm_id), no longer by alarm_id alone: one gateway's
  id never blocks another's.
- ``alarm_events``: update ids unique per alarm, no longer across all gateways.
- ``alarms.clock_suspect``: the device's time is not to be trusted (the gateway said so, or
  it is far from the cloud's receive time); ages are then counted from ``received_at``.

Revision ID: 0004_alarm_identity
Revises: 0003_access_log
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_alarm_identity"
down_revision = "0003_access_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Scope the unique keys; add clock_suspect."""
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_alarms_alarm_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_alarms_gateway_alarm"), ["gateway_id", "alarm_id"]
        )
        batch_op.create_index(batch_op.f("ix_alarms_alarm_id"), ["alarm_id"], unique=False)
        batch_op.add_column(
            sa.Column("clock_suspect", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("alarm_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_alarm_events_update_id"), type_="unique")
        batch_op.create_unique_constraint(
            op.f("uq_alarm_events_alarm_update"), ["alarm_pk", "update_id"]
        )


def downgrade() -> None:
    """Back to global ids (fails if two gateways now share an id)."""
    with op.batch_alter_table("alarm_events", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("uq_alarm_events_alarm_update"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_alarm_events_update_id"), ["update_id"])
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_column("clock_suspect")
        batch_op.drop_index(batch_op.f("ix_alarms_alarm_id"))
        batch_op.drop_constraint(op.f("uq_alarms_gateway_alarm"), type_="unique")
        batch_op.create_unique_constraint(op.f("uq_alarms_alarm_id"), ["alarm_id"])
