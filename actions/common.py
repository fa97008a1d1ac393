"""Small helpers every action family uses to read the tracker."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Tracker

from bot.domain.enums import Language


def language_of(tracker: Tracker) -> Language:
    """The conversation's language (the gateway keeps the slot current)."""
    return Language.ZH if tracker.get_slot("language") == "zh" else Language.EN


def session_started_at(tracker: Tracker) -> datetime:
    """When the current dialogue session began (verification expires with it)."""
    events: list[dict[str, Any]] = tracker.events
    for event in reversed(events):
        if event.get("event") == "session_started" and event.get("timestamp") is not None:
            return datetime.fromtimestamp(float(event["timestamp"]), tz=timezone.utc)
    return datetime.fromtimestamp(0, tz=timezone.utc)


def latest_intent(tracker: Tracker) -> str | None:
    intent = tracker.latest_message.get("intent") or {}
    name = intent.get("name")
    return str(name) if name else None
