"""Installments (分期): prices, the set-up form and existing plans.

The dialogue only collects a choice and an explicit yes. What may be split,
what it costs, the annualised rate and the schedule all come from the policy
file through `bot.services.installments`; the plan is written exactly once
(the idempotency key is the conversation plus the item, so a repeated "yes"
or a replayed webhook finds the plan instead of making a second one).
"""

from __future__ import annotations

import logging
import re
from datetime import date
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.common import StoppableForm, language_of, latest_intent, render, request_text
from actions.verified import Context, identity_first, verified_context
from bot.domain.enums import Jurisdiction, Language, PlanSource
from bot.domain.formatting import format_money
from bot.domain.installments import Quote, quote
from bot.domain.parsing import parse_amount, parse_tenor
from bot.policy import InstallmentPolicy, Policy, get_policy
from bot.services.accounts import AccountNotFound
from bot.services.installments import (
    AccountNotEligible,
    AmountBelowMinimum,
    EligibleItem,
    InstallmentError,
    ItemAlreadyInPlan,
    TenorNotOffered,
    create_plan,
    eligible_items,
    plan_status,
    quote_item,
    quote_options,
)

log = logging.getLogger(__name__)

FORM_SLOTS = ("inst_item", "inst_tenor", "inst_confirm", "inst_options", "inst_stop")
RESET = [SlotSet(name, None) for name in FORM_SLOTS]
# Nothing to set up: skip the form and wait for the next message.
NOT_STARTED: list[EventType] = [*RESET, FollowupAction("action_listen")]
STOP_INTENTS = frozenset({"deny", "goodbye"})
# What a quote is illustrated with before the person's own items are known.
EXAMPLE_AMOUNT = {Jurisdiction.US: Decimal("1000.00"), Jurisdiction.CN: Decimal("10000.00")}
_PAYOFF_WORDS = re.compile(r"pay\s*(it\s*)?off|payoff|early|settle|提前|结清|一次性")
_STATEMENT_WORDS = re.compile(r"statement|bill|账单")
_CHOICE = re.compile(
    r"^\s*(?:#|no\.?\s*|option\s*|第)?\s*([1-9一二三四五六七八九])\s*(?:个|项|笔)?\s*$"
)
_CN_DIGITS = "一二三四五六七八九"


def _policy() -> Policy:
    return get_policy(deps.current().settings)


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%" if value == value.to_integral() else f"{value:.2f}%"


def _rate_pct(rate: Decimal) -> str:
    """A monthly fee rate (0.0072) as the percentage people read (0.72%)."""
    return f"{(rate * 100).quantize(Decimal('0.01'))}%"


def _describe(item: EligibleItem, ctx: Context, domain: dict[str, Any]) -> str:
    if item.source is PlanSource.STATEMENT:
        return render(
            domain,
            "utter_inst_item_option_statement",
            ctx.language,
            amount=ctx.money(item.amount),
            statement_date=ctx.day(item.item_date),
        )
    return render(
        domain,
        "utter_inst_item_option_purchase",
        ctx.language,
        merchant=item.description,
        amount=ctx.money(item.amount),
        posted_on=ctx.day(item.item_date),
    )


def _payload(intent: str, entity: str, value: str) -> str:
    return f'/{intent}{{"{entity}":"{value}"}}'


def pick_item(text: str, items: list[EligibleItem]) -> EligibleItem | None:
    """The item a free-text answer names: its number in the list, its amount or its kind."""
    lowered = text.strip().lower()
    for item in items:
        if lowered == item.ref:
            return item
    choice = _CHOICE.match(lowered)
    if choice:
        digit = choice.group(1)
        index = int(digit) if digit.isdigit() else _CN_DIGITS.index(digit) + 1
        return items[index - 1] if index <= len(items) else None
    amount = parse_amount(text)
    if amount is not None:
        matches = [item for item in items if item.amount == amount]
        return matches[0] if len(matches) == 1 else None
    if _STATEMENT_WORDS.search(lowered):
        statements = [item for item in items if item.source is PlanSource.STATEMENT]
        return statements[0] if len(statements) == 1 else None
    named = [item for item in items if item.description.lower() in lowered]
    if len(named) == 1:
        return named[0]
    purchases = [item for item in items if item.source is PlanSource.PURCHASE]
    if len(purchases) == 1 and re.search(r"purchase|消费|那笔", lowered):
        return purchases[0]
    return None


def pick_tenor(text: str, offered: tuple[int, ...]) -> int | None:
    """A tenor from "6", "6 months", "六期", "半年"; None if no single number is named."""
    stripped = text.strip()
    if stripped.isdigit():
        return int(stripped)
    months = parse_tenor(stripped)
    return int(months) if months is not None else None


