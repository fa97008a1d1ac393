"""reminder_jobs: the persistent reminder scheduler's queue (issue 8).

One row per reminder (account, kind, day it is about, reference), unique so
that planning can run again and again without duplicates; the status and the
claim lease let a restarted scheduler retry what was claimed but not done.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reminder_jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "due_soon",
                "due_today",
                "overdue",
                "promise_tomorrow",
                "promise_broken",
                "instalment_due",
                name="reminderkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("reference", sa.String(length=48), nullable=False),
        sa.Column("not_before", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("not_after", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "planned",
                "claimed",
                "sent",
                "suppressed",
                "failed",
                name="reminderstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("claim_token", sa.String(length=36), nullable=True),
        sa.Column("claimed_until", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("send_started_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("context_used_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_reminder_jobs_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_jobs")),
        sa.UniqueConstraint(
            "account_id",
            "kind",
            "due_on",
            "reference",
            name=op.f("uq_reminder_jobs_account_id"),
        ),
    )
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminder_jobs_status_not_before", ["status", "not_before"], unique=False
        )
        batch_op.create_index(
            "ix_reminder_jobs_conversation_sent", ["conversation_id", "sent_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_jobs_conversation_sent")
        batch_op.drop_index("ix_reminder_jobs_status_not_before")
    op.drop_table("reminder_jobs")
