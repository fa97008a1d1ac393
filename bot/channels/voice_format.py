"""The bot's replies written for the ear.

What reads well on a screen does not survive text-to-speech: links are read
out character by character (and a payment link must never be taken down by
ear anyway, RULES.md: it goes out by SMS), emoji are read as their names,
and buttons need to become a keypad menu. Everything here is pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from bot.channels import texts
from bot.domain.enums import Language

MAX_SAY_CHARS = 4000  # Twilio's <Say> takes up to 4,096 characters

GATHER_LANGUAGE = {Language.EN: "en-US", Language.ZH: "zh-CN"}
SAY_LANGUAGE = {Language.EN: "en-US", Language.ZH: "cmn-CN"}

# A link as the bot writes it. Only URL characters: Chinese text runs on
# without spaces, so "…还款：https://x/pay/t（30分钟内有效）" must stop at "（".
_URL = re.compile(
    r"\s*[:：]?\s*(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'*+,;=%]+"
    r"(?<![.,;:!?'])"
)
_EMOJI_EXTRAS = frozenset("\u200d\ufe0e\ufe0f\u20e3")
_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_SENTENCE_END = ("。", "！", "？", ".", "!", "?", "：", ":", "；", ";", "…")


@dataclass(frozen=True)
class Spoken:
    """Text ready for `<Say>`, and the links taken out of it (to send by SMS)."""

    text: str
    links: tuple[str, ...] = ()


def links_in(text: str) -> list[str]:
    return [match.group().strip().lstrip(":：").strip() for match in _URL.finditer(text)]


def _without_emoji(text: str) -> str:
    return "".join(
        char
        for char in text
        if char == "\n"
        or (
            unicodedata.category(char) not in ("So", "Cs", "Co", "Cn", "Cc")
            and char not in _EMOJI_EXTRAS
            and ord(char) not in _SKIN_TONES
            and ord(char) not in _TAGS
        )
    )


def _tidy(text: str, language: Language) -> str:
    """Lines become sentences; markdown marks and doubled spaces go."""
    text = text.replace("*", "").replace("`", "")
    sentences = []
    for raw in text.split("\n"):
        line = re.sub(r"[ \t]+", " ", raw).strip()
        line = re.sub(r"\(\s*\)|（\s*）", "", line).strip()
        line = re.sub(r"\s+([,.;:!?])", r"\1", line)
        if not line:
            continue
        if not line.endswith(_SENTENCE_END):
            line += "。" if language is Language.ZH else "."
        sentences.append(line)
    return ("" if language is Language.ZH else " ").join(sentences)


def speakable(text: str, language: Language) -> Spoken:
    """One message without links or emoji, punctuated for speech."""
    links = tuple(links_in(text))
    return Spoken(_tidy(_without_emoji(_URL.sub("", text)), language), links)


def menu(options: Sequence[str], language: Language) -> str:
    """Buttons as a keypad menu: "Press 1 for Yes." / "是，请按1。"."""
    spoken = []
    for number, title in enumerate(options, start=1):
        clean_title = _tidy(_without_emoji(title), language).rstrip("。.")
        if clean_title:
            spoken.append(
                texts.say(texts.VOICE_PRESS, language, number=str(number), title=clean_title)
            )
    return ("" if language is Language.ZH else " ").join(spoken)


def spoken_reply(messages: Sequence[str], options: Sequence[str], language: Language) -> Spoken:
    """A turn's messages and buttons as one thing to say, and its links."""
    parts = [speakable(message, language) for message in messages]
    links = tuple(link for part in parts for link in part.links)
    joiner = "" if language is Language.ZH else " "
    body = joiner.join(part.text for part in parts if part.text)
    if options:
        body = joiner.join(piece for piece in (body, menu(options, language)) if piece)
    return Spoken(clip(body), links)


def clip(text: str, limit: int = MAX_SAY_CHARS) -> str:
    """Keep a long text within what `<Say>` accepts, cut at a sentence."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in _SENTENCE_END)
    return cut[: end + 1] if end > limit // 2 else cut


_KEYED_DATE = re.compile(r"^(0[1-9]|1[0-2])([0-3][0-9])((?:19|20)[0-9]{2})$")


def keyed_digits_as_text(digits: str) -> str:
    """Eight keyed digits that read as month, day, year ("04121988") as "04/12/1988".

    Callers key a date of birth the way they write it; on its own "04121988"
    could be 4 December too, so the identity parser would refuse it. A
    keypad date in the US order gets the slashes that make it a US date; a
    year-first one ("19880412") is already unambiguous and is left alone, as
    is every other run of digits (last 4, amounts).
    """
    match = _KEYED_DATE.match(digits)
    return f"{match[1]}/{match[2]}/{match[3]}" if match else digits
