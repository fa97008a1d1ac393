"""The supervisor's numbers: the live queue and the last days' handoffs and outcomes.

Everything is counted in SQL with GROUP BY, so the rows fetched stay bounded
by the number of reasons, days, channels and languages, not by traffic. Only
two figures need individual durations: the median wait of the conversations
queued now (one row per waiting conversation) and the 90th percentile of the
time to take a handoff in the period (one row per taken handoff); both are
computed in Python, so nothing here depends on a backend's date arithmetic.

The period is the closed interval [now - days, now]; days are UTC days.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Agreement, Conversation, Handoff, Offer, PromiseToPay
from bot.db.types import utcnow
from bot.domain.enums import ConversationOwner
from bot.services.collections import REVIEW_REASON

MIN_DAYS = 1
MAX_DAYS = 90
UNKNOWN = "unknown"
# Reasons written as "<prefix>:<kind>:<authority>" are reported as "<prefix>:<kind>".
# `bot.services.collections.request_agent_review` writes "offer_review:…".
REVIEW_PREFIXES = frozenset({"review", REVIEW_REASON})


@dataclass(frozen=True)
class QueueStats:
    """The queue as it is now.

    Attributes:
        waiting: Conversations waiting for a person.
        with_agents: Conversations an agent has taken.
        oldest_wait_seconds: How long the longest-waiting conversation has waited.
        median_wait_seconds: The median wait of the waiting conversations.
    """

    waiting: int
    with_agents: int
    oldest_wait_seconds: float | None
    median_wait_seconds: float | None


@dataclass(frozen=True)
class WaitToTake:
    """How long handoffs requested in the period waited until an agent took them.

    Attributes:
        count: Handoffs requested in the period and taken.
        avg_seconds: Their mean wait.
        p90_seconds: Their 90th percentile wait (nearest rank).
    """

    count: int
    avg_seconds: float | None
    p90_seconds: float | None


@dataclass(frozen=True)
class ReasonCount:
    """Handoffs requested in the period for one (collapsed) reason."""

    reason: str
    count: int


@dataclass(frozen=True)
class DayCount:
    """Handoffs requested on one UTC day of the period."""

    day: date
    count: int


@dataclass(frozen=True)
class Containment:
    """Conversations started in the period that never reached a person.

    Attributes:
        conversations: Conversations created in the period.
        contained: Those of them with no handoff at all.
        rate: `contained / conversations`, None when there were none.
    """

    conversations: int
    contained: int
    rate: float | None


@dataclass(frozen=True)
class ChannelLanguageCount:
    """A count for one channel and language ("unknown" when not recorded)."""

    channel: str
    language: str
    count: int


@dataclass(frozen=True)
class SupervisorStats:
    """The supervisor's dashboard numbers for the last `days` days.

    Attributes:
        generated_at: The `now` the numbers were computed for (UTC).
        days: The length of the period in days.
        queue: The queue as it is now.
        wait_to_take: Time to take for handoffs requested in the period.
        handoffs_by_reason: Handoffs requested in the period, most frequent reason first.
        handoffs_by_day: Handoffs requested on each UTC day the period touches,
            oldest first, days without any included.
        containment: Conversations created in the period and how many the bot kept.
        promises: Promises to pay made in the period, by conversation channel and language.
        agreements: Agreements consented in the period, by channel and conversation language.
    """

    generated_at: datetime
    days: int
    queue: QueueStats
    wait_to_take: WaitToTake
    handoffs_by_reason: tuple[ReasonCount, ...]
    handoffs_by_day: tuple[DayCount, ...]
    containment: Containment
    promises: tuple[ChannelLanguageCount, ...]
    agreements: tuple[ChannelLanguageCount, ...]

    def as_json(self) -> dict[str, Any]:
        """The numbers as a JSON-ready dict (the desk's `/supervisor/stats` shape).

        Returns:
            A dict of str, int, float, None, lists and dicts only.
        """
        return {
            "generated_at": self.generated_at.isoformat(),
            "days": self.days,
            "queue": {
                "waiting": self.queue.waiting,
                "with_agents": self.queue.with_agents,
                "oldest_wait_seconds": self.queue.oldest_wait_seconds,
                "median_wait_seconds": self.queue.median_wait_seconds,
            },
            "wait_to_take": {
                "count": self.wait_to_take.count,
                "avg_seconds": self.wait_to_take.avg_seconds,
                "p90_seconds": self.wait_to_take.p90_seconds,
            },
            "handoffs_by_reason": [
                {"reason": item.reason, "count": item.count} for item in self.handoffs_by_reason
            ],
            "handoffs_by_day": [
                {"day": item.day.isoformat(), "count": item.count} for item in self.handoffs_by_day
            ],
            "containment": {
                "conversations": self.containment.conversations,
                "contained": self.containment.contained,
                "rate": self.containment.rate,
            },
            "promises": [_channel_language_json(item) for item in self.promises],
            "agreements": [_channel_language_json(item) for item in self.agreements],
        }


def _channel_language_json(item: ChannelLanguageCount) -> dict[str, Any]:
    return {"channel": item.channel, "language": item.language, "count": item.count}


async def supervisor_stats(
    session: AsyncSession, *, days: int, now: datetime | None = None
) -> SupervisorStats:
    """The supervisor's numbers for the period [now - days, now].

    Read-only: the caller owns the session and its transaction.

    Args:
        session: A session on the application database.
        days: The length of the period, 1 to 90 days.
        now: The end of the period (timezone-aware); the current time if omitted.

    Returns:
        The queue now, and handoffs, containment, promises and agreements in the period.

    Raises:
        ValueError: when `days` is not an integer from 1 to 90, or `now` is naive.
    """
    if isinstance(days, bool) or not isinstance(days, int) or not MIN_DAYS <= days <= MAX_DAYS:
        raise ValueError(f"days must be an integer from {MIN_DAYS} to {MAX_DAYS}, not {days!r}")
    if now is not None and now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    end = (now or utcnow()).astimezone(timezone.utc)
    start = end - timedelta(days=days)
    return SupervisorStats(
        generated_at=end,
        days=days,
        queue=await _queue(session, end),
        wait_to_take=await _wait_to_take(session, start, end),
        handoffs_by_reason=await _by_reason(session, start, end),
        handoffs_by_day=await _by_day(session, start, end),
        containment=await _containment(session, start, end),
        promises=await _promises(session, start, end),
        agreements=await _agreements(session, start, end),
    )


def collapse_reason(reason: str) -> str:
    """The reason as the supervisor sees it: review requests without their authority.

    Args:
        reason: A handoff reason as stored, e.g. "offer_review:settlement:supervisor".

    Returns:
        "<prefix>:<kind>" for a review reason "<prefix>:<kind>:<authority>"
        (prefix "review" or "offer_review"); any other reason unchanged.
    """
    parts = reason.split(":", 2)
    if len(parts) == 3 and parts[0] in REVIEW_PREFIXES:
        return f"{parts[0]}:{parts[1]}"
    return reason


def p90_nearest_rank(values: Sequence[float]) -> float | None:
    """The 90th percentile by nearest rank: the ceil(0.9 n)-th smallest value.

    Args:
        values: The sample, in any order.

    Returns:
        The percentile, or None for an empty sample.
    """
    if not values:
        return None
    rank = (9 * len(values) + 9) // 10  # ceil(0.9 * n) without float rounding
    return sorted(values)[rank - 1]


async def _queue(session: AsyncSession, now: datetime) -> QueueStats:
    owners = dict(
        (
            await session.execute(
                select(Conversation.owner, func.count())
                .where(Conversation.owner.in_((ConversationOwner.WAITING, ConversationOwner.AGENT)))
                .group_by(Conversation.owner)
            )
        )
        .tuples()
        .all()
    )
    # One row per waiting conversation: the start of its (earliest) open handoff.
    queued_since = (
        await session.scalars(
            select(func.min(Handoff.requested_at))
            .join(Conversation, Conversation.id == Handoff.conversation_id)
            .where(Conversation.owner == ConversationOwner.WAITING, Handoff.ended_at.is_(None))
            .group_by(Handoff.conversation_id)
        )
    ).all()
    waits = [max(0.0, (now - since).total_seconds()) for since in queued_since]
    return QueueStats(
        waiting=int(owners.get(ConversationOwner.WAITING, 0)),
        with_agents=int(owners.get(ConversationOwner.AGENT, 0)),
        oldest_wait_seconds=max(waits) if waits else None,
        median_wait_seconds=float(statistics.median(waits)) if waits else None,
    )


async def _wait_to_take(session: AsyncSession, start: datetime, end: datetime) -> WaitToTake:
    rows = (
        await session.execute(
            select(Handoff.requested_at, Handoff.taken_at).where(
                Handoff.requested_at.between(start, end), Handoff.taken_at.is_not(None)
            )
        )
    ).tuples()
    waits = [(taken - requested).total_seconds() for requested, taken in rows if taken is not None]
    return WaitToTake(
        count=len(waits),
        avg_seconds=sum(waits) / len(waits) if waits else None,
        p90_seconds=p90_nearest_rank(waits),
    )


async def _by_reason(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[ReasonCount, ...]:
    rows = await session.execute(
        select(Handoff.reason, func.count())
        .where(Handoff.requested_at.between(start, end))
        .group_by(Handoff.reason)
    )
    counts: Counter[str] = Counter()
    for reason, count in rows.tuples():
        counts[collapse_reason(reason)] += int(count)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ReasonCount(reason, count) for reason, count in ordered)


def _period_days(start: datetime, end: datetime) -> list[date]:
    """Every UTC day the period touches, oldest first."""
    first, last = start.date(), end.date()
    return [first + timedelta(days=offset) for offset in range((last - first).days + 1)]


async def _by_day(session: AsyncSession, start: datetime, end: datetime) -> tuple[DayCount, ...]:
    days = _period_days(start, end)
    # The day's index in `days`, by comparing with each UTC midnight inside
    # the period: plain comparisons, so no backend's date functions are needed.
    midnights = [datetime.combine(day, time(), tzinfo=timezone.utc) for day in days[1:]]
    # A period of at least one day always crosses a midnight.
    index: ColumnElement[int] = case(
        *[(Handoff.requested_at < midnight, i) for i, midnight in enumerate(midnights)],
        else_=len(midnights),
    )
    # Grouped in an outer query: PostgreSQL would not match the CASE's bound
    # parameters in GROUP BY with those in the select list.
    indexed = (
        select(index.label("day_index")).where(Handoff.requested_at.between(start, end)).subquery()
    )
    rows = await session.execute(
        select(indexed.c.day_index, func.count()).group_by(indexed.c.day_index)
    )
    counts = {int(i): int(count) for i, count in rows.tuples()}
    return tuple(DayCount(day, counts.get(i, 0)) for i, day in enumerate(days))


async def _containment(session: AsyncSession, start: datetime, end: datetime) -> Containment:
    handed_off = select(Handoff.conversation_id).distinct().subquery()
    row = (
        await session.execute(
            select(func.count(Conversation.id), func.count(handed_off.c.conversation_id))
            .select_from(Conversation)
            .outerjoin(handed_off, handed_off.c.conversation_id == Conversation.id)
            .where(Conversation.created_at.between(start, end))
        )
    ).one()
    conversations, with_people = int(row[0]), int(row[1])
    contained = conversations - with_people
    return Containment(
        conversations=conversations,
        contained=contained,
        rate=contained / conversations if conversations else None,
    )


async def _promises(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[ChannelLanguageCount, ...]:
    # The conversation's channel, not PromiseToPay.channel: the latter is set
    # to "web" when a promise has no conversation, which would overstate web.
    rows = await session.execute(
        select(Conversation.channel, Conversation.language, func.count(PromiseToPay.id))
        .select_from(PromiseToPay)
        .outerjoin(Conversation, Conversation.id == PromiseToPay.conversation_id)
        .where(PromiseToPay.created_at.between(start, end))
        .group_by(Conversation.channel, Conversation.language)
    )
    return _channel_language_counts(rows.tuples())


async def _agreements(
    session: AsyncSession, start: datetime, end: datetime
) -> tuple[ChannelLanguageCount, ...]:
    rows = await session.execute(
        select(Agreement.channel, Conversation.language, func.count(Agreement.id))
        .select_from(Agreement)
        .outerjoin(Offer, Offer.id == Agreement.offer_id)
        .outerjoin(Conversation, Conversation.id == Offer.conversation_id)
        .where(Agreement.consented_at.between(start, end))
        .group_by(Agreement.channel, Conversation.language)
    )
    return _channel_language_counts(rows.tuples())


def _channel_language_counts(
    rows: Iterable[tuple[Any, Any, int]],
) -> tuple[ChannelLanguageCount, ...]:
    counts: Counter[tuple[str, str]] = Counter()
    for channel, language, count in rows:
        key = (channel.value if channel else UNKNOWN, language.value if language else UNKNOWN)
        counts[key] += int(count)
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return tuple(ChannelLanguageCount(channel, language, n) for (channel, language), n in ordered)
