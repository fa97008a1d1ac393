"""What an SMS or a phone turn is reduced to before it is stored.

RULES.md: a full card number is never stored in transcripts or the tracker,
and the inbox is a transcript. Someone who types or keys one anyway (asked
for the last four digits, or trying to pay) has it masked down to its last
four before it is saved, which is also all the identity check needs.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.parsing import looks_like_card_number

MAX_TEXT_CHARS = 2000  # as on the web chat API
SMS_PREFIX = "sms:"
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ \-][0-9]+)*")
MASK = "•••• "


def sms_conversation_id(phone: str) -> str:
    """The one conversation a phone number's texts belong to (replies to reminders too)."""
    return SMS_PREFIX + phone.lstrip("+")


def clean_text(text: str) -> str:
    """Line breaks unified, control characters and lone surrogates removed, trimmed."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(
        char for char in text if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cs")
    ).strip()


def mask_card_numbers(text: str) -> str:
    """Every probable full card number replaced by its last four digits."""
    if not looks_like_card_number(text):
        return text
    text = unicodedata.normalize("NFKC", text)  # full-width digits, as the check reads them

    def mask(match: re.Match[str]) -> str:
        run = match.group()
        if not looks_like_card_number(run):
            return run
        digits = re.sub(r"[^0-9]", "", run)
        return MASK + digits[-4:]

    return _DIGIT_RUN.sub(mask, text)
