"""Identity check before any account detail is disclosed (CONTRACT.md §4).

The account is found by the caller's number (SMS, voice) or the number the
user gives (web chat); date of birth AND card last 4 must both match. The
result never says which part failed, so the check cannot be used to learn
whether a number is on file. Failures are counted in the audit log, not in
dialogue slots a client could reset, twice over:

- per conversation: the third failure locks self-service for it;
- per account and day, across conversations (someone opening chat after
  chat, or texting from several numbers): the tenth failure of the
  cardholder's day (the account's time zone) locks every conversation that
  tries to verify against that account until the day ends. A number with no
  account on file is counted the same way (under a hash of the number), so
  the lock says nothing about whether an account exists.

Either lock hands the conversation to a person; the cardholder hears the
same polite words in their language.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Account, AuditLog, Card, Cardholder
from bot.db.types import utcnow
from bot.services import audit
from bot.services.conversations import PRIORITY_ELEVATED, get_or_create, request_handoff

log = structlog.get_logger(__name__)

MAX_FAILURES_PER_CONVERSATION = 3
MAX_FAILURES_PER_ACCOUNT_PER_DAY = 10
FAILED = "identity_failed"
VERIFIED = "identity_verified"
BLOCKED = "identity_blocked"  # an attempt refused unchecked: the daily limit was reached
HANDOFF_REASON = "identity_check_failed"


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of one attempt. `locked`: self-service is over for this conversation.

    `failures` counts this conversation's failures; `failures_today` those
    against the same account (or number) today; `daily_limit` says the lock
    came from the latter.
    """

    verified: bool
    account_id: int | None
    failures: int
    locked: bool
    failures_today: int = 0
    daily_limit: bool = False

    @property
    def attempts_left(self) -> int:
        return max(
            0,
            min(
                MAX_FAILURES_PER_CONVERSATION - self.failures,
                MAX_FAILURES_PER_ACCOUNT_PER_DAY - self.failures_today,
            ),
        )


@dataclass(frozen=True)
class Subject:
    """What failures are counted against across conversations, and whose day it is."""

    entity_type: str  # "account", or "phone" when no account has the number
    entity_id: str
    time_zone: ZoneInfo | timezone

    def start_of_day(self, now: datetime) -> datetime:
        """Midnight of `now`'s day where the cardholder is, as UTC."""
        local = now.astimezone(self.time_zone)
        return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)

    def end_of_day(self, now: datetime) -> datetime:
        """The next local midnight, as UTC (wall-clock arithmetic: DST days too)."""
        local = self.start_of_day(now).astimezone(self.time_zone)
        return (local + timedelta(days=1)).astimezone(timezone.utc)


def _time_zone(name: str) -> ZoneInfo | timezone:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def subject_of(account: Account | None, phone_e164: str) -> Subject:
    """The account the answers are checked against, else the number given.

    A number nobody has is counted too (and locks the same way), so the
    daily lock cannot tell an attacker which numbers are on file. It is
    stored hashed: the audit log keeps no number a cardholder mistyped.
    """
    if account is not None:
        return Subject("account", str(account.id), _time_zone(account.time_zone))
    digest = hashlib.sha256(phone_e164.encode("utf-8")).hexdigest()[:40]
    return Subject("phone", f"sha256:{digest}", timezone.utc)


async def failures_so_far(session: AsyncSession, conversation_id: str) -> int:
    """Failed attempts recorded for this conversation."""
    query = select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == "conversation",
        AuditLog.entity_id == conversation_id,
        AuditLog.action == FAILED,
    )
    return int((await session.execute(query)).scalar_one())


async def failures_today(session: AsyncSession, subject: Subject, now: datetime) -> int:
    """Failed attempts against this account (or number) since its day began."""
    query = select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == subject.entity_type,
        AuditLog.entity_id == subject.entity_id,
        AuditLog.action == FAILED,
        AuditLog.at >= subject.start_of_day(now),
    )
    return int((await session.execute(query)).scalar_one())


