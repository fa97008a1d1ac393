"""What the bot said last in a conversation: its buttons are what "1" answers."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import OutboxMessage
from bot.gateway.inbox import BOT_AUTHOR


async def last_bot_turn(session: AsyncSession, conversation_id: str) -> list[OutboxMessage]:
    """The bot's messages answering the latest message, if nothing was said since.

    Empty when the last word was someone else's (a notice, an agent): the
    options shown before that are no longer what the person is answering.
    """
    latest = await session.scalar(
        select(OutboxMessage)
        .where(OutboxMessage.conversation_id == conversation_id)
        .order_by(OutboxMessage.id.desc())
        .limit(1)
    )
    if latest is None or latest.author != BOT_AUTHOR or latest.inbox_message_id is None:
        return []
    rows = await session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.conversation_id == conversation_id,
            OutboxMessage.inbox_message_id == latest.inbox_message_id,
            OutboxMessage.author == BOT_AUTHOR,
        )
        .order_by(OutboxMessage.id)
    )
    return list(rows.all())
