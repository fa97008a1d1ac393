"""Numerals as people write and say them, in Chinese and English.

Cardholders type `两千`, `一千二`, `1.5万` or `壹仟贰佰` and say "a hundred and
twenty"; the dialogue model only marks the span. These helpers turn such a
span into an exact `Decimal`, and return None for anything that is not one
well-formed number (`两三千` is "two or three thousand", not a value), so the
bot asks again instead of acting on a guess.

Also home to `normalize`, which every parser in this package applies first so
full-width digits, traditional characters and typographic dashes need no
special cases anywhere else.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal

# Longer texts are refused outright: no channel delivers more (the chat API
# caps messages at 2,000 characters) and it keeps every parser's cost bounded.
MAX_TEXT_LENGTH = 2000

# Traditional forms that matter for numbers, dates and money, folded to the
# simplified ones so patterns are written once. Dashes and quotes are folded
# because phones and word processors substitute them freely.
_FOLD = str.maketrans(
    {
        "萬": "万",
        "億": "亿",
        "兩": "两",
        "貳": "贰",
        "參": "叁",
        "陸": "陆",
        "點": "点",
        "週": "周",
        "號": "号",
        "後": "后",
        "禮": "礼",
        "個": "个",
        "這": "这",
        "塊": "块",
        "錢": "钱",
        "還": "还",
        "歲": "岁",
        "圓": "圆",
        "幾": "几",
        "內": "内",
        "來": "来",
        "‐": "-",
        "‑": "-",
        "‒": "-",
        "–": "-",
        "—": "-",
        "―": "-",
        "−": "-",
        "‘": "'",
        "’": "'",
        "＇": "'",
    }
)

CN_DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
# Digit-by-digit readings (card digits, phone numbers, years) also use 幺,
# the telephone "one"; it never appears inside a quantity.
SPOKEN_CN_DIGITS: dict[str, int] = {**CN_DIGITS, "幺": 1}
_CN_SMALL_UNITS: dict[str, int] = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG_UNITS: dict[str, int] = {"万": 10**4, "亿": 10**8}
_CN_POINT = "点"

CN_UNIT_CHARS = "".join(_CN_SMALL_UNITS) + "".join(_CN_BIG_UNITS)
# Every character a Chinese numeral span may contain (for building patterns).
CN_NUMERAL_CHARS = "".join(CN_DIGITS) + CN_UNIT_CHARS + _CN_POINT

_CN_TOKEN = re.compile(r"[0-9]+(?:\.[0-9]+)?|.", re.DOTALL)
_MAX_ARABIC_DIGITS = 12
_MAX_VALUE = Decimal(10) ** 16

EN_UNITS: dict[str, int] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
}
EN_TEENS: dict[str, int] = {
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
EN_TENS: dict[str, int] = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fourty": 40,  # the usual misspelling
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "ninty": 90,
}
_EN_SCALES: dict[str, int] = {"thousand": 1000, "grand": 1000, "million": 10**6}
_EN_NUMBER_WORDS = frozenset(
    [*EN_UNITS, *EN_TEENS, *EN_TENS, *_EN_SCALES, "hundred"],
)
_EN_WORD = re.compile(r"[a-z]+")
_EN_GAP = re.compile(r"[\s-]+")


def normalize(text: str) -> str:
    """Fold the text into the one form the patterns in this package expect.

    NFKC turns full-width digits and punctuation (`１２００`, `，`) into ASCII;
    the fold table maps traditional characters and typographic dashes.
    """
    return unicodedata.normalize("NFKC", text).translate(_FOLD).lower()


def too_long(text: str) -> bool:
    """Whether a text is beyond what any channel can send (see MAX_TEXT_LENGTH)."""
    return len(text) > MAX_TEXT_LENGTH


def tidy(value: Decimal) -> Decimal:
    """Drop the meaningless exponent that `1.5 * 10000` leaves (`15000.0` -> `15000`)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value


def parse_chinese_number(text: str) -> Decimal | None:
    """The value of one Chinese (or mixed Arabic/Chinese) numeral.

    Handles the colloquial elision people use for money (`一千二` = 1200,
    `三万五` = 35000, `两万三千五` = 23500: a trailing digit counts in the unit
    below the last one), `零` gaps (`一万零五百`), financial capitals
    (`壹仟贰佰`), decimals (`一点五万`, `1.5万`) and plain Arabic digits.

    Returns:
        The value, or None unless the whole text is exactly one well-formed
        numeral. Approximations such as `两三千` or `一两万` and digit-by-digit
        readings such as `二零二六` are None: they are not quantities.
    """
    if too_long(text):
        return None
    return parse_cn_normalized(normalize(text).strip())


