"""One inbound message, any channel: saved first, deduplicated, then answered.

Web chat, SMS and voice differ in how they read a message and show the
answer, not in what happens to it in between, so that part lives here once:

1. A message carrying a provider id (Twilio's `MessageSid`, `CallSid` plus
   turn) that was seen before is answered with what was stored for it; the
   dialogue never runs twice for a Twilio retry.
2. The message is saved to the inbox before anything else.
3. The channel may screen it first (SMS keywords, an opted-out number, a
   numbered answer to map back to a button): it either answers it itself or
   lets it through, possibly rewritten.
4. A conversation with earlier messages still waiting is answered without
   Rasa (the message queues behind them); one that people have goes to them
   (the cardholder hears they are waiting, once) and is only logged on Rasa's
   paused tracker; otherwise the message goes to Rasa (`deliver`).

Every reply is stored in the outbox against the inbox row it answers, which
is what makes step 1 exact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Conversation, InboxMessage, OutboxMessage
from bot.db.types import utcnow
from bot.domain.enums import Channel, ConversationOwner, InboxStatus, Language
from bot.domain.language import choose_language
from bot.gateway.escalation import screen_escalation
from bot.gateway.inbox import (
    QUEUED_NOTE,
    SYSTEM_AUTHOR,
    deliver,
    failed_notice,
    has_unfinished,
    notice,
)
from bot.gateway.locks import ConversationLocks
from bot.gateway.metrics import GatewayMetrics
from bot.gateway.rasa import RasaClient, RasaError
from bot.reminders.context import ReminderContext, mark_context_used, reminder_context
from bot.services.conversations import request_handoff

log = structlog.get_logger(__name__)

SAVED_NOTICE = {
    Language.EN: (
        "Sorry, I'm having trouble right now. Your message is saved and I'll reply here shortly."
    ),
    Language.ZH: "抱歉,我这边暂时出了点问题。您的消息已保存,我稍后会在这里回复您。",
}
WAITING_NOTICE = {
    Language.EN: (
        "You're waiting for a member of our team, who will reply here as soon as "
        "possible. Your message has been passed on."
    ),
    Language.ZH: "您正在等待我们的客服人员,他们会尽快在这里回复您。您的消息已转达。",
}


class ForeignConversation(Exception):
    """The conversation id belongs to another channel."""


@dataclass(frozen=True)
class Inbound:
    """A message as a channel hands it over.

    `language` is a choice already made (the page's switch, the account's
    language, the phone call's recogniser); without one the text decides,
    then the conversation's language, then `default_language`.
    """

    conversation_id: str
    channel: Channel
    text: str
    default_language: Language
    language: Language | None = None
    address: str | None = None
    provider_message_id: str | None = None


@dataclass
class Screening:
    """What a channel's screen sees and may change before the dialogue runs."""

    session: AsyncSession
    conversation: Conversation
    row: InboxMessage

    def reply(self, text: str, author: str = SYSTEM_AUTHOR) -> OutboxMessage:
        """An outbox row answering this message (added to the session)."""
        message = notice(author, self.row.conversation_id, text)
        message.inbox_message_id = self.row.id
        self.session.add(message)
        return message


# Returns the replies when the channel answered the message itself (an empty
# list is an answer too: silence), or None to let it through to the dialogue.
Screen = Callable[[Screening], Awaitable[list[OutboxMessage] | None]]


@dataclass(frozen=True)
class Turn:
    """What one inbound message produced."""

    conversation_id: str
    language: Language
    messages: list[OutboxMessage] = field(default_factory=list)
    handed_off: bool = False
    # PROCESSED when answered (by Rasa or the channel); PENDING_RETRY or
    # FAILED when Rasa could not answer and `messages` is an apology;
    # RATE_LIMITED when the channel kept it unanswered (a flooding sender).
    status: InboxStatus = InboxStatus.PROCESSED
    duplicate: bool = False

    @property
    def answered(self) -> bool:
        return self.status is InboxStatus.PROCESSED

    @property
    def outcome(self) -> str:
        """How the turn ended, as the metrics count it."""
        if self.duplicate:
            return "duplicate"
        if self.answered:
            return "with_people" if self.handed_off else "answered"
        return self.status.value


def _handed_off(conversation: Conversation) -> bool:
    return conversation.owner is not ConversationOwner.BOT


class DialogueService:
    """What happens to one inbound message, independent of its transport."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        locks: ConversationLocks,
        *,
        max_attempts: int,
        on_people_change: Callable[[str], None] | None = None,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._locks = locks
        self._max_attempts = max_attempts
        # Told the id of a conversation people have (or now need): the desk's live view.
        self._on_people_change = on_people_change or (lambda _cid: None)
        self._metrics = metrics or GatewayMetrics()

    async def handle(self, message: Inbound, screen: Screen | None = None) -> Turn:
        """Save the message, then answer it (now, or later if it must wait).

        Counted and timed per channel, as the sender experiences it.

        Raises:
            ForeignConversation: if the id names another channel's conversation.
            SQLAlchemyError: if the database fails (nothing can be promised).
        """
        with self._metrics.turn(message.channel.value) as record:
            turn = await self._handle(message, screen)
            record(turn.language.value, turn.outcome)
        return turn

    def _handed_off_now(self, conversation: Conversation, was_with_bot: bool) -> None:
        """Tell the desk (and count it, if the bot had it until this turn)."""
        if was_with_bot:
            self._metrics.handoff(conversation.handoff_reason)
        self._on_people_change(conversation.id)

    async def _handle(self, message: Inbound, screen: Screen | None) -> Turn:
        cid = message.conversation_id
        async with self._locks.hold(cid), self._sessions() as session:
            if message.provider_message_id is not None:
                seen = await self._replay(session, message)
                if seen is not None:
                    return seen
            conversation, language = await self._upsert_conversation(session, message)
            if conversation.owner is ConversationOwner.CLOSED:
                conversation.owner = ConversationOwner.BOT  # writing again reopens it
                log.info("dialogue.reopened", conversation_id=cid)
            was_with_bot = not _handed_off(conversation)
            row = InboxMessage(
                conversation_id=cid,
                channel=message.channel,
                provider_message_id=message.provider_message_id,
                text=message.text,
                language=language,
                status=InboxStatus.RECEIVED,
                attempts=0,
            )
            session.add(row)
            try:
                await session.flush()
            except IntegrityError:
                # Another gateway instance saved the same provider id first.
                await session.rollback()
                seen = await self._replay(session, message)
                if seen is None:  # pragma: no cover - the constraint names this row
                    raise
                return seen
            await session.commit()  # saved before anything else looks at it
            screening = Screening(session, conversation, row)
            replies = await screen(screening) if screen is not None else None
            if replies is None:
                replies = await screen_escalation(screening)
            if replies is not None:
                turn = await self._screened(session, conversation, row, replies)
                if turn.handed_off:
                    self._handed_off_now(conversation, was_with_bot)
                return turn
            handed_off = _handed_off(conversation)
            queued = not handed_off and await has_unfinished(session, cid, before=row.id)
            if queued:
                return await self._answer_without_rasa(session, row)
            if handed_off:
                return await self._for_people(session, conversation, row)
            await session.commit()  # nothing held open while Rasa works
            log.info(
                "dialogue.received",
                conversation_id=cid,
                channel=message.channel.value,
                inbox_id=row.id,
                language=language.value,
            )
            reminder = await self._reminder_answered(session, conversation)
            try:
                replies = await deliver(
                    session,
                    self._rasa,
                    conversation,
                    row,
                    max_attempts=self._max_attempts,
                    context=reminder.entities if reminder is not None else None,
                )
                if reminder is not None:
                    await mark_context_used(session, reminder.job_id, utcnow())
                    await session.commit()
            except RasaError:
                replies = [self._apology(row)]
                session.add_all(replies)
                await session.commit()
            await session.refresh(conversation)  # an action may have handed it off
            if _handed_off(conversation):
                self._handed_off_now(conversation, was_with_bot)
            return Turn(
                cid, row.language, replies, handed_off=_handed_off(conversation), status=row.status
            )

    @staticmethod
    async def _reminder_answered(
        session: AsyncSession, conversation: Conversation
    ) -> ReminderContext | None:
        """The reminder a text answers (sent to this number lately, not yet passed on)."""
        if conversation.channel is not Channel.SMS:
            return None
        return await reminder_context(session, conversation.id, utcnow())

    async def hand_off(self, conversation_id: str, reason: str) -> None:
        """Queue a conversation for a person (e.g. a call the bot cannot serve)."""
        async with self._locks.hold(conversation_id), self._sessions() as session:
            await request_handoff(session, conversation_id, reason=reason, actor="gateway")
            await session.commit()
        self._metrics.handoff(reason)
        log.info("dialogue.handed_off", conversation_id=conversation_id, reason=reason)

    async def _replay(self, session: AsyncSession, message: Inbound) -> Turn | None:
        """The stored answer to a provider message id seen before, if any."""
        row = await session.scalar(
            select(InboxMessage).where(
                InboxMessage.channel == message.channel,
                InboxMessage.provider_message_id == message.provider_message_id,
            )
        )
        if row is None:
            return None
        conversation = await session.get(Conversation, row.conversation_id)
        replies = (
            await session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.inbox_message_id == row.id)
                .order_by(OutboxMessage.id)
            )
        ).all()
        log.info(
            "dialogue.duplicate",
            conversation_id=row.conversation_id,
            inbox_id=row.id,
            provider_message_id=message.provider_message_id,
        )
        return Turn(
            row.conversation_id,
            row.language,
            list(replies),
            handed_off=conversation is not None and _handed_off(conversation),
            status=row.status,
            duplicate=True,
        )

    @staticmethod
    async def _upsert_conversation(
        session: AsyncSession, message: Inbound
    ) -> tuple[Conversation, Language]:
        """The conversation (created on its first message) and this message's language."""
        cid = message.conversation_id
        conversation = await session.get(Conversation, cid)
        stored = None if conversation is None else conversation.language
        language = choose_language(message.language, stored, message.text, message.default_language)
        now = utcnow()
        if conversation is None:
            # `deliver` syncs Rasa's language slot for a conversation Rasa has
            # not seen yet, so a new conversation can start in any language.
            conversation = Conversation(
                id=cid,
                channel=message.channel,
                language=language,
                address=message.address,
                owner=ConversationOwner.BOT,
                last_activity_at=now,
            )
            session.add(conversation)
            await session.flush()
            log.info(
                "dialogue.conversation_started", conversation_id=cid, channel=message.channel.value
            )
            return conversation, language
        if conversation.channel is not message.channel:
            raise ForeignConversation(cid)
        conversation.last_activity_at = now
        return conversation, language

    @staticmethod
    async def _screened(
        session: AsyncSession,
        conversation: Conversation,
        row: InboxMessage,
        replies: list[OutboxMessage],
    ) -> Turn:
        if row.status is InboxStatus.RECEIVED:  # a screen may have said otherwise (rate_limited)
            row.status = InboxStatus.PROCESSED
        row.processed_at = utcnow()
        await session.commit()
        log.info(
            "dialogue.screened",
            conversation_id=row.conversation_id,
            inbox_id=row.id,
            replies=len(replies),
            status=row.status.value,
        )
        return Turn(
            row.conversation_id,
            row.language,
            replies,
            handed_off=_handed_off(conversation),
            status=row.status,
        )

    async def _for_people(
        self, session: AsyncSession, conversation: Conversation, row: InboxMessage
    ) -> Turn:
        """A message for the people who have (or will take) the conversation.

        While it waits, the cardholder is told so (once, not after every
        message); once a person has it, the person answers. Rasa's tracker,
        paused, logs the message so its transcript stays whole.
        """
        replies: list[OutboxMessage] = []
        if conversation.owner is ConversationOwner.WAITING:
            text = WAITING_NOTICE[row.language]
            last = await session.scalar(
                select(OutboxMessage.text)
                .where(OutboxMessage.conversation_id == row.conversation_id)
                .order_by(OutboxMessage.id.desc())
                .limit(1)
            )
            if last != text:
                reply = notice(SYSTEM_AUTHOR, row.conversation_id, text)
                reply.inbox_message_id = row.id
                session.add(reply)
                replies.append(reply)
        row.status = InboxStatus.PROCESSED
        row.processed_at = utcnow()
        await session.commit()
        log.info(
            "dialogue.kept", conversation_id=row.conversation_id, inbox_id=row.id, reason="people"
        )
        self._on_people_change(row.conversation_id)
        try:
            await self._rasa.log_paused(
                row.conversation_id,
                row.text,
                {
                    "language": row.language.value,
                    "channel": row.channel.value,
                    "author": "cardholder",
                },
            )
        except RasaError as error:  # our inbox has it; the tracker misses one line
            log.warning(
                "dialogue.tracker_log_failed", conversation_id=row.conversation_id, error=str(error)
            )
        return Turn(row.conversation_id, row.language, replies, handed_off=True, status=row.status)

    async def _answer_without_rasa(self, session: AsyncSession, row: InboxMessage) -> Turn:
        """Keep the message for later: earlier ones still wait for Rasa and this
        one must not overtake them."""
        row.status = InboxStatus.PENDING_RETRY
        row.last_error = QUEUED_NOTE
        reply = notice(SYSTEM_AUTHOR, row.conversation_id, SAVED_NOTICE[row.language])
        reply.inbox_message_id = row.id
        session.add(reply)
        await session.commit()
        log.info(
            "dialogue.kept", conversation_id=row.conversation_id, inbox_id=row.id, reason="queued"
        )
        return Turn(row.conversation_id, row.language, [reply], status=row.status)

    @staticmethod
    def _apology(row: InboxMessage) -> OutboxMessage:
        if row.status is InboxStatus.FAILED:
            reply = failed_notice(row.conversation_id, row.language)
        else:
            reply = notice(SYSTEM_AUTHOR, row.conversation_id, SAVED_NOTICE[row.language])
        reply.inbox_message_id = row.id
        return reply


DIALOGUE = web.AppKey("dialogue", DialogueService)
