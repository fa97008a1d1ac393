"""The vocabulary of the domain: every closed set of values the model uses."""

from __future__ import annotations

import enum


class Jurisdiction(str, enum.Enum):
    CN = "CN"
    US = "US"


class Bucket(str, enum.Enum):
    """Delinquency bucket by days past due (CONTRACT.md §5)."""

    CURRENT = "current"
    EARLY = "early"
    MID = "mid"
    LATE = "late"
    NPL = "npl"
    CHARGED_OFF = "charged_off"


class Language(str, enum.Enum):
    EN = "en"
    ZH = "zh"


class Channel(str, enum.Enum):
    WEB = "web"
    SMS = "sms"
    VOICE = "voice"


class ConversationOwner(str, enum.Enum):
    BOT = "bot"
    WAITING = "waiting"
    AGENT = "agent"
    CLOSED = "closed"


class HandoffOutcome(str, enum.Enum):
    """How a conversation's time with people ended."""

    HANDED_BACK = "handed_back"  # the bot continues
    CLOSED = "closed"  # the agent closed it


class InboxStatus(str, enum.Enum):
    RECEIVED = "received"
    PROCESSED = "processed"
    PENDING_RETRY = "pending_retry"
    FAILED = "failed"
    DUPLICATE = "duplicate"
    # Kept but never given to the dialogue: the sender was over a rate limit.
    RATE_LIMITED = "rate_limited"


class TransactionKind(str, enum.Enum):
    PURCHASE = "purchase"
    CASH_ADVANCE = "cash_advance"
    REFUND = "refund"


class FeeKind(str, enum.Enum):
    LATE = "late"
    ANNUAL = "annual"
    OVERLIMIT = "overlimit"
    INSTALLMENT = "installment"
    INTEREST = "interest"


class PlanSource(str, enum.Enum):
    PURCHASE = "purchase"  # 消费分期
    STATEMENT = "statement"  # 账单分期
    HARDSHIP = "hardship"  # 个性化分期 / hardship workout


class PlanStatus(str, enum.Enum):
    ACTIVE = "active"
    PAID_OFF = "paid_off"
    CANCELLED = "cancelled"
    BROKEN = "broken"


class PromiseStatus(str, enum.Enum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class HardshipReason(str, enum.Enum):
    JOB_LOSS = "job_loss"
    ILLNESS = "illness"
    FAMILY = "family"
    BUSINESS = "business"
    OTHER = "other"


class CaseStatus(str, enum.Enum):
    OPEN = "open"
    AWAITING_APPROVAL = "awaiting_approval"
    AGREED = "agreed"
    CLOSED = "closed"


class Authority(str, enum.Enum):
    """Who may grant an offer: the bot alone, an agent or a supervisor."""

    BOT = "bot"
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class OfferKind(str, enum.Enum):
    INSTALLMENT = "installment"
    PROMISE = "promise"
    HARDSHIP_PLAN = "hardship_plan"
    FEE_WAIVER = "fee_waiver"
    INTEREST_WAIVER = "interest_waiver"
    SETTLEMENT = "settlement"


class OfferStatus(str, enum.Enum):
    PROPOSED = "proposed"
    ACCEPTED = "accepted"
    REFUSED = "refused"
    PENDING_APPROVAL = "pending_approval"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class AgreementStatus(str, enum.Enum):
    ACTIVE = "active"
    COMPLETED = "completed"
    BROKEN = "broken"


class ContactDirection(str, enum.Enum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class ContactOutcome(str, enum.Enum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"
    ANSWERED = "answered"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"


class ConsentStatus(str, enum.Enum):
    OPTED_IN = "opted_in"
    OPTED_OUT = "opted_out"


class AgentRole(str, enum.Enum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"


class ReminderKind(str, enum.Enum):
    """What a scheduled reminder is about (bot.reminders)."""

    DUE_SOON = "due_soon"  # 3 days before the payment due date
    DUE_TODAY = "due_today"
    OVERDUE = "overdue"  # 1, 7, 15, 30 days past due
    PROMISE_TOMORROW = "promise_tomorrow"  # the day before a promised payment
    PROMISE_BROKEN = "promise_broken"  # 3 days after a promise was missed
    INSTALMENT_DUE = "instalment_due"  # before each hardship-plan instalment


class ReminderStatus(str, enum.Enum):
    PLANNED = "planned"
    CLAIMED = "claimed"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"
