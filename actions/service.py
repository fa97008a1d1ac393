"""Opt-outs and requests for a person."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import deps
from actions.common import language_of, latest_intent
from bot.db.models import Account, Conversation
from bot.domain.enums import Channel, ConsentStatus, Language
from bot.domain.optout import channels_to_opt_out
from bot.services.consent import cardholder_id_for_phone, set_consent
from bot.services.conversations import PRIORITY_ELEVATED, PRIORITY_NORMAL, request_handoff

CHANNEL_NAMES = {
    Language.EN: {Channel.SMS: "text messages", Channel.VOICE: "calls", Channel.WEB: "messages"},
    Language.ZH: {Channel.SMS: "短信", Channel.VOICE: "电话", Channel.WEB: "消息"},
}
# Why a conversation goes to a person, by the intent that sent it there.
# Intents the bot does not automate yet are handed over honestly, not guessed at.
HANDOFF_REASONS = {
    "request_human": ("customer_request", PRIORITY_NORMAL),
    "dispute": ("dispute", PRIORITY_ELEVATED),
}


class ActionOptOut(Action):
    def name(self) -> str:
        return "action_opt_out"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        text = str(tracker.latest_message.get("text") or "")
        async with deps.transaction() as session:
            conversation = await session.get(Conversation, tracker.sender_id)
            channel = conversation.channel if conversation else Channel.WEB
            cardholder_id: int | None = None
            account_id = tracker.get_slot("account_id")
            if tracker.get_slot("verified") and account_id is not None:
                account = await session.get(Account, int(account_id))
                cardholder_id = account.cardholder_id if account else None
            elif conversation and conversation.address and channel is not Channel.WEB:
                cardholder_id = await cardholder_id_for_phone(session, conversation.address)
            if cardholder_id is None:
                dispatcher.utter_message(response="utter_opt_out_needs_identity")
                return []
            channels = channels_to_opt_out(text, channel)
            for target in channels:
                await set_consent(
                    session,
                    cardholder_id=cardholder_id,
                    channel=target,
                    status=ConsentStatus.OPTED_OUT,
                    source=f"dialogue:{channel.value}",
                )
        separator = "和" if language is Language.ZH else " and "
        names = separator.join(CHANNEL_NAMES[language][c] for c in channels)
        dispatcher.utter_message(response="utter_opt_out_done", channel_name=names)
        return []


class ActionRequestHuman(Action):
    """Queue the conversation for a person, with the reason, and say so."""

    def name(self) -> str:
        return "action_request_human"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = latest_intent(tracker) or "request_human"
        reason, priority = HANDOFF_REASONS.get(intent, (intent, PRIORITY_NORMAL))
        async with deps.transaction() as session:
            await request_handoff(session, tracker.sender_id, reason=reason, priority=priority)
        dispatcher.utter_message(response="utter_handoff")
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
