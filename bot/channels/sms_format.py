"""Fitting the bot's replies into text messages.

A text message is billed and delivered in segments: 160 GSM-7 characters
(153 each when concatenated) or 70 UCS-2 code units (67 each) as soon as one
character is outside GSM-7, which every Chinese reply and every emoji forces.
Replies are therefore cut into a few messages of at most `MAX_SEGMENTS`
segments, at paragraph and sentence boundaries where possible, and English
typography (curly quotes, dashes) is straightened when that alone keeps a
message in GSM-7. Buttons become numbered options the person answers with
the number (`bot.channels.buttons` maps it back).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Sequence

from bot.domain.enums import Language

MAX_SEGMENTS = 3  # per message: 459 GSM-7 characters, 201 UCS-2 units
MAX_MESSAGES = 4  # per reply; anything longer is cut with an ellipsis
ELLIPSIS = "…"

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")  # two septets each
_STRAIGHTEN = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2026": "...",
        "\u00a0": " ",
        "\u2022": "-",
    }
)
# Where a message may be cut, best first: after a paragraph, after a
# sentence, after a clause or a word.
_SENTENCE_BREAK = re.compile(r"\n+|[.!?;]+[\"')\]]*\s+|[。！？；]+[”」』）]*\s*")
_WORD_BREAK = re.compile(r"[,，、:：]\s*|\s+")
_OPTIONS_HINT = {Language.EN: "Reply with a number:", Language.ZH: "请回复数字选择："}


def is_gsm(text: str) -> bool:
    """Whether the text can go as GSM-7 (160 characters a segment)."""
    return all(char in _GSM_BASIC or char in _GSM_EXTENDED for char in text)


def segment_count(text: str) -> int:
    """How many SMS segments the text is billed as (0 for an empty text)."""
    if not text:
        return 0
    if is_gsm(text):
        septets = sum(2 if char in _GSM_EXTENDED else 1 for char in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def gsm_friendly(text: str) -> str:
    """Straighten typography when that makes the whole text GSM-7."""
    straightened = text.translate(_STRAIGHTEN)
    return straightened if is_gsm(straightened) else text


def clean(text: str) -> str:
    """Control characters out (they also break TwiML), blank lines collapsed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cs"))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def render_reply(texts: Sequence[str], options: Sequence[str], language: Language) -> str:
    """One turn's messages and numbered options as a single text."""
    parts = [cleaned for text in texts if (cleaned := clean(text))]
    if options:
        lines = [f"{number}) {clean(title)}" for number, title in enumerate(options, start=1)]
        parts.append("\n".join([_OPTIONS_HINT[language], *lines]))
    return "\n".join(parts)


def _pieces(text: str, breaks: re.Pattern[str]) -> list[str]:
    pieces, start = [], 0
    for match in breaks.finditer(text):
        if match.end() > start:
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _longest_prefix(text: str, fits: Callable[[str], bool]) -> int:
    low, high = 1, len(text)  # a single character always fits
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    return low


def _pack(text: str, fits: Callable[[str], bool]) -> list[str]:
    """Greedy: as many whole sentences per message as fit, then words, then characters."""
    messages: list[str] = []
    current = ""
    for sentence in _pieces(text, _SENTENCE_BREAK):
        if fits((current + sentence).strip()):
            current += sentence
            continue
        if current.strip():
            messages.append(current.strip())
        current = ""
        for word in [sentence] if fits(sentence.strip()) else _pieces(sentence, _WORD_BREAK):
            while word and not fits(word.strip()):  # one word longer than a message
                cut = _longest_prefix(word, fits)
                if current.strip():
                    messages.append(current.strip())
                    current = ""
                messages.append(word[:cut].strip())
                word = word[cut:]
            if fits((current + word).strip()):
                current += word
            else:
                if current.strip():
                    messages.append(current.strip())
                current = word
    if current.strip():
        messages.append(current.strip())
    return [message for message in messages if message]


def split_sms(
    text: str, *, max_segments: int = MAX_SEGMENTS, max_messages: int = MAX_MESSAGES
) -> list[str]:
    """The text as at most `max_messages` messages of at most `max_segments` segments."""
    text = gsm_friendly(clean(text))
    if not text:
        return []

    def fits(candidate: str) -> bool:
        return segment_count(candidate) <= max_segments

    if fits(text):
        return [text]
    messages = [gsm_friendly(message) for message in _pack(text, fits)]
    if len(messages) > max_messages:
        messages = messages[:max_messages]
        last = messages[-1]
        while last and not fits(last + ELLIPSIS):
            last = last[:-1]
        messages[-1] = last.rstrip() + ELLIPSIS
    return messages
