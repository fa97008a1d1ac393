"""Hardship: the reason, what the cardholder can afford, and a plan the policy allows.

The plan is `best_hardship_offer`'s (code, never the model): the shortest
plan within the bot's authority whose instalment fits what the person says
they can pay, with every waiver the bot may grant. They can counter a few
times ("I can only do 300", "can I have 24 months?"); each counter is
recomputed and recorded. A plan is agreed only on an explicit "I agree" /
"同意", exactly once per offer. Beyond the bot's authority the request goes
to a colleague with a case summary. CN accounts where the bot may not agree
a plan (e.g. late bucket) take the 个性化分期 route: the bot collects the
request, reason and evidence, explains the process and escalates.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_UP, Decimal
from typing import Any, Literal

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from actions import deps
from actions.collections_common import (
    Opening,
    consent_words,
    escalate_if_needed,
    escalation_in,
    explain,
    hand_over,
    is_consent,
    latest_text,
    open_request,
    picked_agree,
    policy,
    review_requested,
    rules_for,
    yes_no_buttons,
)
from actions.common import latest_intent, render, said_on_commit
from actions.verified import Context, identity_first, verified_context
from bot.db.models import Agreement, Offer
from bot.domain.enums import Authority, HardshipReason, Jurisdiction, OfferStatus
from bot.domain.parsing import parse_amount, parse_tenor
from bot.policy.offers import (
    AccountSnapshot,
    Decision,
    HardshipPlanRequest,
    HardshipTerms,
    PersonalisedInstallmentRequest,
    best_hardship_offer,
    evaluate,
)
from bot.services.accounts import AccountNotFound
from bot.services.collections import (
    CollectionsError,
    accept_offer,
    load_snapshot,
    open_hardship_case,
    record_offer,
    record_refusal,
    refuse_offer,
    request_agent_review,
)

log = logging.getLogger(__name__)

INTENT = "report_hardship"
FORM_SLOTS = (
    "hs_reason",
    "hs_affordable",
    "hs_periods",
    "hs_evidence",
    "hs_answer",
    "hs_mode",
    "hs_months",
    "hs_rounds",
    "hs_offer_id",
    "hs_offer_key",
    "hs_consent",
    "hs_stop",
)
RESET = [SlotSet(name, None) for name in FORM_SLOTS]
NOT_STARTED: list[EventType] = [*RESET, FollowupAction("action_listen")]
PLAN_SLOTS = ["hs_reason", "hs_affordable", "hs_answer"]
PERSONALISED_SLOTS = ["hs_reason", "hs_affordable", "hs_periods", "hs_evidence"]
MAX_ROUNDS = 3
MODE_PLAN = "plan"
MODE_PERSONALISED = "personalised"

REASON_BUTTONS = {
    HardshipReason.JOB_LOSS: "utter_hs_reason_job_loss",
    HardshipReason.ILLNESS: "utter_hs_reason_illness",
    HardshipReason.FAMILY: "utter_hs_reason_family",
    HardshipReason.BUSINESS: "utter_hs_reason_business",
    HardshipReason.OTHER: "utter_hs_reason_other",
}
_REASON_WORDS: tuple[tuple[HardshipReason, re.Pattern[str]], ...] = (
    (
        HardshipReason.JOB_LOSS,
        re.compile(
            r"job|laid\s*off|lay\s*off|fired|unemploy|redundan|work|失业|失業|裁员|裁員|被裁"
            r"|没工作|沒工作|丢了工作|工作没了|下岗|辞退|開除|开除",
            re.I,
        ),
    ),
    (
        HardshipReason.ILLNESS,
        re.compile(
            r"\bill\b|illness|sick|hospital|surgery|medical|cancer|disab|injur|health|生病|病|住院|医院|醫院"
            r"|手术|手術|治疗|治療|受伤",
            re.I,
        ),
    ),
    (
        HardshipReason.FAMILY,
        re.compile(
            r"family|divorce|baby|child|kid|parent|wife|husband|家里|家裡|家庭|离婚|離婚|孩子"
            r"|父母|老人|家人",
            re.I,
        ),
    ),
    (
        HardshipReason.BUSINESS,
        re.compile(r"business|shop|store|company|生意|公司|店|做买卖|亏损|虧損|倒闭", re.I),
    ),
)
_MONTHLY = re.compile(
    r"a\s+month|per\s+month|monthly|each\s+month|every\s+month|/\s*mo|每月|每个月|一个月|月供", re.I
)
_PERSONALISED = re.compile(r"个性化分期|個性化分期|停息挂账|停息掛賬|协商还款|協商還款", re.I)


def reason_from_text(text: str) -> HardshipReason | None:
    cleaned = text.strip().lower()
    for reason in HardshipReason:
        if cleaned == reason.value:
            return reason
    for reason, pattern in _REASON_WORDS:
        if pattern.search(text):
            return reason
    return None


def _entity(tracker: Tracker, name: str) -> str | None:
    for entity in tracker.latest_message.get("entities") or []:
        if entity.get("entity") == name and entity.get("value"):
            return str(entity["value"])
    return None


def _money(value: Any) -> Decimal | None:
    amount = parse_amount(str(value or ""))
    return amount if amount is not None and amount > 0 else None


def _months(value: Any) -> int | None:
    text = str(value or "").strip()
    if text.isdigit():
        return int(text)
    months = parse_tenor(text)
    return int(months) if months is not None else None


# --- the plan ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What to put to the cardholder: a plan the bot may agree, or a request for a person."""

    kind: Literal["offer", "review"]
    decision: Decision
    request: HardshipPlanRequest

    @property
    def terms(self) -> HardshipTerms | None:
        terms = self.decision.terms
        return terms if isinstance(terms, HardshipTerms) else None


