"""The supervisor's numbers on a real database: queue, waits, reasons, days, outcomes.

Each test writes its own conversations, handoffs, promises and agreements in
a freshly seeded database (the personas only) and reads the numbers as of a
fixed `NOW`, so every figure is exact.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Agent, Agreement, Conversation, Handoff, Offer, PromiseToPay
from bot.desk.metrics import SupervisorStats, collapse_reason, p90_nearest_rank, supervisor_stats
from bot.domain.enums import (
    AgentRole,
    Authority,
    Channel,
    ConversationOwner,
    HandoffOutcome,
    Language,
    OfferKind,
    OfferStatus,
    PromiseStatus,
)
from tests.support import account_id_of

Maker = async_sessionmaker[AsyncSession]

NOW = datetime(2025, 3, 15, 12, 0, tzinfo=timezone.utc)
START = NOW - timedelta(days=7)  # the period of `days=7`
EN, ZH = Language.EN, Language.ZH
WEB, SMS, VOICE = Channel.WEB, Channel.SMS, Channel.VOICE
WAITING, AGENT, BOT, CLOSED = (
    ConversationOwner.WAITING,
    ConversationOwner.AGENT,
    ConversationOwner.BOT,
    ConversationOwner.CLOSED,
)
HANDED_BACK, CLOSED_OUT = HandoffOutcome.HANDED_BACK, HandoffOutcome.CLOSED


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


async def add(maker: Maker, *rows: Any) -> None:
    async with maker() as session, session.begin():
        session.add_all(rows)


async def add_agent(maker: Maker) -> int:
    async with maker() as session, session.begin():
        agent = Agent(
            username="amy", display_name="Amy", role=AgentRole.AGENT, password_hash="not-used"
        )
        session.add(agent)
        await session.flush()
        return agent.id


def conversation(
    cid: str,
    *,
    created_at: datetime,
    owner: ConversationOwner = BOT,
    channel: Channel = WEB,
    language: Language = EN,
) -> Conversation:
    return Conversation(
        id=cid,
        channel=channel,
        language=language,
        owner=owner,
        created_at=created_at,
        last_activity_at=created_at,
    )


def handoff(
    cid: str,
    *,
    requested_at: datetime,
    reason: str = "asked_for_agent",
    waited: float | None = None,
    agent_id: int | None = None,
    ended: HandoffOutcome | None = None,
) -> Handoff:
    """A handoff; `waited` seconds later an agent took it, `ended` says how it ended."""
    taken_at = requested_at + timedelta(seconds=waited) if waited is not None else None
    return Handoff(
        conversation_id=cid,
        reason=reason,
        priority=0,
        requested_by="bot",
        requested_at=requested_at,
        agent_id=agent_id if taken_at else None,
        taken_at=taken_at,
        ended_at=(taken_at or requested_at) + timedelta(minutes=5) if ended else None,
        ended_by="agent:amy" if ended else None,
        outcome=ended,
    )


def promise(account_id: int, cid: str | None, created_at: datetime) -> PromiseToPay:
    return PromiseToPay(
        account_id=account_id,
        conversation_id=cid,
        amount=Decimal("120.00"),
        promised_date=(created_at + timedelta(days=5)).date(),
        status=PromiseStatus.OPEN,
        channel=WEB,  # what record_promise writes when there is no conversation
        policy_version="test",
        created_at=created_at,
    )


async def add_offer(maker: Maker, account_id: int, cid: str | None) -> int:
    """An accepted offer made in conversation `cid` (which must exist)."""
    async with maker() as session, session.begin():
        made = Offer(
            account_id=account_id,
            conversation_id=cid,
            kind=OfferKind.SETTLEMENT,
            terms={"amount": "500.00"},
            made_by="bot",
            authority_required=Authority.BOT,
            status=OfferStatus.ACCEPTED,
            policy_version="test",
        )
        session.add(made)
        await session.flush()
        return made.id


def agreement(account_id: int, offer_id: int, channel: Channel, at: datetime) -> Agreement:
    return Agreement(
        account_id=account_id,
        offer_id=offer_id,
        terms={"amount": "500.00"},
        consent_text="I agree",
        consented_at=at,
        channel=channel,
        policy_version="test",
    )


async def stats(maker: Maker, days: int = 7, now: datetime = NOW) -> SupervisorStats:
    async with maker() as session:
        return await supervisor_stats(session, days=days, now=now)


# --- the period ---------------------------------------------------------------------


@pytest.mark.parametrize("days", [0, -1, 91, 365])
async def test_days_outside_1_to_90_are_refused(sessions: Maker, days: int) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="days"):
            await supervisor_stats(session, days=days, now=NOW)


async def test_a_naive_now_is_refused(sessions: Maker) -> None:
    async with sessions() as session:
        with pytest.raises(ValueError, match="timezone"):
            await supervisor_stats(session, days=7, now=datetime(2025, 3, 15, 12, 0))


@pytest.mark.parametrize(("days", "listed"), [(1, 2), (90, 91)])
async def test_the_limits_are_accepted_and_each_utc_day_touched_is_listed(
    sessions: Maker, days: int, listed: int
) -> None:
    result = await stats(sessions, days=days)
    assert result.days == days
    assert len(result.handoffs_by_day) == listed
    assert result.handoffs_by_day[0].day == (NOW - timedelta(days=days)).date()
    assert result.handoffs_by_day[-1].day.isoformat() == "2025-03-15"


async def test_nothing_yet_gives_zeros_and_no_averages(own_sessions: Maker) -> None:
    data = (await stats(own_sessions)).as_json()

    assert data["queue"] == {
        "waiting": 0,
        "with_agents": 0,
        "oldest_wait_seconds": None,
        "median_wait_seconds": None,
    }
    assert data["wait_to_take"] == {"count": 0, "avg_seconds": None, "p90_seconds": None}
    assert data["handoffs_by_reason"] == []
    assert [d["count"] for d in data["handoffs_by_day"]] == [0] * 8
    assert data["containment"] == {"conversations": 0, "contained": 0, "rate": None}
    assert data["promises"] == [] and data["agreements"] == []


async def test_period_ends_are_included_and_everything_outside_is_not(
    own_sessions: Maker,
) -> None:
    p1 = await account_id_of(own_sessions, "P1")
    second = timedelta(seconds=1)
    await add(
        own_sessions,
        conversation("at-start", created_at=START),
        conversation("at-end", created_at=NOW),
        conversation("before", created_at=START - second),
        conversation("after", created_at=NOW + second),
    )
    on_start, on_end = [await add_offer(own_sessions, p1, c) for c in ("at-start", "at-end")]
    before, after = [await add_offer(own_sessions, p1, c) for c in ("before", "after")]
    await add(
        own_sessions,
        handoff("at-start", requested_at=START, reason="at_start", waited=10, ended=CLOSED_OUT),
        handoff("at-end", requested_at=NOW, reason="at_end", waited=0, ended=CLOSED_OUT),
        handoff(
            "before", requested_at=START - second, reason="before", waited=1000, ended=CLOSED_OUT
        ),
        handoff("after", requested_at=NOW + second, reason="after", waited=1000, ended=CLOSED_OUT),
        promise(p1, "at-start", START),
        promise(p1, "at-end", NOW),
        promise(p1, "before", START - second),
        promise(p1, "after", NOW + second),
        agreement(p1, on_start, WEB, START),
        agreement(p1, on_end, WEB, NOW),
        agreement(p1, before, WEB, START - second),
        agreement(p1, after, WEB, NOW + second),
    )

    result = await stats(own_sessions)

    assert {r.reason: r.count for r in result.handoffs_by_reason} == {"at_start": 1, "at_end": 1}
    assert sum(d.count for d in result.handoffs_by_day) == 2
    assert (result.handoffs_by_day[0].count, result.handoffs_by_day[-1].count) == (1, 1)
    assert (result.wait_to_take.count, result.wait_to_take.avg_seconds) == (2, 5.0)
    assert result.containment.conversations == 2
    assert [(p.channel, p.language, p.count) for p in result.promises] == [("web", "en", 2)]
    assert [(a.channel, a.language, a.count) for a in result.agreements] == [("web", "en", 2)]


# --- the queue now ------------------------------------------------------------------


async def test_queue_counts_owners_now_and_waits_of_the_open_handoffs(
    own_sessions: Maker,
) -> None:
    amy = await add_agent(own_sessions)
    await add(
        own_sessions,
        conversation("w1", created_at=ago(days=2), owner=WAITING),
        conversation("w2", created_at=ago(days=1), owner=WAITING, channel=SMS, language=ZH),
        conversation("w3", created_at=ago(days=20), owner=WAITING),
        conversation("a1", created_at=ago(days=4), owner=AGENT),
        conversation("a2", created_at=ago(days=5), owner=AGENT),
        conversation("done", created_at=ago(days=3), owner=CLOSED),
        conversation("bot", created_at=ago(days=3), owner=BOT),
        handoff("w1", requested_at=ago(minutes=30)),
        handoff("w2", requested_at=ago(minutes=10)),
        # w3 was with people weeks ago (ended) and is queued again for 2 hours:
        # only the open handoff counts, not the first one's 20 days.
        handoff("w3", requested_at=ago(days=20), waited=60, agent_id=amy, ended=HANDED_BACK),
        handoff("w3", requested_at=ago(hours=2)),
        # Taken or ended handoffs are not waiting, however old.
        handoff("a1", requested_at=ago(days=4), waited=120, agent_id=amy),
        handoff("a2", requested_at=ago(days=5), waited=300, agent_id=amy),
        handoff("done", requested_at=ago(days=3), waited=30, agent_id=amy, ended=CLOSED_OUT),
    )

    queue = (await stats(own_sessions)).queue

    assert (queue.waiting, queue.with_agents) == (3, 2)
    assert queue.oldest_wait_seconds == 7200.0
    assert queue.median_wait_seconds == 1800.0


async def test_median_wait_of_an_even_queue_is_the_mean_of_the_middle_two(
    own_sessions: Maker,
) -> None:
    rows: list[Any] = []
    for i, minutes in enumerate([1, 3, 5, 60]):
        rows += [
            conversation(f"w{i}", created_at=ago(hours=2), owner=WAITING),
            handoff(f"w{i}", requested_at=ago(minutes=minutes)),
        ]
    await add(own_sessions, *rows)

    queue = (await stats(own_sessions)).queue

    assert queue.waiting == 4
    assert queue.oldest_wait_seconds == 3600.0
    assert queue.median_wait_seconds == 240.0  # (3 min + 5 min) / 2


# --- handoffs in the period ------------------------------------------------------------


async def test_wait_to_take_is_the_mean_and_nearest_rank_p90_of_taken_handoffs(
    own_sessions: Maker,
) -> None:
    amy = await add_agent(own_sessions)
    rows: list[Any] = [
        conversation("untaken", created_at=ago(days=1), owner=WAITING),
        handoff("untaken", requested_at=ago(hours=20)),
        conversation("long-ago", created_at=ago(days=30), owner=BOT),
        handoff(
            "long-ago", requested_at=ago(days=8), waited=100_000, agent_id=amy, ended=CLOSED_OUT
        ),
    ]
    # Ten taken handoffs waiting 10 s … 100 s, inserted out of order.
    for i, wait in enumerate([70, 10, 100, 40, 90, 20, 60, 30, 80, 50]):
        rows += [
            conversation(f"t{i}", created_at=ago(days=6), owner=BOT),
            handoff(f"t{i}", requested_at=ago(days=6, hours=-i), waited=wait, agent_id=amy),
        ]
    await add(own_sessions, *rows)

    taken = (await stats(own_sessions)).wait_to_take

    assert taken.count == 10
    assert taken.avg_seconds == 55.0
    # Nearest rank: the ceil(0.9 × 10) = 9th smallest (interpolation would give 91).
    assert taken.p90_seconds == 90.0


def test_nearest_rank_p90_on_small_samples() -> None:
    assert p90_nearest_rank([]) is None
    assert p90_nearest_rank([42.0]) == 42.0
    assert p90_nearest_rank([5.0, 1.0]) == 5.0
    assert p90_nearest_rank([float(v) for v in range(1, 12)]) == 10.0  # ceil(9.9) = 10
    assert p90_nearest_rank([float(v) for v in range(1, 21)]) == 18.0


async def test_reasons_collapse_the_review_authority_and_come_most_frequent_first(
    own_sessions: Maker,
) -> None:
    reasons = [
        "offer_review:settlement:supervisor",
        "offer_review:settlement:agent",
        "offer_review:settlement:supervisor",
        "review:hardship_plan:agent",
        "review:hardship_plan:supervisor",
        "distress",
        "distress",
        "distress",
        "asked_for_agent",
        "broken_promises",
        "complaint:billing:x",  # not a review: kept as it is
    ]
    rows: list[Any] = []
    for i, reason in enumerate(reasons):
        rows += [
            conversation(f"c{i}", created_at=ago(days=1)),
            handoff(f"c{i}", requested_at=ago(hours=i + 1), reason=reason, ended=HANDED_BACK),
        ]
    rows += [  # outside the period: not counted
        conversation("old", created_at=ago(days=9)),
        handoff("old", requested_at=ago(days=8), reason="asked_for_agent", ended=HANDED_BACK),
    ]
    await add(own_sessions, *rows)

    data = (await stats(own_sessions)).as_json()

    assert data["handoffs_by_reason"] == [
        {"reason": "distress", "count": 3},
        {"reason": "offer_review:settlement", "count": 3},
        {"reason": "review:hardship_plan", "count": 2},
        {"reason": "asked_for_agent", "count": 1},
        {"reason": "broken_promises", "count": 1},
        {"reason": "complaint:billing:x", "count": 1},
    ]


def test_collapse_reason_keeps_everything_but_review_authorities() -> None:
    assert collapse_reason("review:settlement:supervisor") == "review:settlement"
    assert collapse_reason("offer_review:fee_waiver:agent") == "offer_review:fee_waiver"
    assert collapse_reason("review:settlement") == "review:settlement"
    assert collapse_reason("distress") == "distress"
    assert collapse_reason("preview:a:b") == "preview:a:b"


async def test_handoffs_by_day_lists_every_utc_day_oldest_first_with_zeros(
    own_sessions: Maker,
) -> None:
    requested = [
        START + timedelta(hours=1),  # 2025-03-08 13:00, the first (partial) day
        datetime(2025, 3, 10, 0, 0, tzinfo=timezone.utc),  # exactly midnight: the 10th
        datetime(2025, 3, 10, 23, 59, 59, tzinfo=timezone.utc),
        datetime(2025, 3, 9, 23, 59, 59, tzinfo=timezone.utc),
        datetime(2025, 3, 13, 8, 0, tzinfo=timezone.utc),
        NOW - timedelta(minutes=1),  # the last (partial) day
        # 23:30 in Shanghai on the 12th is still the 12th in UTC (15:30).
        datetime(2025, 3, 12, 23, 30, tzinfo=timezone(timedelta(hours=8))),
        START - timedelta(hours=1),  # before the period
    ]
    rows: list[Any] = []
    for i, at in enumerate(requested):
        rows += [
            conversation(f"d{i}", created_at=at - timedelta(minutes=1)),
            handoff(f"d{i}", requested_at=at, ended=HANDED_BACK),
        ]
    await add(own_sessions, *rows)

    data = (await stats(own_sessions)).as_json()

    assert data["handoffs_by_day"] == [
        {"day": "2025-03-08", "count": 1},
        {"day": "2025-03-09", "count": 1},
        {"day": "2025-03-10", "count": 2},
        {"day": "2025-03-11", "count": 0},
        {"day": "2025-03-12", "count": 1},
        {"day": "2025-03-13", "count": 1},
        {"day": "2025-03-14", "count": 0},
        {"day": "2025-03-15", "count": 1},
    ]


async def test_a_day_period_at_midnight_has_the_day_and_the_final_instant(
    own_sessions: Maker,
) -> None:
    midnight = datetime(2025, 3, 15, tzinfo=timezone.utc)
    await add(
        own_sessions,
        conversation("m1", created_at=midnight - timedelta(hours=3)),
        handoff("m1", requested_at=midnight - timedelta(hours=3), ended=HANDED_BACK),
        conversation("m2", created_at=midnight - timedelta(hours=1)),
        handoff("m2", requested_at=midnight, ended=HANDED_BACK),
    )

    data = (await stats(own_sessions, days=1, now=midnight)).as_json()

    assert data["handoffs_by_day"] == [
        {"day": "2025-03-14", "count": 1},
        {"day": "2025-03-15", "count": 1},
    ]


# --- what the bot kept, and what was agreed ------------------------------------------


async def test_containment_is_the_share_of_new_conversations_never_handed_off(
    own_sessions: Maker,
) -> None:
    rows: list[Any] = [conversation(f"kept{i}", created_at=ago(days=i + 1)) for i in range(5)]
    rows += [
        # Handed off and back: not contained, though the bot has it again.
        conversation("back", created_at=ago(days=2)),
        handoff("back", requested_at=ago(days=2), waited=5, ended=HANDED_BACK),
        # Two stays with people count once.
        conversation("twice", created_at=ago(days=3), owner=WAITING),
        handoff("twice", requested_at=ago(days=3), waited=5, ended=HANDED_BACK),
        handoff("twice", requested_at=ago(hours=1)),
        # Created before the period, handed off within it: not in the denominator.
        conversation("older", created_at=ago(days=10)),
        handoff("older", requested_at=ago(days=1), ended=HANDED_BACK),
        conversation("older-kept", created_at=ago(days=10)),
    ]
    await add(own_sessions, *rows)

    data = (await stats(own_sessions)).as_json()

    assert data["containment"] == {"conversations": 7, "contained": 5, "rate": 5 / 7}


async def test_promises_and_agreements_by_channel_and_conversation_language(
    own_sessions: Maker,
) -> None:
    p1 = await account_id_of(own_sessions, "P1")
    p2 = await account_id_of(own_sessions, "P2")
    await add(
        own_sessions,
        conversation("web-en", created_at=ago(days=20)),
        conversation("sms-zh", created_at=ago(days=3), channel=SMS, language=ZH),
        conversation("web-zh", created_at=ago(days=3), language=ZH),
        conversation("voice-en", created_at=ago(days=3), channel=VOICE),
    )
    web_en, too_old = [await add_offer(own_sessions, p1, "web-en") for _ in range(2)]
    sms_zh, sms_zh_2 = [await add_offer(own_sessions, p2, "sms-zh") for _ in range(2)]
    web_zh = await add_offer(own_sessions, p2, "web-zh")
    no_conversation = await add_offer(own_sessions, p1, None)
    await add(
        own_sessions,
        promise(p1, "web-en", ago(days=1)),
        promise(p1, "web-en", ago(days=2)),
        promise(p2, "sms-zh", ago(days=1)),
        promise(p2, "sms-zh", ago(days=2)),
        promise(p2, "sms-zh", ago(days=3)),
        promise(p2, "web-zh", ago(hours=5)),
        promise(p1, "voice-en", ago(hours=5)),
        promise(p1, None, ago(days=4)),  # channel "web" on the row, but no conversation
        promise(p1, "sms-zh", ago(days=9)),  # before the period
        agreement(p1, web_en, WEB, ago(days=1)),
        agreement(p2, sms_zh, SMS, ago(days=2)),
        agreement(p2, sms_zh_2, SMS, ago(days=6)),
        agreement(p2, web_zh, WEB, ago(days=6)),
        agreement(p1, no_conversation, VOICE, ago(days=3)),
        agreement(p1, too_old, WEB, ago(days=8)),
    )

    data = (await stats(own_sessions)).as_json()

    assert data["promises"] == [
        {"channel": "sms", "language": "zh", "count": 3},
        {"channel": "web", "language": "en", "count": 2},
        {"channel": "unknown", "language": "unknown", "count": 1},
        {"channel": "voice", "language": "en", "count": 1},
        {"channel": "web", "language": "zh", "count": 1},
    ]
    assert data["agreements"] == [
        {"channel": "sms", "language": "zh", "count": 2},
        {"channel": "voice", "language": "unknown", "count": 1},
        {"channel": "web", "language": "en", "count": 1},
        {"channel": "web", "language": "zh", "count": 1},
    ]


# --- the JSON -----------------------------------------------------------------------------


async def test_as_json_has_exactly_the_documented_shape(own_sessions: Maker) -> None:
    await add(
        own_sessions,
        conversation("w", created_at=ago(hours=3), owner=WAITING, channel=SMS, language=ZH),
        handoff("w", requested_at=ago(minutes=15), reason="offer_review:settlement:agent"),
    )
    later = NOW.astimezone(timezone(timedelta(hours=8)))  # any zone in, UTC out

    data = (await stats(own_sessions, days=3, now=later)).as_json()

    assert json.loads(json.dumps(data)) == data
    assert data == {
        "generated_at": "2025-03-15T12:00:00+00:00",
        "days": 3,
        "queue": {
            "waiting": 1,
            "with_agents": 0,
            "oldest_wait_seconds": 900.0,
            "median_wait_seconds": 900.0,
        },
        "wait_to_take": {"count": 0, "avg_seconds": None, "p90_seconds": None},
        "handoffs_by_reason": [{"reason": "offer_review:settlement", "count": 1}],
        "handoffs_by_day": [
            {"day": "2025-03-12", "count": 0},
            {"day": "2025-03-13", "count": 0},
            {"day": "2025-03-14", "count": 0},
            {"day": "2025-03-15", "count": 1},
        ],
        "containment": {"conversations": 1, "contained": 0, "rate": 0.0},
        "promises": [],
        "agreements": [],
    }
