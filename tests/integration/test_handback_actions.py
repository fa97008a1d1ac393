"""Back from a person: an approved offer put to the cardholder, against a seeded database.

The offers are requested the way the bot requests them (`request_agent_review`,
PENDING_APPROVAL) and approved the way the agent desk does (APPROVED,
decided_by "agent:<username>"); then the hand-back runs the actions.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.collections_common import policy
from actions.handback import (
    ActionApprovedOfferStart,
    ActionApprovedOfferSubmit,
    ActionAskAoAnswer,
    ActionHandback,
    ValidateApprovedOfferForm,
)
from actions.identity import ActionIdentityDone
from bot.db.models import Account, Agreement, AuditLog, Conversation, HardshipCase, Offer
from bot.db.types import utcnow
from bot.domain.enums import (
    Authority,
    CaseStatus,
    Channel,
    ConversationOwner,
    HardshipReason,
    Language,
    OfferKind,
    OfferStatus,
)
from bot.domain.formatting import format_date
from bot.policy.offers import (
    HardshipPlanRequest,
    OfferRequest,
    PersonalisedInstallmentRequest,
    SettlementRequest,
    evaluate,
)
from bot.services.collections import load_snapshot, open_hardship_case, request_agent_review
from tests.support import account_id_of, add_conversation, load_domain, make_tracker, responses

DOMAIN = load_domain()
Maker = async_sessionmaker[AsyncSession]
APPROVER = "agent:alice"
EN = Language.EN
HANDBACK = {"text": "/EXTERNAL_handback", "intent": "EXTERNAL_handback"}


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _followup(events: list[dict[str, Any]]) -> str | None:
    names = [e["name"] for e in events if e.get("event") == "followup"]
    return names[-1] if names else None


async def _run(action: Action, sender: str, **tracker: Any) -> tuple[CollectingDispatcher, Any]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(sender, **tracker), DOMAIN)
    return dispatcher, events


async def _answer(
    sender: str, value: Any, text: str, intent: str, **tracker: Any
) -> dict[str, Any]:
    """Run the form's validation the way Rasa does after extracting `ao_answer`."""
    slots = {**tracker.pop("slots", {}), "ao_answer": value, "requested_slot": "ao_answer"}
    dispatcher = CollectingDispatcher()
    tracker_obj = make_tracker(
        sender,
        text=text,
        intent=intent,
        slots=slots,
        events=[{"event": "slot", "name": "ao_answer", "value": value}],
        active_loop="approved_offer_form",
        **tracker,
    )
    result = await ValidateApprovedOfferForm().run(dispatcher, tracker_obj, DOMAIN)
    return {"responses": responses(dispatcher), **_slots(result)}


async def _today(session: AsyncSession, account_id: int) -> date:
    account = await session.get(Account, account_id)
    assert account is not None
    return datetime.now(ZoneInfo(account.time_zone)).date()


async def _approved(
    maker: Maker,
    conversation_id: str,
    ref: str,
    request: OfferRequest | None = None,
    *,
    settle_pct: Decimal | None = None,
    hardship: bool = False,
) -> int:
    """An offer the bot passed to a person for `ref`'s account, then approved by APPROVER."""
    account_id = await account_id_of(maker, ref)
    async with maker() as session, session.begin():
        today = await _today(session, account_id)
        if settle_pct is not None:
            request = SettlementRequest(pay_by=today + timedelta(days=20), pct=settle_pct)
        assert request is not None
        snapshot = await load_snapshot(session, account_id, today)
        decision = evaluate(policy(), snapshot, request, today)
        assert decision.allowed and not decision.bot_may_agree  # a person's to decide
        case = None
        if hardship:
            case = await open_hardship_case(
                session,
                account_id=account_id,
                conversation_id=conversation_id,
                reason=HardshipReason.JOB_LOSS,
                monthly_affordable=Decimal("300.00"),
            )
        offer = await request_agent_review(
            session,
            account_id=account_id,
            conversation_id=conversation_id,
            decision=decision,
            summary="case summary for the desk",
            hardship_case_id=case.id if case else None,
        )
        offer.status = OfferStatus.APPROVED  # what the agent desk does
        offer.decided_by = APPROVER
        offer.decided_at = utcnow()
        return offer.id


