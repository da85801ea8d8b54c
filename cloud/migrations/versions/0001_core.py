"""Core tables: gateways, registry, operators, alarms.

Revision ID: 0001_core
Revises:
Create Date: 2026-11-23 00:08:39.817125
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the core tables."""
    op.create_table(
        "households",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("risk_level", sa.String(length=16), nullable=False),
        sa.Column("access_notes", sa.Text(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_households")),
    )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_households_district"), ["district"], unique=False)

    op.create_table(
        "workers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("district", sa.String(length=64), nullable=False),
        sa.Column("duty_status", sa.String(length=8), nullable=False),
        sa.Column("skills", sa.JSON(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("location_at", TS, nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workers")),
    )
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_workers_district"), ["district"], unique=False)
        batch_op.create_index(batch_op.f("ix_workers_phone"), ["phone"], unique=False)

    op.create_table(
        "family_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("relation", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("alarm_kinds", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.String(length=5), nullable=True),
        sa.Column("quiet_end", sa.String(length=5), nullable=True),
        sa.Column("may_claim", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_family_contacts_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_family_contacts")),
    )
    with op.batch_alter_table("family_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_family_contacts_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "gateways",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("household_id", sa.String(length=128), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("revoked_at", TS, nullable=True),
        sa.Column("last_seen_at", TS, nullable=True),
        sa.Column("offline_since", TS, nullable=True),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("health", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_gateways_household_id_households"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateways")),
    )
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gateways_household_id"), ["household_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_gateways_last_seen_at"), ["last_seen_at"], unique=False
        )

    op.create_table(
        "residents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=128), nullable=False),
        sa.Column("first_name", sa.String(length=64), nullable=False),
        sa.Column("last_name", sa.String(length=64), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("id_number", sa.String(length=32), nullable=False),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("sex", sa.String(length=1), nullable=True),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("consent", sa.Boolean(), nullable=False),
        sa.Column("consent_at", TS, nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_residents_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residents")),
    )
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_residents_household_id"), ["household_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["workers.id"],
            name=op.f("fk_users_worker_id_workers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "alarms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_id", sa.String(length=128), nullable=False),
        sa.Column("gateway_id", sa.String(length=128), nullable=False),
        sa.Column("home_id", sa.String(length=128), nullable=False),
        sa.Column("household_id", sa.String(length=128), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("detector", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=True),
        sa.Column("raised_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.Column("closed_at", TS, nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("dispatch_state", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_alarms_gateway_id_gateways"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_alarms_household_id_households"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarms")),
        sa.UniqueConstraint("alarm_id", name=op.f("uq_alarms_alarm_id")),
    )
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.create_index("ix_alarms_dispatch", ["dispatch_state", "received_at"], unique=False)
        batch_op.create_index(
            "ix_alarms_gateway_kind_status", ["gateway_id", "kind", "status"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_alarms_home_id"), ["home_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_household_id"), ["household_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_alarms_status"), ["status"], unique=False)

    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_id", sa.String(length=128), nullable=False),
        sa.Column("gateway_id", sa.String(length=128), nullable=True),
        sa.Column("device_id", sa.String(length=128), nullable=False),
        sa.Column("profile", sa.String(length=128), nullable=False),
        sa.Column("room", sa.String(length=64), nullable=False),
        sa.Column("worn_by_resident", sa.Boolean(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["gateway_id"],
            ["gateways.id"],
            name=op.f("fk_devices_gateway_id_gateways"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["households.id"],
            name=op.f("fk_devices_household_id_households"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("household_id", "device_id", name=op.f("uq_devices_household_id")),
    )
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_devices_gateway_id"), ["gateway_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_devices_household_id"), ["household_id"], unique=False)

    op.create_table(
        "alarm_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alarm_pk", sa.Integer(), nullable=False),
        sa.Column("update_id", sa.String(length=128), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("ts", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alarm_pk"],
            ["alarms.id"],
            name=op.f("fk_alarm_events_alarm_pk_alarms"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alarm_events")),
        sa.UniqueConstraint("update_id", name=op.f("uq_alarm_events_update_id")),
    )
    with op.batch_alter_table("alarm_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alarm_events_alarm_pk"), ["alarm_pk"], unique=False)


def downgrade() -> None:
    """Drop the core tables."""
    with op.batch_alter_table("alarm_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarm_events_alarm_pk"))

    op.drop_table("alarm_events")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_devices_household_id"))
        batch_op.drop_index(batch_op.f("ix_devices_gateway_id"))

    op.drop_table("devices")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    with op.batch_alter_table("alarms", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alarms_status"))
        batch_op.drop_index(batch_op.f("ix_alarms_household_id"))
        batch_op.drop_index(batch_op.f("ix_alarms_home_id"))
        batch_op.drop_index("ix_alarms_gateway_kind_status")
        batch_op.drop_index("ix_alarms_dispatch")

    op.drop_table("alarms")
    op.drop_table("users")
    with op.batch_alter_table("residents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_residents_household_id"))

    op.drop_table("residents")
    with op.batch_alter_table("gateways", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gateways_last_seen_at"))
        batch_op.drop_index(batch_op.f("ix_gateways_household_id"))

    op.drop_table("gateways")
    with op.batch_alter_table("family_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_family_contacts_household_id"))

    op.drop_table("family_contacts")
    with op.batch_alter_table("workers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_workers_phone"))
        batch_op.drop_index(batch_op.f("ix_workers_district"))

    op.drop_table("workers")
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_district"))

    op.drop_table("households")
