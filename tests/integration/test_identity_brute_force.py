"""Identity brute force: 3 failures per conversation, 10 per account and day across them.

Each test has a database of its own (the daily count is per account, and the
shared seeded database serves other tests that verify the same personas).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.identity import ValidateIdentityForm
from bot.db.models import AuditLog, Conversation
from bot.domain.enums import Channel, ConversationOwner, Language
from bot.services.identity import (
    BLOCKED,
    FAILED,
    MAX_FAILURES_PER_ACCOUNT_PER_DAY,
    VerificationResult,
    verified_account_id,
    verify_identity,
)
from tests.support import account_id_of, add_conversation, load_domain, make_tracker, responses

DOMAIN = load_domain()
EMILY_PHONE = "+14155550101"  # P1, America/Los_Angeles
EMILY_DOB = date(1988, 4, 12)
EMILY_LAST4 = "4821"
WEI_PHONE = "+8613800138004"  # P4
STRANGER = "+12025550199"
# A winter day in Los Angeles (UTC-8): 10:00 local is 18:00 UTC.
MORNING = datetime(2026, 1, 15, 18, 0, tzinfo=timezone.utc)

Sessions = async_sessionmaker[AsyncSession]


async def attempt(
    sessions: Sessions,
    conversation_id: str,
    *,
    phone: str = EMILY_PHONE,
    dob: date = EMILY_DOB,
    last4: str = "9999",
    now: datetime | None = None,
) -> VerificationResult:
    async with sessions() as session, session.begin():
        return await verify_identity(
            session,
            conversation_id=conversation_id,
            phone_e164=phone,
            dob=dob,
            last4=last4,
            now=now,
        )


async def fail_times(sessions: Sessions, times: int, *, prefix: str, **kwargs: Any) -> list[Any]:
    """`times` wrong answers, three per conversation (as many conversations as it takes)."""
    results = []
    for n in range(times):
        results.append(await attempt(sessions, f"{prefix}-{n // 3}", **kwargs))
    return results


async def conversation(sessions: Sessions, cid: str) -> Conversation:
    async with sessions() as session:
        found = await session.get(Conversation, cid)
        assert found is not None
        return found


async def validate_last4(
    cid: str, last4: str, *, phone: str = EMILY_PHONE, language: str = "en"
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """The identity form's last step, as Rasa runs it (web chat: phone and DOB given)."""
    slots = {
        "language": language,
        "id_phone": phone,
        "id_dob": EMILY_DOB.isoformat(),
        "id_last4": last4,
        "requested_slot": "id_last4",
    }
    events = [
        {"event": "user", "text": last4},
        {"event": "slot", "name": "id_last4", "value": last4},
    ]
    tracker = make_tracker(cid, active_loop="identity_form", events=events, slots=slots)
    dispatcher = CollectingDispatcher()
    produced = await ValidateIdentityForm().run(dispatcher, tracker, DOMAIN)
    return dispatcher, {e["name"]: e["value"] for e in produced if e.get("event") == "slot"}


async def test_ten_failures_across_conversations_lock_the_account_for_the_day(
    own_sessions: Sessions,
) -> None:
    results = await fail_times(own_sessions, MAX_FAILURES_PER_ACCOUNT_PER_DAY, prefix="web-bf")
    # Three per conversation lock each one; the tenth locks the fourth at its first failure.
    assert [r.locked for r in results] == [False, False, True] * 3 + [True]
    assert results[-1].daily_limit and results[-1].failures == 1
    assert [r.failures_today for r in results] == list(range(1, 11))
    # What "attempts left" says is the smaller of the two limits.
    assert [r.attempts_left for r in results[6:]] == [2, 1, 0, 0]
    fourth = await conversation(own_sessions, "web-bf-3")
    assert fourth.owner is ConversationOwner.WAITING
    assert fourth.handoff_reason == "identity_check_failed"

    # A new conversation, even with the right answers, is locked and handed over.
    await add_conversation(own_sessions, "web-bf-new", language=Language.ZH)
    dispatcher, slots = await validate_last4("web-bf-new", EMILY_LAST4, language="zh")
    assert responses(dispatcher) == ["utter_identity_locked"]  # the same polite words
    assert slots["identity_locked"] is True and slots.get("verified") is not True
    new = await conversation(own_sessions, "web-bf-new")
    assert new.owner is ConversationOwner.WAITING and new.verified_at is None
    assert new.handoff_reason == "identity_check_failed"
    # So is the cardholder's own phone: every conversation for the account.
    await add_conversation(own_sessions, "sms:14155550101", Channel.SMS, EMILY_PHONE)
    result = await attempt(own_sessions, "sms:14155550101", last4=EMILY_LAST4)
    assert result.locked and result.daily_limit and not result.verified
    async with own_sessions() as session:
        blocked = (await session.scalars(select(AuditLog).where(AuditLog.action == BLOCKED))).all()
    assert {b.entity_id for b in blocked} == {"web-bf-new", "sms:14155550101"}
    assert all(b.details["reason"] == "daily_limit" for b in blocked)

    # Another account is not affected.
    result = await attempt(
        own_sessions, "web-wei", phone=WEI_PHONE, dob=date(1985, 2, 14), last4="6230"
    )
    assert result.verified


