"""Conversation rows: created on first contact, handed to people when needed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Conversation, Handoff
from bot.db.types import utcnow
from bot.domain.enums import Channel, ConversationOwner, Language
from bot.services import audit

# Handoff priorities: the desk queue is ordered by these (highest first).
PRIORITY_NORMAL = 0
PRIORITY_ELEVATED = 50
PRIORITY_DISTRESS = 100


async def get_or_create(
    session: AsyncSession,
    conversation_id: str,
    *,
    channel: Channel = Channel.WEB,
    language: Language = Language.EN,
    address: str | None = None,
) -> Conversation:
    """The conversation with this id, created if the gateway has not yet."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        conversation = Conversation(
            id=conversation_id, channel=channel, language=language, address=address
        )
        session.add(conversation)
        await session.flush()
    return conversation


async def request_handoff(
    session: AsyncSession,
    conversation_id: str,
    *,
    reason: str,
    priority: int = PRIORITY_NORMAL,
    actor: str = "bot",
) -> Conversation:
    """Queue the conversation for a person; the gateway stops routing it to the bot.

    A conversation already waiting keeps its place but takes the higher
    priority, so a later distress signal is never lost behind a routine reason.
    """
    conversation = await get_or_create(session, conversation_id)
    handoff = await open_handoff(session, conversation_id)
    if conversation.owner in (ConversationOwner.BOT, ConversationOwner.CLOSED) or handoff is None:
        if conversation.owner in (ConversationOwner.BOT, ConversationOwner.CLOSED):
            conversation.owner = ConversationOwner.WAITING
        conversation.handoff_reason = reason
        conversation.priority = priority
        if handoff is None:
            session.add(
                Handoff(
                    conversation_id=conversation_id,
                    reason=reason,
                    priority=priority,
                    requested_by=actor,
                    requested_at=utcnow(),
                )
            )
    elif priority > conversation.priority:
        conversation.priority = priority
        conversation.handoff_reason = reason
        handoff.priority = priority
        handoff.reason = reason
    conversation.last_activity_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="handoff_requested",
        entity_type="conversation",
        entity_id=conversation_id,
        details={"reason": reason, "priority": priority},
    )
    return conversation


async def open_handoff(session: AsyncSession, conversation_id: str) -> Handoff | None:
    """The conversation's current stay with people (not yet ended), if any."""
    handoff: Handoff | None = await session.scalar(
        select(Handoff)
        .where(Handoff.conversation_id == conversation_id, Handoff.ended_at.is_(None))
        .order_by(Handoff.id.desc())
        .limit(1)
    )
    return handoff
