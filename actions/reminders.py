"""The reminder a reply answers, noted in the conversation (sent by the gateway)."""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)


class ActionNoteReminder(Action):
    """Say nothing: the slots are already set from the intent's entities.

    The cardholder's own message follows at once and is answered as usual;
    actions that care (and agents reading the transcript) find the reminder
    in `reminder_kind` / `reminder_due_on`.
    """

    def name(self) -> str:
        return "action_note_reminder"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        log.info(
            "reminder_context",
            extra={"kind": tracker.get_slot("reminder_kind"), "sender": tracker.sender_id},
        )
        return []
