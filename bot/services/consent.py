"""Per-channel consent: opt-outs are honoured on the channel they name."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Cardholder, Consent
from bot.db.types import utcnow
from bot.domain.enums import Channel, ConsentStatus
from bot.services import audit


async def set_consent(
    session: AsyncSession,
    *,
    cardholder_id: int,
    channel: Channel,
    status: ConsentStatus,
    source: str,
    keyword: str | None = None,
) -> Consent:
    """Record the cardholder's choice for one channel (idempotent)."""
    consent = (
        await session.execute(
            select(Consent).where(
                Consent.cardholder_id == cardholder_id, Consent.channel == channel
            )
        )
    ).scalar_one_or_none()
    if consent is None:
        consent = Consent(
            cardholder_id=cardholder_id, channel=channel, status=status, source=source
        )
        session.add(consent)
    consent.status = status
    consent.source = source
    consent.keyword = keyword
    consent.changed_at = utcnow()
    audit.record(
        session,
        actor="cardholder",
        action=f"consent_{status.value}",
        entity_type="cardholder",
        entity_id=cardholder_id,
        details={"channel": channel.value, "source": source},
    )
    await session.flush()
    return consent


async def cardholder_id_for_phone(session: AsyncSession, phone_e164: str) -> int | None:
    row = await session.execute(select(Cardholder.id).where(Cardholder.phone_e164 == phone_e164))
    return row.scalar_one_or_none()


async def is_opted_out(session: AsyncSession, cardholder_id: int, channel: Channel) -> bool:
    row = await session.execute(
        select(Consent.status).where(
            Consent.cardholder_id == cardholder_id, Consent.channel == channel
        )
    )
    return row.scalar_one_or_none() is ConsentStatus.OPTED_OUT
