"""Read-only account facts a verified cardholder may ask about."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Account, Card, Cardholder, Payment
from bot.domain.enums import Bucket, Jurisdiction, Language
from bot.services import audit


class AccountNotFound(LookupError):
    """The account id does not exist (stale slot or deleted test data)."""


@dataclass(frozen=True)
class AccountSummary:
    account_id: int
    cardholder_id: int
    first_name: str
    jurisdiction: Jurisdiction
    currency: str
    time_zone: str
    language: Language
    balance: Decimal
    minimum_due: Decimal
    past_due: Decimal
    due_date: date | None
    days_past_due: int
    bucket: Bucket
    card_last4: str | None


async def account_summary(session: AsyncSession, account_id: int) -> AccountSummary:
    """Balance, amounts due and dates for one account.

    Raises:
        AccountNotFound: if there is no such account.
    """
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    holder = await session.get(Cardholder, account.cardholder_id)
    assert holder is not None  # enforced by the foreign key
    last4 = (
        await session.execute(
            select(Card.last4)
            .where(Card.account_id == account_id, Card.active.is_(True))
            .order_by(Card.is_primary.desc(), Card.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    return AccountSummary(
        account_id=account.id,
        cardholder_id=holder.id,
        first_name=_first_name(holder.full_name, holder.preferred_language),
        jurisdiction=account.jurisdiction,
        currency=account.currency,
        time_zone=account.time_zone,
        language=holder.preferred_language,
        balance=account.current_balance,
        minimum_due=account.minimum_due,
        past_due=account.past_due_amount,
        due_date=account.payment_due_date,
        days_past_due=account.days_past_due,
        bucket=account.bucket,
        card_last4=last4,
    )


def _first_name(full_name: str, language: Language) -> str:
    """How to address the person: "Emily" for Emily Carter, the full name for 张伟."""
    if any("\u4e00" <= ch <= "\u9fff" for ch in full_name):
        return full_name
    return full_name.split()[0] if full_name.split() else full_name


async def payments_since(session: AsyncSession, account_id: int, since: datetime) -> list[Payment]:
    """Payments received on or after `since`, newest first."""
    rows = await session.execute(
        select(Payment)
        .where(Payment.account_id == account_id, Payment.received_at >= since)
        .order_by(Payment.received_at.desc())
    )
    return list(rows.scalars())


def posting_date(paid_on: date, business_days: int = 2) -> date:
    """When a payment made on `paid_on` shows on the account (weekends skipped)."""
    day = paid_on
    remaining = business_days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5:
            remaining -= 1
    return day


def record_payment_claim(
    session: AsyncSession,
    *,
    account_id: int,
    conversation_id: str,
    claimed_paid_on: date | None,
    amount: Decimal | None,
) -> None:
    """Note that the cardholder says they paid, for the payment-matching team."""
    audit.record(
        session,
        actor="bot",
        action="payment_claimed",
        entity_type="account",
        entity_id=account_id,
        details={
            "conversation_id": conversation_id,
            "claimed_paid_on": claimed_paid_on.isoformat() if claimed_paid_on else None,
            "amount": str(amount) if amount is not None else None,
        },
    )
