"""Messages a person must take over at once, caught before the dialogue runs.

Distress, a death, bankruptcy, a lawyer or a complaint escalate in any
bucket and on any channel (RULES.md). The intent model can miss a rare
sentence, so the gateway checks every inbound text with the pattern
detector (`bot.domain.escalation`) first: the conversation is queued for a
person with the category's priority (distress first), a verified account
gets the flag that pauses collection, and the sender gets a caring reply in
their language. Messages to a conversation a person already has go through
as usual, but still raise its priority.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import structlog

from bot.channels import texts
from bot.db.models import OutboxMessage
from bot.db.types import utcnow
from bot.domain.enums import ConversationOwner
from bot.domain.escalation import detect
from bot.services.collections import flag_account
from bot.services.conversations import request_handoff

if TYPE_CHECKING:
    from bot.gateway.dialogue import Screening

log = structlog.get_logger(__name__)

# Verification expires with the dialogue session (domain/session.yml).
VERIFIED_FOR = timedelta(minutes=60)


async def screen_escalation(screening: Screening) -> list[OutboxMessage] | None:
    """Hand the conversation to a person if the message calls for it.

    Returns:
        The caring reply when the bot had the conversation; None when there
        is nothing to escalate, or a person has it already (the message then
        goes to them as any other would).
    """
    found = detect(screening.row.text or "")
    if found is None:
        return None
    conversation = screening.conversation
    with_bot = conversation.owner in (ConversationOwner.BOT, ConversationOwner.CLOSED)
    category = found.category.value
    await request_handoff(
        screening.session,
        conversation.id,
        reason=category,
        priority=found.priority,
        actor="gateway",
    )
    verified = conversation.verified_at is not None and (
        utcnow() - conversation.verified_at < VERIFIED_FOR
    )
    if verified and conversation.account_id is not None:
        await flag_account(
            screening.session,
            account_id=conversation.account_id,
            category=category,
            conversation_id=conversation.id,
            actor="gateway",
        )
    log.warning(
        "dialogue.escalated",
        conversation_id=conversation.id,
        category=category,
        priority=found.priority,
    )
    if not with_bot:
        await screening.session.commit()
        return None
    return [screening.reply(texts.escalated(category)[screening.row.language])]