def _bot_max_months(snapshot: AccountSnapshot) -> int | None:
    rule = rules_for(snapshot).hardship_plan
    return rule.max_months.limit_for(Authority.BOT) if rule is not None else None


def outcome_for(
    snapshot: AccountSnapshot, affordable: Decimal, months_wanted: int | None, today: date
) -> Outcome:
    """The bot's best plan for `affordable`, or the plan a person would have to approve."""
    pol = policy()
    bot_max = _bot_max_months(snapshot)
    if months_wanted is None or (bot_max is not None and months_wanted <= bot_max):
        best = best_hardship_offer(pol, snapshot, affordable, today)
        if best.found and best.request is not None:
            decision = evaluate(pol, snapshot, best.request, today)
            if decision.bot_may_agree:
                return Outcome("offer", decision, best.request)
    months = months_wanted
    if months is None:
        months = int((snapshot.balance / affordable).to_integral_value(rounding=ROUND_UP))
    months = max(1, min(months, pol.max_plan_months))
    rule = rules_for(snapshot).hardship_plan
    if rule is not None:
        months = max(months, rule.min_months)
    request = HardshipPlanRequest(months=months, monthly_affordable=affordable)
    return Outcome("review", evaluate(pol, snapshot, request, today), request)


def personalised_route(snapshot: AccountSnapshot, text: str) -> bool:
    """CN accounts where the bot may not agree a plan itself go the 个性化分期 way."""
    if snapshot.jurisdiction is not Jurisdiction.CN:
        return False
    rules = rules_for(snapshot)
    if rules.personalised_installment is None:
        return False
    return bool(_PERSONALISED.search(text)) or _bot_max_months(snapshot) is None


def offer_values(terms: HardshipTerms, ctx: Context, domain: dict[str, Any]) -> dict[str, Any]:
    waived = terms.fee_waiver + terms.interest_waiver
    waivers = ""
    if waived > 0:
        waivers = render(
            domain,
            "utter_hs_waivers",
            ctx.language,
            fee_waiver=ctx.money(terms.fee_waiver),
            interest_waiver=ctx.money(terms.interest_waiver),
        )
    return {
        "months": terms.months,
        "instalment": ctx.money(terms.instalment),
        "down_payment": ctx.money(terms.down_payment),
        "waivers": waivers,
        "total": ctx.money(terms.amount_to_repay),
        "balance": ctx.money(terms.balance),
    }


def case_summary(
    ctx: Context,
    tracker: Tracker,
    decision: Decision,
    *,
    months: int | None = None,
    periods: int | None = None,
) -> str:
    """What the colleague reads first (English: the desk's working language)."""
    parts = [
        f"Hardship ({tracker.get_slot('hs_reason') or 'other'}) on account {ctx.account_id}",
        f"affordable {tracker.get_slot('hs_affordable') or '-'} {ctx.currency}/month",
    ]
    if months is not None:
        parts.append(f"plan requested over {months} months")
    if periods is not None:
        parts.append(f"个性化分期 requested over {periods} periods")
    if tracker.get_slot("hs_evidence"):
        parts.append(f"evidence: {tracker.get_slot('hs_evidence')}")
    authority = decision.authority.value if decision.authority else "-"
    parts.append(f"needs {authority} because: {', '.join(decision.reasons) or '-'}")
    parts.append(f"policy {decision.policy_version}")
    return "; ".join(parts) + "."


# --- actions --------------------------------------------------------------------------


