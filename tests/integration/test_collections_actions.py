"""Collections actions against a seeded database: personas P2, P3, P5, P6, P8, both languages."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, FormValidationAction
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.escalation import ActionCollectionsEscalate
from actions.hardship import (
    ActionAskHsAnswer,
    ActionHardshipStart,
    ActionHardshipSubmit,
    ValidateHardshipForm,
)
from actions.identity import ActionIdentityDone
from actions.promise import (
    ActionAskPtpConfirm,
    ActionPromiseStart,
    ActionPromiseSubmit,
    ValidatePromiseForm,
)
from actions.settlement import (
    ActionAskStAnswer,
    ActionSettlementStart,
    ActionSettlementSubmit,
    ValidateSettlementForm,
)
from actions.waivers import ActionFeeWaiver
from bot.db.models import (
    Account,
    Agreement,
    AuditLog,
    Conversation,
    Fee,
    HardshipCase,
    Offer,
    PromiseToPay,
)
from bot.domain.enums import (
    Authority,
    Bucket,
    CaseStatus,
    ConversationOwner,
    FeeKind,
    OfferKind,
    OfferStatus,
    PromiseStatus,
)
from bot.domain.parsing import parse_date
from bot.services.conversations import PRIORITY_DISTRESS
from tests.support import load_domain, make_tracker, mark_verified, responses

DOMAIN = load_domain()
Maker = async_sessionmaker[AsyncSession]


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _followup(events: list[dict[str, Any]]) -> str | None:
    names = [e["name"] for e in events if e.get("event") == "followup"]
    return names[-1] if names else None


async def _run(action: Action, sender: str, **tracker: Any) -> tuple[CollectingDispatcher, Any]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(sender, **tracker), DOMAIN)
    return dispatcher, events


async def _validate(
    form: FormValidationAction, loop: str, sender: str, slot: str, value: Any, **tracker: Any
) -> dict[str, Any]:
    """Run a form's validation the way Rasa does after extracting `slot`."""
    slots = {**tracker.pop("slots", {}), slot: value, "requested_slot": slot}
    events = [{"event": "slot", "name": slot, "value": value}]
    dispatcher = CollectingDispatcher()
    tracker_obj = make_tracker(sender, slots=slots, events=events, active_loop=loop, **tracker)
    result = await form.run(dispatcher, tracker_obj, DOMAIN)
    return {"responses": responses(dispatcher), "messages": dispatcher.messages, **_slots(result)}


async def _today(maker: Maker, account_id: int) -> date:
    async with maker() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return datetime.now(ZoneInfo(account.time_zone)).date()