class ActionInstallmentStart(Action):
    """Begin the set-up: check eligibility, list what can be split, keep what was said."""

    def name(self) -> str:
        return "action_installment_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = request_text(tracker, "installment_enquiry")
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first("installment_enquiry")]
                policy = _policy()
                terms = policy.installments[ctx.jurisdiction]
                try:
                    items = await eligible_items(session, ctx.account_id, policy)
                except AccountNotEligible:
                    dispatcher.utter_message(response="utter_inst_ineligible_bucket")
                    return NOT_STARTED
        except (AccountNotFound, SQLAlchemyError):
            log.exception("installment_start_failed")
            dispatcher.utter_message(response="utter_account_unavailable")
            return NOT_STARTED
        if not items:
            dispatcher.utter_message(
                response="utter_inst_no_items", minimum=ctx.money(terms.minimum_amount)
            )
            return NOT_STARTED
        events: list[EventType] = [*RESET, SlotSet("inst_options", [i.ref for i in items])]
        # "Put my $1,200 purchase over 6 months": keep what was already said.
        chosen = pick_item(text, items) if parse_amount(text) is not None else None
        if chosen is None and len(items) == 1:
            chosen = items[0]
        if chosen is not None:
            events.append(SlotSet("inst_item", chosen.ref))
        tenor = parse_tenor(text)
        if tenor is not None and terms.rate_for(int(tenor)) is not None:
            events.append(SlotSet("inst_tenor", str(int(tenor))))
        return events


