"""The identity form: collect, parse and check phone, date of birth and last 4.

Values are parsed in code (bot.domain.parsing), checked by the identity
service, and cleared from the tracker once used, so a date of birth does not
linger in dialogue state.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import deps
from actions.account import answer_account_question
from actions.common import latest_intent, session_started_at
from bot.channels.inbound import MASK
from bot.db.models import Conversation
from bot.domain.enums import Channel, Language
from bot.domain.parsing import (
    looks_like_card_number,
    parse_birth_date,
    parse_card_last4,
    parse_phone,
)
from bot.services.accounts import account_summary
from bot.services.identity import verify_identity

CLEARED = {"id_phone": None, "id_dob": None, "id_last4": None}
# Collections requests made before verification resume in their own flow
# ("approved_offer": an offer a person approved, after a hand-back; actions/handback.py).
COLLECTIONS_START = {
    "promise_to_pay": "action_promise_start",
    "report_hardship": "action_hardship_start",
    "request_settlement": "action_settlement_start",
    "request_fee_waiver": "action_fee_waiver",
    "approved_offer": "action_approved_offer_start",
}


async def _caller_phone(conversation_id: str) -> str | None:
    """The verified transport address (SMS/voice caller id), if the channel has one."""
    async with deps.transaction() as session:
        conversation = await session.get(Conversation, conversation_id)
        if conversation and conversation.channel in (Channel.SMS, Channel.VOICE):
            return conversation.address
    return None


def _pasted_card_number(text: str, dispatcher: CollectingDispatcher) -> bool:
    """Warn (once, without echoing it) if the answer contains a full card number."""
    if looks_like_card_number(text) or MASK in text:  # the gateway masks what it sees
        dispatcher.utter_message(response="utter_identity_full_card_warning")
        return True
    return False


class ActionRememberRequest(Action):
    """Keep the question asked before verification, to answer it right after."""

    def name(self) -> str:
        return "action_remember_request"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        return [SlotSet("pending_request", latest_intent(tracker))]


class ValidateIdentityForm(FormValidationAction):
    def name(self) -> str:
        return "validate_identity_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot("verified") or tracker.get_slot("identity_locked"):
            return []
        if await _caller_phone(tracker.sender_id):
            return [slot for slot in domain_slots if slot != "id_phone"]
        return domain_slots

    async def validate_id_phone(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = str(value or "")
        if _pasted_card_number(text, dispatcher):
            return {"id_phone": None}
        region: Literal["US", "CN"] = (
            "CN" if tracker.get_slot("language") == Language.ZH.value else "US"
        )
        phone = parse_phone(text, default_region=region)
        if phone is None:
            dispatcher.utter_message(response="utter_identity_bad_phone")
        return {"id_phone": phone}

    async def validate_id_dob(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = str(value or "")
        if _pasted_card_number(text, dispatcher):
            return {"id_dob": None}
        born = parse_birth_date(text, date.today())
        if born is None:
            dispatcher.utter_message(response="utter_identity_bad_dob")
            return {"id_dob": None}
        return {"id_dob": born.isoformat()}

    async def validate_id_last4(
        self,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> dict[str, Any]:
        text = str(value or "")
        if _pasted_card_number(text, dispatcher):
            return {"id_last4": None}
        last4 = parse_card_last4(text)
        if last4 is None:
            dispatcher.utter_message(response="utter_identity_bad_last4")
            return {"id_last4": None}
        phone = await _caller_phone(tracker.sender_id) or tracker.get_slot("id_phone")
        dob_text = tracker.get_slot("id_dob")
        if not phone or not dob_text:
            return {"id_last4": last4}  # the form asks for what is missing
        async with deps.transaction() as session:
            result = await verify_identity(
                session,
                conversation_id=tracker.sender_id,
                phone_e164=phone,
                dob=date.fromisoformat(dob_text),
                last4=last4,
            )
        if result.verified:
            return {**CLEARED, "verified": True, "account_id": result.account_id}
        if result.locked:
            dispatcher.utter_message(response="utter_identity_locked")
            return {**CLEARED, "identity_locked": True}
        dispatcher.utter_message(
            response="utter_identity_mismatch", attempts_left=result.attempts_left
        )
        return dict(CLEARED)


class ActionIdentityDone(Action):
    """After the form: greet the verified person and answer what they asked."""

    def name(self) -> str:
        return "action_identity_done"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        account_id = tracker.get_slot("account_id")
        if not tracker.get_slot("verified") or account_id is None:
            return [SlotSet("pending_request", None)]
        async with deps.transaction() as session:
            summary = await account_summary(session, int(account_id))
        dispatcher.utter_message(response="utter_identity_verified", first_name=summary.first_name)
        pending = tracker.get_slot("pending_request")
        if pending == "installment_enquiry":
            return [SlotSet("pending_request", None), FollowupAction("action_installment_start")]
        if pending == "ask_installment_status":
            return [SlotSet("pending_request", None), FollowupAction("action_installment_status")]
        if pending in COLLECTIONS_START:
            return [SlotSet("pending_request", None), FollowupAction(COLLECTIONS_START[pending])]
        if pending:
            await answer_account_question(
                dispatcher,
                tracker,
                intent=str(pending),
                account_id=int(account_id),
                since=session_started_at(tracker),
            )
        return [SlotSet("pending_request", None)]