class ActionHardshipStart(Action):
    """Begin: identity and flags first; keep the reason, amount and months already said."""

    def name(self) -> str:
        return "action_hardship_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        opening = await open_request(
            dispatcher, tracker, INTENT, reset=list(RESET), not_started=list(NOT_STARTED)
        )
        if not isinstance(opening, Opening):
            return opening
        snapshot, text = opening.snapshot, opening.text
        events: list[EventType] = list(RESET)
        reason = reason_from_text(_entity(tracker, "hardship_reason") or "") or reason_from_text(
            text
        )
        if reason is not None:
            events.append(SlotSet("hs_reason", reason.value))
        amount = _money(text) if _MONTHLY.search(text) else None
        if amount is not None:
            events.append(SlotSet("hs_affordable", str(amount)))
        months = parse_tenor(text)
        personalised = personalised_route(snapshot, text)
        events.append(SlotSet("hs_mode", MODE_PERSONALISED if personalised else MODE_PLAN))
        if months is not None:
            events.append(SlotSet("hs_periods" if personalised else "hs_months", str(months)))
        if personalised:
            dispatcher.utter_message(response="utter_hs_personalised_intro")
        else:
            dispatcher.utter_message(response="utter_hs_sorry")
        return events


class ValidateHardshipForm(FormValidationAction):
    def name(self) -> str:
        return "validate_hardship_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("hs_stop"):
            return []
        if tracker.get_slot("hs_mode") == MODE_PERSONALISED:
            return PERSONALISED_SLOTS
        return PLAN_SLOTS

    async def _interrupted(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, slot: str
    ) -> dict[str, Any] | None:
        if escalation_in(tracker) is not None:
            await escalate_if_needed(dispatcher, tracker)
            return {slot: None, "hs_stop": "handoff"}
        if latest_intent(tracker) == "goodbye":
            return {slot: None, "hs_stop": "cancelled"}
        return None

    async def validate_hs_reason(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "hs_reason")
        if stop is not None:
            return stop
        reason = reason_from_text(str(value or "")) or HardshipReason.OTHER
        return {"hs_reason": reason.value}

    async def validate_hs_affordable(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "hs_affordable")
        if stop is not None:
            return stop
        amount = _money(value)
        if amount is None:
            dispatcher.utter_message(response="utter_hs_affordable_unclear")
            return {"hs_affordable": None}
        return {"hs_affordable": str(amount)}

    async def validate_hs_periods(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "hs_periods")
        if stop is not None:
            return stop
        periods = _months(value)
        maximum = policy().max_plan_months
        if periods is None or not 1 <= periods <= maximum:
            dispatcher.utter_message(response="utter_hs_periods_limit", max_periods=maximum)
            return {"hs_periods": None}
        return {"hs_periods": str(periods)}

    async def validate_hs_evidence(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "hs_evidence")
        if stop is not None:
            return stop
        text = str(value or "").strip()
        if not text:
            return {"hs_evidence": None}
        return {"hs_evidence": text[:1000]}

    async def validate_hs_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        stop = await self._interrupted(dispatcher, tracker, "hs_answer")
        if stop is not None:
            return stop
        text = latest_text(tracker)
        affordable = _money(tracker.get_slot("hs_affordable"))
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None or affordable is None:
                return {"hs_answer": None, "hs_stop": "unverified"}
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
        months = _months(tracker.get_slot("hs_months"))
        outcome = outcome_for(snapshot, affordable, months, ctx.today)
        rounds = int(tracker.get_slot("hs_rounds") or 0)
        consent = is_consent(text) or (outcome.kind == "offer" and picked_agree(text))
        if value == "no" or (latest_intent(tracker) == "deny" and not consent):
            return {"hs_answer": "no"}
        if outcome.kind == "review" and (value == "yes" or consent):
            return {"hs_answer": "review"}
        if outcome.kind == "offer" and consent:
            return {"hs_answer": "agreed", "hs_consent": consent_words(text, domain, ctx.language)}
        # A counter-offer: a different monthly amount or a number of months.
        new_months = parse_tenor(text)
        new_amount = _money(text) if new_months is None else None
        if new_months is not None or new_amount is not None:
            if rounds >= MAX_ROUNDS:
                dispatcher.utter_message(response="utter_hs_max_rounds")
                changes: dict[str, Any] = {"hs_answer": "review"}
            else:
                changes = {"hs_answer": None, "hs_rounds": float(rounds + 1)}
            if new_months is not None:
                changes["hs_months"] = str(new_months)
            if new_amount is not None:
                changes["hs_affordable"] = str(new_amount)
                changes["hs_months"] = None
            return changes
        if outcome.kind == "offer" and value == "yes":
            dispatcher.utter_message(response="utter_hs_consent_needed")
            return {"hs_answer": None}
        dispatcher.utter_message(response="utter_hs_answer_unclear")
        return {"hs_answer": None}


