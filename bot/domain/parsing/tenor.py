"""Installment tenors (number of monthly payments) in what cardholders say.

"12 months", "a year", "18期", "分六期", "一年半" all name a plan length in
months. Only the number is read here; whether the policy offers that tenor
(3, 6, 12, 24 for conversions, at most 60 for any plan) is decided by the
offer code, which can then say why. Values outside 1-120 months are refused
as not a tenor at all. `第12期` (the 12th instalment), `12月` (December) and
a rate "per year" are not tenors; two different tenors in one message
("6 or 12 months") are None.
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.domain.parsing.numbers import (
    CN_NUMERAL_CHARS,
    english_number_runs,
    normalize,
    parse_cn_normalized,
    parse_english_number,
    too_long,
)

MAX_TENOR_MONTHS = 120
_CN = CN_NUMERAL_CHARS.replace("点", "")
_CN_LEAD = _CN.replace("零", "").replace("〇", "")

_YEAR_AND_HALF = re.compile(r"\b(?:an?\s+)?year\s+and\s+a\s+half\b|\bhalf\s+(?:a\s+)?year\b")
_EN = re.compile(
    r"(?<![0-9.])(?P<n>[0-9]+(?:\.[0-9]+)?|\ban?)(?P<half>\s+and\s+a\s+half)?\s*-?\s*"
    r"(?P<unit>(?:monthly\s+)?(?:installments?|instalments?|payments?)|months?|mos?|mths?|mnths?"
    r"|years?|yrs?)\b(?P<half_after>\s+and\s+a\s+half\b)?"
)
_CN_TENOR = re.compile(
    rf"(?<![第{_CN_LEAD}0-9.])(?P<n>[0-9]+(?:\.[0-9]+)?|[{_CN_LEAD}][{_CN}]*)\s*"
    r"(?P<unit>个月|期|年半|年)"
)
_RANGE = re.compile(
    rf"(?<![0-9.{_CN}])(?:[0-9]+(?:\.[0-9]+)?|[{_CN}]+)\s*(?:or|to|-|~|/|或者|或|到|至|还是)\s*"
    rf"(?:[0-9]+(?:\.[0-9]+)?|[{_CN}]+)\s*-?\s*(?:months?|mos?\b|mths?|years?|yrs?|installments?"
    r"|instalments?|payments?|个月|期|年)"
)
_CN_HALF_YEAR = re.compile(rf"(?<![{_CN}0-9])半年")
_RATE_BEFORE = re.compile(r"(?:\bper|\beach|\bevery|\bonce|\btwice|\btimes|[0-9%$])\s*$")
_JOIN = re.compile(r"\s*(?:and|,|零)?\s*")


_Found = tuple[int, int, Decimal, bool]  # start, end, months, stated in years


class _Unreliable(Exception):
    """A tenor-like phrase that cannot be read safely."""


def parse_tenor(text: str) -> int | None:
    """The installment plan length a message names, in months.

    Returns:
        The number of months (1-120), or None when there is none, more than
        one, or the number is not a whole number of months ("1.3 years").
    """
    if too_long(text):
        return None
    try:
        mentions = _mentions(_words_to_digits(normalize(text)))
    except _Unreliable:
        return None
    values = {months for _, _, months, _ in mentions}
    return values.pop() if len(values) == 1 else None


def _words_to_digits(s: str) -> str:
    """Spell numbers as digits ("twelve months" -> "12 months") for one pattern."""
    for start, end, words in reversed(english_number_runs(s)):
        value = parse_english_number(words)
        if value is not None:
            s = f"{s[:start]}{value}{s[end:]}"
    return s


def _mentions(s: str) -> list[tuple[int, int, int, bool]]:
    """(start, end, months, is_years) for each tenor phrase, years+months joined."""
    if _RANGE.search(s):
        raise _Unreliable  # "6 or 12 months", "12到24期"
    found: list[tuple[int, int, Decimal, bool]] = []
    for m in _YEAR_AND_HALF.finditer(s):
        found.append((m.start(), m.end(), Decimal(18 if "and" in m.group() else 6), False))
    s = _YEAR_AND_HALF.sub(lambda m: "\x00" * len(m.group()), s)
    for m in _CN_HALF_YEAR.finditer(s):
        found.append((m.start(), m.end(), Decimal(6), False))
    for m in _EN.finditer(s):
        mention = _english(s, m)
        if mention is not None:
            found.append(mention)
    for m in _CN_TENOR.finditer(s):
        mention = _chinese(m)
        if mention is not None:
            found.append(mention)
    found.sort()
    joined: list[tuple[int, int, Decimal, bool]] = []
    for mention in found:
        if joined and _joins(s, joined[-1], mention):
            prev = joined.pop()
            mention = (prev[0], mention[1], prev[2] + mention[2], False)
        joined.append(mention)
    out: list[tuple[int, int, int, bool]] = []
    for start, end, months, years in joined:
        if months != months.to_integral_value() or not 1 <= months <= MAX_TENOR_MONTHS:
            raise _Unreliable
        out.append((start, end, int(months), years))
    return out


def _joins(s: str, prev: _Found, cur: _Found) -> bool:
    """Whether years then months ("1 year 6 months", "一年零六个月") are one tenor."""
    return prev[3] and not cur[3] and _JOIN.fullmatch(s, prev[1], cur[0]) is not None


def _english(s: str, m: re.Match[str]) -> tuple[int, int, Decimal, bool] | None:
    unit = m["unit"]
    years = unit.startswith("y")
    if m["n"] in ("a", "an"):
        if not years or _RATE_BEFORE.search(s, max(0, m.start() - 12), m.start()):
            return None  # "make a payment", "5% a year"
        count = Decimal(1)
    else:
        count = Decimal(m["n"])
    if m["half"] or m["half_after"]:
        count += Decimal("0.5")
    return m.start(), m.end(), count * (12 if years else 1), years


def _chinese(m: re.Match[str]) -> tuple[int, int, Decimal, bool] | None:
    count = parse_cn_normalized(m["n"])
    if count is None:
        raise _Unreliable  # "两三年"
    unit = m["unit"]
    if unit.startswith("年"):
        if count >= 1000:
            return None  # a calendar year: "2026年"
        if unit == "年半":
            count += Decimal("0.5")
        return m.start(), m.end(), count * 12, True
    return m.start(), m.end(), count, False
