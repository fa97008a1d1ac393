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


def response_text(domain: dict[str, Any], name: str, language: Language) -> str:
    """One response's text in `language`, unfilled.

    Responses are written per language in the domain (a `language` slot
    condition for Chinese, the unconditioned variant for English); building a
    button title or part of a reply from them keeps every word a cardholder
    sees in the domain.

    Raises:
        KeyError: if the domain has no such response (a programming error).
    """
    variants: list[dict[str, Any]] = domain["responses"][name]

    def is_zh(variant: dict[str, Any]) -> bool:
        return any(
            c.get("name") == "language" and c.get("value") == Language.ZH.value
            for c in variant.get("condition") or []
        )

    wanted = [v for v in variants if is_zh(v) == (language is Language.ZH)]
    chosen = (wanted or [v for v in variants if not v.get("condition")] or variants)[0]
    return str(chosen["text"])


def render(domain: dict[str, Any], name: str, language: Language, **values: Any) -> str:
    """One response's text in `language`, filled in: for button titles and parts of a reply."""
    return response_text(domain, name, language).format(**values)


def request_text(tracker: Tracker, intent: str) -> str:
    """What the person said when they asked for `intent` in this session.

    A request made before the identity check is resumed after it, when the
    latest message is the last 4 digits; the details said with the request
    ("my $1,200 purchase over 6 months") are in the message that asked.
    """
    events: list[dict[str, Any]] = tracker.events
    for event in reversed(events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "user":
            asked = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
            if asked == intent:
                return str(event.get("text") or "")
    return str(tracker.latest_message.get("text") or "")