class ActionAskHsReason(Action):
    def name(self) -> str:
        return "action_ask_hs_reason"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        from actions.common import language_of

        language = language_of(tracker)
        buttons = [
            {
                "title": render(domain, REASON_BUTTONS[reason], language),
                "payload": f'/inform{{"hardship_reason":"{reason.value}"}}',
            }
            for reason in HardshipReason
        ]
        dispatcher.utter_message(response="utter_ask_hs_reason", buttons=buttons)
        return []


async def _record_proposal(
    session: AsyncSession, tracker: Tracker, ctx: Context, outcome: Outcome, key: str
) -> list[EventType]:
    """Record the offer as made once per (amount, months); a counter refuses the last one."""
    offer_id = tracker.get_slot("hs_offer_id")
    if offer_id is not None and tracker.get_slot("hs_offer_key") == key:
        return []
    if offer_id is not None:
        await refuse_offer(session, account_id=ctx.account_id, offer_id=int(offer_id))
    offer = await record_offer(
        session,
        account_id=ctx.account_id,
        decision=outcome.decision,
        status=OfferStatus.PROPOSED,
        conversation_id=tracker.sender_id,
        extra_terms={"monthly_affordable": str(outcome.request.monthly_affordable)},
    )
    return [SlotSet("hs_offer_id", offer.id), SlotSet("hs_offer_key", key)]


class ActionAskHsAnswer(Action):
    """Propose the plan (recorded as made) or, beyond the bot, offer a colleague's review."""

    def name(self) -> str:
        return "action_ask_hs_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        affordable = _money(tracker.get_slot("hs_affordable"))
        months = _months(tracker.get_slot("hs_months"))
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None or affordable is None:
                return [SlotSet("hs_stop", "unverified")]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
            outcome = outcome_for(snapshot, affordable, months, ctx.today)
            events: list[EventType] = []
            if outcome.kind == "offer":
                events = await _record_proposal(
                    session, tracker, ctx, outcome, f"{affordable}|{months}"
                )
        terms = outcome.terms
        if outcome.kind == "offer" and terms is not None:
            response = "utter_hs_offer" if terms.down_payment > 0 else "utter_hs_offer_no_down"
            dispatcher.utter_message(
                response=response,
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
                **offer_values(terms, ctx, domain),
            )
            return events
        dispatcher.utter_message(
            response="utter_hs_needs_review",
            affordable=ctx.money(affordable),
            months=outcome.request.months,
            reasons=explain(
                outcome.decision,
                ctx,
                domain,
                max_months=_bot_max_months(snapshot) or 0,
                last_day="-",
                required="-",
            ),
            buttons=yes_no_buttons(
                domain, ctx.language, "utter_col_yes_pass_on", "utter_col_no_thanks"
            ),
        )
        return events