def parse_cn_normalized(text: str) -> Decimal | None:
    """`parse_chinese_number` for text that is already normalized and stripped."""
    tokens = _CN_TOKEN.findall(text)
    if not tokens:
        return None
    value = _CnGrammar(tokens).run()
    if value is None or value > _MAX_VALUE:
        return None
    return tidy(value)


class _CnGrammar:
    """A one-pass reader for the numeral grammar of `parse_chinese_number`.

    Chinese numerals group by 万 (10^4) and 亿 (10^8); inside a group, digits
    multiply 十/百/千 in descending order. `section` holds the current group,
    `pending` a digit still waiting for its unit.
    """

    def __init__(self, tokens: Sequence[str]) -> None:
        self.tokens = tokens
        self.total = Decimal(0)  # finished 亿 groups
        self.wan = Decimal(0)  # finished 万 group of the current 亿 group
        self.section = Decimal(0)
        self.pending: Decimal | None = None
        self.pending_single = False  # a single digit, so it may be elided
        self.last_small: int | None = None
        self.last_unit: int | None = None
        self.zero_gap = False
        self.seen_wan = False
        self.seen_yi = False
        self.fraction = False

    def run(self) -> Decimal | None:
        tokens = self.tokens
        if tokens[0] in ("零", "〇"):
            if len(tokens) == 1:
                return Decimal(0)
            if tokens[1] != _CN_POINT:
                return None  # "零五" is a digit reading, not a quantity
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok == _CN_POINT:
                i = self._fraction(i + 1)
                if i < 0:
                    return None
                continue
            if not self._step(tok):
                return None
            i += 1
        if self.fraction:
            return self.total + self.wan + self.section
        closed = self._closed_pending()
        if closed is None:
            return None
        return self.total + self.wan + self.section + closed

    def _step(self, tok: str) -> bool:
        if tok in CN_DIGITS or (tok[0].isascii() and tok[0].isdigit()):
            return self._digit(tok)
        if tok in _CN_SMALL_UNITS:
            return self._small(tok)
        if tok in _CN_BIG_UNITS:
            return self._big(tok)
        return False

    def _digit(self, tok: str) -> bool:
        if self.fraction or self.pending is not None:
            return False  # "一二", "两三千": adjacent digits are not a quantity
        if tok in ("零", "〇"):
            self.zero_gap = True
            return True
        if tok in CN_DIGITS:
            self.pending = Decimal(CN_DIGITS[tok])
            self.pending_single = True
            return True
        if len(tok.split(".")[0]) > _MAX_ARABIC_DIGITS or len(tok) > 2 * _MAX_ARABIC_DIGITS:
            return False
        self.pending = Decimal(tok)
        self.pending_single = len(tok) == 1
        return True

    def _small(self, tok: str) -> bool:
        unit = _CN_SMALL_UNITS[tok]
        if self.fraction:
            return False
        if self.pending is None:
            # A bare 十 opens a number ("十二"); a bare 百 or 千 does not.
            if unit != 10 or self.last_small is not None or self.section != 0:
                return False
            self.pending = Decimal(1)
        if self.last_small is not None and unit >= self.last_small:
            return False
        self.section += self.pending * unit
        self.pending = None
        self.last_small = unit
        self.last_unit = unit
        self.zero_gap = False
        return True

    def _big(self, tok: str) -> bool:
        unit = _CN_BIG_UNITS[tok]
        if (unit == 10**4 and self.seen_wan) or (unit == 10**8 and self.seen_yi):
            return False
        if self.fraction:
            group = self.section
        else:
            closed = self._closed_pending()
            if closed is None:
                return False
            group = self.section + closed
        if group <= 0:
            return False
        if unit == 10**4:
            self.wan = group * unit
            self.seen_wan = True
        else:
            self.total = (self.wan + group) * unit
            self.wan = Decimal(0)
            self.seen_wan = False
            self.seen_yi = True
        self.section = Decimal(0)
        self.pending = None
        self.last_small = None
        self.last_unit = unit
        self.zero_gap = False
        return True

    def _closed_pending(self) -> Decimal | None:
        """The pending digit's worth: `一千二` ends in 2 hundreds, `一百零二` in 2."""
        if self.pending is None:
            return Decimal(0)
        if self.last_unit is None or self.zero_gap:
            return self.pending
        if not self.pending_single:
            return None  # "1万25": no reading is safe
        return self.pending * (self.last_unit // 10)

    def _fraction(self, start: int) -> int:
        """Read the digits after 点; return the next index, or -1 if malformed."""
        if self.fraction or self.wan or self.total:
            return -1
        if self.pending is None and self.section == 0 and self.tokens[0] not in ("零", "〇"):
            return -1
        if self.pending is not None and self.last_small is not None and self.last_small > 10:
            return -1  # "一百二点五": 102.5 or 120.5?
        if self.pending is not None and self.pending != self.pending.to_integral_value():
            return -1
        digits: list[str] = []
        i = start
        while i < len(self.tokens):
            tok = self.tokens[i]
            if tok in CN_DIGITS:
                digits.append(str(CN_DIGITS[tok]))
            elif tok.isascii() and tok.isdigit() and len(tok) <= _MAX_ARABIC_DIGITS:
                digits.append(tok)
            else:
                break
            i += 1
        if not digits:
            return -1
        whole = self.section + (self.pending or 0)
        self.section = whole + Decimal("0." + "".join(digits))
        self.pending = None
        self.last_small = None
        self.last_unit = None
        self.fraction = True
        return i


def read_digit_string(text: str) -> str | None:
    """A digit-by-digit reading (`一九八八`, `幺三八`, `2026`) as ASCII digits.

    Returns None if any character is not a digit: `一千` is a quantity, not a
    reading.
    """
    out: list[str] = []
    for char in text:
        if char in SPOKEN_CN_DIGITS:
            out.append(str(SPOKEN_CN_DIGITS[char]))
        elif "0" <= char <= "9":
            out.append(char)
        else:
            return None
    return "".join(out) if out else None


def parse_english_number(words: Sequence[str]) -> Decimal | None:
    """The value of spelled-out English number words.

    Accepts what people say about money: "two hundred fifty", "a hundred and
    twenty", "twelve hundred", "one thousand two hundred", "two grand".

    Returns:
        The value, or None when the words do not form one number ("two fifty"
        could be 2.50 or 250, so it is refused).
    """
    total = 0
    group = 0
    last = ""  # kind of the previous word
    has_hundred = False
    last_scale = 10**12
    for index, word in enumerate(words):
        nxt = words[index + 1] if index + 1 < len(words) else ""
        if word == "and":
            if last not in ("hundred", "scale") or not nxt or nxt == "and":
                return None
            last = "and"
        elif word in ("a", "an"):
            if last or nxt not in ("hundred", *_EN_SCALES):
                return None
            group, last = 1, "unit"
        elif word in EN_UNITS or word in EN_TEENS or word in EN_TENS:
            value = EN_UNITS.get(word, EN_TEENS.get(word, EN_TENS.get(word, 0)))
            if last in ("unit", "teen"):
                return None
            if last == "tens":
                if word not in EN_UNITS or value == 0:
                    return None
            elif group % 100:
                return None
            group += value
            last = "unit" if word in EN_UNITS else "teen" if word in EN_TEENS else "tens"
        elif word == "hundred":
            if last not in ("unit", "teen", "tens") or has_hundred or group == 0:
                return None
            group *= 100
            has_hundred = True
            last = "hundred"
        elif word in _EN_SCALES:
            scale = _EN_SCALES[word]
            if last not in ("unit", "teen", "tens", "hundred") or group == 0:
                return None
            if scale >= last_scale:
                return None
            total += group * scale
            group, has_hundred, last_scale, last = 0, False, scale, "scale"
        else:
            return None
    if last in ("", "and"):
        return None
    return Decimal(total + group)


def english_number_runs(text: str) -> list[tuple[int, int, tuple[str, ...]]]:
    """Maximal runs of English number words in normalized text.

    Returns (start, end, words) for each run. A run starts at a number word or
    at "a"/"an" right before hundred/thousand/grand/million; "and" joins two
    number words. Scale words on their own ("that's grand") start nothing.
    """
    words = [(m.start(), m.end(), m.group()) for m in _EN_WORD.finditer(text)]
    runs: list[tuple[int, int, tuple[str, ...]]] = []
    i = 0
    while i < len(words):
        if not _starts_run(text, words, i):
            i += 1
            continue
        j = i + 1
        while j < len(words) and _EN_GAP.fullmatch(text, words[j - 1][1], words[j][0]):
            word = words[j][2]
            if word in _EN_NUMBER_WORDS:
                j += 1
            elif (
                word == "and"
                and j + 1 < len(words)
                and words[j + 1][2] in _EN_NUMBER_WORDS
                and _EN_GAP.fullmatch(text, words[j][1], words[j + 1][0])
            ):
                j += 2
            else:
                break
        runs.append((words[i][0], words[j - 1][1], tuple(w[2] for w in words[i:j])))
        i = j
    return runs


def _starts_run(text: str, words: Sequence[tuple[int, int, str]], i: int) -> bool:
    word = words[i][2]
    if word in EN_UNITS or word in EN_TEENS or word in EN_TENS:
        return True
    return (
        word in ("a", "an")
        and i + 1 < len(words)
        and words[i + 1][2] in ("hundred", *_EN_SCALES)
        and _EN_GAP.fullmatch(text, words[i][1], words[i + 1][0]) is not None
    )


def english_words_value(text: str) -> Decimal | None:
    """`parse_english_number` for a phrase such as "twenty-five" or "a hundred"."""
    return parse_english_number(_EN_GAP.split(text.strip()))