async def _account_today(maker: Maker, account_id: int) -> date:
    async with maker() as session:
        return await _today(session, account_id)


async def _verify(maker: Maker, conversation_id: str, ref: str) -> int:
    """The identity check for persona `ref` has just succeeded in this conversation."""
    account_id = await account_id_of(maker, ref)
    async with maker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.verified_at = datetime.now(timezone.utc)
        conversation.account_id = account_id
    return account_id


async def _offer(maker: Maker, offer_id: int) -> Offer:
    async with maker() as session:
        offer = await session.get(Offer, offer_id)
        assert offer is not None
        return offer


async def _agreements(maker: Maker, offer_id: int) -> list[Agreement]:
    async with maker() as session:
        rows = await session.scalars(select(Agreement).where(Agreement.offer_id == offer_id))
        return list(rows)


async def _audit(maker: Maker, action: str) -> list[AuditLog]:
    async with maker() as session:
        return list(await session.scalars(select(AuditLog).where(AuditLog.action == action)))


# --- nothing awaits --------------------------------------------------------------------------


async def test_handback_without_an_approved_offer_asks_if_there_is_anything_else(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    for language in ("en", "zh"):
        dispatcher, events = await _run(
            ActionHandback(), conversation_id, slots={"language": language}, **HANDBACK
        )
        assert responses(dispatcher) == ["utter_handback_welcome", "utter_handback_anything_else"]
        assert _followup(events) is None
        assert all(value is None for value in _slots(events).values())


async def test_an_offer_still_pending_or_already_agreed_is_not_put_again(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(
        own_sessions, conversation_id, "P3", HardshipPlanRequest(months=24), hardship=True
    )
    await _verify(own_sessions, conversation_id, "P3")
    for status in (OfferStatus.PENDING_APPROVAL, OfferStatus.REJECTED, OfferStatus.ACCEPTED):
        async with own_sessions() as session, session.begin():
            offer = await session.get(Offer, offer_id)
            assert offer is not None
            offer.status = status
        dispatcher, events = await _run(ActionHandback(), conversation_id, **HANDBACK)
        assert responses(dispatcher) == ["utter_handback_welcome", "utter_handback_anything_else"]
        assert _followup(events) is None


# --- US hardship plan over 24 months, verified, English -----------------------------------------


async def test_p3_approved_24_month_plan_is_agreed_once_on_explicit_consent(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(
        own_sessions,
        conversation_id,
        "P3",
        HardshipPlanRequest(months=24, monthly_affordable=Decimal("300.00")),
        hardship=True,
    )
    assert (await _offer(own_sessions, offer_id)).authority_required is Authority.AGENT
    account_id = await _verify(own_sessions, conversation_id, "P3")
    verified = {"verified": True, "account_id": account_id}

    dispatcher, events = await _run(ActionHandback(), conversation_id, slots=verified, **HANDBACK)
    assert responses(dispatcher) == ["utter_handback_welcome"]
    assert _followup(events) == "action_approved_offer_start"

    dispatcher, events = await _run(ActionApprovedOfferStart(), conversation_id, slots=verified)
    assert dispatcher.messages == []  # the form's question presents it
    assert _slots(events)["ao_offer_id"] == offer_id
    assert _followup(events) is None  # the rule runs the form next
    form = {**verified, "ao_offer_id": offer_id}

    dispatcher, events = await _run(ActionAskAoAnswer(), conversation_id, slots=form)
    assert events == []
    assert responses(dispatcher) == ["utter_ao_offer"]
    shown = dispatcher.messages[0]
    assert shown["description"].startswith("Hardship plan: ")
    assert "24 monthly payments" in shown["description"]
    assert "$" in shown["description"]
    assert [(b["title"], b["payload"]) for b in shown["buttons"]] == [
        ("I agree", "/affirm"),
        ("No, thanks", "/deny"),
    ]

    bare = await _answer(conversation_id, "yes", "yes", "affirm", slots=form)
    assert bare["ao_answer"] is None  # a bare yes is not consent to an agreement
    assert bare["responses"] == ["utter_ao_answer_unclear"]
    unclear = await _answer(conversation_id, "maybe later", "maybe later", "inform", slots=form)
    assert unclear["ao_answer"] is None
    assert unclear["responses"] == ["utter_ao_answer_unclear"]
    button = await _answer(conversation_id, "yes", "/affirm", "affirm", slots=form)
    assert button["ao_answer"] == "yes"  # the "I agree" button
    typed = await _answer(conversation_id, "yes", "I agree", "affirm", slots=form)
    assert typed["ao_answer"] == "yes"
    assert typed["responses"] == []

    done = {**form, "ao_answer": "yes"}
    dispatcher, events = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="I agree", intent="affirm", slots=done
    )
    assert responses(dispatcher) == ["utter_ao_agreed"]
    agreed = dispatcher.messages[0]
    assert agreed["description"] == shown["description"]
    assert agreed["date"] == format_date(await _account_today(own_sessions, account_id), EN)
    assert set(_slots(events)) == {"ao_offer_id", "ao_answer", "ao_stop"}
    assert all(value is None for value in _slots(events).values())

    (agreement,) = await _agreements(own_sessions, offer_id)
    assert agreed["reference"] == agreement.id
    assert agreement.account_id == account_id
    assert agreement.channel is Channel.WEB
    assert shown["description"] in agreement.consent_text
    assert "A colleague has approved this arrangement" in agreement.consent_text
    assert agreement.consent_text.endswith("\n> I agree")
    assert agreement.terms["months"] == 24
    offer = await _offer(own_sessions, offer_id)
    assert offer.status is OfferStatus.ACCEPTED
    assert offer.decided_by == APPROVER  # who approved it stays on the offer
    async with own_sessions() as session:
        case = await session.get(HardshipCase, offer.hardship_case_id)
        assert case is not None and case.status is CaseStatus.AGREED
    (entry,) = await _audit(own_sessions, "agreement_recorded")
    assert entry.actor == "bot"
    assert entry.details["approved_by"] == APPROVER
    assert entry.details["authority_required"] == "agent"
    assert entry.details["offer_id"] == offer_id

    # A repeated "I agree" (double tap, replayed webhook): still one agreement.
    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="I agree", intent="affirm", slots=done
    )
    assert responses(dispatcher) == ["utter_hs_already_agreed"]
    assert dispatcher.messages[0]["reference"] == agreement.id
    assert len(await _agreements(own_sessions, offer_id)) == 1

    # And the next hand-back has nothing left to put.
    dispatcher, _ = await _run(ActionHandback(), conversation_id, slots=verified, **HANDBACK)
    assert responses(dispatcher) == ["utter_handback_welcome", "utter_handback_anything_else"]


# --- CN 个性化分期 over 48 periods, unverified, by SMS, Chinese ----------------------------------


async def test_p5_personalised_48_periods_identity_first_then_agreed_in_chinese(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(
        own_sessions, conversation_id, channel=Channel.SMS, address="+8613900139005",
        language=Language.ZH,
    )  # fmt: skip
    offer_id = await _approved(
        own_sessions, conversation_id, "P5", PersonalisedInstallmentRequest(periods=48)
    )
    assert (await _offer(own_sessions, offer_id)).authority_required is Authority.SUPERVISOR
    zh = {"language": "zh"}

    # Nothing verified in this session: the identity check first, nothing disclosed.
    dispatcher, events = await _run(ActionHandback(), conversation_id, slots=zh, **HANDBACK)
    assert responses(dispatcher) == ["utter_handback_welcome"]
    assert _followup(events) == "identity_form"
    assert _slots(events)["pending_request"] == "approved_offer"
    assert _slots(events)["verified"] is False

    # The start re-checks (a rule could reach it without a check).
    dispatcher, events = await _run(ActionApprovedOfferStart(), conversation_id, slots=zh)
    assert dispatcher.messages == []
    assert _followup(events) == "identity_form"

    account_id = await _verify(own_sessions, conversation_id, "P5")
    verified = {**zh, "verified": True, "account_id": account_id}
    dispatcher, events = await _run(
        ActionIdentityDone(),
        conversation_id,
        slots={**verified, "pending_request": "approved_offer"},
    )
    assert responses(dispatcher) == ["utter_identity_verified"]
    assert _followup(events) == "action_approved_offer_start"

    _, events = await _run(ActionApprovedOfferStart(), conversation_id, slots=verified)
    form = {**verified, "ao_offer_id": _slots(events)["ao_offer_id"]}
    assert form["ao_offer_id"] == offer_id
    dispatcher, _ = await _run(ActionAskAoAnswer(), conversation_id, slots=form)
    shown = dispatcher.messages[0]
    assert shown["description"] == "个性化分期：共48期，每期875.00元（合计42,000.00元）。"
    assert [b["title"] for b in shown["buttons"]] == ["同意", "不用了，谢谢"]

    bare = await _answer(conversation_id, "yes", "好的", "affirm", slots=form)
    assert bare["ao_answer"] is None
    assert bare["responses"] == ["utter_ao_answer_unclear"]
    agreed = await _answer(conversation_id, "yes", "同意", "affirm", slots=form)
    assert agreed["ao_answer"] == "yes"

    done = {**form, "ao_answer": "yes"}
    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="同意", intent="affirm", slots=done
    )
    assert responses(dispatcher) == ["utter_ao_agreed"]
    today = await _account_today(own_sessions, account_id)
    assert dispatcher.messages[0]["date"] == format_date(today, Language.ZH)
    (agreement,) = await _agreements(own_sessions, offer_id)
    assert agreement.channel is Channel.SMS
    assert agreement.terms["periods"] == 48
    assert "同事已为您审批通过以下方案" in agreement.consent_text
    assert "共48期，每期875.00元" in agreement.consent_text
    assert agreement.consent_text.endswith("\n> 同意")
    (entry,) = await _audit(own_sessions, "agreement_recorded")
    assert entry.details["approved_by"] == APPROVER
    assert entry.details["authority_required"] == "supervisor"

    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="同意", intent="affirm", slots=done
    )
    assert responses(dispatcher) == ["utter_hs_already_agreed"]
    assert len(await _agreements(own_sessions, offer_id)) == 1