async def test_failures_are_attributed_to_the_account_without_the_answers(
    own_sessions: Sessions,
) -> None:
    await attempt(own_sessions, "web-attr", last4="1111")
    await attempt(own_sessions, "web-attr-stranger", phone=STRANGER, last4="2222")
    account_id = await account_id_of(own_sessions, "P1")
    async with own_sessions() as session:
        failures = (await session.scalars(select(AuditLog).where(AuditLog.action == FAILED))).all()
    by_type = {(f.entity_type, f.entity_id) for f in failures}
    assert ("account", str(account_id)) in by_type
    assert ("conversation", "web-attr") in by_type
    [phone_entry] = [f for f in failures if f.entity_type == "phone"]
    assert phone_entry.entity_id.startswith("sha256:")
    stored = str([(f.entity_id, f.details) for f in failures])
    for secret in ("1111", "2222", "1988", STRANGER, STRANGER.lstrip("+")):
        assert secret not in stored


async def test_a_number_on_file_and_one_not_behave_alike(own_sessions: Sessions) -> None:
    """The daily lock counts unknown numbers too, so it reveals no account."""

    def seen(results: list[VerificationResult]) -> list[tuple[bool, int]]:
        return [(r.locked, r.attempts_left) for r in results]

    known = await fail_times(own_sessions, 11, prefix="web-known")
    unknown = await fail_times(own_sessions, 11, prefix="web-unknown", phone=STRANGER)
    assert seen(known) == seen(unknown)
    assert unknown[-1].daily_limit


async def test_the_lock_ends_with_the_cardholders_day(own_sessions: Sessions) -> None:
    await fail_times(own_sessions, MAX_FAILURES_PER_ACCOUNT_PER_DAY, prefix="web-day", now=MORNING)
    # 23:59 in Los Angeles is the next day in UTC, but still the same day there.
    late = MORNING.replace(hour=7, minute=59) + timedelta(days=1)
    result = await attempt(own_sessions, "web-day-late", last4=EMILY_LAST4, now=late)
    assert result.locked and not result.verified
    # 00:01 the next day there: a new day, a new count.
    tomorrow = late + timedelta(minutes=2)
    result = await attempt(own_sessions, "web-day-next", last4=EMILY_LAST4, now=tomorrow)
    assert result.verified


async def test_a_conversation_verified_before_the_lock_stays_verified(
    own_sessions: Sessions,
) -> None:
    before = datetime.now(timezone.utc) - timedelta(minutes=5)
    verified = await attempt(own_sessions, "web-real", last4=EMILY_LAST4)
    assert verified.verified
    await fail_times(own_sessions, MAX_FAILURES_PER_ACCOUNT_PER_DAY, prefix="web-attacker")
    async with own_sessions() as session:
        assert await verified_account_id(session, "web-real", since=before) == verified.account_id
    real = await conversation(own_sessions, "web-real")
    assert real.owner is ConversationOwner.BOT


async def test_a_wrong_answer_says_how_many_tries_are_left_today(own_sessions: Sessions) -> None:
    await fail_times(own_sessions, 8, prefix="web-left")  # 3 + 3 + 2
    await add_conversation(own_sessions, "web-left-new")
    dispatcher, _ = await validate_last4("web-left-new", "0000")
    assert responses(dispatcher) == ["utter_identity_mismatch"]
    assert dispatcher.messages[0]["attempts_left"] == 1  # 9 of 10 today
    dispatcher, slots = await validate_last4("web-left-new", "0000")
    assert responses(dispatcher) == ["utter_identity_locked"]
    assert slots["identity_locked"] is True
