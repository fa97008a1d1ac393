"""Consent by phone number: who is behind a number, and may we text or call it.

A cardholder's choice lives in the `consents` table (`bot.services.consent`).
A number that belongs to no cardholder can still say STOP, and the law does
not care that it is not a customer: its choice is kept in the audit trail
under the number itself (entity "phone"), and read back from there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Account, AuditLog, Cardholder
from bot.domain.enums import Channel, ConsentStatus, Language
from bot.services import audit
from bot.services.consent import is_opted_out, set_consent

PHONE_ENTITY = "phone"


@dataclass(frozen=True)
class PhoneOwner:
    """The cardholder a number belongs to, and the account contacts are logged on."""

    cardholder_id: int
    account_id: int | None
    language: Language


async def find_owner(session: AsyncSession, phone: str) -> PhoneOwner | None:
    holder = (
        await session.execute(select(Cardholder).where(Cardholder.phone_e164 == phone))
    ).scalar_one_or_none()
    if holder is None:
        return None
    account_id = await session.scalar(
        select(Account.id).where(Account.cardholder_id == holder.id).order_by(Account.id).limit(1)
    )
    return PhoneOwner(holder.id, account_id, holder.preferred_language)


def _phone_action(status: ConsentStatus, channel: Channel) -> str:
    return f"phone_{status.value}_{channel.value}"


async def opted_out(
    session: AsyncSession, phone: str, channel: Channel, owner: PhoneOwner | None
) -> bool:
    """Whether the number has opted out of the channel."""
    if owner is not None:
        return await is_opted_out(session, owner.cardholder_id, channel)
    latest = await session.scalar(
        select(AuditLog.action)
        .where(
            AuditLog.entity_type == PHONE_ENTITY,
            AuditLog.entity_id == phone,
            AuditLog.action.in_([_phone_action(status, channel) for status in ConsentStatus]),
        )
        .order_by(AuditLog.id.desc())
        .limit(1)
    )
    return latest == _phone_action(ConsentStatus.OPTED_OUT, channel)


async def record_choice(
    session: AsyncSession,
    phone: str,
    channel: Channel,
    status: ConsentStatus,
    owner: PhoneOwner | None,
    *,
    source: str,
    keyword: str | None,
) -> None:
    """Record an opt-out or re-opt-in for the number (flushed, not committed)."""
    if owner is not None:
        await set_consent(
            session,
            cardholder_id=owner.cardholder_id,
            channel=channel,
            status=status,
            source=source,
            keyword=keyword,
        )
        return
    audit.record(
        session,
        actor="cardholder",
        action=_phone_action(status, channel),
        entity_type=PHONE_ENTITY,
        entity_id=phone,
        details={"channel": channel.value, "source": source, "keyword": keyword},
    )
    await session.flush()