class ValidateInstallmentForm(StoppableForm):
    """Turn answers into an item reference, an offered tenor and a yes or no."""

    stop_slot = "inst_stop"

    def name(self) -> str:
        return "validate_installment_form"

    @staticmethod
    def _stopping(tracker: Tracker) -> bool:
        return latest_intent(tracker) in STOP_INTENTS

    async def validate_inst_item(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if self._stopping(tracker):
            return {"inst_item": None, "inst_stop": "cancelled"}
        options = list(tracker.get_slot("inst_options") or [])
        text = str(value or "")
        if text in options:
            return {"inst_item": text}
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return {"inst_item": None, "inst_stop": "unverified"}
            items = await eligible_items(session, ctx.account_id, _policy())
        listed = [item for ref in options for item in items if item.ref == ref]
        chosen = pick_item(text, listed)
        if chosen is None:
            dispatcher.utter_message(response="utter_inst_item_not_understood")
            return {"inst_item": None}
        return {"inst_item": chosen.ref}

    async def validate_inst_tenor(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if self._stopping(tracker):
            return {"inst_tenor": None, "inst_stop": "cancelled"}
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
        if ctx is None:
            return {"inst_tenor": None, "inst_stop": "unverified"}
        terms = _policy().installments[ctx.jurisdiction]
        offered = tuple(sorted(terms.tenors))
        tenor = pick_tenor(str(value or ""), offered)
        if tenor is None or tenor not in offered:
            dispatcher.utter_message(
                response="utter_inst_tenor_not_offered",
                tenors=_join(offered, ctx.language),
            )
            return {"inst_tenor": None}
        return {"inst_tenor": str(tenor)}

    async def validate_inst_confirm(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"inst_confirm": value}
        if latest_intent(tracker) == "goodbye":
            return {"inst_confirm": False}
        dispatcher.utter_message(response="utter_inst_confirm_unclear")
        return {"inst_confirm": None}


def _join(tenors: tuple[int, ...], language: Language) -> str:
    if language is Language.ZH:
        return "、".join(str(t) for t in tenors)
    words = [str(t) for t in tenors]
    return ", ".join(words[:-1]) + f" or {words[-1]}" if len(words) > 1 else words[0]


class ActionAskInstItem(Action):
    """List what can be split, each as a button (numbered on SMS, keyed on the phone)."""

    def name(self) -> str:
        return "action_ask_inst_item"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("inst_stop", "unverified")]
            items = await eligible_items(session, ctx.account_id, _policy())
        options = [
            item
            for ref in tracker.get_slot("inst_options") or []
            for item in items
            if item.ref == ref
        ]
        buttons = [
            {
                "title": _describe(item, ctx, domain),
                "payload": _payload("inform", "inst_item", item.ref),
            }
            for item in options or items
        ]
        dispatcher.utter_message(response="utter_inst_choose_item", buttons=buttons)
        return [SlotSet("inst_options", [item.ref for item in options or items])]


class ActionAskInstTenor(Action):
    """Offer every tenor with its annualised rate, the figure the rules put first."""

    def name(self) -> str:
        return "action_ask_inst_tenor"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ref = str(tracker.get_slot("inst_item") or "")
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [SlotSet("inst_stop", "unverified")]
                options = await quote_options(session, ctx.account_id, ref, _policy(), ctx.today)
        except InstallmentError as error:
            _explain(error, dispatcher, tracker)
            return [SlotSet("inst_stop", "refused")]
        buttons = [
            {
                "title": render(
                    domain,
                    "utter_inst_tenor_option",
                    ctx.language,
                    tenor=offer.tenor,
                    apr=_pct(offer.annual_rate_pct),
                ),
                "payload": _payload("inform", "tenor", str(offer.tenor)),
            }
            for offer in options.quotes
        ]
        dispatcher.utter_message(
            response="utter_ask_inst_tenor",
            amount=ctx.money(options.item.amount),
            tenors=_join(tuple(offer.tenor for offer in options.quotes), ctx.language),
            buttons=buttons,
        )
        return []


def _quote_values(plan: Quote, ctx: Context, domain: dict[str, Any]) -> dict[str, Any]:
    note = ""
    if plan.first_instalment != plan.regular_instalment:
        note = render(
            domain,
            "utter_inst_quote_payment_note",
            ctx.language,
            other_payment=ctx.money(plan.regular_instalment),
        )
    return {
        "amount": ctx.money(plan.principal),
        "tenor": plan.tenor,
        "apr": _pct(plan.annual_rate_pct),
        "first_payment": ctx.money(plan.first_instalment),
        "payment_note": note,
        "first_due": ctx.day(plan.first_due),
        "total_fee": ctx.money(plan.total_fee),
        "monthly_rate": _rate_pct(plan.monthly_fee_rate),
        "total": ctx.money(plan.total_repayable),
    }


class ActionAskInstConfirm(Action):
    """Show the full quote (rate first) and ask for an explicit yes."""

    def name(self) -> str:
        return "action_ask_inst_confirm"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        ref = str(tracker.get_slot("inst_item") or "")
        tenor = int(tracker.get_slot("inst_tenor") or 0)
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [SlotSet("inst_stop", "unverified")]
                plan = await quote_item(session, ctx.account_id, ref, tenor, _policy(), ctx.today)
        except InstallmentError as error:
            _explain(error, dispatcher, tracker)
            return [SlotSet("inst_stop", "refused")]
        dispatcher.utter_message(response="utter_inst_quote", **_quote_values(plan, ctx, domain))
        return []


def _explain(error: InstallmentError, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """The polite reason a plan cannot be made."""
    language = language_of(tracker)
    if isinstance(error, AccountNotEligible):
        dispatcher.utter_message(response="utter_inst_ineligible_bucket")
    elif isinstance(error, ItemAlreadyInPlan):
        dispatcher.utter_message(response="utter_inst_already_in_plan")
    elif isinstance(error, AmountBelowMinimum):
        currency = "CNY" if language is Language.ZH else "USD"
        dispatcher.utter_message(
            response="utter_inst_below_minimum",
            amount=format_money(error.amount, currency, language),
            minimum=format_money(error.minimum, currency, language),
        )
    elif isinstance(error, TenorNotOffered):
        dispatcher.utter_message(
            response="utter_inst_tenor_not_offered", tenors=_join(error.offered, language)
        )
    else:
        dispatcher.utter_message(response="utter_inst_failed")


class ActionInstallmentSubmit(Action):
    """Create the plan on a yes, exactly once; otherwise say nothing was set up."""

    def name(self) -> str:
        return "action_installment_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        stop = tracker.get_slot("inst_stop")
        if stop == "unverified":
            return [*RESET, *identity_first("installment_enquiry")]
        if stop == "cancelled" or (not stop and tracker.get_slot("inst_confirm") is False):
            dispatcher.utter_message(response="utter_inst_cancelled")
            return RESET
        if stop or tracker.get_slot("inst_confirm") is not True:
            return RESET  # the reason was given when the form stopped
        ref = str(tracker.get_slot("inst_item"))
        tenor = int(tracker.get_slot("inst_tenor"))
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first("installment_enquiry")]
                plan = await create_plan(
                    session,
                    ctx.account_id,
                    ref,
                    tenor,
                    _policy(),
                    idempotency_key=f"{tracker.sender_id}:{ref}",
                    created_by="bot",
                    today=ctx.today,
                    conversation_id=tracker.sender_id,
                )
        except InstallmentError as error:
            _explain(error, dispatcher, tracker)
            return RESET
        except SQLAlchemyError:
            log.exception("installment_plan_failed")
            dispatcher.utter_message(response="utter_inst_failed")
            return RESET
        values = _quote_values(plan.quote, ctx, domain)
        dispatcher.utter_message(
            response="utter_inst_created",
            plan_id=plan.plan_id,
            amount=values["amount"],
            tenor=plan.quote.tenor,
            first_payment=values["first_payment"],
            first_due=values["first_due"],
            apr=values["apr"],
        )
        return RESET


def _example_terms(
    tracker: Tracker, ctx: Context | None, policy: Policy
) -> tuple[InstallmentPolicy, Jurisdiction]:
    if ctx is not None:
        jurisdiction = ctx.jurisdiction
    else:
        jurisdiction = Jurisdiction.CN if language_of(tracker) is Language.ZH else Jurisdiction.US
    return policy.installments[jurisdiction], jurisdiction


class ActionInstallmentFees(Action):
    """What plans cost: the annualised rate first, then the monthly fee and payment.

    Prices are product information, so they are given before verification
    too (on an example amount, or the one named); after verification the
    cardholder's own eligible amount is used.
    """

    def name(self) -> str:
        return "action_installment_fees"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "")
        language = language_of(tracker)
        policy = _policy()
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            terms, jurisdiction = _example_terms(tracker, ctx, policy)
            amount = parse_amount(text)
            if amount is None and ctx is not None:
                try:
                    items = await eligible_items(session, ctx.account_id, policy)
                except AccountNotEligible:
                    items = []
                chosen = tracker.get_slot("inst_item")
                named = [item for item in items if item.ref == chosen] or items
                amount = named[0].amount if named else None
        if amount is None or amount < terms.minimum_amount:
            amount = EXAMPLE_AMOUNT[jurisdiction]
        currency = ctx.currency if ctx else ("CNY" if jurisdiction is Jurisdiction.CN else "USD")
        today = ctx.today if ctx else date.today()
        tenor = parse_tenor(text)
        offered = tuple(sorted(terms.tenors))
        if tenor is not None and int(tenor) not in offered:
            dispatcher.utter_message(
                response="utter_inst_tenor_not_offered", tenors=_join(offered, language)
            )
        tenors = (int(tenor),) if tenor is not None and int(tenor) in offered else offered
        dispatcher.utter_message(
            response="utter_inst_fees_intro", amount=format_money(amount, currency, language)
        )
        for months in tenors:
            priced = quote(amount, months, terms.tenors[months], today)
            dispatcher.utter_message(
                response="utter_inst_fee_line",
                tenor=months,
                apr=_pct(priced.annual_rate_pct),
                monthly_rate=_rate_pct(priced.monthly_fee_rate),
                payment=format_money(priced.regular_instalment, currency, language),
                total_fee=format_money(priced.total_fee, currency, language),
            )
        if tracker.active_loop.get("name") != "installment_form":
            dispatcher.utter_message(response="utter_inst_fees_offer")
        return []


