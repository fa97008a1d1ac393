"""Small helpers every action family uses to read the tracker."""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any, ClassVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

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


class StoppableForm(FormValidationAction, abc.ABC):
    """A form that ends at once when its `stop_slot` is set.

    The validators set the stop slot (an escalation, a cancel, a hand-over)
    and the form then asks for nothing more; the submit action reads why.
    Abstract, so the action server registers only the concrete forms.
    """

    stop_slot: ClassVar[str]

    @abc.abstractmethod
    def name(self) -> str:
        """The validation action's name (`validate_<form>`)."""

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: dict[str, Any],
    ) -> list[str]:
        if tracker.get_slot(self.stop_slot):
            return []
        return domain_slots


@asynccontextmanager
async def said_on_commit(dispatcher: CollectingDispatcher) -> AsyncIterator[CollectingDispatcher]:
    """A dispatcher whose messages reach `dispatcher` only if the block completes.

    Entered before `deps.transaction()`, it is left after the commit: a reply
    saying something was recorded is never sent when the commit then failed
    (the caller says `utter_col_failed` instead).
    """
    pending = CollectingDispatcher()
    yield pending
    dispatcher.messages.extend(pending.messages)
