"""Settlement: one payment for part of the balance, by a date, within the policy's limits.

"Can I settle for 70%?" / "能不能一次性还一部分结清". The amount (or share of
the balance) and the pay-by date are parsed in code; `evaluate` decides. The
bot agrees only within its own limits and only on an explicit "I agree";
an amount or date a colleague (or supervisor) may accept is passed on with a
case summary; one nobody may accept is explained and asked again.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.collections_common import (
    Opening,
    asks_for_agent,
    consent_words,
    escalate_if_needed,
    escalation_in,
    explain,
    is_consent,
    latest_text,
    open_request,
    picked_agree,
    policy,
    review_requested,
    rules_for,
    yes_no_buttons,
)
from actions.common import StoppableForm, latest_intent, render, said_on_commit
from actions.verified import Context, identity_first, verified_context
from bot.db.models import Agreement, Offer
from bot.domain.enums import Authority, OfferStatus
from bot.domain.parsing import parse_amount, parse_date
from bot.domain.parsing.numbers import parse_chinese_number
from bot.policy.offers import (
    REASON_AMOUNT_ABOVE_BALANCE,
    REASON_SETTLEMENT_BELOW_MINIMUM,
    AccountSnapshot,
    Decision,
    SettlementRequest,
    SettlementTerms,
    evaluate,
)
from bot.services.accounts import AccountNotFound
from bot.services.collections import (
    CollectionsError,
    accept_offer,
    load_snapshot,
    record_offer,
    record_refusal,
    refuse_offer,
    request_agent_review,
)

log = logging.getLogger(__name__)

INTENT = "request_settlement"
FORM_SLOTS = ("st_amount", "st_date", "st_answer", "st_offer_id", "st_offer_key", "st_consent",
              "st_stop")  # fmt: skip
RESET = [SlotSet(name, None) for name in FORM_SLOTS]
NOT_STARTED: list[EventType] = [*RESET, FollowupAction("action_listen")]
HUNDRED = Decimal(100)
_PCT = re.compile(r"(\d{1,3}(?:\.\d+)?)\s*(?:%|％|percent|per\s*cent|pct)", re.I)
_CN_PCT = re.compile(r"百分之([零〇一二两三四五六七八九十百\d]+)")
_CN_TENTHS = re.compile(r"([一二三四五六七八九\d])\s*成|([一二三四五六七八九\d])\s*折")


def share_of_balance(text: str) -> Decimal | None:
    """A share of the balance as a percentage: "70%", "百分之七十", "七成", "七折"."""
    found = _PCT.search(text)
    if found:
        return Decimal(found.group(1))
    found_cn = _CN_PCT.search(text)
    if found_cn:
        return parse_chinese_number(found_cn.group(1))
    tenths = _CN_TENTHS.search(text)
    if tenths:
        digit = tenths.group(1) or tenths.group(2)
        value = parse_chinese_number(digit) if not digit.isdigit() else Decimal(digit)
        return value * 10 if value is not None else None
    return None


def amount_from(text: str, snapshot: AccountSnapshot) -> Decimal | None:
    """The settlement amount a message names, as money or as a share of the balance."""
    pct = share_of_balance(text)
    if pct is not None and 0 < pct <= HUNDRED:
        return snapshot.money_up(snapshot.balance * pct / HUNDRED)
    amount = parse_amount(text)
    return amount if amount is not None and amount > 0 else None


def _day(value: Any, today: date) -> date | None:
    text = str(value or "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_date(text, today)


def decide(snapshot: AccountSnapshot, amount: Decimal, pay_by: date, today: date) -> Decision:
    return evaluate(policy(), snapshot, SettlementRequest(pay_by=pay_by, amount=amount), today)


def _bot_limits(snapshot: AccountSnapshot, ctx: Context) -> dict[str, Any] | None:
    rule = rules_for(snapshot).settlement
    if rule is None or rule.min_pct.bot is None or rule.pay_within_days.bot is None:
        return None
    minimum = snapshot.money_up(snapshot.balance * rule.min_pct.bot / HUNDRED)
    return {
        "min_amount": ctx.money(minimum),
        "min_pct": f"{rule.min_pct.bot.normalize():f}",
        "last_day": ctx.day(ctx.today + timedelta(days=rule.pay_within_days.bot)),
        "balance": ctx.money(snapshot.balance),
    }


def _summary(terms: SettlementTerms, ctx: Context) -> dict[str, Any]:
    return {
        "amount": ctx.money(terms.amount),
        "pct": f"{terms.pct_of_balance.normalize():f}",
        "date": ctx.day(terms.pay_by),
        "forgiven": ctx.money(terms.forgiven),
    }


class ActionSettlementStart(Action):
    def name(self) -> str:
        return "action_settlement_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        opening = await open_request(
            dispatcher, tracker, INTENT, reset=list(RESET), not_started=list(NOT_STARTED)
        )
        if not isinstance(opening, Opening):
            return opening
        ctx, snapshot, text = opening.ctx, opening.snapshot, opening.text
        events: list[EventType] = list(RESET)
        amount = amount_from(text, snapshot)
        if amount is not None:
            events.append(SlotSet("st_amount", str(amount)))
        pay_by = parse_date(text, ctx.today)
        if pay_by is not None:
            events.append(SlotSet("st_date", pay_by.isoformat()))
        return events


class ValidateSettlementForm(StoppableForm):
    stop_slot = "st_stop"

    def name(self) -> str:
        return "validate_settlement_form"

    async def _interrupted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any] | None:
        if escalation_in(tracker) is not None:
            await escalate_if_needed(dispatcher, tracker)
            return {slot: None, "st_stop": "handoff"}
        if latest_intent(tracker) == "goodbye":
            return {slot: None, "st_stop": "cancelled"}
        return None

    async def validate_st_amount(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "st_amount")
        if stop is not None:
            return stop
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return {"st_amount": None, "st_stop": "unverified"}
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        amount = amount_from(str(value or ""), snapshot)
        if amount is None:
            dispatcher.utter_message(response="utter_st_amount_unclear")
            return {"st_amount": None}
        decision = decide(snapshot, amount, ctx.today, ctx.today)
        if REASON_AMOUNT_ABOVE_BALANCE in decision.reasons:
            dispatcher.utter_message(
                response="utter_st_amount_above_balance", balance=ctx.money(snapshot.balance)
            )
            return {"st_amount": None}
        if not decision.allowed and REASON_SETTLEMENT_BELOW_MINIMUM in decision.reasons:
            dispatcher.utter_message(
                response="utter_st_amount_too_low",
                amount=ctx.money(amount),
                balance=ctx.money(snapshot.balance),
            )
            return {"st_amount": None}
        return {"st_amount": str(amount)}

    async def validate_st_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "st_date")
        if stop is not None:
            return stop
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
        if ctx is None:
            return {"st_date": None, "st_stop": "unverified"}
        pay_by = _day(value, ctx.today)
        if pay_by is None:
            dispatcher.utter_message(response="utter_st_date_unclear")
            return {"st_date": None}
        if pay_by < ctx.today:
            dispatcher.utter_message(response="utter_ptp_date_past", date=ctx.day(pay_by))
            return {"st_date": None}
        return {"st_date": pay_by.isoformat()}

    async def validate_st_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "st_answer")
        if stop is not None:
            return stop
        text = latest_text(tracker)
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return {"st_answer": None, "st_stop": "unverified"}
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        amount = amount_from(str(tracker.get_slot("st_amount") or ""), snapshot)
        pay_by = _day(tracker.get_slot("st_date"), ctx.today)
        if amount is None or pay_by is None:
            return {"st_answer": None, "st_amount": None}
        decision = decide(snapshot, amount, pay_by, ctx.today)
        consent = is_consent(text) or (decision.bot_may_agree and picked_agree(text))
        if value == "no" or (latest_intent(tracker) == "deny" and not consent):
            return {"st_answer": "no"}
        if decision.bot_may_agree and consent:
            return {"st_answer": "agreed", "st_consent": consent_words(text, domain, ctx.language)}
        if not decision.bot_may_agree and (value == "yes" or consent or asks_for_agent(text)):
            return {"st_answer": "review"}
        new_day = parse_date(text, ctx.today)
        if new_day is not None:
            result = await self.validate_st_date(new_day.isoformat(), dispatcher, tracker, domain)
            return {**result, "st_answer": None}
        new_amount = amount_from(text, snapshot)
        if new_amount is not None:
            result = await self.validate_st_amount(str(new_amount), dispatcher, tracker, domain)
            return {**result, "st_answer": None}
        if decision.bot_may_agree and value == "yes":
            dispatcher.utter_message(response="utter_hs_consent_needed")
            return {"st_answer": None}
        dispatcher.utter_message(response="utter_hs_answer_unclear")
        return {"st_answer": None}


class ActionAskStAmount(Action):
    def name(self) -> str:
        return "action_ask_st_amount"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("st_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        limits = _bot_limits(snapshot, ctx)
        if limits is not None:
            dispatcher.utter_message(response="utter_ask_st_amount", **limits)
        else:
            dispatcher.utter_message(
                response="utter_ask_st_amount_review", balance=ctx.money(snapshot.balance)
            )
        return []


class ActionAskStAnswer(Action):
    """The settlement's terms and a request for "I agree", or the offer of a colleague's review."""

    def name(self) -> str:
        return "action_ask_st_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("st_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
            amount = amount_from(str(tracker.get_slot("st_amount") or ""), snapshot)
            pay_by = _day(tracker.get_slot("st_date"), ctx.today)
            if amount is None or pay_by is None:  # pragma: no cover - the form fills both first
                return [SlotSet("st_amount", None)]
            decision = decide(snapshot, amount, pay_by, ctx.today)
            terms = decision.terms
            assert isinstance(terms, SettlementTerms)  # a settlement decision has its terms
            events: list[EventType] = []
            key = f"{amount}|{pay_by.isoformat()}"
            if decision.bot_may_agree and tracker.get_slot("st_offer_key") != key:
                previous = tracker.get_slot("st_offer_id")
                if previous is not None:
                    await refuse_offer(session, account_id=ctx.account_id, offer_id=int(previous))
                offer = await record_offer(
                    session,
                    account_id=ctx.account_id,
                    decision=decision,
                    status=OfferStatus.PROPOSED,
                    conversation_id=tracker.sender_id,
                )
                events = [SlotSet("st_offer_id", offer.id), SlotSet("st_offer_key", key)]
        if decision.bot_may_agree:
            dispatcher.utter_message(
                response="utter_st_offer",
                buttons=[
                    {
                        "title": render(domain, "utter_col_i_agree", ctx.language),
                        "payload": "/affirm",
                    },
                    {
                        "title": render(domain, "utter_col_no_thanks", ctx.language),
                        "payload": "/deny",
                    },
                ],
                **_summary(terms, ctx),
            )
            return events
        if decision.allowed and not decision.handoff_required:
            dispatcher.utter_message(
                response="utter_st_needs_review",
                reasons=explain(decision, ctx, domain, max_months=0, last_day="-", required="-"),
                buttons=yes_no_buttons(
                    domain, ctx.language, "utter_col_yes_pass_on", "utter_col_no_thanks"
                ),
                **_summary(terms, ctx),
            )
            return events
        dispatcher.utter_message(response="utter_st_amount_too_low", amount=ctx.money(amount),
                                 balance=ctx.money(snapshot.balance))  # fmt: skip
        return [SlotSet("st_amount", None)]


class ActionSettlementSubmit(Action):
    def name(self) -> str:
        return "action_settlement_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        stop = tracker.get_slot("st_stop")
        if stop == "unverified":
            return [*RESET, *identity_first(INTENT)]
        if stop == "handoff":
            return RESET
        answer = tracker.get_slot("st_answer")
        try:
            async with said_on_commit(dispatcher) as said, deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first(INTENT)]
                offer_id = tracker.get_slot("st_offer_id")
                if stop == "cancelled" or answer not in ("agreed", "review"):
                    if offer_id is not None:
                        await refuse_offer(
                            session, account_id=ctx.account_id, offer_id=int(offer_id)
                        )
                    said.utter_message(response="utter_st_declined")
                    return RESET
                snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
                amount = amount_from(str(tracker.get_slot("st_amount") or ""), snapshot)
                pay_by = _day(tracker.get_slot("st_date"), ctx.today)
                if amount is None or pay_by is None:
                    said.utter_message(response="utter_st_declined")
                    return RESET
                decision = decide(snapshot, amount, pay_by, ctx.today)
                terms = decision.terms
                assert isinstance(terms, SettlementTerms)
                earlier = (
                    await session.scalar(
                        select(Agreement).where(Agreement.offer_id == int(offer_id))
                    )
                    if answer == "agreed" and offer_id is not None
                    else None
                )
                if earlier is not None:  # a repeated "I agree": already agreed
                    said.utter_message(response="utter_hs_already_agreed", reference=earlier.id)
                elif answer == "agreed" and decision.bot_may_agree:
                    offer = await session.get(Offer, int(offer_id)) if offer_id else None
                    if offer is None or offer.status is not OfferStatus.PROPOSED:
                        offer = await record_offer(
                            session,
                            account_id=ctx.account_id,
                            decision=decision,
                            status=OfferStatus.PROPOSED,
                            conversation_id=tracker.sender_id,
                        )
                    shown = render(domain, "utter_st_offer", ctx.language, **_summary(terms, ctx))
                    consent = tracker.get_slot("st_consent") or latest_text(tracker)
                    recorded = await accept_offer(
                        session,
                        account_id=ctx.account_id,
                        offer_id=offer.id,
                        decision=decision,
                        consent_text=f"{shown}\n> {consent}",
                        conversation_id=tracker.sender_id,
                    )
                    said.utter_message(
                        response="utter_st_agreed",
                        reference=recorded.agreement.id,
                        policy_version=decision.policy_version,
                        **_summary(terms, ctx),
                    )
                elif decision.allowed and not decision.handoff_required:
                    summary = (
                        f"Settlement request on account {ctx.account_id}: {terms.amount} "
                        f"{ctx.currency} ({terms.pct_of_balance}% of {snapshot.balance}) by "
                        f"{terms.pay_by.isoformat()}; needs "
                        f"{(decision.authority or Authority.AGENT).value} because: "
                        f"{', '.join(decision.reasons)}; policy {decision.policy_version}."
                    )
                    await request_agent_review(
                        session,
                        account_id=ctx.account_id,
                        conversation_id=tracker.sender_id,
                        decision=decision,
                        summary=summary,
                    )
                    review_requested(said, ctx, domain, decision)
                else:
                    record_refusal(
                        session, account_id=ctx.account_id, decision=decision,
                        conversation_id=tracker.sender_id,
                    )  # fmt: skip
                    said.utter_message(
                        response="utter_st_amount_too_low",
                        amount=ctx.money(amount),
                        balance=ctx.money(snapshot.balance),
                    )
        except (AccountNotFound, CollectionsError, SQLAlchemyError):
            log.exception("settlement_submit_failed")
            dispatcher.utter_message(response="utter_col_failed")
        return RESET
