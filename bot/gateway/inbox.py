"""The inbox: every inbound message is saved before anything else happens.

A saved message then goes to Rasa (`deliver`). When Rasa is down it stays in
the inbox as `PENDING_RETRY` and the `RetryWorker` replays it once Rasa is back,
oldest first within each conversation, so Rasa never sees a conversation's
messages out of order. A message that keeps failing while Rasa is otherwise
healthy is marked `FAILED` after `max_attempts` tries and the user is told.

`InboxMessage.attempts` counts tries at Rasa, successful ones included, so a
processed row with zero attempts never reached Rasa (it went to a person).

No database transaction is held open while Rasa is called: the action server
writes to the same database during the call (SQLite would refuse our later
write against a stale snapshot), and a pooled connection should not idle for
seconds waiting on another service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Conversation, InboxMessage, OutboxMessage
from bot.db.types import utcnow
from bot.domain.enums import ConversationOwner, InboxStatus, Language
from bot.gateway.locks import ConversationLocks
from bot.gateway.rasa import ActionServerDown, BotMessage, RasaClient, RasaError

log = structlog.get_logger(__name__)

UNFINISHED = (InboxStatus.RECEIVED, InboxStatus.PENDING_RETRY)
LAST_ERROR_LENGTH = 300  # InboxMessage.last_error's column size
# The intent that carries what a message answers (domain/reminders.yml).
CONTEXT_INTENT = "EXTERNAL_reminder"
QUEUED_NOTE = "queued behind an earlier message"
BOT_AUTHOR = "bot"
SYSTEM_AUTHOR = "system"

# Said when a message could not be processed after every retry.
_FAILED_NOTICE = {
    Language.EN: (
        "Sorry, I couldn't process one of your messages. Please send it again, "
        "or call the number on the back of your card."
    ),
    Language.ZH: "抱歉,您的一条消息未能处理。请重新发送,或拨打卡片背面的客服电话。",
}


def notice(author: str, conversation_id: str, text: str) -> OutboxMessage:
    """An outbox row for something the gateway itself tells the user."""
    return OutboxMessage(conversation_id=conversation_id, author=author, text=text, buttons=[])


def failed_notice(conversation_id: str, language: Language) -> OutboxMessage:
    return notice(SYSTEM_AUTHOR, conversation_id, _FAILED_NOTICE[language])


async def has_unfinished(
    session: AsyncSession, conversation_id: str, *, before: int | None = None
) -> bool:
    """Whether an earlier message of this conversation still waits for Rasa.

    `before` leaves out the message being handled (already saved) and later ones.
    """
    condition = exists().where(
        InboxMessage.conversation_id == conversation_id,
        InboxMessage.status.in_(UNFINISHED),
    )
    if before is not None:
        condition = condition.where(InboxMessage.id < before)
    return bool(await session.scalar(select(condition)))


async def rasa_has_seen(session: AsyncSession, conversation_id: str) -> bool:
    """Whether Rasa has processed any message of this conversation yet.

    Until it has, its tracker has never had the `language` slot set.
    """
    query = select(
        exists().where(
            InboxMessage.conversation_id == conversation_id,
            InboxMessage.status == InboxStatus.PROCESSED,
            InboxMessage.attempts > 0,
        )
    )
    return bool(await session.scalar(query))


def _outbox_rows(
    conversation_id: str, inbox_id: int, messages: Sequence[BotMessage]
) -> list[OutboxMessage]:
    return [
        OutboxMessage(
            conversation_id=conversation_id,
            inbox_message_id=inbox_id,
            author=BOT_AUTHOR,
            text=message.text,
            buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
        )
        for message in messages
    ]


async def deliver(
    session: AsyncSession,
    rasa: RasaClient,
    conversation: Conversation,
    row: InboxMessage,
    *,
    max_attempts: int,
    context: dict[str, str] | None = None,
) -> list[OutboxMessage]:
    """Send one saved message to Rasa and store what it answered, committing.

    `context` is what the message answers (a reminder's kind and date, as
    entities): passed before the message with `trigger_intent` when Rasa
    knows the conversation, else in the first message's metadata, which
    `action_session_start` reads.

    Every message carries its language in the metadata; a conversation's first
    message sets the `language` slot through it (`action_session_start` reads
    it). Later, the slot is set through the tracker events API first when the
    language differs from the one Rasa last got (`conversation.language`
    records that). Not before the first message: the session start that call
    triggers is stamped after the slot event, and Rasa's SQL tracker store
    then leaves the slot out of the session.

    Raises:
        RasaError: after recording the failed attempt on `row` (now
            `PENDING_RETRY`, or `FAILED` once `max_attempts` is reached). A
            turn Rasa ran while its action server was down is first taken
            back out of its tracker, so the replay does not follow it.
    """
    seen = await rasa_has_seen(session, conversation.id)
    sync_language = seen and row.language != conversation.language
    row.attempts += 1
    await session.commit()  # nothing held open while Rasa works
    try:
        if sync_language:
            await rasa.set_slot(conversation.id, "language", row.language.value)
        metadata: dict[str, Any] = {
            "channel": row.channel.value,
            "language": row.language.value,
            "inbox_id": row.id,
        }
        if context is not None and seen:
            await rasa.trigger_intent(conversation.id, CONTEXT_INTENT, context)
        elif context is not None:
            metadata["reminder"] = context
        replies = await rasa.send_message(conversation.id, row.text, metadata)
    except RasaError as error:
        row.last_error = str(error)[:LAST_ERROR_LENGTH]
        row.status = (
            InboxStatus.FAILED if row.attempts >= max_attempts else InboxStatus.PENDING_RETRY
        )
        await session.commit()
        log.warning(
            "inbox.delivery_failed",
            conversation_id=conversation.id,
            inbox_id=row.id,
            attempts=row.attempts,
            status=row.status.value,
            error=row.last_error,
        )
        if isinstance(error, ActionServerDown) and error.turn_recorded:
            await _undo_turn(rasa, conversation.id, first=not seen)
        raise
    conversation.language = row.language
    outbox = _outbox_rows(conversation.id, row.id, replies)
    session.add_all(outbox)
    row.status = InboxStatus.PROCESSED
    row.processed_at = utcnow()
    row.last_error = None
    await session.commit()
    log.info(
        "inbox.delivered",
        conversation_id=conversation.id,
        inbox_id=row.id,
        attempts=row.attempts,
        replies=len(outbox),
        language_synced=sync_language,
    )
    return outbox


async def _undo_turn(rasa: RasaClient, conversation_id: str, *, first: bool) -> None:
    """Take a turn the action server failed out of Rasa's tracker before its replay.

    If even that fails, the replay still comes; the tracker keeps one odd turn.
    """
    try:
        await rasa.undo_turn(conversation_id, restart=first)
    except RasaError as error:
        log.warning("inbox.undo_failed", conversation_id=conversation_id, error=str(error))


# Told about replies produced in the background, for channels that cannot
# poll for them (SMS sends them through Twilio's REST API).
ReplyListener = Callable[[Conversation, list[OutboxMessage]], Awaitable[None]]


class RetryWorker:
    """Replays `PENDING_RETRY` messages once Rasa answers again.

    Runs as a background task for the app's lifetime. A pass first asks Rasa
    for its status, so an outage costs one cheap request per interval instead
    of one failed attempt per waiting message, and `attempts` only grows when
    Rasa is up and still fails on a message. Replies it produces are passed
    to `on_replies`, if given.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        locks: ConversationLocks,
        *,
        interval_seconds: float,
        max_attempts: int,
        stale_after: timedelta,
        on_replies: ReplyListener | None = None,
    ) -> None:
        self._on_replies = on_replies
        self._sessions = sessions
        self._rasa = rasa
        self._locks = locks
        self._interval = interval_seconds
        self._max_attempts = max_attempts
        self._stale_after = stale_after
        self._rasa_up: bool | None = None

    async def run_forever(self) -> None:
        """Run passes until cancelled; a failing pass is logged, never fatal."""
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.run_once()
            except Exception:
                # The worker must outlive a database restart or a bug in one
                # pass; the traceback is logged and the next pass tries again.
                log.exception("retry_worker.pass_failed")

    async def run_once(self) -> int:
        """One pass over every conversation with waiting messages.

        Returns:
            How many messages reached Rasa.
        """
        async with self._sessions() as session:
            conversation_ids = await self._waiting_conversations(session)
        if not conversation_ids or not await self._rasa_ready():
            return 0
        delivered = 0
        for conversation_id in conversation_ids:
            async with self._locks.hold(conversation_id, wait=False) as mine:
                if not mine:
                    continue  # another gateway instance is on it
                async with self._sessions() as session:
                    count, rasa_ok = await self._replay(session, conversation_id)
            delivered += count
            if not rasa_ok:
                break  # Rasa went away again; the next pass starts over
        return delivered

    async def _rasa_ready(self) -> bool:
        try:
            status = await self._rasa.status()
            ready = status.model_loaded
            reason = "no model loaded"
            problem = await self._rasa.action_server_problem() if ready else None
            if problem is not None:  # Rasa would answer, but without its actions
                ready, reason = False, problem
        except RasaError as error:
            ready, reason = False, str(error)
        if ready != self._rasa_up:  # log changes, not every pass of an outage
            if ready:
                log.info("retry_worker.rasa_ready")
            else:
                log.warning("retry_worker.rasa_not_ready", reason=reason)
            self._rasa_up = ready
        return ready

    async def _waiting_conversations(self, session: AsyncSession) -> list[str]:
        """Conversations with a message to replay, the longest-waiting first.

        A message still `RECEIVED` long after it arrived was abandoned by a
        process that died mid-delivery; it is replayed like a pending one.
        """
        stale_before = utcnow() - self._stale_after
        query = (
            select(InboxMessage.conversation_id)
            .where(
                (InboxMessage.status == InboxStatus.PENDING_RETRY)
                | (
                    (InboxMessage.status == InboxStatus.RECEIVED)
                    & (InboxMessage.received_at < stale_before)
                )
            )
            .group_by(InboxMessage.conversation_id)
            .order_by(func.min(InboxMessage.id))
        )
        return list((await session.scalars(query)).all())

    async def _replay(self, session: AsyncSession, conversation_id: str) -> tuple[int, bool]:
        """Deliver one conversation's waiting messages in order.

        Returns:
            How many were delivered, and False if Rasa failed on the way.
        """
        conversation = await session.get(Conversation, conversation_id)
        if conversation is None:  # pragma: no cover - rows reference it by foreign key
            return 0, True
        rows = (
            await session.scalars(
                select(InboxMessage)
                .where(
                    InboxMessage.conversation_id == conversation_id,
                    InboxMessage.status.in_(UNFINISHED),
                )
                .order_by(InboxMessage.id)
            )
        ).all()
        delivered = 0
        stale_before = utcnow() - self._stale_after
        for row in rows:
            if row.status is InboxStatus.RECEIVED and row.received_at >= stale_before:
                # In flight elsewhere (another gateway instance); wait for it.
                break
            if conversation.owner in (ConversationOwner.WAITING, ConversationOwner.AGENT):
                # A person has the conversation now; the desk shows the message.
                await self._route_to_person(session, row)
                continue
            try:
                replies = await deliver(
                    session, self._rasa, conversation, row, max_attempts=self._max_attempts
                )
            except RasaError:
                if row.status is not InboxStatus.FAILED:
                    return delivered, False
                failed = failed_notice(conversation_id, row.language)
                failed.inbox_message_id = row.id
                session.add(failed)
                await session.commit()
                await self._notify(conversation, [failed])
                continue
            delivered += 1
            await self._notify(conversation, replies)
            await session.refresh(conversation)  # an action may have handed it off
        return delivered, True

    async def _notify(self, conversation: Conversation, replies: list[OutboxMessage]) -> None:
        if self._on_replies is None or not replies:
            return
        try:
            await self._on_replies(conversation, replies)
        except Exception:
            # Stored replies stay in the outbox either way; one channel's
            # failure must not stop the replay of other conversations.
            log.exception("retry_worker.notify_failed", conversation_id=conversation.id)

    @staticmethod
    async def _route_to_person(session: AsyncSession, row: InboxMessage) -> None:
        row.status = InboxStatus.PROCESSED
        row.processed_at = utcnow()
        await session.commit()
        log.info("inbox.routed_to_person", conversation_id=row.conversation_id, inbox_id=row.id)
