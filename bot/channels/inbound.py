"""What an SMS or a phone turn is reduced to before it is stored.

RULES.md: a full card number is never stored in transcripts or the tracker,
and the inbox is a transcript. Someone who types or keys one anyway (asked
for the last four digits, or trying to pay) has it masked down to its last
four before it is saved, which is also all the identity check needs. A
security code (CVV / CVC / 安全码) is never needed at all: three or four digits
given with such a word, or after a card number, are masked completely.
"""

from __future__ import annotations

import re
import unicodedata

from bot.domain.parsing import looks_like_card_number

MAX_TEXT_CHARS = 2000  # as on the web chat API
SMS_PREFIX = "sms:"
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ \-][0-9]+)*")
MASK = "•••• "
CODE_MASK = "•••"
# Words that say the digits beside them are a card's security code, or a one-time
# code sent to the phone (验证码); checked case-insensitively after NFKC.
_CODE_WORDS = (
    r"cvv2?|cvc2?|cid|csc|security\s*code|card\s*verification(?:\s*(?:value|code))?"
    r"|verification\s*code|one[\s-]*time\s*(?:pass)?code|otp"
    r"|安全码|校验码|验证码|卡背面?(?:的)?(?:后)?三位|背面(?:的)?(?:后)?三位|末三位|后三位"
)
_CODE = r"(?<![0-9/.,:])[0-9]{3,4}(?![0-9/.,:])"
# The gap between word and digits stays within a sentence ("cvv: 123", "安全码是123",
# "123 is my CVC"), so "I can pay 600. What is a CVV?" keeps its amount.
_CODE_AFTER_WORD = re.compile(
    rf"(?P<word>{_CODE_WORDS})(?P<gap>[^0-9.!?;。！？；\n]{{0,20}}?)(?P<code>{_CODE})",
    re.IGNORECASE,
)
_CODE_BEFORE_WORD = re.compile(
    rf"(?P<code>{_CODE})(?P<gap>[^0-9,.!?;，。！？；\n]{{0,8}}?)(?P<word>{_CODE_WORDS})",
    re.IGNORECASE,
)
_CODE_AFTER_CARD = re.compile(_CODE)


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


def mask_security_codes(text: str) -> str:
    """Three or four digits given as a security code (or after a card number) masked.

    Only with context: the identity check asks for the card's last four
    digits, and those must pass. So the digits are masked when a security-code
    word stands right before or after them ("cvv 123", "123 is the CVC",
    "安全码是123"), or when they follow a full card number in the same message
    (already masked by `mask_card_numbers`: "•••• 1111 12/27 123"), where a
    date such as 12/27 is left alone.
    """
    normal = unicodedata.normalize("NFKC", text)  # full-width digits, as the rest reads them
    if not (MASK in normal or _CODE_AFTER_WORD.search(normal) or _CODE_BEFORE_WORD.search(normal)):
        return text  # the usual case: left exactly as written
    text = normal
    text = _CODE_AFTER_WORD.sub(lambda m: m["word"] + m["gap"] + CODE_MASK, text)
    text = _CODE_BEFORE_WORD.sub(lambda m: CODE_MASK + m["gap"] + m["word"], text)
    card = text.rfind(MASK)
    if card >= 0:
        tail_start = card + len(MASK) + 4  # the last four digits the card mask kept
        text = text[:tail_start] + _CODE_AFTER_CARD.sub(CODE_MASK, text[tail_start:])
    return text


def mask_sensitive(text: str) -> str:
    """Card numbers down to their last four, security codes entirely: before anything stores it."""
    return mask_security_codes(mask_card_numbers(text))
