"""Installment actions against a seeded database, in English and Chinese."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from actions.identity import ActionIdentityDone
from actions.installments import (
    ActionAskInstConfirm,
    ActionAskInstItem,
    ActionAskInstTenor,
    ActionInstallmentFees,
    ActionInstallmentStart,
    ActionInstallmentStatus,
    ActionInstallmentSubmit,
    ValidateInstallmentForm,
)
from bot.db.models import InstallmentPlan, Offer, Transaction
from bot.domain.enums import Jurisdiction, Language
from bot.domain.installments import quote
from bot.policy import load_policy
from bot.settings import PROJECT_ROOT
from tests.support import (
    add_conversation,
    load_domain,
    make_tracker,
    mark_verified,
    responses,
)

DOMAIN = load_domain()
POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
Maker = async_sessionmaker[AsyncSession]


def _slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def _followup(events: list[dict[str, Any]]) -> str | None:
    names = [e["name"] for e in events if e.get("event") == "followup"]
    return names[-1] if names else None


async def _run(action: Any, sender: str, **tracker: Any) -> tuple[CollectingDispatcher, list[Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(sender, **tracker), DOMAIN)
    return dispatcher, events


async def _validate(sender: str, slot: str, value: Any, **tracker: Any) -> dict[str, Any]:
    """Run the form validation the way Rasa does after extracting `slot`."""
    slots = {**tracker.pop("slots", {}), slot: value, "requested_slot": slot}
    events = [{"event": "slot", "name": slot, "value": value}]
    dispatcher = CollectingDispatcher()
    tracker_obj = make_tracker(
        sender, slots=slots, events=events, active_loop="installment_form", **tracker
    )
    result = await ValidateInstallmentForm().run(dispatcher, tracker_obj, DOMAIN)
    return {"responses": responses(dispatcher), **_slots(result)}


async def _plans(maker: Maker, account_id: int) -> int:
    async with maker() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(InstallmentPlan)
            .where(InstallmentPlan.account_id == account_id)
        )
        return int(count or 0)


# --- P1: English, the 1,200.00 purchase over 6 months ------------------------------------


async def test_p1_sets_up_six_months_on_the_1200_purchase(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P1")
    before = await _plans(own_sessions, account_id)
    text = "can i split my $1,200 purchase into 6 months"
    dispatcher, events = await _run(
        ActionInstallmentStart(), conversation_id, text=text, intent="installment_enquiry",
        slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    slots = _slots(events)
    assert dispatcher.messages == []  # what was said is kept; the form asks the rest
    assert slots["inst_item"].startswith("purchase:")
    assert slots["inst_tenor"] == "6"
    item = slots["inst_item"]

    form_slots = {"inst_item": item, "inst_tenor": "6", "inst_options": slots["inst_options"]}
    dispatcher, _ = await _run(ActionAskInstConfirm(), conversation_id, slots=form_slots)
    assert responses(dispatcher) == ["utter_inst_quote"]
    shown = dispatcher.messages[0]
    expected = quote(Decimal("1200.00"), 6, POLICY.installments[Jurisdiction.US].tenors[6],
                     date(2000, 1, 1))  # fmt: skip
    assert shown["apr"] == f"{expected.annual_rate_pct}%"
    assert shown["amount"] == "$1,200.00"
    assert shown["total_fee"] == f"${expected.total_fee:,}"
    assert shown["first_payment"] == f"${expected.first_instalment:,}"

    confirmed = {**form_slots, "inst_confirm": True}
    dispatcher, events = await _run(ActionInstallmentSubmit(), conversation_id, slots=confirmed)
    assert responses(dispatcher) == ["utter_inst_created"]
    assert dispatcher.messages[0]["apr"] == f"{expected.annual_rate_pct}%"
    assert all(value is None for value in _slots(events).values())  # the form is reset
    assert await _plans(own_sessions, account_id) == before + 1

    # A repeated "yes" (double tap, replayed webhook) finds the plan, makes no second one.
    dispatcher, _ = await _run(ActionInstallmentSubmit(), conversation_id, slots=confirmed)
    assert responses(dispatcher) == ["utter_inst_created"]
    assert await _plans(own_sessions, account_id) == before + 1
    async with own_sessions() as session:
        txn = await session.get(Transaction, int(item.split(":")[1]))
        assert txn is not None and txn.installment_plan_id is not None
        offers = await session.scalar(
            select(func.count()).select_from(Offer).where(Offer.account_id == account_id)
        )
        assert offers == 1
    # The item is gone from what can be split now.
    dispatcher, events = await _run(
        ActionInstallmentStart(), conversation_id, text="split something else",
        slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    assert item not in (_slots(events).get("inst_options") or [])


async def test_p1_asked_to_choose_sees_each_item_and_tenor_with_its_rate(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P1")
    _, events = await _run(ActionInstallmentStart(), conversation_id, text="installments please")
    options = _slots(events)["inst_options"]
    dispatcher, _ = await _run(
        ActionAskInstItem(), conversation_id, slots={"inst_options": options}
    )
    assert responses(dispatcher) == ["utter_inst_choose_item"]
    buttons = dispatcher.messages[0]["buttons"]
    assert len(buttons) == len(options)
    assert "$1,200.00" in buttons[0]["title"]
    assert buttons[0]["payload"] == f'/inform{{"inst_item":"{options[0]}"}}'

    dispatcher, _ = await _run(
        ActionAskInstTenor(), conversation_id, slots={"inst_item": options[0]}
    )
    tenors = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert tenors == [
        f'/inform{{"tenor":"{t}"}}' for t in sorted(POLICY.installments[Jurisdiction.US].tenors)
    ]
    assert all("APR" in b["title"] for b in dispatcher.messages[0]["buttons"])
    assert account_id


async def test_answers_to_the_form_are_understood(
    own_sessions: Maker, conversation_id: str
) -> None:
    await mark_verified(own_sessions, conversation_id, "P1")
    _, events = await _run(ActionInstallmentStart(), conversation_id, text="installments")
    options = _slots(events)["inst_options"]
    base = {"slots": {"inst_options": options}}
    assert (await _validate(conversation_id, "inst_item", "1", **base))["inst_item"] == options[0]
    assert (await _validate(conversation_id, "inst_item", "the 1200 one", **base))[
        "inst_item"
    ] == options[0]
    unclear = await _validate(conversation_id, "inst_item", "purple", **base)
    assert unclear["inst_item"] is None
    assert unclear["responses"] == ["utter_inst_item_not_understood"]
    cancelled = await _validate(conversation_id, "inst_item", "no", intent="deny", **base)
    assert cancelled["inst_stop"] == "cancelled"
    assert cancelled["requested_slot"] is None  # the form ends

    assert (await _validate(conversation_id, "inst_tenor", "a year"))["inst_tenor"] == "12"
    assert (await _validate(conversation_id, "inst_tenor", "6"))["inst_tenor"] == "6"
    refused = await _validate(conversation_id, "inst_tenor", "9 months")
    assert refused["inst_tenor"] is None
    assert refused["responses"] == ["utter_inst_tenor_not_offered"]


async def test_saying_no_to_the_quote_sets_nothing_up(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P1")
    _, events = await _run(ActionInstallmentStart(), conversation_id, text="installments")
    slots = {"inst_item": _slots(events)["inst_options"][0], "inst_tenor": "3",
             "inst_confirm": False}  # fmt: skip
    before = await _plans(own_sessions, account_id)
    dispatcher, _ = await _run(ActionInstallmentSubmit(), conversation_id, slots=slots)
    assert responses(dispatcher) == ["utter_inst_cancelled"]
    assert await _plans(own_sessions, account_id) == before


# --- P4: Chinese, 账单分期 over 12 periods ----------------------------------------------


async def test_p4_converts_the_statement_over_twelve_periods_in_chinese(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P4", language=Language.ZH)
    zh = {"language": "zh"}
    _, events = await _run(
        ActionInstallmentStart(), conversation_id, text="我想办账单分期", slots=zh
    )
    slots = _slots(events)
    statement = next(ref for ref in slots["inst_options"] if ref.startswith("statement:"))
    assert slots["inst_item"] == statement  # the only thing P4 can split
    chosen = await _validate(conversation_id, "inst_tenor", "分12期", slots=dict(zh))
    assert chosen["inst_tenor"] == "12"

    form = {**zh, "inst_item": statement, "inst_tenor": "12"}
    dispatcher, _ = await _run(ActionAskInstConfirm(), conversation_id, slots=form)
    shown = dispatcher.messages[0]
    assert shown["apr"] == "15.58%"  # 0.72% a month on the original principal
    assert shown["monthly_rate"] == "0.72%"
    assert shown["amount"] == "18,600.00元"
    dispatcher, _ = await _run(
        ActionInstallmentSubmit(), conversation_id, slots={**form, "inst_confirm": True}
    )
    assert responses(dispatcher) == ["utter_inst_created"]
    assert dispatcher.messages[0]["first_payment"].endswith("元")
    assert await _plans(own_sessions, account_id) >= 1


# --- refusals, identity, handing on ----------------------------------------------------


async def test_an_overdue_account_is_told_why_and_no_form_starts(
    own_sessions: Maker, conversation_id: str
) -> None:
    await mark_verified(own_sessions, conversation_id, "P2")
    dispatcher, events = await _run(ActionInstallmentStart(), conversation_id, text="installments")
    assert responses(dispatcher) == ["utter_inst_ineligible_bucket"]
    assert _followup(events) == "action_listen"


async def test_nothing_about_plans_before_the_identity_check(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    dispatcher, events = await _run(
        ActionInstallmentStart(), conversation_id, text="split my bill",
        slots={"verified": True, "account_id": 1},  # the slot alone unlocks nothing
    )  # fmt: skip
    assert dispatcher.messages == []
    assert _followup(events) == "identity_form"
    assert _slots(events)["pending_request"] == "installment_enquiry"
    dispatcher, events = await _run(ActionInstallmentStatus(), conversation_id)
    assert dispatcher.messages == []
    assert _followup(events) == "identity_form"


async def test_after_the_identity_check_the_set_up_starts(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P1")
    slots = {"verified": True, "account_id": account_id, "pending_request": "installment_enquiry"}
    dispatcher, events = await _run(ActionIdentityDone(), conversation_id, slots=slots)
    assert responses(dispatcher) == ["utter_identity_verified"]
    assert _followup(events) == "action_installment_start"


# --- prices and existing plans -------------------------------------------------------------


async def test_prices_are_product_information_given_before_verification(
    own_sessions: Maker, conversation_id: str
) -> None:
    await add_conversation(own_sessions, conversation_id)
    dispatcher, _ = await _run(
        ActionInstallmentFees(), conversation_id, text="whats the interest on a 12 month plan"
    )
    assert responses(dispatcher) == [
        "utter_inst_fees_intro", "utter_inst_fee_line", "utter_inst_fees_offer",
    ]  # fmt: skip
    line = dispatcher.messages[1]
    us12 = POLICY.installments[Jurisdiction.US].tenors[12]
    assert line["tenor"] == 12
    assert line["apr"] == f"{quote(Decimal(1000), 12, us12, date(2000, 1, 1)).annual_rate_pct}%"

    dispatcher, _ = await _run(
        ActionInstallmentFees(), conversation_id, text="分期手续费怎么算", slots={"language": "zh"}
    )
    lines = [m for m in dispatcher.messages if m.get("response") == "utter_inst_fee_line"]
    assert [m["tenor"] for m in lines] == sorted(POLICY.installments[Jurisdiction.CN].tenors)
    twelve = next(m for m in lines if m["tenor"] == 12)
    assert twelve["apr"] == "15.58%" and twelve["monthly_rate"] == "0.72%"
    assert "元" in twelve["payment"]


async def test_p1_hears_about_her_plan_and_what_paying_it_off_costs(
    own_sessions: Maker, conversation_id: str
) -> None:
    await mark_verified(own_sessions, conversation_id, "P1")
    dispatcher, _ = await _run(
        ActionInstallmentStatus(), conversation_id, text="how many payments are left on my plan"
    )
    assert responses(dispatcher) == ["utter_inst_status_plan"]
    plan = dispatcher.messages[0]
    assert plan["left"] == 3 and plan["tenor"] == 6
    dispatcher, _ = await _run(
        ActionInstallmentStatus(), conversation_id, text="can i pay off my plan early"
    )
    assert responses(dispatcher) == ["utter_inst_status_plan", "utter_inst_payoff"]
    assert dispatcher.messages[1]["payoff"].startswith("$")
    assert "waived" in dispatcher.messages[1]["fee_note"]  # US policy waives future fees


async def test_p4_without_plans_is_told_so_in_chinese(
    own_sessions: Maker, conversation_id: str
) -> None:
    await mark_verified(own_sessions, conversation_id, "P4", language=Language.ZH)
    dispatcher, _ = await _run(
        ActionInstallmentStatus(),
        conversation_id,
        text="我的分期还剩几期",
        slots={"language": "zh"},
    )
    assert responses(dispatcher) == ["utter_inst_status_none"]


async def test_details_said_before_the_identity_check_are_kept(
    own_sessions: Maker, conversation_id: str
) -> None:
    await mark_verified(own_sessions, conversation_id, "P1")
    events: list[dict[str, Any]] = [
        {"event": "session_started", "timestamp": 0},
        {"event": "user", "text": "can i split my $1,200 purchase into 12 months",
         "parse_data": {"intent": {"name": "installment_enquiry"}}},
        {"event": "user", "text": "4821", "parse_data": {"intent": {"name": "inform"}}},
    ]  # fmt: skip
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(conversation_id, text="4821", intent="inform", events=events)
    result = await ActionInstallmentStart().run(dispatcher, tracker, DOMAIN)
    assert _slots(result)["inst_tenor"] == "12"
    assert _slots(result)["inst_item"].startswith("purchase:")
