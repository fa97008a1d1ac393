"""Disputes and the messages a person must take over: collection pauses, a person takes over.

A verified cardholder's dispute marks the account's `dispute_open` (so no
collection contact goes out while it is checked) and queues the
conversation with the reason. A message about bankruptcy, a lawyer, a death,
a complaint or distress does the same with its own flag and priority;
distress gets a caring reply with a crisis line first.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import deps
from actions.collections_common import DISPUTE, escalation_in, hand_over
from actions.common import latest_intent
from actions.verified import verified_context
from bot.services.collections import flag_account
from bot.services.conversations import PRIORITY_ELEVATED


class ActionCollectionsEscalate(Action):
    """A dispute or an escalation signal: pause collection, hand over to a person."""

    def name(self) -> str:
        return "action_collections_escalate"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        category, priority = escalation_in(tracker) or (DISPUTE, PRIORITY_ELEVATED)
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            await hand_over(session, dispatcher, tracker, ctx, category, priority)
            if ctx is not None and category != DISPUTE and latest_intent(tracker) == DISPUTE:
                # "I'll complain to the regulator about this charge": a dispute as well.
                await flag_account(
                    session,
                    account_id=ctx.account_id,
                    category=DISPUTE,
                    conversation_id=tracker.sender_id,
                )
        return [ActiveLoop(None), SlotSet("requested_slot", None)]
