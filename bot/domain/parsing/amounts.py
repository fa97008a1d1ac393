"""Money amounts in what cardholders type and say.

A promise to pay or a settlement offer turns on the amount, so the rules
here refuse rather than guess. A message often holds several numbers ("I'll
pay 200 on the 15th", "我下周五还两千"); the amount is chosen like this:

1. Numbers that belong to something else are set aside: dates (`15th`,
   `12/1`, `Dec 1`, `15号`, `周五`, "on the 15"), times (`3pm`, `10:30`,
   `三点`), durations and counts (`3 days`, `12 months`, `12期`, `3 payments`),
   percentages, and card digits ("ending in 4821", `尾号4821`).
2. A mention is *strong* when it has a currency marker (`$`, `¥`, dollars,
   bucks, USD, RMB, 元, 块, 美元) or a magnitude (`k`, grand, hundred,
   thousand, 百/千/万). If any strong mention exists, the answer is the one
   value they all state; otherwise the one value the plain numbers state.
3. Two different values (`$200 or $300`, `200-300`) mean None.
4. Anything that makes the message unreliable makes the whole answer None:
   a negative (`-200`), another currency (`€200`, `500日元`), a bound or
   range (`200+`, `两千多`, `两三千`, "up to 200", "a couple hundred"), an
   ambiguous format (`1.200,50`, `1.200`, `$12.345`), zero, a value above
   10,000,000 or one that is not a whole number of cents.

Hedges on a stated value ("about 200", "大概两千") are kept: the value is
stated and the bot confirms it before acting. Plain Chinese numerals below a
hundred (`五十`) and single spelled digits ("five") count only with a currency
marker or as the whole message, because `一下`, `十分` and "one more thing" are
not amounts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.domain.parsing.numbers import (
    CN_DIGITS,
    CN_NUMERAL_CHARS,
    CN_UNIT_CHARS,
    EN_UNITS,
    english_number_runs,
    normalize,
    parse_cn_normalized,
    parse_english_number,
    tidy,
    too_long,
)

MAX_AMOUNT = Decimal("10000000")
_CENT = Decimal("0.01")
_CN = CN_NUMERAL_CHARS
_BIG_CN_UNITS = "百佰千仟万亿"
_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

# Whole phrases blanked out before numbers are looked for.
_MASK = re.compile(
    "|".join(
        [
            r"[0-9]{4}[-/.][0-9]{1,2}[-/.][0-9]{1,2}",
            r"(?<![0-9.,])[0-9]{1,2}/[0-9]{1,2}(?:/[0-9]{2,4})?(?![0-9])",
            r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?",
            rf"\b{_MONTHS}\b\.?\s*[0-9]{{1,2}}(?:st|nd|rd|th)?\b(?:\s*,?\s*[0-9]{{4}}\b)?",
            rf"\b[0-9]{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTHS}\b\.?(?:\s*,?\s*[0-9]{{4}}\b)?",
            rf"百分之[{_CN}0-9.]*",
            r"(?:周|星期|礼拜)[一二三四五六日天1-7]",
            r"\b(?:ending|ends)(?:\s+(?:in|with))?\s*:?\s*[0-9]{4}\b",
            r"\b(?:last|final)\s+(?:four|4)(?:\s+digits?)?(?:\s+(?:are|is))?\s*:?\s*(?:[0-9]{4}\b)?",
            r"\b4\s*digits?\b",
            r"尾号(?:是|为)?\s*[0-9]{4}",
            r"(?:后|末)(?:四|4)位(?:数字?)?(?:是|为)?\s*(?:[0-9]{4})?",
        ]
    )
)
_ATOM = re.compile(rf"(?P<num>[0-9]+(?:[.,][0-9]+)*)|(?P<cn>[{_CN}]+)")
_PLAIN_INT = re.compile(r"[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+")
_PLAIN_DEC = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)\.([0-9]+)")
_PLAIN_NUMBER = re.compile(r"(?:[0-9]+|[0-9]{1,3}(?:,[0-9]{3})+)(?:\.[0-9]+)?")
_MAX_DIGITS = 15

_FOREIGN_BEFORE = re.compile(
    r"(?:\b(?:hk|nt|c|a|s)\$|€|£|\b(?:eur|gbp|hkd|cad|aud|jpy|sgd)|港币|欧元|英镑|日元|台币)\s*$"
)
_FOREIGN_AFTER = re.compile(
    r"\s*(?:(?:euros?|eur|pounds?|gbp|quid|yen|jpy|hkd|cad|aud|sgd|pesos?)\b"
    r"|€|£|港币|港元|欧元|英镑|日元|台币|新台币)"
)
_CURRENCY_BEFORE = re.compile(r"(?:\$|¥|\busd|\brmb|\bcny|人民币)\s*$")
_CURRENCY_AFTER = re.compile(
    r"\s*(?:(?P<dollar>(?:us\s+)?dollars?\b|bucks?\b|usd\b|美元|美金|刀)"
    r"|(?P<yuan>rmb\b|cny\b|yuan\b|kuai\b|块钱|元钱|元|块|圆|人民币))"
)
_CENTS_AFTER = re.compile(r"\s*(?:cents?\b|¢)")
_JIAO_AFTER = re.compile(r"\s*(?:毛|角)")
_JIAO_TAIL = re.compile(
    rf"([一二两三四五六七八九]|[1-9])(?:毛钱|毛|角)?(?![0-9{_CN}号日月天期个周])"
)
_MULTIPLIER_AFTER = re.compile(
    r"(?P<k>\s?k\b)|\s*(?P<thousand>grand|thousand)\b|\s*(?P<million>million)\b"
    r"|\s*(?P<hundred>hundred)\b"
)
_MULTIPLIERS = {"k": 1000, "thousand": 1000, "million": 10**6, "hundred": 100}

_EXCLUDE_AFTER = re.compile(
    r"\s?(?:st|nd|rd|th)\b"
    r"|\s*-?\s*(?:(?:days?|weeks?|wks?|months?|mos?|mths?|mnths?|years?|yrs?|hours?|hrs?"
    r"|minutes?|mins?|installments?|instalments?|payments|times|percent|pct|per\s*cent"
    r"|am|pm|o'?clock|oclock|digits?|people|persons|cards|accounts"
    r"|first|second|third|fourth|fifth|sixth|seventh|eighth|ninth)\b|a\.m\.|p\.m\.|%)"
    rf"|\s*(?:号(?!码)|日|月|年|天|期|个|周|星期|礼拜|岁|次|点|小时|分钟|分(?![期成0-9{_CN}])"
    r"|秒|倍|位|笔|张|楼|层|人)"
)
_EXCLUDE_BEFORE = re.compile(
    r"(?:(?:周|星期|礼拜|第|尾号|卡号|编号|#|№)"
    r"|\b(?:no|number|num|option|room|apt|unit|line|step|page|item|card|ext|extension)\.?"
    r"|\b(?:ending|ends)(?:\s+(?:in|with))?\s*:?"
    r"|\b(?:last|final)\s+(?:four|4)(?:\s+digits?)?(?:\s+(?:are|is))?\s*:?"
    r"|(?:后|末)(?:四|4)位(?:是|为)?"
    rf"|\b{_MONTHS}\.?)\s*$"
)
_DATEISH_BEFORE = re.compile(r"\b(?:on|by|before|until|till|due|the)\s+(?:the\s+)?$")
_NEGATIVE_BEFORE = re.compile(
    r"(?:(?:^|[^0-9a-z\s])\s*-|(?:^|\s)-|\bminus|\bnegative|负)\s*(?:us\$|\$|¥|usd|rmb)?\s*$"
)
_BOUND_BEFORE = re.compile(
    r"(?:\b(?:couple(?:\s+of)?|few|several|over|more\s+than|less\s+than|fewer\s+than|under"
    r"|up\s+to|at\s+most|no\s+more\s+than|below|above|between)"
    r"|几|不到|最多|超过|少于|不超过|大于|小于|至多)\s*(?:us\$|\$|¥)?\s*$"
)
_BOUND_AFTER = re.compile(
    r"\s*(?:\+|(?:plus|odd|or\s+(?:more|less|fewer))\b|多(?!少)|余|几|以上|以下|以内|之内|不到)"
)
_RANGE_LEAD = re.compile(r"(?:几|好几|上|数|成)$")
_GAP_AND = re.compile(r"\s*(?:and\s+)?")
_NOT_WORD = re.compile(r"[\W_]+")
_LETTER_AFTER = re.compile(r"[a-z]")
_WINDOW = 24


@dataclass(frozen=True)
class _Numeral:
    start: int
    end: int
    kind: str  # "arabic", "cn" or "en"
    text: str
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Mention:
    value: Decimal
    strong: bool
    start: int
    end: int
    unit: str  # "", "dollar", "yuan", "cent" or "jiao"


class _Unreliable(Exception):
    """The message holds an amount-like mention that cannot be read safely."""


class _NotAmount(Exception):
    """The numeral turned out not to be a number at all (`一点` = "a bit")."""


def parse_amount(text: str) -> Decimal | None:
    """The one amount of money a message states, to the cent.

    See the module docstring for how the amount is chosen among several
    numbers and what is refused.

    Returns:
        The amount quantized to 0.01, or None when there is no amount, more
        than one, or anything that makes it unreliable.
    """
    try:
        mentions = _scan(text)
    except _Unreliable:
        return None
    pool = [m for m in mentions if m.strong] or mentions
    values = {m.value for m in pool}
    if len(values) != 1:
        return None
    return values.pop().quantize(_CENT)


def extract_amounts(text: str) -> list[Decimal]:
    """Every readable amount-like value in a message, in order, to the cent.

    Useful to show an agent what was said; unlike `parse_amount` it does not
    pick one, and mentions that cannot be read safely are left out.
    """
    if too_long(text):
        return []
    return [m.value.quantize(_CENT) for m in _scan(text, strict=False)]


def _scan(text: str, *, strict: bool = True) -> list[_Mention]:
    if too_long(text):
        raise _Unreliable
    s = _MASK.sub(lambda m: "\x00" * len(m.group()), normalize(text))
    mentions: list[_Mention] = []
    consumed = 0
    for numeral in _numerals(s):
        if numeral.start < consumed:
            continue
        try:
            mention = _read(s, numeral)
        except _Unreliable:
            if strict:
                raise
            continue
        if mention is None:
            continue
        if mentions and _merges(s, mentions[-1], mention):
            prev = mentions.pop()
            mention = _Mention(prev.value + mention.value, True, prev.start, mention.end, "")
        mentions.append(mention)
        consumed = mention.end
    return mentions


def _merges(s: str, prev: _Mention, cur: _Mention) -> bool:
    """Whether "200 dollars and 50 cents" (or "三块五毛") is one amount."""
    return (
        prev.unit in ("dollar", "yuan")
        and cur.unit in ("cent", "jiao")
        and cur.value < 1
        and _GAP_AND.fullmatch(s, prev.end, cur.start) is not None
    )


def _numerals(s: str) -> list[_Numeral]:
    """Number spans: Arabic, Chinese or mixed (`1.5万`, `3万5`), and English words."""
    found: list[_Numeral] = []
    for m in _ATOM.finditer(s):
        kind = "arabic" if m.lastgroup == "num" else "cn"
        text = m.group()
        if found and found[-1].end == m.start() and _joins(found[-1], kind, text):
            prev = found.pop()
            joined = _plain(prev.text) if prev.kind == "arabic" else prev.text
            if kind == "arabic":
                text = _plain(text)
            found.append(_Numeral(prev.start, m.end(), "cn", joined + text))
            continue
        found.append(_Numeral(m.start(), m.end(), kind, text))
    for start, end, words in english_number_runs(s):
        found.append(_Numeral(start, end, "en", s[start:end], words))
    found.sort(key=lambda n: n.start)
    return found


def _joins(prev: _Numeral, kind: str, text: str) -> bool:
    if prev.kind == "arabic" and kind == "cn":
        return text[0] in CN_UNIT_CHARS and _PLAIN_NUMBER.fullmatch(prev.text) is not None
    if prev.kind == "cn" and kind == "arabic":
        return prev.text[-1] in "万千仟零" and _PLAIN_INT.fullmatch(text) is not None
    return False


def _plain(arabic: str) -> str:
    return arabic.replace(",", "")


def _read(s: str, numeral: _Numeral) -> _Mention | None:
    """One numeral in context: a mention, None if it is not an amount, or raise."""
    start, end, text = numeral.start, numeral.end, numeral.text
    if numeral.kind == "cn":
        trimmed = _trim_cn(s, start, text)
        if trimmed is None:
            return None
        start, text = trimmed
        stripped = text.rstrip("点")
        end -= len(text) - len(stripped)
        text = stripped
        if not text:
            return None
    before = s[max(0, start - _WINDOW) : start]
    if _FOREIGN_BEFORE.search(before) or _FOREIGN_AFTER.match(s, end):
        raise _Unreliable
    if _EXCLUDE_AFTER.match(s, end) or _EXCLUDE_BEFORE.search(before):
        return None
    if _NEGATIVE_BEFORE.search(before) or _BOUND_BEFORE.search(before):
        raise _Unreliable
    if _BOUND_AFTER.match(s, end):
        raise _Unreliable

    try:
        value, strong, weak, end = _value(s, numeral.kind, text, numeral.words, end)
    except _NotAmount:
        return None
    unit = ""
    if prefix := _CURRENCY_BEFORE.search(before):
        strong = True
        unit = "dollar" if prefix.group().strip() in ("$", "usd") else "yuan"
    currency = _CURRENCY_AFTER.match(s, end)
    if currency:
        strong = True
        unit = "dollar" if currency.group("dollar") else "yuan"
        end = currency.end()
        if unit == "yuan":
            value, end = _with_jiao(s, value, end)
    elif cents := _CENTS_AFTER.match(s, end):
        value, strong, unit, end = value * _CENT, True, "cent", cents.end()
    elif jiao := _JIAO_AFTER.match(s, end):
        value, strong, unit, end = value / 10, True, "jiao", jiao.end()

    if numeral.kind != "en" and _LETTER_AFTER.match(s, end):
        raise _Unreliable  # "2oo", "2kg": not a number we can read
    if not strong:
        if weak and _NOT_WORD.sub("", s) != _NOT_WORD.sub("", text):
            return None
        if value <= 31 and value == value.to_integral_value() and _DATEISH_BEFORE.search(before):
            return None
    if value <= 0 or value > MAX_AMOUNT or value != value.quantize(_CENT):
        raise _Unreliable
    return _Mention(tidy(value), strong, start, end, unit)


def _trim_cn(s: str, start: int, text: str) -> tuple[int, str] | None:
    """Drop leading 百/千/万 that are words, not numbers (`千万别`, `万一`).

    `几千`, `上万`, `数百` are approximations and make the message unreliable.
    """
    lead = 0
    while lead < len(text) and text[lead] in CN_UNIT_CHARS and text[lead] not in "十拾":
        lead += 1
    if lead == 0:
        return start, text
    if _RANGE_LEAD.search(s, max(0, start - 2), start):
        raise _Unreliable
    if lead == len(text):
        return None
    return start + lead, text[lead:]


def _value(
    s: str, kind: str, text: str, words: tuple[str, ...], end: int
) -> tuple[Decimal, bool, bool, int]:
    """(value, strong, weak, end) of a numeral; `end` grows over a multiplier."""
    if kind == "en":
        value = parse_english_number(words)
        if value is None:
            if len(words) > 1:
                raise _Unreliable  # "two fifty": 2.50 or 250?
            raise _NotAmount
        magnitude = any(w in ("hundred", "thousand", "grand", "million") for w in words)
        weak = len(words) == 1 and words[0] in EN_UNITS
        return value, magnitude, weak, end
    if kind == "cn":
        value = parse_cn_normalized(text)
        if value is None:
            if any(c in _BIG_CN_UNITS for c in text):
                raise _Unreliable  # "两三千", "一两万"
            raise _NotAmount
        magnitude = any(c in _BIG_CN_UNITS for c in text)
        return value, magnitude, not magnitude, end
    return _arabic_value(s, text, end)


def _arabic_value(s: str, text: str, end: int) -> tuple[Decimal, bool, bool, int]:
    if len(text) > _MAX_DIGITS + 6:
        raise _Unreliable
    multiplier = _MULTIPLIER_AFTER.match(s, end)
    factor = 1
    if multiplier and multiplier.lastgroup:
        factor = _MULTIPLIERS[multiplier.lastgroup]
        end = multiplier.end()
    if _PLAIN_INT.fullmatch(text):
        value = Decimal(_plain(text))
    elif decimal := _PLAIN_DEC.fullmatch(text):
        if factor == 1 and len(decimal.group(1)) > 2:
            raise _Unreliable  # "1.200" (1.2 or 1200?), "$12.345"
        value = Decimal(_plain(text))
    else:
        raise _Unreliable  # "1.200,50", "1,20": another locale's grouping
    return value * factor, factor != 1, False, end


def _with_jiao(s: str, value: Decimal, end: int) -> tuple[Decimal, int]:
    """`三块五` is 3.50: a digit right after 块/元 counts tenths."""
    tail = _JIAO_TAIL.match(s, end)
    if not tail:
        return value, end
    digit = tail.group(1)
    tenths = int(digit) if digit.isascii() else CN_DIGITS[digit]
    return value + Decimal(tenths) / 10, tail.end()
