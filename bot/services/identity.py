"""Identity check before any account detail is disclosed (CONTRACT.md §4).

The account is found by the caller's number (SMS, voice) or the number the
user gives (web chat); date of birth AND card last 4 must both match. The
result never says which part failed, so the check cannot be used to learn
whether a number is on file. Failures are counted in the audit log per
conversation, not in dialogue slots a client could reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Account, AuditLog, Card, Cardholder
from bot.db.types import utcnow
from bot.services import audit
from bot.services.conversations import PRIORITY_ELEVATED, get_or_create, request_handoff

MAX_FAILURES_PER_CONVERSATION = 3
FAILED = "identity_failed"
VERIFIED = "identity_verified"


@dataclass(frozen=True)
class VerificationResult:
    """Outcome of one attempt. `locked`: self-service is over for this conversation."""

    verified: bool
    account_id: int | None
    failures: int
    locked: bool

    @property
    def attempts_left(self) -> int:
        return max(0, MAX_FAILURES_PER_CONVERSATION - self.failures)


async def failures_so_far(session: AsyncSession, conversation_id: str) -> int:
    """Failed attempts recorded for this conversation."""
    query = select(func.count(AuditLog.id)).where(
        AuditLog.entity_type == "conversation",
        AuditLog.entity_id == conversation_id,
        AuditLog.action == FAILED,
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
    """Check one attempt and record it; the third failure locks and hands off."""
    now = now or utcnow()
    failures = await failures_so_far(session, conversation_id)
    if failures >= MAX_FAILURES_PER_CONVERSATION:
        return VerificationResult(False, None, failures, locked=True)

    conversation = await get_or_create(session, conversation_id)
    account = await account_for_phone(session, phone_e164)
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
    # Which part failed is deliberately not recorded with the values typed.
    audit.record(
        session,
        actor="bot",
        action=FAILED,
        entity_type="conversation",
        entity_id=conversation_id,
        details={"attempt": failures, "number_on_file": account is not None},
    )
    locked = failures >= MAX_FAILURES_PER_CONVERSATION
    if locked:
        await request_handoff(
            session, conversation_id, reason="identity_check_failed", priority=PRIORITY_ELEVATED
        )
    return VerificationResult(False, None, failures, locked=locked)


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
