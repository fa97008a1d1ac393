"""Answering a button on a channel without buttons.

SMS shows buttons as numbered options and the phone menu says "press 1 for
…"; the person answers "1" (typed or keyed) or says the option's title. The
answer is mapped back to the button's payload before the dialogue sees it,
so Rasa gets exactly what a tap on the web page would have sent.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple


class Option(NamedTuple):
    title: str
    payload: str


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] not in "ZPSC")


def options_from(rows: Sequence[Sequence[Mapping[str, Any]]]) -> list[Option]:
    """The options of one turn, numbered across all its messages in order.

    Rows come from the outbox's JSON column; anything but string titles and
    payloads is skipped.
    """
    options = []
    for buttons in rows:
        for button in buttons:
            title, payload = button.get("title"), button.get("payload")
            if isinstance(title, str) and isinstance(payload, str):
                options.append(Option(title, payload))
    return options


def answer_to_payload(answer: str, options: Sequence[Option]) -> str | None:
    """The payload the answer picks, or None when it is not a pick.

    A number (ASCII or full-width, surrounding spaces and punctuation
    ignored) picks the option with that number; otherwise the answer must be
    an option's title exactly (case and punctuation aside).
    """
    if not options:
        return None
    folded = _fold(answer)
    if not folded:
        return None
    if folded.isdecimal() and len(folded) <= 2:
        number = int(folded)
        return options[number - 1].payload if 1 <= number <= len(options) else None
    for option in options:
        if _fold(option.title) == folded:
            return option.payload
    return None
