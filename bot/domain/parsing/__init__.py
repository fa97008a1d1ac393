"""Normalisation of what cardholders type and say into exact values.

The dialogue model extracts rough entities ("two hundred", "下周五", "4 8 2 1");
these pure functions decide the real value, or return None when the text
holds no confident one, so the bot asks again instead of acting on a guess.
None of them raises on any string, and money is always `Decimal`.
"""

from bot.domain.parsing.amounts import MAX_AMOUNT, extract_amounts, parse_amount
from bot.domain.parsing.dates import parse_date
from bot.domain.parsing.identity import (
    looks_like_card_number,
    parse_birth_date,
    parse_card_last4,
    parse_phone,
)
from bot.domain.parsing.numbers import parse_chinese_number, parse_english_number
from bot.domain.parsing.tenor import MAX_TENOR_MONTHS, parse_tenor

__all__ = [
    "MAX_AMOUNT",
    "MAX_TENOR_MONTHS",
    "extract_amounts",
    "looks_like_card_number",
    "parse_amount",
    "parse_birth_date",
    "parse_card_last4",
    "parse_chinese_number",
    "parse_date",
    "parse_english_number",
    "parse_phone",
    "parse_tenor",
]
