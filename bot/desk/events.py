"""Live desk updates: which conversations changed, pushed to every open desk page.

Changes made through this gateway (a take, a reply, an approval, a new
message) are published at once. Changes made elsewhere (by the action
server, or by another gateway instance behind the same load balancer) are
found by a watcher that compares, about once a second and only while a desk
page is listening, the people's queue and the newest inbox and outbox ids
with what it saw last. So the desk is live on one instance and at most a
second late across many, with no broker to run.

Pages get signals, not data: `queue` (read the queue again) and
`conversation` with an id (read that conversation again), so a lost signal
costs nothing that the next one does not repair.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Conversation, InboxMessage, OutboxMessage
from bot.domain.enums import ConversationOwner

log = structlog.get_logger(__name__)

_PEOPLE = (ConversationOwner.WAITING, ConversationOwner.AGENT)
_MAX_PENDING = 256  # a page that stops reading loses signals, not memory


@dataclass(frozen=True)
class DeskEvent:
    """`kind` is "queue" or "conversation" (then `conversation_id` says which)."""

    kind: str
    conversation_id: str | None = None


QUEUE = DeskEvent("queue")


def conversation_changed(conversation_id: str) -> DeskEvent:
    return DeskEvent("conversation", conversation_id)


class DeskEvents:
    """Fan-out of desk signals to subscribers, with a database watcher."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, poll_seconds: float = 1.0
    ) -> None:
        self._sessions = sessions
        self._poll_seconds = poll_seconds
        self._subscribers: set[asyncio.Queue[DeskEvent]] = set()
        self._watcher: asyncio.Task[None] | None = None
        self._queue_seen: frozenset[tuple[str, str, int, int | None]] | None = None
        self._inbox_seen = 0
        self._outbox_seen = 0

    def publish(self, *events: DeskEvent) -> None:
        """Signal every open desk page (never blocks)."""
        for queue in self._subscribers:
            for event in events:
                if queue.qsize() < _MAX_PENDING:
                    queue.put_nowait(event)

    def conversation(self, conversation_id: str) -> None:
        """Signal that a conversation (and so the queue) changed."""
        self.publish(conversation_changed(conversation_id), QUEUE)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[DeskEvent]]:
        """A queue of signals for one page, for as long as the context lasts."""
        queue: asyncio.Queue[DeskEvent] = asyncio.Queue()
        if self._watcher is None or self._watcher.done():
            # The first look is the baseline: taken before the page is told it
            # is listening, so nothing that happens after that can be missed.
            with contextlib.suppress(SQLAlchemyError):
                await self.check()
            self._watcher = asyncio.create_task(self._watch(), name="desk-events-watcher")
        self._subscribers.add(queue)
        try:
            yield queue
        finally:
            self._subscribers.discard(queue)

    async def close(self) -> None:
        """Stop the watcher (the app is shutting down)."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher

    async def _watch(self) -> None:
        while self._subscribers:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.check()
            except SQLAlchemyError:
                log.warning("desk.events_watch_failed", exc_info=True)
        self._queue_seen = None  # the next page starts from a fresh look

    async def check(self) -> None:
        """Compare the database with what was seen last; signal the differences."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(
                        Conversation.id,
                        Conversation.owner,
                        Conversation.priority,
                        Conversation.assigned_agent_id,
                    ).where(Conversation.owner.in_(_PEOPLE))
                )
            ).all()
            people = frozenset((r[0], r[1].value, r[2], r[3]) for r in rows)
            inbox_max = int(await session.scalar(select(func.max(InboxMessage.id))) or 0)
            outbox_max = int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)
            changed: set[str] = set()
            if self._queue_seen is not None:
                with_people = {row[0] for row in people}
                changed |= {row[0] for row in people ^ self._queue_seen}
                changed |= await self._new_messages(session, inbox_max, outbox_max, with_people)
            queue_changed = self._queue_seen is not None and people != self._queue_seen
            self._queue_seen = people
            self._inbox_seen, self._outbox_seen = inbox_max, outbox_max
        events = [conversation_changed(cid) for cid in sorted(changed)]
        if queue_changed or changed:
            events.append(QUEUE)
        if events:
            self.publish(*events)

    async def _new_messages(
        self, session: AsyncSession, inbox_max: int, outbox_max: int, with_people: set[str]
    ) -> set[str]:
        """Conversations with people that got messages since the last look."""
        if inbox_max <= self._inbox_seen and outbox_max <= self._outbox_seen:
            return set()
        inbox = await session.scalars(
            select(InboxMessage.conversation_id)
            .where(InboxMessage.id > self._inbox_seen)
            .distinct()
            .limit(1000)
        )
        outbox = await session.scalars(
            select(OutboxMessage.conversation_id)
            .where(OutboxMessage.id > self._outbox_seen)
            .distinct()
            .limit(1000)
        )
        return (set(inbox) | set(outbox)) & with_people