async def test_the_agree_button_is_recorded_with_its_title(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(55))
    account_id = await _verify(own_sessions, conversation_id, "P6")
    done = {"verified": True, "account_id": account_id, "language": "zh",
            "ao_offer_id": offer_id, "ao_answer": "yes"}  # fmt: skip
    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="/affirm", intent="affirm", slots=done
    )
    assert responses(dispatcher) == ["utter_ao_agreed"]
    assert "一次性结清" in dispatcher.messages[0]["description"]
    (agreement,) = await _agreements(own_sessions, offer_id)
    assert agreement.consent_text.endswith("\n> 同意 [/affirm]")
    assert agreement.terms["type"] == "SettlementTerms"


# --- no, goodbye, someone else, distress --------------------------------------------------------


async def test_p6_no_refuses_the_approved_settlement_politely(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(55))
    account_id = await _verify(own_sessions, conversation_id, "P6")
    form = {"verified": True, "account_id": account_id, "ao_offer_id": offer_id}
    dispatcher, _ = await _run(ActionAskAoAnswer(), conversation_id, slots=form)
    assert dispatcher.messages[0]["description"].startswith("Settlement: pay ¥35,750.00 (55%")

    refused = await _answer(conversation_id, "no", "no thanks", "deny", slots=form)
    assert refused["ao_answer"] == "no"
    dispatcher, events = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="no thanks", intent="deny",
        slots={**form, "ao_answer": "no"},
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_ao_declined"]
    assert all(value is None for value in _slots(events).values())
    offer = await _offer(own_sessions, offer_id)
    assert offer.status is OfferStatus.REFUSED
    assert offer.decided_by == APPROVER
    assert await _agreements(own_sessions, offer_id) == []
    (entry,) = await _audit(own_sessions, "offer_refused")
    assert entry.details["approved_by"] == APPROVER


