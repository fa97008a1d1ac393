"""initial schema

Every table of bot.db.models. Enumerations are non-native (`native_enum=False`,
no CHECK constraint): plain VARCHAR(24) on both backends, so a new member needs
no migration. Money and timestamps use the project's TypeDecorators, which pick
BIGINT minor units / NUMERIC(14, 2) and DATETIME / TIMESTAMPTZ per dialect.

Revision ID: 0001
Revises:
Create Date: 2026-11-23 10:39:37.348115
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column(
            "role",
            sa.Enum("agent", "supervisor", name="agentrole", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("username", name=op.f("uq_agents_username")),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("entity_type", sa.String(length=48), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "cardholders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("external_ref", sa.String(length=32), nullable=False),
        sa.Column("full_name", sa.String(length=120), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.Column(
            "preferred_language",
            sa.Enum("en", "zh", name="language", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cardholders")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_cardholders_external_ref")),
        sa.UniqueConstraint("phone_e164", name=op.f("uq_cardholders_phone_e164")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cardholder_id", sa.Integer(), nullable=False),
        sa.Column(
            "jurisdiction",
            sa.Enum("CN", "US", name="jurisdiction", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("credit_limit", bot.db.types.Money(), nullable=False),
        sa.Column("current_balance", bot.db.types.Money(), nullable=False),
        sa.Column("past_due_amount", bot.db.types.Money(), nullable=False),
        sa.Column("minimum_due", bot.db.types.Money(), nullable=False),
        sa.Column("payment_due_date", sa.Date(), nullable=True),
        sa.Column("days_past_due", sa.Integer(), nullable=False),
        sa.Column(
            "bucket",
            sa.Enum(
                "current",
                "early",
                "mid",
                "late",
                "npl",
                "charged_off",
                name="bucket",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("purchase_apr", sa.Numeric(precision=7, scale=4), nullable=False),
        sa.Column("dispute_open", sa.Boolean(), nullable=False),
        sa.Column("attorney_represented", sa.Boolean(), nullable=False),
        sa.Column("bankruptcy", sa.Boolean(), nullable=False),
        sa.Column("deceased", sa.Boolean(), nullable=False),
        sa.Column("vulnerable", sa.Boolean(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("updated_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("days_past_due >= 0", name=op.f("ck_accounts_dpd_non_negative")),
        sa.ForeignKeyConstraint(
            ["cardholder_id"],
            ["cardholders.id"],
            name=op.f("fk_accounts_cardholder_id_cardholders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_accounts_bucket_jurisdiction", ["bucket", "jurisdiction"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_accounts_cardholder_id"), ["cardholder_id"], unique=False
        )

    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cardholder_id", sa.Integer(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("opted_in", "opted_out", name="consentstatus", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("source", sa.String(length=48), nullable=False),
        sa.Column("keyword", sa.String(length=64), nullable=True),
        sa.Column("changed_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["cardholder_id"],
            ["cardholders.id"],
            name=op.f("fk_consents_cardholder_id_cardholders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sa.UniqueConstraint("cardholder_id", "channel", name=op.f("uq_consents_cardholder_id")),
    )
    op.create_table(
        "cards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("last4", sa.String(length=4), nullable=False),
        sa.Column("brand", sa.String(length=20), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.CheckConstraint("length(last4) = 4", name=op.f("ck_cards_last4_len")),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_cards_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cards")),
    )
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cards_account_id"), ["account_id"], unique=False)

    op.create_table(
        "conversations",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "language",
            sa.Enum("en", "zh", name="language", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("address", sa.String(length=32), nullable=True),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column(
            "owner",
            sa.Enum(
                "bot",
                "waiting",
                "agent",
                "closed",
                name="conversationowner",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("handoff_reason", sa.String(length=64), nullable=True),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("assigned_agent_id", sa.Integer(), nullable=True),
        sa.Column("verified_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("last_activity_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_conversations_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["assigned_agent_id"],
            ["agents.id"],
            name=op.f("fk_conversations_assigned_agent_id_agents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_conversations")),
    )
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_conversations_address"), ["address"], unique=False)
        batch_op.create_index(
            "ix_conversations_owner_priority", ["owner", "priority"], unique=False
        )

    op.create_table(
        "fees",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "late",
                "annual",
                "overlimit",
                "installment",
                "interest",
                name="feekind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("amount", bot.db.types.Money(), nullable=False),
        sa.Column("assessed_on", sa.Date(), nullable=False),
        sa.Column("waived_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("waived_by", sa.String(length=64), nullable=True),
        sa.Column("waiver_reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_fees_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fees")),
    )
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fees_account_id"), ["account_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("amount", bot.db.types.Money(), nullable=False),
        sa.Column("received_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("method", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_payments_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("reference", name=op.f("uq_payments_reference")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_account_id"), ["account_id"], unique=False)

    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("statement_date", sa.Date(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("closing_balance", bot.db.types.Money(), nullable=False),
        sa.Column("minimum_due", bot.db.types.Money(), nullable=False),
        sa.Column("installment_eligible", sa.Boolean(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_statements_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("account_id", "statement_date", name=op.f("uq_statements_account_id")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_account_id"), ["account_id"], unique=False)

    op.create_table(
        "contact_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "direction",
            sa.Enum("inbound", "outbound", name="contactdirection", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("purpose", sa.String(length=48), nullable=False),
        sa.Column(
            "outcome",
            sa.Enum(
                "queued",
                "sent",
                "delivered",
                "failed",
                "suppressed",
                "answered",
                "no_answer",
                "voicemail",
                name="contactoutcome",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("provider_sid", sa.String(length=64), nullable=True),
        sa.Column("at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_contact_log_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_contact_log_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_log")),
    )
    with op.batch_alter_table("contact_log", schema=None) as batch_op:
        batch_op.create_index("ix_contact_log_account_at", ["account_id", "at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_contact_log_provider_sid"), ["provider_sid"], unique=False
        )

    op.create_table(
        "hardship_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column(
            "reason",
            sa.Enum(
                "job_loss",
                "illness",
                "family",
                "business",
                "other",
                name="hardshipreason",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("monthly_affordable", bot.db.types.Money(), nullable=True),
        sa.Column("evidence_description", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "awaiting_approval",
                "agreed",
                "closed",
                name="casestatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("closed_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_hardship_cases_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_hardship_cases_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hardship_cases")),
    )
    with op.batch_alter_table("hardship_cases", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_hardship_cases_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "inbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("provider_message_id", sa.String(length=80), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "language",
            sa.Enum("en", "zh", name="language", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "received",
                "processed",
                "pending_retry",
                "failed",
                "duplicate",
                name="inboxstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=True),
        sa.Column("received_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("processed_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_inbox_messages_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox_messages")),
        sa.UniqueConstraint(
            "channel", "provider_message_id", name=op.f("uq_inbox_messages_channel")
        ),
    )
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbox_messages_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index("ix_inbox_status_received", ["status", "received_at"], unique=False)

    op.create_table(
        "installment_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column(
            "source",
            sa.Enum(
                "purchase", "statement", "hardship", name="plansource", native_enum=False, length=24
            ),
            nullable=False,
        ),
        sa.Column("source_transaction_id", sa.Integer(), nullable=True),
        sa.Column("source_statement_id", sa.Integer(), nullable=True),
        sa.Column("principal", bot.db.types.Money(), nullable=False),
        sa.Column("tenor_months", sa.Integer(), nullable=False),
        sa.Column("monthly_fee_rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("total_fee", bot.db.types.Money(), nullable=False),
        sa.Column("annual_rate", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "paid_off",
                "cancelled",
                "broken",
                name="planstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_installment_plans_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["source_statement_id"],
            ["statements.id"],
            name=op.f("fk_installment_plans_source_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installment_plans")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_installment_plans_idempotency_key")),
    )
    with op.batch_alter_table("installment_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_installment_plans_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "promises_to_pay",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("amount", bot.db.types.Money(), nullable=False),
        sa.Column("promised_date", sa.Date(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "open",
                "kept",
                "broken",
                "cancelled",
                name="promisestatus",
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
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("resolved_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_promises_to_pay_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_promises_to_pay_conversation_id_conversations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_promises_to_pay")),
    )
    with op.batch_alter_table("promises_to_pay", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_promises_to_pay_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "installment_schedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("principal_part", bot.db.types.Money(), nullable=False),
        sa.Column("fee_part", bot.db.types.Money(), nullable=False),
        sa.Column("amount", bot.db.types.Money(), nullable=False),
        sa.Column("paid_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["installment_plans.id"],
            name=op.f("fk_installment_schedule_plan_id_installment_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_installment_schedule")),
        sa.UniqueConstraint("plan_id", "sequence", name=op.f("uq_installment_schedule_plan_id")),
    )
    with op.batch_alter_table("installment_schedule", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_installment_schedule_plan_id"), ["plan_id"], unique=False
        )

    op.create_table(
        "offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=True),
        sa.Column("hardship_case_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "installment",
                "promise",
                "hardship_plan",
                "fee_waiver",
                "interest_waiver",
                "settlement",
                name="offerkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("made_by", sa.String(length=64), nullable=False),
        sa.Column(
            "authority_required",
            sa.Enum("bot", "agent", "supervisor", name="authority", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "proposed",
                "accepted",
                "refused",
                "pending_approval",
                "approved",
                "rejected",
                "expired",
                name="offerstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("decided_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_offers_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_offers_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["hardship_case_id"],
            ["hardship_cases.id"],
            name=op.f("fk_offers_hardship_case_id_hardship_cases"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_offers")),
    )
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_offers_account_id"), ["account_id"], unique=False)

    op.create_table(
        "outbox_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=128), nullable=False),
        sa.Column("inbox_message_id", sa.Integer(), nullable=True),
        sa.Column("author", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_outbox_messages_conversation_id_conversations"),
        ),
        sa.ForeignKeyConstraint(
            ["inbox_message_id"],
            ["inbox_messages.id"],
            name=op.f("fk_outbox_messages_inbox_message_id_inbox_messages"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_messages")),
    )
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_conversation_id", ["conversation_id", "id"], unique=False)

    op.create_table(
        "transactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("card_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "purchase",
                "cash_advance",
                "refund",
                name="transactionkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("posted_on", sa.Date(), nullable=False),
        sa.Column("merchant", sa.String(length=120), nullable=False),
        sa.Column("amount", bot.db.types.Money(), nullable=False),
        sa.Column("installment_eligible", sa.Boolean(), nullable=False),
        sa.Column("installment_plan_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_transactions_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["card_id"], ["cards.id"], name=op.f("fk_transactions_card_id_cards")
        ),
        sa.ForeignKeyConstraint(
            ["installment_plan_id"],
            ["installment_plans.id"],
            name=op.f("fk_transactions_installment_plan_id_installment_plans"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transactions")),
    )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_transactions_account_id"), ["account_id"], unique=False
        )

    # installment_plans and transactions point at each other, so this key can
    # only exist once both tables do (a table rebuild on SQLite, ALTER elsewhere).
    with op.batch_alter_table("installment_plans", schema=None) as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_installment_plans_source_transaction_id_transactions"),
            "transactions",
            ["source_transaction_id"],
            ["id"],
        )

    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sa.Integer(), nullable=False),
        sa.Column("terms", sa.JSON(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consented_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("web", "sms", "voice", name="channel", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "active",
                "completed",
                "broken",
                name="agreementstatus",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_agreements_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["offer_id"], ["offers.id"], name=op.f("fk_agreements_offer_id_offers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("offer_id", name=op.f("uq_agreements_offer_id")),
    )
    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_agreements_account_id"), ["account_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("installment_plans", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_installment_plans_source_transaction_id_transactions"),
            type_="foreignkey",
        )

    with op.batch_alter_table("agreements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_agreements_account_id"))

    op.drop_table("agreements")
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_transactions_account_id"))

    op.drop_table("transactions")
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_conversation_id")

    op.drop_table("outbox_messages")
    with op.batch_alter_table("offers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offers_account_id"))

    op.drop_table("offers")
    with op.batch_alter_table("installment_schedule", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installment_schedule_plan_id"))

    op.drop_table("installment_schedule")
    with op.batch_alter_table("promises_to_pay", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_promises_to_pay_account_id"))

    op.drop_table("promises_to_pay")
    with op.batch_alter_table("installment_plans", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installment_plans_account_id"))

    op.drop_table("installment_plans")
    with op.batch_alter_table("inbox_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_inbox_status_received")
        batch_op.drop_index(batch_op.f("ix_inbox_messages_conversation_id"))

    op.drop_table("inbox_messages")
    with op.batch_alter_table("hardship_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_hardship_cases_account_id"))

    op.drop_table("hardship_cases")
    with op.batch_alter_table("contact_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_log_provider_sid"))
        batch_op.drop_index("ix_contact_log_account_at")

    op.drop_table("contact_log")
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_account_id"))

    op.drop_table("statements")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_account_id"))

    op.drop_table("payments")
    with op.batch_alter_table("fees", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fees_account_id"))

    op.drop_table("fees")
    with op.batch_alter_table("conversations", schema=None) as batch_op:
        batch_op.drop_index("ix_conversations_owner_priority")
        batch_op.drop_index(batch_op.f("ix_conversations_address"))

    op.drop_table("conversations")
    with op.batch_alter_table("cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cards_account_id"))

    op.drop_table("cards")
    op.drop_table("consents")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_cardholder_id"))
        batch_op.drop_index("ix_accounts_bucket_jurisdiction")

    op.drop_table("accounts")
    op.drop_table("cardholders")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))

    op.drop_table("audit_log")
    op.drop_table("agents")
