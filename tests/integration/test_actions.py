"""Actions against a seeded database, with trackers built in code."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from actions import deps
from actions.account import ActionAccountAnswer
from actions.fallback import DESCRIPTIONS, ActionDefaultAskAffirmation
from actions.identity import ActionIdentityDone, ValidateIdentityForm
from actions.service import ActionOptOut, ActionRequestHuman
from actions.session import ActionSessionStart
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.db.models import Account, AuditLog, Cardholder, Consent, Conversation, Payment
from bot.domain.enums import Channel, ConsentStatus, ConversationOwner, Language
from bot.services.collections import local_today
from bot.services.payment_links import read_token
from bot.settings import Settings
from tests.support import (
    SECRET,
    account_id_of,
    add_conversation,
    load_domain,
    make_tracker,
    mark_verified,
    message_values,
    responses,
    session_started_events,
)

DOMAIN = load_domain()


async def _validate(
    form: ValidateIdentityForm, tracker_kwargs: dict[str, Any], sender: str
) -> tuple[CollectingDispatcher, dict[str, Any]]:
    """Run the validation as Rasa does after extracting the requested slot.

    The value of `requested_slot` in the given slots is the candidate: Rasa
    appends it as the last event, which is what rasa-sdk validates.
    """
    dispatcher = CollectingDispatcher()
    requested = tracker_kwargs["slots"]["requested_slot"]
    events = [
        {"event": "user", "text": str(tracker_kwargs["slots"][requested])},
        {"event": "slot", "name": requested, "value": tracker_kwargs["slots"][requested]},
    ]
    tracker = make_tracker(sender, active_loop="identity_form", events=events, **tracker_kwargs)
    events = await form.run(dispatcher, tracker, DOMAIN)
    return dispatcher, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


# --- identity -------------------------------------------------------------------


async def test_sms_caller_is_asked_only_dob_and_last4_then_verified(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id, Channel.SMS, "+14155550101")
    form = ValidateIdentityForm()
    _, slots = await _validate(
        form, {"slots": {"id_dob": "april 12 1988", "requested_slot": "id_dob"}}, conversation_id
    )
    assert slots["id_dob"] == "1988-04-12"
    assert slots["requested_slot"] == "id_last4"  # the phone is never asked on SMS

    dispatcher, slots = await _validate(
        form,
        {"slots": {"id_dob": "1988-04-12", "id_last4": "it's 4821", "requested_slot": "id_last4"}},
        conversation_id,
    )
    assert dispatcher.messages == []  # the greeting comes from action_identity_done
    assert slots["verified"] is True
    assert slots["account_id"] == await account_id_of(sessions, "P1")
    assert slots["id_dob"] is None and slots["id_last4"] is None  # not kept in the tracker
    assert slots["requested_slot"] is None  # the form ends
    async with sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.verified_at is not None


async def test_web_chat_in_chinese_verifies_by_the_phone_given(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id, language=Language.ZH)
    form = ValidateIdentityForm()
    zh = {"language": "zh"}
    _, slots = await _validate(
        form, {"slots": {**zh, "id_phone": "138 0013 8004", "requested_slot": "id_phone"}},
        conversation_id,
    )  # fmt: skip
    assert slots["id_phone"] == "+8613800138004"
    _, slots = await _validate(
        form,
        {"slots": {**zh, "id_phone": "+8613800138004", "id_dob": "1985年2月14日",
                   "requested_slot": "id_dob"}},
        conversation_id,
    )  # fmt: skip
    assert slots["id_dob"] == "1985-02-14"
    _, slots = await _validate(
        form,
        {"slots": {**zh, "id_phone": "+8613800138004", "id_dob": "1985-02-14",
                   "id_last4": "六二三零", "requested_slot": "id_last4"}},
        conversation_id,
    )  # fmt: skip
    assert slots["verified"] is True
    assert slots["account_id"] == await account_id_of(sessions, "P4")


async def test_three_failures_lock_and_hand_off_without_saying_which_part_failed(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id)
    form = ValidateIdentityForm()
    attempt = {
        "id_phone": "+14155550101", "id_dob": "1988-04-12", "id_last4": "9999",
        "requested_slot": "id_last4",
    }  # fmt: skip
    left = []
    for _ in range(2):
        dispatcher, slots = await _validate(form, {"slots": dict(attempt)}, conversation_id)
        assert responses(dispatcher) == ["utter_identity_mismatch"]
        left.append(dispatcher.messages[0]["attempts_left"])
        assert slots.get("verified") is not True
        assert slots["id_phone"] is None  # web chat asks for everything again
    assert left == [2, 1]
    dispatcher, slots = await _validate(form, {"slots": dict(attempt)}, conversation_id)
    assert responses(dispatcher) == ["utter_identity_locked"]
    assert slots["identity_locked"] is True
    async with sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.owner is ConversationOwner.WAITING
        assert conversation.handoff_reason == "identity_check_failed"
        details = (
            (
                await session.execute(
                    select(AuditLog.details).where(AuditLog.entity_id == conversation_id)
                )
            )
            .scalars()
            .all()
        )
        assert "9999" not in str(details) and "1988" not in str(details)
    # Even the right answer cannot unlock it now.
    good = {**attempt, "id_last4": "4821"}
    _, slots = await _validate(form, {"slots": good}, conversation_id)
    assert slots.get("verified") is not True


async def test_unknown_number_fails_like_a_wrong_answer(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id)
    dispatcher, slots = await _validate(
        ValidateIdentityForm(),
        {"slots": {"id_phone": "+12025550199", "id_dob": "1988-04-12", "id_last4": "4821",
                   "requested_slot": "id_last4"}},
        conversation_id,
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_identity_mismatch"]
    assert slots.get("verified") is not True


@pytest.mark.parametrize(
    "pasted",
    ["4111 1111 1111 1111", "•••• 1111"],  # as typed, and as the gateway masks it
)
async def test_a_full_card_number_is_refused_and_not_echoed(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str, pasted: str
) -> None:
    conversation_id = f"{conversation_id[:100]}-{len(pasted)}"
    await add_conversation(sessions, conversation_id, Channel.SMS, "+14155550101")
    dispatcher, slots = await _validate(
        ValidateIdentityForm(),
        {"slots": {"id_dob": "1988-04-12", "id_last4": pasted,
                   "requested_slot": "id_last4"}},
        conversation_id,
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_identity_full_card_warning"]
    assert slots["id_last4"] is None
    assert "4111" not in message_values(dispatcher)


async def test_unreadable_answers_are_asked_again_in_plain_words(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id)
    form = ValidateIdentityForm()
    dispatcher, slots = await _validate(
        form, {"slots": {"id_phone": "🙂🙂", "requested_slot": "id_phone"}}, conversation_id
    )
    assert responses(dispatcher) == ["utter_identity_bad_phone"] and slots["id_phone"] is None
    dispatcher, slots = await _validate(
        form,
        {"slots": {"id_phone": "+14155550101", "id_dob": "february 30 1990",
                   "requested_slot": "id_dob"}},
        conversation_id,
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_identity_bad_dob"] and slots["id_dob"] is None


# --- account answers --------------------------------------------------------------


async def _answer(
    conversation_id: str, intent: str, account_id: int, *, language: str = "en", text: str = ""
) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        conversation_id,
        intent=intent,
        text=text,
        slots={"language": language, "verified": True, "account_id": account_id},
        events=session_started_events(datetime.now(timezone.utc) - timedelta(minutes=5)),
    )
    events = await ActionAccountAnswer().run(dispatcher, tracker, DOMAIN)
    return dispatcher, events


async def test_balance_and_due_date_for_a_current_english_account(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P1")
    dispatcher, events = await _answer(conversation_id, "ask_balance", account_id)
    assert events == []
    assert dispatcher.messages[0]["response"] == "utter_balance"
    assert dispatcher.messages[0]["balance"] == "$2,480.00"
    dispatcher, _ = await _answer(conversation_id, "ask_due_date", account_id)
    message = dispatcher.messages[0]
    assert message["response"] == "utter_due_date"
    assert message["minimum_due"] == "$75.00"
    due = date.today() + timedelta(days=10)
    assert str(due.day) in message["due_date"] and f"{due:%B}" in message["due_date"]


async def test_overdue_account_hears_the_past_due_amount_calmly(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P2")
    dispatcher, _ = await _answer(conversation_id, "ask_balance", account_id)
    assert dispatcher.messages[0]["response"] == "utter_balance_overdue"
    assert dispatcher.messages[0]["past_due"] == "$120.00"
    dispatcher, _ = await _answer(conversation_id, "ask_minimum_payment", account_id)
    assert dispatcher.messages[0]["response"] == "utter_minimum_payment_overdue"


async def test_chinese_answers_use_chinese_money_and_dates(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P4", language=Language.ZH)
    dispatcher, _ = await _answer(conversation_id, "ask_balance", account_id, language="zh")
    assert dispatcher.messages[0]["balance"] == "18,600.00元"
    dispatcher, _ = await _answer(conversation_id, "ask_due_date", account_id, language="zh")
    assert (
        "年" in dispatcher.messages[0]["due_date"] and "星期" in dispatcher.messages[0]["due_date"]
    )


async def test_database_failure_is_a_polite_message_not_a_crash(
    seeded_url: str, conversation_id: str, tmp_path: Path
) -> None:
    # A database without our tables: every query fails.
    engine = make_async_engine(f"sqlite:///{tmp_path / 'empty.db'}", poolclass=NullPool)
    deps.override(
        deps.Dependencies(
            Settings(_env_file=None, database_url=seeded_url),
            make_async_sessionmaker(engine),
        )
    )
    try:
        dispatcher, events = await _answer(conversation_id, "ask_balance", 1)
    finally:
        deps.override(None)
        await engine.dispose()
    assert responses(dispatcher) == ["utter_account_unavailable"]
    assert events == []


async def test_slots_alone_never_unlock_account_data(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id)  # never verified in the database
    account_id = await account_id_of(sessions, "P1")
    dispatcher, events = await _answer(conversation_id, "ask_balance", account_id)
    assert dispatcher.messages == []
    assert {"event": "followup", "name": "identity_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]


async def test_verification_expires_with_the_session(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P1")
    dispatcher = CollectingDispatcher()
    later_session = session_started_events(datetime.now(timezone.utc) + timedelta(minutes=1))
    tracker = make_tracker(
        conversation_id,
        intent="ask_balance",
        slots={"verified": True, "account_id": account_id},
        events=later_session,
    )
    await ActionAccountAnswer().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages == []


async def test_payment_link_is_signed_for_the_account_and_shows_no_card_number(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P1")
    dispatcher, _ = await _answer(conversation_id, "make_payment", account_id)
    link = dispatcher.messages[0]["payment_link"]
    assert "/pay/" in link
    token = link.rsplit("/pay/", 1)[1]
    assert read_token(SECRET, token, datetime.now(timezone.utc)) == account_id


async def test_already_paid_records_the_claim_until_the_payment_shows(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P2")
    dispatcher, _ = await _answer(
        conversation_id, "already_paid", account_id, text="I paid $120 yesterday"
    )
    assert dispatcher.messages[0]["response"] == "utter_payment_not_found"
    async with sessions() as session, session.begin():
        claim = (
            await session.execute(
                select(AuditLog).where(
                    AuditLog.action == "payment_claimed", AuditLog.entity_id == str(account_id)
                )
            )
        ).scalar_one()
        assert claim.details["amount"] == "120.00"
        account = await session.get(Account, account_id)
        assert account is not None
        # "Yesterday" by the cardholder's calendar (Chicago), not the server's.
        yesterday = local_today(account) - timedelta(days=1)
        assert claim.details["claimed_paid_on"] == yesterday.isoformat()
        session.add(
            Payment(
                account_id=account_id,
                amount=Decimal("120.00"),
                received_at=datetime.now(timezone.utc) - timedelta(hours=2),
                method="ach",
                reference="test-claim-0001",
            )
        )
    dispatcher, _ = await _answer(conversation_id, "already_paid", account_id)
    assert dispatcher.messages[0]["response"] == "utter_payment_found"
    assert dispatcher.messages[0]["amount"] == "$120.00"


# --- opt-out, people, session, fallback ------------------------------------------


async def _consent(maker: async_sessionmaker[AsyncSession], ref: str) -> dict[Channel, Any]:
    async with maker() as session:
        rows = await session.execute(
            select(Consent.channel, Consent.status)
            .join(Cardholder, Consent.cardholder_id == Cardholder.id)
            .where(Cardholder.external_ref == ref)
        )
        return {channel: status for channel, status in rows.all()}


async def test_sms_opt_out_in_words_is_recorded_for_sms(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id, Channel.SMS, "+13125550102")
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(conversation_id, intent="opt_out", text="please stop texting me")
    await ActionOptOut().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[0]["channel_name"] == "text messages"
    assert (await _consent(sessions, "P2"))[Channel.SMS] is ConsentStatus.OPTED_OUT


async def test_chinese_request_to_stop_calls_opts_out_of_voice(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id, Channel.SMS, "+8613900139005", Language.ZH)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        conversation_id, intent="opt_out", text="别再给我打电话了", slots={"language": "zh"}
    )
    await ActionOptOut().run(dispatcher, tracker, DOMAIN)
    assert dispatcher.messages[0]["channel_name"] == "电话"
    assert (await _consent(sessions, "P5"))[Channel.VOICE] is ConsentStatus.OPTED_OUT


async def test_anonymous_web_opt_out_changes_nothing_and_explains(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    await add_conversation(sessions, conversation_id)
    dispatcher = CollectingDispatcher()
    await ActionOptOut().run(
        dispatcher, make_tracker(conversation_id, intent="opt_out", text="stop"), DOMAIN
    )
    assert responses(dispatcher) == ["utter_opt_out_needs_identity"]


@pytest.mark.parametrize(
    ("intent", "reason", "elevated"),
    [("request_human", "customer_request", False), ("dispute", "dispute", True)],
)
async def test_handoff_is_recorded_with_reason_and_priority(
    sessions: async_sessionmaker[AsyncSession],
    conversation_id: str,
    intent: str,
    reason: str,
    elevated: bool,
) -> None:
    await add_conversation(sessions, conversation_id)
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(
        dispatcher, make_tracker(conversation_id, intent=intent), DOMAIN
    )
    assert responses(dispatcher) == ["utter_handoff"]
    assert {"event": "active_loop", "name": None} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    async with sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        assert conversation.owner is ConversationOwner.WAITING
        assert conversation.handoff_reason == reason
        assert (conversation.priority > 0) is elevated


async def test_identity_done_greets_by_name_and_answers_the_pending_question(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    account_id = await mark_verified(sessions, conversation_id, "P4", language=Language.ZH)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        conversation_id,
        slots={"language": "zh", "verified": True, "account_id": account_id,
               "pending_request": "ask_balance"},
        events=session_started_events(datetime.now(timezone.utc) - timedelta(minutes=1)),
    )  # fmt: skip
    events = await ActionIdentityDone().run(dispatcher, tracker, DOMAIN)
    assert responses(dispatcher) == ["utter_identity_verified", "utter_balance"]
    assert dispatcher.messages[0]["first_name"] == "张伟"
    assert {"event": "slot", "name": "pending_request", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in events
    ]


async def test_session_start_keeps_language_but_not_verification(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> None:
    tracker = make_tracker(
        conversation_id, slots={"language": "zh", "verified": True, "account_id": 7}
    )
    events = await ActionSessionStart().run(CollectingDispatcher(), tracker, DOMAIN)
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    assert slots["language"] == "zh"
    assert "verified" not in slots and "account_id" not in slots
    assert slots["bank_name_en"] and slots["bank_name_zh"]
    assert events[0]["event"] == "session_started"


@pytest.mark.parametrize("language", ["en", "zh"])
async def test_fallback_confirms_the_guess_in_plain_words(
    sessions: async_sessionmaker[AsyncSession], language: str
) -> None:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(
        "fallback",
        intent="nlu_fallback",
        slots={"language": language},
        ranking=[("nlu_fallback", 0.5), ("ask_minimum_payment", 0.4), ("ask_balance", 0.1)],
    )
    await ActionDefaultAskAffirmation().run(dispatcher, tracker, DOMAIN)
    message = dispatcher.messages[0]
    assert ("最低还款额" if language == "zh" else "minimum payment") in message["text"]
    assert "ask_minimum_payment" not in message["text"]
    assert [b["payload"] for b in message["buttons"]] == ["/ask_minimum_payment", "/out_of_scope"]


def test_every_domain_intent_has_a_description_in_both_languages() -> None:
    intents = {i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]}
    # EXTERNAL_ intents come from the gateway, never from what a person typed.
    typed = {i for i in intents if not i.startswith("EXTERNAL_")}
    assert typed - {"nlu_fallback"} <= set(DESCRIPTIONS)