async def test_goodbye_leaves_the_approved_offer_open_for_a_colleague(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(55))
    account_id = await _verify(own_sessions, conversation_id, "P6")
    form = {"verified": True, "account_id": account_id, "ao_offer_id": offer_id}
    bye = await _answer(conversation_id, "bye", "bye", "goodbye", slots=form)
    assert bye["ao_stop"] == "cancelled"
    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, slots={**form, "ao_stop": "cancelled"}
    )
    assert responses(dispatcher) == ["utter_ao_declined"]
    assert (await _offer(own_sessions, offer_id)).status is OfferStatus.APPROVED


async def test_an_offer_for_another_account_is_not_shown(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(
        own_sessions, conversation_id, "P3", HardshipPlanRequest(months=24), hardship=True
    )
    account_id = await _verify(own_sessions, conversation_id, "P2")  # someone else
    verified = {"verified": True, "account_id": account_id}
    dispatcher, events = await _run(ActionApprovedOfferStart(), conversation_id, slots=verified)
    assert responses(dispatcher) == ["utter_handback_anything_else"]
    assert _followup(events) == "action_listen"  # the form does not start
    dispatcher, events = await _run(
        ActionAskAoAnswer(), conversation_id, slots={**verified, "ao_offer_id": offer_id}
    )
    assert dispatcher.messages == []
    assert _slots(events) == {"ao_stop": "gone"}
    dispatcher, _ = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="I agree",
        slots={**verified, "ao_offer_id": offer_id, "ao_answer": "yes"},
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_col_failed"]
    assert await _agreements(own_sessions, offer_id) == []
    assert (await _offer(own_sessions, offer_id)).status is OfferStatus.APPROVED


async def test_distress_while_answering_hands_over_and_nothing_is_agreed(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(55))
    account_id = await _verify(own_sessions, conversation_id, "P6")
    async with own_sessions() as session, session.begin():  # the desk handed it back
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.owner = ConversationOwner.BOT
    form = {"verified": True, "account_id": account_id, "ao_offer_id": offer_id}
    text = "i dont want to live anymore"
    result = await _answer(conversation_id, text, text, "inform", slots=form)
    assert result["responses"] == ["utter_col_handoff_distress"]
    assert result["ao_stop"] == "handoff"
    dispatcher, events = await _run(
        ActionApprovedOfferSubmit(), conversation_id, slots={**form, "ao_stop": "handoff"}
    )
    assert dispatcher.messages == []  # the caring reply was already sent
    assert all(value is None for value in _slots(events).values())
    assert await _agreements(own_sessions, offer_id) == []
    async with own_sessions() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None and conversation.owner is ConversationOwner.WAITING


async def test_verification_lost_before_the_answer_runs_the_identity_check_again(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    offer_id = await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(55))
    form = {"ao_offer_id": offer_id, "ao_answer": "yes"}
    dispatcher, events = await _run(
        ActionApprovedOfferSubmit(), conversation_id, text="I agree", slots=form
    )
    assert dispatcher.messages == []
    assert _followup(events) == "identity_form"
    assert _slots(events)["pending_request"] == "approved_offer"
    assert await _agreements(own_sessions, offer_id) == []
    async with own_sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Agreement))
        assert count == 0


async def test_offer_kinds_recorded_by_the_review_are_described(
    own_sessions: Maker, conversation_id: str
) -> None:
    """Every kind a person approves here reads as its own sentence, not the generic one."""
    await add_conversation(own_sessions, conversation_id)
    await _approved(own_sessions, conversation_id, "P6", settle_pct=Decimal(45))
    account_id = await _verify(own_sessions, conversation_id, "P6")
    _, events = await _run(
        ActionApprovedOfferStart(), conversation_id,
        slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    offer = await _offer(own_sessions, _slots(events)["ao_offer_id"])
    assert offer.kind is OfferKind.SETTLEMENT
    assert offer.authority_required is Authority.SUPERVISOR
    dispatcher, _ = await _run(
        ActionAskAoAnswer(), conversation_id,
        slots={"verified": True, "account_id": account_id, "ao_offer_id": offer.id},
    )  # fmt: skip
    assert "colleague can go through" not in dispatcher.messages[0]["description"]
    assert "(45% of the balance)" in dispatcher.messages[0]["description"]