async def account_for_phone(session: AsyncSession, phone_e164: str) -> Account | None:
    """The cardholder's open account for this number (oldest first if several)."""
    query = (
        select(Account)
        .join(Cardholder, Account.cardholder_id == Cardholder.id)
        .where(Cardholder.phone_e164 == phone_e164)
        .order_by(Account.id)
        .limit(1)
    )
    return (await session.execute(query)).scalar_one_or_none()


async def _matches(session: AsyncSession, account: Account, dob: date, last4: str) -> bool:
    holder = await session.get(Cardholder, account.cardholder_id)
    if holder is None or holder.date_of_birth != dob:
        return False
    card = await session.execute(
        select(Card.id).where(
            Card.account_id == account.id, Card.last4 == last4, Card.active.is_(True)
        )
    )
    return card.first() is not None


async def verify_identity(
    session: AsyncSession,
    *,
    conversation_id: str,
    phone_e164: str,
    dob: date,
    last4: str,
    now: datetime | None = None,
) -> VerificationResult:
    """Check one attempt and record it.

    The third failure in the conversation, or the tenth against the account
    (or number) today, locks the conversation and hands it off; once the
    day's limit is reached, any attempt against that account is refused
    unchecked (and hands its conversation off) until the day ends there.
    """
    now = now or utcnow()
    failures = await failures_so_far(session, conversation_id)
    if failures >= MAX_FAILURES_PER_CONVERSATION:
        return VerificationResult(False, None, failures, locked=True)

    conversation = await get_or_create(session, conversation_id)
    account = await account_for_phone(session, phone_e164)
    subject = subject_of(account, phone_e164)
    today = await failures_today(session, subject, now)
    if today >= MAX_FAILURES_PER_ACCOUNT_PER_DAY:
        # Locked for the day: not even the right answers are checked.
        audit.record(
            session,
            actor="bot",
            action=BLOCKED,
            entity_type="conversation",
            entity_id=conversation_id,
            details={
                "reason": "daily_limit",
                "until": subject.end_of_day(now).isoformat(),
                "number_on_file": account is not None,
            },
        ).at = now
        await _lock(session, conversation_id, "daily_limit")
        return VerificationResult(
            False, None, failures, locked=True, failures_today=today, daily_limit=True
        )
    if account is not None and await _matches(session, account, dob, last4):
        conversation.verified_at = now
        conversation.account_id = account.id
        audit.record(
            session,
            actor="bot",
            action=VERIFIED,
            entity_type="conversation",
            entity_id=conversation_id,
            details={"account_id": account.id},
        )
        return VerificationResult(True, account.id, failures, locked=False)

    failures += 1
    today += 1
    # Which part failed is deliberately not recorded with the values typed.
    audit.record(
        session,
        actor="bot",
        action=FAILED,
        entity_type="conversation",
        entity_id=conversation_id,
        details={"attempt": failures, "number_on_file": account is not None},
    ).at = now
    # The same failure against the account (or number), for the daily limit.
    audit.record(
        session,
        actor="bot",
        action=FAILED,
        entity_type=subject.entity_type,
        entity_id=subject.entity_id,
        details={"conversation_id": conversation_id, "today": today},
    ).at = now
    daily_limit = today >= MAX_FAILURES_PER_ACCOUNT_PER_DAY
    locked = failures >= MAX_FAILURES_PER_CONVERSATION or daily_limit
    if locked:
        await _lock(session, conversation_id, "daily_limit" if daily_limit else "conversation")
    return VerificationResult(
        False, None, failures, locked=locked, failures_today=today, daily_limit=daily_limit
    )


async def _lock(session: AsyncSession, conversation_id: str, limit: str) -> None:
    """Self-service is over for this conversation: a person takes it."""
    await request_handoff(
        session, conversation_id, reason=HANDOFF_REASON, priority=PRIORITY_ELEVATED
    )
    log.warning("identity.locked", conversation_id=conversation_id, limit=limit)


async def verified_account_id(
    session: AsyncSession, conversation_id: str, *, since: datetime
) -> int | None:
    """The account verified in this conversation after `since` (session start), if any.

    Actions ask the database, not only the dialogue slots, before disclosing
    anything: the slot says what the dialogue believes, this says what happened.
    """
    conversation = await get_or_create(session, conversation_id)
    if conversation.verified_at is None or conversation.verified_at < since:
        return None
    return conversation.account_id
