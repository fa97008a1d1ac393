"""Session start: what survives into a new session, and what does not.

Only the language carries over. Verification, the account and any pending
question do not: identity checks expire with the session (CONTRACT.md §4).
The gateway sends each message's language in its metadata; the message that
starts a session sets the slot from it, and the reminder it answers, if any.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import deps

CARRIED_OVER = ("language",)
LANGUAGES = ("en", "zh")


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        settings = deps.current().settings
        events: list[EventType] = [SessionStarted()]
        for slot in CARRIED_OVER:
            value = tracker.get_slot(slot)
            if value is not None:
                events.append(SlotSet(slot, value))
        metadata = tracker.get_slot("session_started_metadata") or {}
        if metadata.get("language") in LANGUAGES:
            events.append(SlotSet("language", metadata["language"]))
        reminder = metadata.get("reminder")
        if isinstance(reminder, dict):  # a reply to a reminder opens the conversation
            events.append(SlotSet("reminder_kind", reminder.get("reminder_kind")))
            events.append(SlotSet("reminder_due_on", reminder.get("reminder_due_on")))
        events.append(SlotSet("bank_name_en", settings.bank_name_en))
        events.append(SlotSet("bank_name_zh", settings.bank_name_zh))
        events.append(ActionExecuted("action_listen"))
        return events