class ActionInstallmentStatus(Action):
    """Existing plans: payments left, the next one, what remains; payoff when asked."""

    def name(self) -> str:
        return "action_installment_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = str(tracker.latest_message.get("text") or "").lower()
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return identity_first("ask_installment_status")
                policy = _policy()
                plans = await plan_status(session, ctx.account_id, policy, ctx.today)
                waives = policy.installments[ctx.jurisdiction].early_payoff_waives_future_fees
        except (AccountNotFound, SQLAlchemyError):
            log.exception("installment_status_failed")
            dispatcher.utter_message(response="utter_account_unavailable")
            return []
        answer_status(
            dispatcher, domain, ctx, plans, payoff=bool(_PAYOFF_WORDS.search(text)), waives=waives
        )
        return []


def answer_status(
    dispatcher: CollectingDispatcher,
    domain: dict[str, Any],
    ctx: Context,
    plans: list[Any],
    *,
    payoff: bool,
    waives: bool,
) -> None:
    if not plans:
        dispatcher.utter_message(response="utter_inst_status_none")
        return
    for plan in plans:
        description = _plan_description(plan, ctx, domain)
        dispatcher.utter_message(
            response="utter_inst_status_plan",
            description=description,
            tenor=plan.tenor,
            left=plan.payments_left,
            next_amount=ctx.money(plan.next_due_amount or Decimal(0)),
            next_due=ctx.day(plan.next_due_date) if plan.next_due_date else "-",
            remaining=ctx.money(plan.remaining_principal),
        )
        if payoff:
            note = "utter_inst_payoff_fees_waived" if waives else "utter_inst_payoff_fees_charged"
            dispatcher.utter_message(
                response="utter_inst_payoff",
                description=description,
                payoff=ctx.money(plan.early_payoff.amount),
                fee_note=render(domain, note, ctx.language),
            )


def _plan_description(plan: Any, ctx: Context, domain: dict[str, Any]) -> str:
    if plan.source is PlanSource.STATEMENT:
        return render(
            domain,
            "utter_inst_plan_statement",
            ctx.language,
            date=ctx.day(plan.item_date) if plan.item_date else "",
        )
    return render(domain, "utter_inst_plan_purchase", ctx.language, merchant=plan.description)
