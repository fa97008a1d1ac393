"""A reply to a reminder continues with the reminder's context.

The scheduler stores the SMS conversation id on every reminder it sends.
When the person texts back, the gateway asks `reminder_context` for the
latest reminder sent to that conversation whose context has not been passed
on yet, tells Rasa with `RasaClient.trigger_intent(conversation_id,
REMINDER_INTENT, context.entities)` before the user's own text, and marks it
used, so "I'll pay Friday" after an overdue notice is read as a promise
about that notice. The context is passed once, and only for a while.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import ReminderJob
from bot.domain.enums import ReminderKind, ReminderStatus

REMINDER_INTENT = "EXTERNAL_reminder"
CONTEXT_MAX_AGE = timedelta(days=7)


@dataclass(frozen=True)
class ReminderContext:
    job_id: int
    kind: ReminderKind
    due_on: date

    @property
    def entities(self) -> dict[str, Any]:
        return {"reminder_kind": self.kind.value, "reminder_due_on": self.due_on.isoformat()}


async def reminder_context(
    session: AsyncSession, conversation_id: str, now: datetime
) -> ReminderContext | None:
    """The latest reminder sent to the conversation and not yet passed on, if recent."""
    row = (
        await session.execute(
            select(ReminderJob.id, ReminderJob.kind, ReminderJob.due_on)
            .where(
                ReminderJob.conversation_id == conversation_id,
                ReminderJob.status == ReminderStatus.SENT,
                ReminderJob.sent_at >= now - CONTEXT_MAX_AGE,
                ReminderJob.context_used_at.is_(None),
            )
            .order_by(ReminderJob.sent_at.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else ReminderContext(row[0], row[1], row[2])


async def mark_context_used(session: AsyncSession, job_id: int, now: datetime) -> None:
    """Passed on (flushed, not committed): no later reply gets it again."""
    await session.execute(
        update(ReminderJob).where(ReminderJob.id == job_id).values(context_used_at=now)
    )