class ActionHardshipSubmit(Action):
    """Agreement on consent, a colleague's review, or a polite close; then reset."""

    def name(self) -> str:
        return "action_hardship_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        stop = tracker.get_slot("hs_stop")
        if stop == "unverified":
            return [*RESET, *identity_first(INTENT)]
        if stop == "handoff":
            return RESET
        try:
            async with said_on_commit(dispatcher) as said, deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first(INTENT)]
                if tracker.get_slot("hs_mode") == MODE_PERSONALISED and stop is None:
                    await self._personalised(session, said, tracker, ctx, domain)
                    return RESET
                answer = tracker.get_slot("hs_answer")
                if stop == "cancelled" or answer not in ("agreed", "review"):
                    offer_id = tracker.get_slot("hs_offer_id")
                    if offer_id is not None:
                        await refuse_offer(
                            session, account_id=ctx.account_id, offer_id=int(offer_id)
                        )
                    said.utter_message(response="utter_hs_declined")
                    return RESET
                await self._plan(session, said, tracker, ctx, domain, answer)
        except (AccountNotFound, CollectionsError, SQLAlchemyError):
            log.exception("hardship_submit_failed")
            dispatcher.utter_message(response="utter_col_failed")
        return RESET

    async def _plan(
        self,
        session: AsyncSession,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ctx: Context,
        domain: dict[str, Any],
        answer: str,
    ) -> None:
        affordable = _money(tracker.get_slot("hs_affordable"))
        if affordable is None:
            dispatcher.utter_message(response="utter_hs_declined")
            return
        offer_id = tracker.get_slot("hs_offer_id")
        if answer == "agreed" and offer_id is not None:
            agreed = await session.scalar(
                select(Agreement).where(Agreement.offer_id == int(offer_id))
            )
            if agreed is not None:  # a repeated "I agree": the plan already exists
                dispatcher.utter_message(response="utter_hs_already_agreed", reference=agreed.id)
                return
        snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
        outcome = outcome_for(
            snapshot, affordable, _months(tracker.get_slot("hs_months")), ctx.today
        )
        case = await open_hardship_case(
            session,
            account_id=ctx.account_id,
            conversation_id=tracker.sender_id,
            reason=HardshipReason(tracker.get_slot("hs_reason") or "other"),
            monthly_affordable=affordable,
        )
        if answer == "agreed" and outcome.kind == "offer" and outcome.terms is not None:
            offer = await session.get(Offer, int(offer_id)) if offer_id is not None else None
            if offer is None or offer.terms.get(
                "instalments"
            ) != outcome.decision.terms_record().get("instalments"):
                offer = await record_offer(
                    session,
                    account_id=ctx.account_id,
                    decision=outcome.decision,
                    status=OfferStatus.PROPOSED,
                    conversation_id=tracker.sender_id,
                    extra_terms={"monthly_affordable": str(affordable)},
                )
            offer.hardship_case_id = case.id
            recorded = await accept_offer(
                session,
                account_id=ctx.account_id,
                offer_id=offer.id,
                decision=outcome.decision,
                consent_text=consent_record(tracker, outcome, ctx, domain),
                conversation_id=tracker.sender_id,
            )
            dispatcher.utter_message(
                response="utter_hs_agreed",
                reference=recorded.agreement.id,
                date=ctx.day(ctx.today),
                policy_version=outcome.decision.policy_version,
                **offer_values(outcome.terms, ctx, domain),
            )
            return
        if not outcome.decision.allowed or outcome.decision.handoff_required:
            record_refusal(
                session,
                account_id=ctx.account_id,
                decision=outcome.decision,
                conversation_id=tracker.sender_id,
            )
            await hand_over(session, dispatcher, tracker, ctx, "hardship")
            return
        await request_agent_review(
            session,
            account_id=ctx.account_id,
            conversation_id=tracker.sender_id,
            decision=outcome.decision,
            summary=case_summary(ctx, tracker, outcome.decision, months=outcome.request.months),
            hardship_case_id=case.id,
        )
        review_requested(dispatcher, ctx, domain, outcome.decision)

    async def _personalised(
        self,
        session: AsyncSession,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ctx: Context,
        domain: dict[str, Any],
    ) -> None:
        periods = _months(tracker.get_slot("hs_periods")) or policy().max_plan_months
        snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
        decision = evaluate(
            policy(), snapshot, PersonalisedInstallmentRequest(periods=periods), ctx.today
        )
        case = await open_hardship_case(
            session,
            account_id=ctx.account_id,
            conversation_id=tracker.sender_id,
            reason=HardshipReason(tracker.get_slot("hs_reason") or "other"),
            monthly_affordable=_money(tracker.get_slot("hs_affordable")),
            evidence_description=tracker.get_slot("hs_evidence"),
        )
        if not decision.allowed or decision.handoff_required:
            record_refusal(
                session, account_id=ctx.account_id, decision=decision,
                conversation_id=tracker.sender_id,
            )  # fmt: skip
            await hand_over(session, dispatcher, tracker, ctx, "hardship")
            return
        await request_agent_review(
            session,
            account_id=ctx.account_id,
            conversation_id=tracker.sender_id,
            decision=decision,
            summary=case_summary(ctx, tracker, decision, periods=periods),
            hardship_case_id=case.id,
        )
        dispatcher.utter_message(
            response="utter_hs_personalised_submitted",
            periods=periods,
            max_periods=policy().max_plan_months,
        )
        review_requested(dispatcher, ctx, domain, decision)


def consent_record(tracker: Tracker, outcome: Outcome, ctx: Context, domain: dict[str, Any]) -> str:
    """What was shown and what the cardholder answered, as the agreement keeps it."""
    terms = outcome.terms
    assert terms is not None  # only an offer is consented to
    response = "utter_hs_offer" if terms.down_payment > 0 else "utter_hs_offer_no_down"
    shown = render(domain, response, ctx.language, **offer_values(terms, ctx, domain))
    answer = tracker.get_slot("hs_consent") or latest_text(tracker)
    return f"{shown}\n> {answer}"
