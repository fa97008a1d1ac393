"""Back from a person: welcome the cardholder, and put an offer a person approved to them.

The agent desk hands a conversation back with a `resume` event and the
EXTERNAL_handback intent. If a person APPROVED an offer in this
conversation (a longer hardship plan, a 个性化分期, a settlement), the
cardholder is asked to agree it: only once this session's identity check
holds (otherwise the check runs first and action_identity_done resumes
here), only for the verified account, and only on an explicit "I agree" /
"同意" (or the "I agree" button). The terms shown are worded in code from the
offer as stored (`describe_offer`), and the agreement keeps exactly that
text with the answer. "No" refuses the offer; a goodbye leaves it open for a
colleague. The bot decides nothing here: the person who approved the offer
had the authority, and the collections service records who that was.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from actions import deps
from actions.collections_common import (
    AGREE_PAYLOAD,
    consent_words,
    escalate_if_needed,
    escalation_in,
    is_consent,
    latest_text,
    picked_agree,
)
from actions.common import StoppableForm, latest_intent, render
from actions.verified import Context, identity_first, verified_context
from bot.db.models import Offer
from bot.domain.enums import OfferStatus
from bot.domain.offer_text import describe_offer
from bot.services.accounts import AccountNotFound
from bot.services.collections import (
    CollectionsError,
    OfferNotFound,
    accept_offer,
    approved_awaiting_consent,
    refuse_offer,
)

log = logging.getLogger(__name__)

# The pending request that brings the cardholder back here after the identity check
# (actions/identity.py COLLECTIONS_START).
INTENT = "approved_offer"
START = "action_approved_offer_start"
FORM_SLOTS = ("ao_offer_id", "ao_answer", "ao_stop")
RESET = [SlotSet(name, None) for name in FORM_SLOTS]
NOT_STARTED: list[EventType] = [*RESET, FollowupAction("action_listen")]


# What a click on the "I agree" button sends (SMS and voice map "1" to it too).
def _buttons(domain: dict[str, Any], ctx: Context) -> list[dict[str, str]]:
    return [
        {"title": render(domain, "utter_col_i_agree", ctx.language), "payload": AGREE_PAYLOAD},
        {"title": render(domain, "utter_col_no_thanks", ctx.language), "payload": "/deny"},
    ]


def _description(offer: Offer, ctx: Context) -> str:
    return describe_offer(offer.kind, offer.terms, ctx.currency, ctx.language)


async def _offer_on_the_table(session: AsyncSession, ctx: Context, offer_id: Any) -> Offer | None:
    """The offer being put to the cardholder, while it is still approved and theirs."""
    if offer_id is None:
        return None
    offer = await session.get(Offer, int(offer_id))
    if offer is None or offer.account_id != ctx.account_id:
        return None
    return offer if offer.status is OfferStatus.APPROVED else None


class ActionHandback(Action):
    """Welcome back; then the approved offer (identity first), or "anything else?"."""

    def name(self) -> str:
        return "action_handback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_handback_welcome")
        try:
            async with deps.transaction() as session:
                offer = await approved_awaiting_consent(session, tracker.sender_id)
                ctx = await verified_context(session, tracker) if offer is not None else None
        except SQLAlchemyError:
            log.exception("handback_lookup_failed", extra={"sender": tracker.sender_id})
            dispatcher.utter_message(response="utter_handback_anything_else")
            return list(RESET)
        log.info(
            "handback",
            extra={
                "sender": tracker.sender_id,
                "approved_offer_id": offer.id if offer is not None else None,
                "verified": ctx is not None,
            },
        )
        if offer is None:
            dispatcher.utter_message(response="utter_handback_anything_else")
            return list(RESET)
        if ctx is not None:
            return [*RESET, FollowupAction(START)]
        if tracker.get_slot("identity_locked"):
            # Self-service is paused for this conversation: the check cannot run again.
            dispatcher.utter_message(response="utter_handback_anything_else")
            return list(RESET)
        return [*RESET, *identity_first(INTENT)]


class ActionApprovedOfferStart(Action):
    """Check the identity and the offer again, then let the form put it to the cardholder."""

    def name(self) -> str:
        return START

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first(INTENT)]
                offer = await approved_awaiting_consent(session, tracker.sender_id)
        except SQLAlchemyError:
            log.exception("approved_offer_start_failed", extra={"sender": tracker.sender_id})
            dispatcher.utter_message(response="utter_account_unavailable")
            return list(NOT_STARTED)
        if offer is not None and offer.account_id != ctx.account_id:
            # Verified as someone else: that account's offer is not theirs to see.
            log.warning(
                "approved_offer_other_account",
                extra={"sender": tracker.sender_id, "offer_id": offer.id},
            )
            offer = None
        if offer is None:
            dispatcher.utter_message(response="utter_handback_anything_else")
            return list(NOT_STARTED)
        return [*RESET, SlotSet("ao_offer_id", offer.id)]


class ValidateApprovedOfferForm(StoppableForm):
    """An explicit "I agree" (or the button), a no, or ask again; escalations end the form."""

    stop_slot = "ao_stop"

    def name(self) -> str:
        return "validate_approved_offer_form"

    async def validate_ao_answer(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        if escalation_in(tracker) is not None:
            await escalate_if_needed(dispatcher, tracker)
            return {"ao_answer": None, "ao_stop": "handoff"}
        intent = latest_intent(tracker)
        if intent is not None and intent.startswith("EXTERNAL_"):
            return {"ao_answer": None}  # the hand-back itself, not an answer yet
        if intent == "goodbye":
            return {"ao_answer": None, "ao_stop": "cancelled"}
        text = latest_text(tracker)
        consent = is_consent(text) or picked_agree(text)
        if consent:
            return {"ao_answer": "yes"}
        if value == "no" or intent == "deny":
            return {"ao_answer": "no"}
        # A bare "yes" / "ok" is not consent to an agreement; nor is anything else.
        dispatcher.utter_message(response="utter_ao_answer_unclear")
        return {"ao_answer": None}


class ActionAskAoAnswer(Action):
    """The approved offer, in plain words, with "I agree" / "No thanks"."""

    def name(self) -> str:
        return "action_ask_ao_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [SlotSet("ao_stop", "unverified")]
            offer = await _offer_on_the_table(session, ctx, tracker.get_slot("ao_offer_id"))
        if offer is None:  # withdrawn or decided meanwhile
            return [SlotSet("ao_stop", "gone")]
        dispatcher.utter_message(
            response="utter_ao_offer",
            description=_description(offer, ctx),
            buttons=_buttons(domain, ctx),
        )
        return []


def consent_record(tracker: Tracker, offer: Offer, ctx: Context, domain: dict[str, Any]) -> str:
    """What was shown and what the cardholder answered, as the agreement keeps it."""
    shown = render(domain, "utter_ao_offer", ctx.language, description=_description(offer, ctx))
    return f"{shown}\n> {consent_words(latest_text(tracker), domain, ctx.language)}"


class ActionApprovedOfferSubmit(Action):
    """Record the agreement on consent, refuse the offer on a no, then reset."""

    def name(self) -> str:
        return "action_approved_offer_submit"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        stop = tracker.get_slot("ao_stop")
        if stop == "unverified":
            return [*RESET, *identity_first(INTENT)]
        if stop == "handoff":
            return list(RESET)  # the escalation reply was already sent
        offer_id = tracker.get_slot("ao_offer_id")
        answer = tracker.get_slot("ao_answer")
        if stop == "gone" or offer_id is None:
            dispatcher.utter_message(response="utter_handback_anything_else")
            return list(RESET)
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return [*RESET, *identity_first(INTENT)]
                if stop is None and answer == "yes":
                    await self._agree(session, dispatcher, tracker, ctx, domain, int(offer_id))
                    return list(RESET)
                if stop is None and answer == "no":
                    await refuse_offer(session, account_id=ctx.account_id, offer_id=int(offer_id))
                    log.info("approved_offer_refused", extra={"offer_id": int(offer_id)})
                # A goodbye leaves the approved offer open: a colleague can follow it up.
                dispatcher.utter_message(response="utter_ao_declined")
        except (AccountNotFound, CollectionsError, SQLAlchemyError):
            log.exception("approved_offer_submit_failed", extra={"offer_id": offer_id})
            dispatcher.utter_message(response="utter_col_failed")
        return list(RESET)

    async def _agree(
        self,
        session: AsyncSession,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        ctx: Context,
        domain: dict[str, Any],
        offer_id: int,
    ) -> None:
        offer = await session.get(Offer, offer_id)
        if offer is None or offer.account_id != ctx.account_id:
            raise OfferNotFound(offer_id)
        recorded = await accept_offer(
            session,
            account_id=ctx.account_id,
            offer_id=offer_id,
            decision=None,  # a person with the authority approved it
            consent_text=consent_record(tracker, offer, ctx, domain),
            conversation_id=tracker.sender_id,
        )
        log.info(
            "approved_offer_agreed",
            extra={
                "offer_id": offer_id,
                "agreement_id": recorded.agreement.id,
                "new_agreement": recorded.created,
            },
        )
        if not recorded.created:  # a repeated "I agree": the agreement already exists
            dispatcher.utter_message(
                response="utter_hs_already_agreed", reference=recorded.agreement.id
            )
            return
        dispatcher.utter_message(
            response="utter_ao_agreed",
            reference=recorded.agreement.id,
            date=ctx.day(ctx.today),
            description=_description(offer, ctx),
        )
