"""Promise to pay: an amount and a date, checked by the offer engine, then a clear yes.

"I'll pay $200 on Friday" / "我下周五还两千" fills both at once. The amount
and date are parsed in code; `evaluate` says whether the bot may accept:
a date in the past or an amount below what the bucket requires is explained
and asked again; a date beyond the bot's window (or a second open promise)
is offered to a colleague. Nothing is recorded before an explicit yes.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.collections_common import (
    Opening,
    asks_for_agent,
    escalate_if_needed,
    escalation_in,
    explain,
    hand_over,
    latest_text,
    open_request,
    policy,
    review_requested,
    rules_for,
    yes_no_buttons,
)
from actions.common import StoppableForm, latest_intent, said_on_commit
from actions.verified import Context, identity_first, verified_context
from bot.domain.enums import Authority
from bot.domain.parsing import parse_amount, parse_date
from bot.policy.offers import (
    REASON_AMOUNT_ABOVE_BALANCE,
    REASON_AMOUNT_BELOW_REQUIRED,
    REASON_AMOUNT_NOT_POSITIVE,
    AccountSnapshot,
    Decision,
    PromiseRequest,
    PromiseTerms,
    evaluate,
)
from bot.services.accounts import AccountNotFound
from bot.services.collections import (
    NotAuthorised,
    load_snapshot,
    record_promise,
    record_refusal,
    request_agent_review,
)

log = logging.getLogger(__name__)

FORM_SLOTS = ("ptp_amount", "ptp_date", "ptp_confirm", "ptp_stop")
RESET = [SlotSet(name, None) for name in FORM_SLOTS]
NOT_STARTED: list[EventType] = [*RESET, FollowupAction("action_listen")]
INTENT = "promise_to_pay"


def _amount(value: Any) -> Decimal | None:
    amount = parse_amount(str(value or ""))
    return amount if amount is not None and amount > 0 else None


def _day(value: Any, today: date) -> date | None:
    text = str(value or "")
    try:
        return date.fromisoformat(text)
    except ValueError:
        return parse_date(text, today)


def decide(snapshot: AccountSnapshot, amount: Decimal, pay_on: date, today: date) -> Decision:
    return evaluate(policy(), snapshot, PromiseRequest(amount=amount, pay_on=pay_on), today)


def last_bot_day(snapshot: AccountSnapshot, today: date) -> date | None:
    """The latest date the bot may accept a promise for, in this bucket."""
    rule = rules_for(snapshot).promise
    days = rule.window_days.limit_for(Authority.BOT) if rule is not None else None
    return today + timedelta(days=days) if days is not None else None


def _values(ctx: Context, snapshot: AccountSnapshot, terms: PromiseTerms | None) -> dict[str, Any]:
    last = last_bot_day(snapshot, ctx.today)
    required = terms.required_amount if terms is not None else None
    return {
        "last_day": ctx.day(last) if last else "-",
        "required": ctx.money(required if required is not None else snapshot.past_due_amount),
        "balance": ctx.money(snapshot.balance),
    }


class ActionPromiseStart(Action):
    """Begin a promise: check identity and flags, keep the amount and date already said."""

    def name(self) -> str:
        return "action_promise_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        opening = await open_request(
            dispatcher, tracker, INTENT, reset=list(RESET), not_started=list(NOT_STARTED)
        )
        if not isinstance(opening, Opening):
            return opening
        ctx, text = opening.ctx, opening.text
        events: list[EventType] = list(RESET)
        amount = _amount(text)
        if amount is not None:
            events.append(SlotSet("ptp_amount", str(amount)))
        pay_on = parse_date(text, ctx.today)
        if pay_on is not None:
            events.append(SlotSet("ptp_date", pay_on.isoformat()))
        return events


class ValidatePromiseForm(StoppableForm):
    """Amounts and dates parsed in code; limits from the engine; a yes, a no, or a change."""

    stop_slot = "ptp_stop"

    def name(self) -> str:
        return "validate_promise_form"

    async def _interrupted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any] | None:
        """Slots that end the form when the message calls for a person or a goodbye."""
        if escalation_in(tracker) is not None:
            await escalate_if_needed(dispatcher, tracker)
            return {slot: None, "ptp_stop": "handoff"}
        if latest_intent(tracker) == "goodbye":
            return {slot: None, "ptp_stop": "cancelled"}
        return None

    async def validate_ptp_amount(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "ptp_amount")
        if stop is not None:
            return stop
        amount = _amount(value)
        if amount is None:
            dispatcher.utter_message(response="utter_ptp_amount_unclear")
            return {"ptp_amount": None}
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return {"ptp_amount": None, "ptp_stop": "unverified"}
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        decision = decide(snapshot, amount, ctx.today, ctx.today)
        terms = decision.terms if isinstance(decision.terms, PromiseTerms) else None
        values = _values(ctx, snapshot, terms)
        if REASON_AMOUNT_ABOVE_BALANCE in decision.reasons:
            dispatcher.utter_message(response="utter_ptp_amount_above_balance", **values)
            return {"ptp_amount": None}
        if REASON_AMOUNT_NOT_POSITIVE in decision.reasons:
            dispatcher.utter_message(response="utter_ptp_amount_unclear")
            return {"ptp_amount": None}
        if REASON_AMOUNT_BELOW_REQUIRED in decision.reasons:
            dispatcher.utter_message(response="utter_ptp_amount_below_required", **values)
            return {"ptp_amount": None}
        return {"ptp_amount": str(amount)}

    async def validate_ptp_date(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "ptp_date")
        if stop is not None:
            return stop
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
        if ctx is None:
            return {"ptp_date": None, "ptp_stop": "unverified"}
        pay_on = _day(value, ctx.today)
        if pay_on is None:
            dispatcher.utter_message(response="utter_ptp_date_unclear")
            return {"ptp_date": None}
        if pay_on < ctx.today:
            dispatcher.utter_message(response="utter_ptp_date_past", date=ctx.day(pay_on))
            return {"ptp_date": None}
        return {"ptp_date": pay_on.isoformat()}

    async def validate_ptp_confirm(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "ptp_confirm")
        if stop is not None:
            return stop
        if value in ("yes", "no"):
            return {"ptp_confirm": value}
        text = latest_text(tracker)
        if asks_for_agent(text):
            return {"ptp_confirm": "yes"}
        # "make it the 20th" / "actually $250": change what was said and ask again.
        changed: dict[str, Any] = {"ptp_confirm": None}
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
        if ctx is None:
            return {"ptp_confirm": None, "ptp_stop": "unverified"}
        new_day = parse_date(text, ctx.today)
        if new_day is not None:
            changed.update(
                await self.validate_ptp_date(new_day.isoformat(), dispatcher, tracker, domain)
            )
        amount = _amount(text) if new_day is None else None
        if amount is not None:
            changed.update(await self.validate_ptp_amount(str(amount), dispatcher, tracker, domain))
        if len(changed) == 1:
            dispatcher.utter_message(response="utter_ptp_confirm_unclear")
        return changed


class ActionAskPtpAmount(Action):
    """Ask how much, saying what the account needs (the past-due amount)."""

    def name(self) -> str:
        return "action_ask_ptp_amount"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("ptp_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        dispatcher.utter_message(
            response="utter_ask_ptp_amount",
            past_due=ctx.money(snapshot.past_due_amount),
            balance=ctx.money(snapshot.balance),
        )
        return []


class ActionAskPtpDate(Action):
    """Ask when, naming the latest date the bot can note by itself."""

    def name(self) -> str:
        return "action_ask_ptp_date"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("ptp_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        amount = _amount(tracker.get_slot("ptp_amount")) or snapshot.past_due_amount
        last = last_bot_day(snapshot, ctx.today) or ctx.today
        dispatcher.utter_message(
            response="utter_ask_ptp_date", amount=ctx.money(amount), last_day=ctx.day(last)
        )
        return []


class ActionAskPtpConfirm(Action):
    """A summary and a yes/no; beyond the bot's limits, the offer of a colleague instead."""

    def name(self) -> str:
        return "action_ask_ptp_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("ptp_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        amount = _amount(tracker.get_slot("ptp_amount"))
        pay_on = _day(tracker.get_slot("ptp_date"), ctx.today)
        if amount is None or pay_on is None:  # pragma: no cover - the form fills both first
            return [SlotSet("ptp_amount", None)]
        decision = decide(snapshot, amount, pay_on, ctx.today)
        terms = decision.terms if isinstance(decision.terms, PromiseTerms) else None
        values = _values(ctx, snapshot, terms)
        summary = {"amount": ctx.money(amount), "date": ctx.day(pay_on)}
        if decision.bot_may_agree:
            dispatcher.utter_message(
                response="utter_ask_ptp_confirm",
                buttons=yes_no_buttons(domain, ctx.language, "utter_col_yes", "utter_col_no"),
                **summary,
            )
        elif decision.allowed and not decision.handoff_required:
            dispatcher.utter_message(
                response="utter_ptp_needs_review",
                reasons=explain(decision, ctx, domain, **values),
                buttons=yes_no_buttons(
                    domain, ctx.language, "utter_col_yes_pass_on", "utter_col_no_thanks"
                ),
                **summary,
            )
        else:
            dispatcher.utter_message(
                response="utter_ptp_not_possible", reasons=explain(decision, ctx, domain, **values)
            )
            return [SlotSet("ptp_date", None)]
        return []


