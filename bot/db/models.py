"""The data model: SQLAlchemy 2 typed ORM, one class per table.

Money is `Money` (exact `Decimal`), times are `UTCDateTime`; each account
carries its IANA time zone for contact windows and due dates. Card numbers
are never stored: a card is known by its last four digits only.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import Money, UTCDateTime, utcnow
from bot.domain.enums import (
    AgentRole,
    AgreementStatus,
    Authority,
    Bucket,
    CaseStatus,
    Channel,
    ConsentStatus,
    ContactDirection,
    ContactOutcome,
    ConversationOwner,
    FeeKind,
    HandoffOutcome,
    HardshipReason,
    InboxStatus,
    Jurisdiction,
    Language,
    OfferKind,
    OfferStatus,
    PlanSource,
    PlanStatus,
    PromiseStatus,
    ReminderKind,
    ReminderStatus,
    TransactionKind,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), Decimal: Money(), dict[str, Any]: JSON()}


def _enum(cls: type[enum.Enum]) -> Enum:
    # Stored as plain strings (no native ENUM type) so migrations stay simple
    # on both backends and new members need no ALTER TYPE.
    return Enum(
        cls,
        native_enum=False,
        length=24,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- customers, accounts, cards -------------------------------------------------


class Cardholder(TimestampMixin, Base):
    __tablename__ = "cardholders"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str] = mapped_column(String(32), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    date_of_birth: Mapped[date] = mapped_column(Date)
    phone_e164: Mapped[str] = mapped_column(String(20), unique=True)
    preferred_language: Mapped[Language] = mapped_column(_enum(Language))

    accounts: Mapped[list[Account]] = relationship(back_populates="cardholder")
    consents: Mapped[list[Consent]] = relationship(back_populates="cardholder")


class Account(TimestampMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("days_past_due >= 0", name="dpd_non_negative"),
        Index("ix_accounts_bucket_jurisdiction", "bucket", "jurisdiction"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id"), index=True)
    jurisdiction: Mapped[Jurisdiction] = mapped_column(_enum(Jurisdiction))
    currency: Mapped[str] = mapped_column(String(3))
    time_zone: Mapped[str] = mapped_column(String(64))
    credit_limit: Mapped[Decimal]
    current_balance: Mapped[Decimal]
    past_due_amount: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    minimum_due: Mapped[Decimal] = mapped_column(default=Decimal("0.00"))
    payment_due_date: Mapped[date | None] = mapped_column(Date)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    bucket: Mapped[Bucket] = mapped_column(_enum(Bucket))
    purchase_apr: Mapped[Decimal] = mapped_column(Numeric(7, 4))
    # Flags that stop collection contact and force a human (RULES.md).
    dispute_open: Mapped[bool] = mapped_column(Boolean, default=False)
    attorney_represented: Mapped[bool] = mapped_column(Boolean, default=False)
    bankruptcy: Mapped[bool] = mapped_column(Boolean, default=False)
    deceased: Mapped[bool] = mapped_column(Boolean, default=False)
    vulnerable: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    cardholder: Mapped[Cardholder] = relationship(back_populates="accounts")
    cards: Mapped[list[Card]] = relationship(back_populates="account")
    statements: Mapped[list[Statement]] = relationship(back_populates="account")
    transactions: Mapped[list[Transaction]] = relationship(back_populates="account")
    fees: Mapped[list[Fee]] = relationship(back_populates="account")
    payments: Mapped[list[Payment]] = relationship(back_populates="account")
    installment_plans: Mapped[list[InstallmentPlan]] = relationship(back_populates="account")
    promises: Mapped[list[PromiseToPay]] = relationship(back_populates="account")


class Card(TimestampMixin, Base):
    __tablename__ = "cards"
    __table_args__ = (CheckConstraint("length(last4) = 4", name="last4_len"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    last4: Mapped[str] = mapped_column(String(4))
    brand: Mapped[str] = mapped_column(String(20))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    account: Mapped[Account] = relationship(back_populates="cards")


# --- statements and money movements ---------------------------------------------


class Statement(TimestampMixin, Base):
    __tablename__ = "statements"
    __table_args__ = (UniqueConstraint("account_id", "statement_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    statement_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    closing_balance: Mapped[Decimal]
    minimum_due: Mapped[Decimal]
    installment_eligible: Mapped[bool] = mapped_column(Boolean, default=False)

    account: Mapped[Account] = relationship(back_populates="statements")


class Transaction(TimestampMixin, Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    card_id: Mapped[int | None] = mapped_column(ForeignKey("cards.id"))
    kind: Mapped[TransactionKind] = mapped_column(_enum(TransactionKind))
    posted_on: Mapped[date] = mapped_column(Date)
    merchant: Mapped[str] = mapped_column(String(120))
    amount: Mapped[Decimal]
    installment_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    installment_plan_id: Mapped[int | None] = mapped_column(ForeignKey("installment_plans.id"))

    account: Mapped[Account] = relationship(back_populates="transactions")


class Fee(TimestampMixin, Base):
    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    kind: Mapped[FeeKind] = mapped_column(_enum(FeeKind))
    amount: Mapped[Decimal]
    assessed_on: Mapped[date] = mapped_column(Date)
    waived_at: Mapped[datetime | None]
    waived_by: Mapped[str | None] = mapped_column(String(64))
    waiver_reason: Mapped[str | None] = mapped_column(String(200))

    account: Mapped[Account] = relationship(back_populates="fees")


class Payment(TimestampMixin, Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[Decimal]
    received_at: Mapped[datetime]
    method: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)

    account: Mapped[Account] = relationship(back_populates="payments")


# --- installments, promises, hardship, offers, agreements ---------------------


class InstallmentPlan(TimestampMixin, Base):
    __tablename__ = "installment_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    source: Mapped[PlanSource] = mapped_column(_enum(PlanSource))
    source_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("transactions.id", use_alter=True)
    )
    source_statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    principal: Mapped[Decimal]
    tenor_months: Mapped[int] = mapped_column(Integer)
    monthly_fee_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    total_fee: Mapped[Decimal]
    annual_rate: Mapped[Decimal] = mapped_column(Numeric(8, 6))
    status: Mapped[PlanStatus] = mapped_column(_enum(PlanStatus), default=PlanStatus.ACTIVE)
    policy_version: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(64))
    # A retried confirmation (webhook replay, double tap) carries the same key.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True)

    account: Mapped[Account] = relationship(back_populates="installment_plans")
    schedule: Mapped[list[InstallmentScheduleItem]] = relationship(
        back_populates="plan", order_by="InstallmentScheduleItem.sequence"
    )


class InstallmentScheduleItem(Base):
    __tablename__ = "installment_schedule"
    __table_args__ = (UniqueConstraint("plan_id", "sequence"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("installment_plans.id"), index=True)
    sequence: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal_part: Mapped[Decimal]
    fee_part: Mapped[Decimal]
    amount: Mapped[Decimal]
    paid_at: Mapped[datetime | None]

    plan: Mapped[InstallmentPlan] = relationship(back_populates="schedule")


class PromiseToPay(TimestampMixin, Base):
    __tablename__ = "promises_to_pay"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    amount: Mapped[Decimal]
    promised_date: Mapped[date] = mapped_column(Date)
    status: Mapped[PromiseStatus] = mapped_column(_enum(PromiseStatus), default=PromiseStatus.OPEN)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    policy_version: Mapped[str] = mapped_column(String(32))
    resolved_at: Mapped[datetime | None]

    account: Mapped[Account] = relationship(back_populates="promises")


class HardshipCase(TimestampMixin, Base):
    __tablename__ = "hardship_cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    reason: Mapped[HardshipReason] = mapped_column(_enum(HardshipReason))
    monthly_affordable: Mapped[Decimal | None]
    evidence_description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[CaseStatus] = mapped_column(_enum(CaseStatus), default=CaseStatus.OPEN)
    closed_at: Mapped[datetime | None]


class Offer(TimestampMixin, Base):
    """Every offer made, accepted, refused or escalated, with its policy version."""

    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    hardship_case_id: Mapped[int | None] = mapped_column(ForeignKey("hardship_cases.id"))
    kind: Mapped[OfferKind] = mapped_column(_enum(OfferKind))
    terms: Mapped[dict[str, Any]]
    made_by: Mapped[str] = mapped_column(String(64))
    authority_required: Mapped[Authority] = mapped_column(_enum(Authority))
    status: Mapped[OfferStatus] = mapped_column(_enum(OfferStatus))
    policy_version: Mapped[str] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))


class Agreement(TimestampMixin, Base):
    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), unique=True)
    terms: Mapped[dict[str, Any]]
    consent_text: Mapped[str] = mapped_column(Text)
    consented_at: Mapped[datetime]
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    status: Mapped[AgreementStatus] = mapped_column(
        _enum(AgreementStatus), default=AgreementStatus.ACTIVE
    )
    policy_version: Mapped[str] = mapped_column(String(32))


# --- contact, consent, conversations ----------------------------------------------


class ContactLog(Base):
    """Every contact attempt and its outcome, kept for audit (RULES.md: ≥ 2 years)."""

    __tablename__ = "contact_log"
    __table_args__ = (Index("ix_contact_log_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    conversation_id: Mapped[str | None] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    direction: Mapped[ContactDirection] = mapped_column(_enum(ContactDirection))
    purpose: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[ContactOutcome] = mapped_column(_enum(ContactOutcome))
    reason: Mapped[str | None] = mapped_column(String(200))
    provider_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Consent(Base):
    """Per-channel consent; an opt-out silences that channel until re-opt-in."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("cardholder_id", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cardholder_id: Mapped[int] = mapped_column(ForeignKey("cardholders.id"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    status: Mapped[ConsentStatus] = mapped_column(_enum(ConsentStatus))
    source: Mapped[str] = mapped_column(String(48))
    keyword: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    cardholder: Mapped[Cardholder] = relationship(back_populates="consents")