async def _count(maker: Maker, model: Any, *where: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _conversation(maker: Maker, conversation_id: str) -> Conversation:
    async with maker() as session:
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        return conversation


async def _offers(maker: Maker, account_id: int) -> list[Offer]:
    async with maker() as session:
        rows = await session.scalars(
            select(Offer).where(Offer.account_id == account_id).order_by(Offer.id)
        )
        return list(rows)


# --- P2: US, early bucket, 12 DPD, past due 120.00, one late fee 29.00 ---------------------


async def test_p2_promises_200_on_friday_and_it_is_recorded(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    verified = {"verified": True, "account_id": account_id}
    text = "I'll pay $200 on Friday"
    dispatcher, events = await _run(
        ActionPromiseStart(), conversation_id, text=text, intent="promise_to_pay", slots=verified
    )
    slots = _slots(events)
    friday = parse_date("friday", await _today(own_sessions, account_id))
    assert friday is not None
    assert slots["ptp_amount"] == "200.00"
    assert slots["ptp_date"] == friday.isoformat()
    assert dispatcher.messages == []  # what was said is kept; the form asks the rest

    form = {**verified, "ptp_amount": "200.00", "ptp_date": friday.isoformat()}
    dispatcher, _ = await _run(ActionAskPtpConfirm(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_ask_ptp_confirm"]
    assert dispatcher.messages[0]["amount"] == "$200.00"

    dispatcher, events = await _run(
        ActionPromiseSubmit(), conversation_id, slots={**form, "ptp_confirm": "yes"}
    )
    assert responses(dispatcher) == ["utter_ptp_recorded"]
    assert all(value is None for value in _slots(events).values())
    async with own_sessions() as session:
        promise = await session.scalar(
            select(PromiseToPay).where(PromiseToPay.account_id == account_id)
        )
        assert promise is not None
        assert promise.amount == Decimal("200.00")
        assert promise.promised_date == friday
        assert promise.status is PromiseStatus.OPEN
        assert promise.conversation_id == conversation_id
        assert promise.policy_version == "2026.11-1"
    offers = await _offers(own_sessions, account_id)
    assert [(o.kind, o.status, o.authority_required) for o in offers] == [
        (OfferKind.PROMISE, OfferStatus.ACCEPTED, Authority.BOT)
    ]
    assert await _count(own_sessions, AuditLog, AuditLog.action == "promise_recorded") == 1


async def test_p2_promise_in_20_days_is_offered_to_a_colleague(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    later = await _today(own_sessions, account_id) + timedelta(days=20)
    form = {"verified": True, "account_id": account_id, "ptp_amount": "200.00",
            "ptp_date": later.isoformat()}  # fmt: skip
    dispatcher, _ = await _run(ActionAskPtpConfirm(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_ptp_needs_review"]
    assert "up to" in dispatcher.messages[0]["reasons"]

    dispatcher, _ = await _run(
        ActionPromiseSubmit(), conversation_id, slots={**form, "ptp_confirm": "yes"}
    )
    assert responses(dispatcher) == ["utter_col_review_requested"]
    assert await _count(own_sessions, PromiseToPay, PromiseToPay.account_id == account_id) == 0
    (offer,) = await _offers(own_sessions, account_id)
    assert offer.status is OfferStatus.PENDING_APPROVAL
    assert offer.authority_required is Authority.AGENT
    assert "promise_beyond_window" in offer.terms["reasons"]
    assert "Promise to pay 200.00 USD" in offer.terms["case_summary"]
    conversation = await _conversation(own_sessions, conversation_id)
    assert conversation.owner is ConversationOwner.WAITING
    assert conversation.handoff_reason == "offer_review:promise:agent"


async def test_p2_amount_below_past_due_and_past_dates_are_asked_again(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    verified = {"verified": True, "account_id": account_id}
    form, loop = ValidatePromiseForm(), "promise_form"
    low = await _validate(form, loop, conversation_id, "ptp_amount", "50", text="50",
                          intent="inform", slots=verified)  # fmt: skip
    assert low["ptp_amount"] is None
    assert low["responses"] == ["utter_ptp_amount_below_required"]
    assert low["messages"][0]["required"] == "$120.00"

    past = await _validate(form, loop, conversation_id, "ptp_date", "2020-01-03",
                           text="2020-01-03", intent="inform", slots=verified)  # fmt: skip
    assert past["ptp_date"] is None
    assert past["responses"] == ["utter_ptp_date_past"]

    ok = await _validate(form, loop, conversation_id, "ptp_amount", "two hundred",
                         text="two hundred", intent="inform", slots=verified)  # fmt: skip
    assert ok["ptp_amount"] == "200.00"


async def test_p2_late_fee_is_waived_once_then_a_second_needs_an_agent(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    verified = {"verified": True, "account_id": account_id}
    async with own_sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        balance = account.current_balance

    text = "can you waive the late fee"
    dispatcher, _ = await _run(
        ActionFeeWaiver(), conversation_id, text=text, intent="request_fee_waiver", slots=verified
    )
    assert responses(dispatcher) == ["utter_fw_done"]
    assert dispatcher.messages[0]["amount"] == "$29.00"
    assert "late fee" in dispatcher.messages[0]["fees"]
    async with own_sessions() as session:
        fee = await session.scalar(select(Fee).where(Fee.account_id == account_id))
        assert fee is not None and fee.waived_at is not None
        assert fee.waived_by == "bot"
        assert fee.waiver_reason
        account = await session.get(Account, account_id)
        assert account is not None
        assert account.current_balance == balance - Decimal("29.00")

    # Asked again: nothing left to waive (no second credit).
    dispatcher, _ = await _run(
        ActionFeeWaiver(), conversation_id, text=text, intent="request_fee_waiver", slots=verified
    )
    assert responses(dispatcher) == ["utter_fw_nothing_to_waive"]

    # A new late fee within 12 months: one waiver a year is the bot's limit.
    async with own_sessions() as session, session.begin():
        session.add(
            Fee(account_id=account_id, kind=FeeKind.LATE, amount=Decimal("29.00"),
                assessed_on=await _today(own_sessions, account_id))
        )  # fmt: skip
    dispatcher, _ = await _run(
        ActionFeeWaiver(), conversation_id, text=text, intent="request_fee_waiver", slots=verified
    )
    assert responses(dispatcher) == ["utter_fw_needs_review", "utter_col_review_requested"]
    offers = await _offers(own_sessions, account_id)
    assert [(o.kind, o.status) for o in offers] == [
        (OfferKind.FEE_WAIVER, OfferStatus.ACCEPTED),
        (OfferKind.FEE_WAIVER, OfferStatus.PENDING_APPROVAL),
    ]
    assert "waiver_limit_reached" in offers[1].terms["reasons"]


async def test_unverified_collections_requests_run_the_identity_check_then_resume(
    own_sessions: Maker, conversation_id: str
) -> None:
    for action, intent in (
        (ActionPromiseStart(), "promise_to_pay"),
        (ActionHardshipStart(), "report_hardship"),
        (ActionSettlementStart(), "request_settlement"),
        (ActionFeeWaiver(), "request_fee_waiver"),
    ):
        dispatcher, events = await _run(action, conversation_id, text="hi", intent=intent)
        assert _followup(events) == "identity_form"
        assert _slots(events)["pending_request"] == intent

    resumed = f"{conversation_id}-resumed"
    account_id = await mark_verified(own_sessions, resumed, "P2")
    expected = {
        "promise_to_pay": "action_promise_start",
        "report_hardship": "action_hardship_start",
        "request_settlement": "action_settlement_start",
        "request_fee_waiver": "action_fee_waiver",
    }
    for pending, start in expected.items():
        slots = {"verified": True, "account_id": account_id, "pending_request": pending}
        dispatcher, events = await _run(ActionIdentityDone(), resumed, slots=slots)
        assert responses(dispatcher) == ["utter_identity_verified"]
        assert _followup(events) == start


# --- escalation inside the flows ------------------------------------------------------------


async def test_bankruptcy_in_a_promise_hands_over_and_pauses_collection(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    text = "I'm filing for bankruptcy but I'll pay 200 on Friday"
    dispatcher, events = await _run(
        ActionPromiseStart(), conversation_id, text=text, intent="promise_to_pay",
        slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_col_handoff_bankruptcy"]
    assert _followup(events) == "action_listen"
    async with own_sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.bankruptcy
    conversation = await _conversation(own_sessions, conversation_id)
    assert conversation.owner is ConversationOwner.WAITING
    assert conversation.handoff_reason == "bankruptcy"


async def test_distress_mid_form_gets_care_and_the_highest_priority(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    text = "i dont want to live anymore"
    result = await _validate(
        ValidatePromiseForm(), "promise_form", conversation_id, "ptp_amount", text, text=text,
        intent="inform", slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    assert result["responses"] == ["utter_col_handoff_distress"]
    assert result["ptp_stop"] == "handoff"
    conversation = await _conversation(own_sessions, conversation_id)
    assert conversation.priority == PRIORITY_DISTRESS
    assert conversation.handoff_reason == "distress"
    async with own_sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.vulnerable
    dispatcher, _ = await _run(
        ActionPromiseSubmit(), conversation_id, slots={"ptp_stop": "handoff"}
    )
    assert dispatcher.messages == []  # the caring reply was already sent


async def test_verified_dispute_marks_the_account_and_hands_over_in_chinese(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P8")
    dispatcher, events = await _run(
        ActionCollectionsEscalate(), conversation_id, text="这笔不是我消费的", intent="dispute",
        slots={"verified": True, "account_id": account_id, "language": "zh"},
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_col_handoff_dispute"]
    assert {"event": "active_loop", "name": None} in [
        {"event": e["event"], "name": e.get("name")} for e in events
    ]
    async with own_sessions() as session:
        account = await session.get(Account, account_id)
        assert account is not None and account.dispute_open
    conversation = await _conversation(own_sessions, conversation_id)
    assert conversation.handoff_reason == "dispute"


async def test_p8_promises_in_chinese_on_a_us_account(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P8")
    verified = {"verified": True, "account_id": account_id, "language": "zh"}
    dispatcher, events = await _run(
        ActionPromiseStart(), conversation_id, text="我下周五还一百", intent="promise_to_pay",
        slots=verified,
    )  # fmt: skip
    slots = _slots(events)
    assert slots["ptp_amount"] == "100.00"
    form = {**verified, "ptp_amount": "100.00", "ptp_date": slots["ptp_date"]}
    dispatcher, _ = await _run(ActionAskPtpConfirm(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_ask_ptp_confirm"]
    assert dispatcher.messages[0]["amount"] == "US$100.00" or "100.00" in str(
        dispatcher.messages[0]["amount"]
    )
    dispatcher, _ = await _run(
        ActionPromiseSubmit(), conversation_id, slots={**form, "ptp_confirm": "yes"}
    )
    assert responses(dispatcher) == ["utter_ptp_recorded"]


# --- P3: US, mid bucket, 45 DPD, lost her job -----------------------------------------------


async def test_p3_hardship_plan_within_12_months_is_agreed_on_explicit_consent(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P3")
    verified = {"verified": True, "account_id": account_id}
    dispatcher, events = await _run(
        ActionHardshipStart(), conversation_id, text="I lost my job and can't pay",
        intent="report_hardship", slots=verified,
    )  # fmt: skip
    slots = _slots(events)
    assert slots["hs_reason"] == "job_loss"
    assert slots["hs_mode"] == "plan"
    assert responses(dispatcher) == ["utter_hs_sorry"]

    form = {**verified, "hs_reason": "job_loss", "hs_mode": "plan", "hs_affordable": "600.00"}
    dispatcher, events = await _run(ActionAskHsAnswer(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_hs_offer"]
    shown = dispatcher.messages[0]
    assert shown["months"] <= 12
    offer_id = _slots(events)["hs_offer_id"]
    form = {**form, **_slots(events)}

    # A bare "yes" is not consent to an agreement.
    bare = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id, "hs_answer",
                           "yes", text="yes", intent="affirm", slots=form)  # fmt: skip
    assert bare["hs_answer"] is None
    assert bare["responses"] == ["utter_hs_consent_needed"]
    agreed = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                             "hs_answer", "yes", text="I agree", intent="affirm",
                             slots=form)  # fmt: skip
    assert agreed["hs_answer"] == "agreed"
    # Pressing the offer's "I agree" button sends its payload: consent too, recorded by label.
    pressed = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                              "hs_answer", "yes", text="/affirm", intent="affirm",
                              slots=form)  # fmt: skip
    assert (pressed["hs_answer"], pressed["hs_consent"]) == ("agreed", "I agree [/affirm]")

    done = {**form, "hs_answer": "agreed", "hs_consent": "I agree"}
    dispatcher, _ = await _run(ActionHardshipSubmit(), conversation_id, slots=done)
    assert responses(dispatcher) == ["utter_hs_agreed"]
    async with own_sessions() as session:
        agreement = await session.scalar(select(Agreement).where(Agreement.offer_id == offer_id))
        assert agreement is not None
        assert "I agree" in agreement.consent_text
        assert agreement.policy_version == "2026.11-1"
        assert int(agreement.terms["months"]) <= 12
        offer = await session.get(Offer, offer_id)
        assert offer is not None and offer.status is OfferStatus.ACCEPTED
        case = await session.get(HardshipCase, offer.hardship_case_id)
        assert case is not None and case.status is CaseStatus.AGREED

    # A repeated "I agree" (double tap, replayed webhook) makes no second agreement.
    dispatcher, _ = await _run(ActionHardshipSubmit(), conversation_id, slots=done)
    assert responses(dispatcher) == ["utter_hs_already_agreed"]
    assert await _count(own_sessions, Agreement, Agreement.account_id == account_id) == 1


async def test_p3_counter_offer_recomputes_and_24_months_goes_to_an_agent(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P3")
    form = {"verified": True, "account_id": account_id, "hs_reason": "job_loss",
            "hs_mode": "plan", "hs_affordable": "900.00"}  # fmt: skip
    _, events = await _run(ActionAskHsAnswer(), conversation_id, slots=form)
    form = {**form, **_slots(events)}
    first_offer = form["hs_offer_id"]

    counter = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                              "hs_answer", "i can only do 600 a month",
                              text="i can only do 600 a month", intent="inform",
                              slots=form)  # fmt: skip
    assert counter["hs_affordable"] == "600.00"
    assert counter["hs_rounds"] == 1.0
    assert counter["hs_answer"] is None
    form = {**form, "hs_affordable": "600.00", "hs_rounds": 1.0}
    dispatcher, events = await _run(ActionAskHsAnswer(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_hs_offer"]
    assert _slots(events)["hs_offer_id"] != first_offer  # the new offer is recorded

    longer = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                             "hs_answer", "can i have 24 months", text="can i have 24 months",
                             intent="inform", slots=form)  # fmt: skip
    assert longer["hs_months"] == "24"
    form = {**form, **_slots(events), "hs_months": "24"}
    dispatcher, _ = await _run(ActionAskHsAnswer(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_hs_needs_review"]
    assert "12 months" in dispatcher.messages[0]["reasons"]
    review = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                             "hs_answer", "yes", text="yes please", intent="affirm",
                             slots=form)  # fmt: skip
    assert review["hs_answer"] == "review"

    dispatcher, _ = await _run(
        ActionHardshipSubmit(), conversation_id, slots={**form, "hs_answer": "review"}
    )
    assert responses(dispatcher) == ["utter_col_review_requested"]
    offers = await _offers(own_sessions, account_id)
    assert [o.status for o in offers] == [
        OfferStatus.REFUSED,  # 900/month, countered
        OfferStatus.PROPOSED,  # 600/month, superseded by the request for 24 months
        OfferStatus.PENDING_APPROVAL,
    ]
    pending = offers[-1]
    assert pending.authority_required is Authority.AGENT
    assert pending.terms["months"] == 24
    async with own_sessions() as session:
        case = await session.get(HardshipCase, pending.hardship_case_id)
        assert case is not None and case.status is CaseStatus.AWAITING_APPROVAL
        assert case.monthly_affordable == Decimal("600.00")
    conversation = await _conversation(own_sessions, conversation_id)
    assert conversation.owner is ConversationOwner.WAITING


async def test_us_late_bucket_48_months_needs_a_supervisor(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P3")
    async with own_sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == account_id)
            .values(days_past_due=75, bucket=Bucket.LATE)
        )  # fmt: skip
    form = {"verified": True, "account_id": account_id, "hs_reason": "job_loss",
            "hs_mode": "plan", "hs_affordable": "150.00", "hs_months": "48",
            "hs_answer": "review"}  # fmt: skip
    dispatcher, _ = await _run(ActionHardshipSubmit(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_col_review_requested"]
    assert "senior colleague" in dispatcher.messages[0]["who"]
    (offer,) = await _offers(own_sessions, account_id)
    assert offer.authority_required is Authority.SUPERVISOR
    assert offer.status is OfferStatus.PENDING_APPROVAL


# --- P5: CN, late bucket, 75 DPD, illness ----------------------------------------------------


async def test_p5_personalised_installment_48_periods_goes_to_a_supervisor(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P5")
    verified = {"verified": True, "account_id": account_id, "language": "zh"}
    dispatcher, events = await _run(
        ActionHardshipStart(), conversation_id, text="我生病住院了，想申请个性化分期，分48期",
        intent="report_hardship", slots=verified,
    )  # fmt: skip
    slots = _slots(events)
    assert slots["hs_mode"] == "personalised"
    assert slots["hs_reason"] == "illness"
    assert slots["hs_periods"] == "48"
    assert responses(dispatcher) == ["utter_hs_personalised_intro"]

    too_long = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                               "hs_periods", "72期", text="72期", intent="inform",
                               slots={**verified, "hs_mode": "personalised"})  # fmt: skip
    assert too_long["hs_periods"] is None
    assert too_long["responses"] == ["utter_hs_periods_limit"]

    evidence = "住院记录和诊断证明"
    form = {**verified, "hs_mode": "personalised", "hs_reason": "illness",
            "hs_affordable": "3000.00", "hs_periods": "48", "hs_evidence": evidence}  # fmt: skip
    dispatcher, _ = await _run(ActionHardshipSubmit(), conversation_id, slots=form)
    assert responses(dispatcher) == [
        "utter_hs_personalised_submitted",
        "utter_col_review_requested",
    ]
    (offer,) = await _offers(own_sessions, account_id)
    assert offer.authority_required is Authority.SUPERVISOR
    assert offer.status is OfferStatus.PENDING_APPROVAL
    assert offer.terms["periods"] == 48
    assert "个性化分期 requested over 48 periods" in offer.terms["case_summary"]
    async with own_sessions() as session:
        case = await session.get(HardshipCase, offer.hardship_case_id)
        assert case is not None
        assert case.evidence_description == evidence
        assert case.status is CaseStatus.AWAITING_APPROVAL


async def test_cn_mid_bucket_hardship_plan_is_within_the_bots_authority(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P5")
    async with own_sessions() as session, session.begin():
        await session.execute(
            update(Account).where(Account.id == account_id)
            .values(days_past_due=45, bucket=Bucket.MID)
        )  # fmt: skip
    verified = {"verified": True, "account_id": account_id, "language": "zh"}
    _, events = await _run(
        ActionHardshipStart(), conversation_id, text="我生病了，每个月只能还四千",
        intent="report_hardship", slots=verified,
    )  # fmt: skip
    slots = _slots(events)
    assert slots["hs_mode"] == "plan"
    assert slots["hs_affordable"] == "4000.00"
    form = {**verified, **{k: v for k, v in slots.items() if v is not None}}
    dispatcher, events = await _run(ActionAskHsAnswer(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_hs_offer"]
    assert dispatcher.messages[0]["months"] <= 12
    form = {**form, **_slots(events)}
    agreed = await _validate(ValidateHardshipForm(), "hardship_form", conversation_id,
                             "hs_answer", "yes", text="同意", intent="affirm",
                             slots=form)  # fmt: skip
    assert agreed["hs_answer"] == "agreed"
    dispatcher, _ = await _run(
        ActionHardshipSubmit(), conversation_id,
        slots={**form, "hs_answer": "agreed", "hs_consent": "同意"},
    )  # fmt: skip
    assert responses(dispatcher) == ["utter_hs_agreed"]
    assert await _count(own_sessions, Agreement, Agreement.account_id == account_id) == 1


# --- P6: CN, npl, 120 DPD, balance 65,000.00 -----------------------------------------------


async def _settle(
    maker: Maker, conversation_id: str, account_id: int, text: str, days: int = 20
) -> tuple[dict[str, Any], CollectingDispatcher]:
    verified = {"verified": True, "account_id": account_id, "language": "zh"}
    _, events = await _run(
        ActionSettlementStart(), conversation_id, text=text, intent="request_settlement",
        slots=verified,
    )  # fmt: skip
    pay_by = await _today(maker, account_id) + timedelta(days=days)
    form = {**verified, "st_amount": _slots(events)["st_amount"], "st_date": pay_by.isoformat()}
    dispatcher, events = await _run(ActionAskStAnswer(), conversation_id, slots=form)
    return {**form, **_slots(events)}, dispatcher


async def test_p6_settlement_at_70_percent_within_30_days_is_agreed_by_the_bot(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P6")
    form, dispatcher = await _settle(
        own_sessions, conversation_id, account_id, "我能不能一次性还七成结清"
    )
    assert form["st_amount"] == "45500.00"
    assert responses(dispatcher) == ["utter_st_offer"]
    offer_id = form["st_offer_id"]
    agreed = await _validate(ValidateSettlementForm(), "settlement_form", conversation_id,
                             "st_answer", "yes", text="同意", intent="affirm",
                             slots=form)  # fmt: skip
    assert agreed["st_answer"] == "agreed"
    done = {**form, "st_answer": "agreed", "st_consent": "同意"}
    dispatcher, _ = await _run(ActionSettlementSubmit(), conversation_id, slots=done)
    assert responses(dispatcher) == ["utter_st_agreed"]
    async with own_sessions() as session:
        agreement = await session.scalar(select(Agreement).where(Agreement.offer_id == offer_id))
        assert agreement is not None
        assert agreement.terms["amount"] == "45500.00"
        assert agreement.consent_text.endswith("> 同意")
    dispatcher, _ = await _run(ActionSettlementSubmit(), conversation_id, slots=done)
    assert responses(dispatcher) == ["utter_hs_already_agreed"]
    assert await _count(own_sessions, Agreement, Agreement.account_id == account_id) == 1


async def test_p6_settlement_55_percent_agent_45_supervisor_30_refused(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P6")
    for text, authority in (("55%", Authority.AGENT), ("百分之四十五", Authority.SUPERVISOR)):
        form, dispatcher = await _settle(
            own_sessions, conversation_id, account_id, f"能不能还{text}结清"
        )
        assert responses(dispatcher) == ["utter_st_needs_review"]
        review = await _validate(ValidateSettlementForm(), "settlement_form", conversation_id,
                                 "st_answer", "yes", text="好的", intent="affirm",
                                 slots=form)  # fmt: skip
        assert review["st_answer"] == "review"
        dispatcher, _ = await _run(
            ActionSettlementSubmit(), conversation_id, slots={**form, "st_answer": "review"}
        )
        assert responses(dispatcher) == ["utter_col_review_requested"]
        offer = (await _offers(own_sessions, account_id))[-1]
        assert offer.kind is OfferKind.SETTLEMENT
        assert offer.authority_required is authority
        assert offer.status is OfferStatus.PENDING_APPROVAL

    low = await _validate(ValidateSettlementForm(), "settlement_form", conversation_id,
                          "st_amount", "30%", text="30%", intent="inform",
                          slots={"verified": True, "account_id": account_id,
                                 "language": "zh"})  # fmt: skip
    assert low["st_amount"] is None
    assert low["responses"] == ["utter_st_amount_too_low"]


async def test_en_settlement_outside_npl_is_passed_to_a_colleague(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P3")
    verified = {"verified": True, "account_id": account_id}
    _, events = await _run(
        ActionSettlementStart(), conversation_id, text="can i settle for 80%",
        intent="request_settlement", slots=verified,
    )  # fmt: skip
    pay_by = (await _today(own_sessions, account_id)) + timedelta(days=10)
    form = {**verified, "st_amount": _slots(events)["st_amount"], "st_date": pay_by.isoformat()}
    dispatcher, _ = await _run(ActionAskStAnswer(), conversation_id, slots=form)
    assert responses(dispatcher) == ["utter_st_needs_review"]
    assert dispatcher.messages[0]["amount"] == "$5,440.00"