class ActionPromiseSubmit(Action):
    """Record the promise on a yes (or pass it to a colleague); say what happens next."""

    def name(self) -> str:
        return "action_promise_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        stop = tracker.get_slot("ptp_stop")
        if stop == "unverified":
            return [*RESET, *identity_first(INTENT)]
        if stop == "handoff":
            return RESET
        if stop == "cancelled" or tracker.get_slot("ptp_confirm") != "yes":
            dispatcher.utter_message(response="utter_ptp_cancelled")
            return RESET
        try:
            async with said_on_commit(dispatcher) as said, deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first(INTENT)]
                amount = _amount(tracker.get_slot("ptp_amount"))
                pay_on = _day(tracker.get_slot("ptp_date"), ctx.today)
                if amount is None or pay_on is None:
                    said.utter_message(response="utter_ptp_cancelled")
                    return RESET
                snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
                decision = decide(snapshot, amount, pay_on, ctx.today)
                summary = {"amount": ctx.money(amount), "date": ctx.day(pay_on)}
                if decision.bot_may_agree:
                    await record_promise(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        conversation_id=tracker.sender_id,
                    )
                    said.utter_message(response="utter_ptp_recorded", **summary)
                elif decision.handoff_required:
                    record_refusal(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        conversation_id=tracker.sender_id,
                    )
                    await hand_over(session, said, tracker, ctx, "account_flag")
                elif decision.allowed:
                    await request_agent_review(
                        session,
                        account_id=ctx.account_id,
                        conversation_id=tracker.sender_id,
                        decision=decision,
                        summary=case_summary(ctx, amount, pay_on, decision),
                    )
                    review_requested(said, ctx, domain, decision)
                else:
                    record_refusal(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        conversation_id=tracker.sender_id,
                    )
                    said.utter_message(
                        response="utter_ptp_not_possible",
                        reasons=explain(decision, ctx, domain, **_values(ctx, snapshot, None)),
                    )
        except (AccountNotFound, NotAuthorised, SQLAlchemyError):
            log.exception("promise_submit_failed")
            dispatcher.utter_message(response="utter_col_failed")
        return RESET


def case_summary(ctx: Context, amount: Decimal, pay_on: date, decision: Decision) -> str:
    """What the agent reads first (English: the desk's working language)."""
    who = decision.authority.value if decision.authority else "-"
    return (
        f"Promise to pay {amount} {ctx.currency} on {pay_on.isoformat()} "
        f"(account {ctx.account_id}); needs {who}"
        f" because: {', '.join(decision.reasons)}; policy {decision.policy_version}."
    )