class Agent(TimestampMixin, Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[AgentRole] = mapped_column(_enum(AgentRole))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class DeskSession(Base):
    """A signed-in desk user. The cookie holds a random token; only its hash is kept."""

    __tablename__ = "desk_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ip: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]


class LoginAttempt(Base):
    """Every desk sign-in attempt: the login rate limit counts these."""

    __tablename__ = "desk_login_attempts"
    __table_args__ = (
        Index("ix_desk_login_attempts_username_at", "username", "at"),
        Index("ix_desk_login_attempts_ip_at", "ip", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Conversation(TimestampMixin, Base):
    """One conversation per channel address; who owns it decides where messages go."""

    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_owner_priority", "owner", "priority"),)

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    language: Mapped[Language] = mapped_column(_enum(Language))
    # The caller's phone number for SMS/voice; None for anonymous web chat.
    address: Mapped[str | None] = mapped_column(String(32), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id"))
    owner: Mapped[ConversationOwner] = mapped_column(
        _enum(ConversationOwner), default=ConversationOwner.BOT
    )
    handoff_reason: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    verified_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime] = mapped_column(default=utcnow)


class Handoff(Base):
    """One stay of a conversation with people: queued, taken, ended.

    The desk's queue and the supervisor's waiting times and handoff reasons
    come from these rows; a conversation with none was contained by the bot.
    """

    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_conversation_ended", "conversation_id", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    reason: Mapped[str] = mapped_column(String(64))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    taken_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[HandoffOutcome | None] = mapped_column(_enum(HandoffOutcome))


class InboxMessage(Base):
    """Every inbound message, persisted before it is processed (nothing is lost)."""

    __tablename__ = "inbox_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        Index("ix_inbox_status_received", "status", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    # Twilio's MessageSid / CallSid+turn; None for web chat.
    provider_message_id: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(Text)
    language: Mapped[Language] = mapped_column(_enum(Language))
    status: Mapped[InboxStatus] = mapped_column(_enum(InboxStatus), default=InboxStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """What the assistant or an agent said, in order, per conversation."""

    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_conversation_id", "conversation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    inbox_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbox_messages.id"))
    author: Mapped[str] = mapped_column(String(64))  # "bot", "system" or "agent:<username>"
    text: Mapped[str] = mapped_column(Text)
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Append-only record of who did what to which record, under which policy."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))  # "bot", "system", "agent:<username>"
    action: Mapped[str] = mapped_column(String(64))
    entity_type: Mapped[str] = mapped_column(String(48))
    entity_id: Mapped[str] = mapped_column(String(128))  # conversation ids are up to 128
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    policy_version: Mapped[str | None] = mapped_column(String(32))


# --- reminders ----------------------------------------------------------------------


class ReminderJob(Base):
    """One reminder to one account, planned by SQL and sent at most once.

    The unique key (account, kind, due_on, reference) makes planning
    idempotent: `due_on` is the day the reminder is about (a payment due
    date, a promised date, an instalment date) and `reference` tells apart
    reminders about the same day (the overdue milestone, the promise or plan).
    `not_before`/`not_after` bound when it may go out (UTC); a claim holds it
    until `claimed_until`, after which another scheduler may retry it.
    `send_started_at` marks that a send was attempted: a retry first looks
    for the contact log row carrying `purpose` (the send's idempotency key)
    so a message Twilio accepted is never sent twice.
    """

    __tablename__ = "reminder_jobs"
    __table_args__ = (
        UniqueConstraint("account_id", "kind", "due_on", "reference"),
        Index("ix_reminder_jobs_status_not_before", "status", "not_before"),
        Index("ix_reminder_jobs_conversation_sent", "conversation_id", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind))
    channel: Mapped[Channel] = mapped_column(_enum(Channel))
    due_on: Mapped[date] = mapped_column(Date)
    reference: Mapped[str] = mapped_column(String(48))
    not_before: Mapped[datetime]
    not_after: Mapped[datetime]
    status: Mapped[ReminderStatus] = mapped_column(
        _enum(ReminderStatus), default=ReminderStatus.PLANNED
    )
    claim_token: Mapped[str | None] = mapped_column(String(36))
    claimed_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(String(200))
    send_started_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    provider_sid: Mapped[str | None] = mapped_column(String(64))
    # The SMS conversation a reply lands in ("sms:<digits>"); no foreign key:
    # the conversation row is created by the first reply.
    conversation_id: Mapped[str | None] = mapped_column(String(128))
    # When a reply's turn was given this reminder's context (at most once).
    context_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def purpose(self) -> str:
        """The contact log purpose of this job's send: its idempotency key."""
        return f"reminder:{self.kind.value}:{self.id}"
