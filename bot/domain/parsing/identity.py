"""Identity answers: date of birth, card last four, phone number.

A wrong reading here costs a cardholder one of three verification attempts
(CONTRACT.md §4), and a full card number must never be taken or echoed, so
every function returns None rather than pick between readings.

Date of birth rules:
- Year first (`1988-04-12`, `1988/4/12`, `19880412`, `1988年4月12日`) is
  year-month-day.
- Slashes with the year last (`04/12/1988`) are US month/day/year; when the
  first number cannot be a month (`25/12/1988`) day/month is the only reading.
- Dots or dashes with the year last (`12.04.1988`, `12-04-1988`) and
  `04121988` are read both ways; unless only one reading is a real date (or
  both give the same date) the answer is None.
- Two-digit years (`Apr 12, 88`, `八八年`) are the latest such year not in the
  future: `88` is 1988, `05` is 2005.
- The date must exist, not be in the future, and give an age of 0-120.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from typing import Literal

from bot.domain.parsing.dates import MONTHS, ORDINALS, make_date
from bot.domain.parsing.numbers import (
    CN_DIGITS,
    EN_TEENS,
    EN_TENS,
    EN_UNITS,
    SPOKEN_CN_DIGITS,
    english_number_runs,
    normalize,
    parse_cn_normalized,
    parse_english_number,
    read_digit_string,
    too_long,
)

_MAX_AGE = 120

# --- date of birth ------------------------------------------------------------

_YMD = re.compile(r"(?<![0-9])([0-9]{4})\s*[-/.]\s*([0-9]{1,2})\s*[-/.]\s*([0-9]{1,2})(?![0-9])")
_DMY = re.compile(
    r"(?<![0-9])([0-9]{1,2})\s*([-/.])\s*([0-9]{1,2})\s*\2\s*([0-9]{4}|[0-9]{2})(?![0-9])"
)
_COMPACT = re.compile(r"(?<![0-9])([0-9]{8})(?![0-9])")
_CN_DOB = re.compile(
    r"(?P<y>[0-9]{4}|[0-9]{2}|[〇零一二三四五六七八九]{2,4})\s*年\s*"
    r"(?P<m>[0-9]{1,2}|[十一二三四五六七八九]{1,3})\s*月\s*"
    r"(?P<d>[0-9]{1,2}|[十一二两三四五六七八九]{1,3})\s*(?:日|号)?"
)
_WORD_TOKEN = re.compile(r"[0-9]+(?:st|nd|rd|th)?|[a-z]+")
_FILLER = frozenset({"the", "of"})
_CENTURIES = {"nineteen": 19, "twenty": 20}
_ZERO_WORDS = ("oh", "o", "zero")


def parse_birth_date(text: str, today: date) -> date | None:
    """A date of birth, read only when the reading is unambiguous.

    Args:
        text: What the cardholder wrote or said ("04/12/1988", "april twelfth
            nineteen eighty eight", `八八年四月十二号`).
        today: Today in the account's time zone, to refuse future dates and
            to place two-digit years.

    Returns:
        The date, or None (see the module docstring for the rules).
    """
    if too_long(text):
        return None
    s = normalize(text)
    found: set[date] = set()
    for pattern, reader in _DOB_READERS:
        for m in pattern.finditer(s):
            found.update(d for d in reader(m, today) if _plausible(d, today))
        s = pattern.sub(lambda m: "\x00" * len(m.group()), s)
    found.update(d for d in _spoken_dates(s, today) if _plausible(d, today))
    return found.pop() if len(found) == 1 else None


def _plausible(day: date, today: date) -> bool:
    if day > today:
        return False
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    return age <= _MAX_AGE


def _with_year(year: int, two_digit: bool, month: int, day: int, today: date) -> date | None:
    if not two_digit:
        return make_date(year, month, day)
    recent = make_date(2000 + year, month, day)
    if recent is not None and recent <= today:
        return recent
    return make_date(1900 + year, month, day)


def _read_ymd(m: re.Match[str], today: date) -> list[date]:
    day = make_date(int(m[1]), int(m[2]), int(m[3]))
    return [day] if day else []


def _read_dmy(m: re.Match[str], today: date) -> list[date]:
    first, sep, second, year = int(m[1]), m[2], int(m[3]), m[4]
    readings = [(first, second)]  # month/day, the US reading
    if sep != "/" or first > 12:
        readings.append((second, first))
    out = {_with_year(int(year), len(year) == 2, mo, d, today) for mo, d in readings}
    return _unique({d for d in out if d is None or _plausible(d, today)})


def _read_compact(m: re.Match[str], today: date) -> list[date]:
    digits = m[1]
    readings = {
        make_date(int(digits[:4]), int(digits[4:6]), int(digits[6:])),
        make_date(int(digits[4:]), int(digits[:2]), int(digits[2:4])),
        make_date(int(digits[4:]), int(digits[2:4]), int(digits[:2])),
    }
    return _unique({d for d in readings if d is None or _plausible(d, today)})


def _unique(readings: set[date | None]) -> list[date]:
    """The one reading that is a real date; none if two different ones are."""
    real = {d for d in readings if d is not None}
    return list(real) if len(real) == 1 else []


def _read_cn(m: re.Match[str], today: date) -> list[date]:
    digits = read_digit_string(m["y"])
    month, day = parse_cn_normalized(m["m"]), parse_cn_normalized(m["d"])
    if digits is None or len(digits) not in (2, 4) or month is None or day is None:
        return []
    if month != int(month) or day != int(day):
        return []
    found = _with_year(int(digits), len(digits) == 2, int(month), int(day), today)
    return [found] if found else []


_DOB_READERS = (
    (_CN_DOB, _read_cn),
    (_YMD, _read_ymd),
    (_DMY, _read_dmy),
    (_COMPACT, _read_compact),
)


def _spoken_dates(s: str, today: date) -> Iterator[date]:
    """Month-name dates, typed or spoken: "April 12, 1988", "12th of April 88",
    "april twelfth nineteen eighty eight"."""
    tokens = [t for t in _WORD_TOKEN.findall(s.replace("-", " ")) if t not in _FILLER]
    for i, token in enumerate(tokens):
        month = MONTHS.get(token)
        if month is None or (token == "may" and not _is_numberish(tokens, i + 1)):
            continue
        readings: set[date | None] = set()
        # "the twelfth of april 1988": a day before the month wins, or
        # "april nineteen eighty eight" would also read as April 19, '88.
        for length in (1, 2):
            for day, after in _day_options(tokens, i - length) if i >= length else []:
                if after == i:
                    readings.update(_dates(tokens, i + 1, month, day, today))
        # "april nineteen eighty" is April 1980 as much as April 19, '80.
        month_and_year = any(not short for _, short in _year_options(tokens, i + 1))
        if not readings and not month_and_year:
            for day, after in _day_options(tokens, i + 1):
                readings.update(_dates(tokens, after, month, day, today))
        yield from _unique({d for d in readings if d is None or _plausible(d, today)})


def _dates(tokens: Sequence[str], i: int, month: int, day: int, today: date) -> set[date | None]:
    return {_with_year(year, short, month, day, today) for year, short in _year_options(tokens, i)}


def _is_numberish(tokens: Sequence[str], i: int) -> bool:
    return i < len(tokens) and (
        tokens[i][0].isdigit() or tokens[i] in ORDINALS or tokens[i] in _NUMBER_WORDS
    )


_NUMBER_WORDS = frozenset([*EN_UNITS, *EN_TEENS, *EN_TENS, "hundred", "thousand", "oh", "o"])


def _day_options(tokens: Sequence[str], i: int) -> list[tuple[int, int]]:
    """Ways to read a day of the month starting at token i: (day, next index)."""
    if i >= len(tokens):
        return []
    token = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    options: list[tuple[int, int]] = []
    digits = re.match(r"[0-9]+", token)
    if digits:
        options.append((int(digits.group()), i + 1))
    elif token in ORDINALS:
        options.append((ORDINALS[token], i + 1))
    elif token in ("twenty", "thirty"):
        options.append((EN_TENS[token], i + 1))
        if token + nxt in ORDINALS:
            options.append((ORDINALS[token + nxt], i + 2))
        elif nxt in EN_UNITS and EN_UNITS[nxt] > 0:
            options.append((EN_TENS[token] + EN_UNITS[nxt], i + 2))
    elif token in EN_UNITS or token in EN_TEENS:
        options.append((EN_UNITS.get(token, EN_TEENS.get(token, 0)), i + 1))
    return [(d, j) for d, j in options if 1 <= d <= 31]


def _year_options(tokens: Sequence[str], i: int) -> list[tuple[int, bool]]:
    """Ways to read a year that ends the number: (year, is two-digit)."""
    if i >= len(tokens):
        return []
    out: list[tuple[int, bool]] = []
    token = tokens[i]
    if token.isdigit() and len(token) in (2, 4):
        out.append((int(token), len(token) == 2))
        ends = [i + 1]
    else:
        ends = []
    for value, end in _two_digit_words(tokens, i):
        out.append((value, True))
        ends.append(end)
    if token in _CENTURIES:
        century = _CENTURIES[token] * 100
        if i + 1 < len(tokens) and tokens[i + 1] == "hundred":
            out.append((century, False))
            ends.append(i + 2)
        for value, end in _two_digit_words(tokens, i + 1):
            out.append((century + value, False))
            ends.append(end)
    if token == "two" and i + 1 < len(tokens) and tokens[i + 1] == "thousand":
        j = i + 2 + (i + 2 < len(tokens) and tokens[i + 2] == "and")
        rest = _two_digit_words(tokens, j, allow_single=True)
        out.extend((2000 + value, False) for value, _ in rest)
        ends.extend(end for _, end in rest)
        if not rest:
            out.append((2000, False))
            ends.append(i + 2)
    # A year must end the number: "nineteen eighty" inside "nineteen eighty
    # eight" is not a reading.
    return [year for year, end in zip(out, ends, strict=True) if not _is_numberish(tokens, end)]


def _two_digit_words(
    tokens: Sequence[str], i: int, *, allow_single: bool = False
) -> list[tuple[int, int]]:
    if i >= len(tokens):
        return []
    token = tokens[i]
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if token in EN_TENS:
        if nxt in EN_UNITS and EN_UNITS[nxt] > 0:
            return [(EN_TENS[token] + EN_UNITS[nxt], i + 2)]
        return [(EN_TENS[token], i + 1)]
    if token in EN_TEENS:
        return [(EN_TEENS[token], i + 1)]
    if token in _ZERO_WORDS and nxt in EN_UNITS and EN_UNITS[nxt] > 0:
        return [(EN_UNITS[nxt], i + 2)]
    if allow_single and token in EN_UNITS:
        return [(EN_UNITS[token], i + 1)]
    return []


# --- card last four -----------------------------------------------------------

# Phrases whose digits are not the card's ("last 4", `后四位`).
_LAST4_PHRASES = re.compile(
    r"\b(?:last|final)\s+(?:four|4)(?:\s+digits?)?|\b(?:four|4)\s*-?\s*digits?\b"
    r"|(?:后|末|最后)\s*(?:四|4)\s*位(?:数字?|数)?|(?:四|4)位数字?|尾号|卡号"
)
_CN_QUANTITY_CHARS = "".join(CN_DIGITS) + "十拾百佰千仟万"
_CN_QUANTITY = re.compile(rf"[{_CN_QUANTITY_CHARS}]*[十拾百佰千仟万][{_CN_QUANTITY_CHARS}]*")
_LAST4_TOKEN = re.compile(rf"[0-9]|[{''.join(SPOKEN_CN_DIGITS)}]|[a-z]+|[\s\-、]+|.", re.DOTALL)
_SEPARATOR = re.compile(r"[\s\-、]+")
_SPOKEN_DIGITS = {**EN_UNITS, "oh": 0, "o": 0}
_REPEATS = {"double": 2, "triple": 3}


def parse_card_last4(text: str) -> str | None:
    """The last four digits of a card, as a string that keeps leading zeros.

    Reads "4821", "ending in 4821", "4 8 2 1", "4-8-2-1", "four eight two
    one", "oh four two one", "forty-eight twenty-one", "four double two one",
    "four thousand eight hundred twenty one", `四八二一`, `幺二三四`,
    `四千八百二十一`.

    Returns:
        Four digits, or None. Any run of more than four digits (a pasted card
        number, a phone number, a date) makes the answer None: we never take
        or echo more than four digits of a card.
    """
    if too_long(text):
        return None
    s = _LAST4_PHRASES.sub("|", normalize(text))
    s = _CN_QUANTITY.sub(lambda m: _quantity(parse_cn_normalized(m.group())), s)
    for start, end, words in reversed(english_number_runs(s)):
        if {"hundred", "thousand"} & set(words):
            s = s[:start] + _quantity(parse_english_number(words)) + s[end:]
    runs = _digit_runs(s)
    if any(len(run) > 4 for run in runs):
        return None
    fours = {run for run in runs if len(run) == 4}
    return fours.pop() if len(fours) == 1 else None


def _quantity(value: Decimal | None) -> str:
    """Four digits for a number said as a quantity, else a run breaker."""
    if value is not None and value == value.to_integral_value() and 1000 <= value <= 9999:
        return f" {int(value)} "
    return "|"


def _digit_runs(s: str) -> list[str]:
    """Runs of digits, typed or spoken, that only spaces or dashes separate."""
    tokens = _LAST4_TOKEN.findall(s)
    runs: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        step = 1
        read: tuple[str, int] | None = None
        if _SEPARATOR.fullmatch(token):
            i += 1
            continue
        if "0" <= token <= "9":
            read = token, 1
        elif token in SPOKEN_CN_DIGITS:
            read = str(SPOKEN_CN_DIGITS[token]), 1
        elif token.isascii() and token.isalpha():
            read = _spoken_digits(tokens, i, bool(current))
        if read is None:
            if current:
                runs.append("".join(current))
                current = []
        else:
            digits, step = read
            current.append(digits)
        i += step
    if current:
        runs.append("".join(current))
    return runs


def _spoken_digits(tokens: Sequence[str], i: int, in_run: bool) -> tuple[str, int] | None:
    """Spoken digits at token i as (digits, tokens used), or None if not digits.

    Tens are read in pairs, as people read card digits: "forty-eight
    twenty-one" is 4821.
    """
    word = tokens[i]
    j = i + 1
    while j < len(tokens) and _SEPARATOR.fullmatch(tokens[j]):
        j += 1
    nxt = tokens[j] if j < len(tokens) else ""
    if word in ("oh", "o") and not in_run and nxt not in _SPOKEN_DIGITS and nxt not in EN_TEENS:
        return None  # "oh, 4821" is an interjection
    if word in _SPOKEN_DIGITS:
        return str(_SPOKEN_DIGITS[word]), 1
    if word in _REPEATS and nxt in _SPOKEN_DIGITS:
        return str(_SPOKEN_DIGITS[nxt]) * _REPEATS[word], j - i + 1
    if word in EN_TEENS:
        return str(EN_TEENS[word]), 1
    if word in EN_TENS:
        if nxt in EN_UNITS and EN_UNITS[nxt] > 0:
            return str(EN_TENS[word] + EN_UNITS[nxt]), j - i + 1
        return str(EN_TENS[word]), 1
    return None


def looks_like_card_number(text: str) -> bool:
    """Whether a text contains what is probably a full card number.

    A run of 13-19 digits, grouped by spaces or dashes or not, that passes
    the Luhn check. Used to mask input before it is stored or echoed; it has
    no length limit so even a huge paste is screened.
    """
    for m in _CARD_RUN.finditer(normalize(text)):
        if _has_luhn_card(re.split(r"[ \-]", m.group())):
            return True
    return False


_CARD_RUN = re.compile(r"(?<![0-9])[0-9]+(?:[ \-][0-9]+)*")
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def _has_luhn_card(groups: Sequence[str]) -> bool:
    """Whether consecutive groups join into a 13-19 digit Luhn-valid number.

    Luhn sums come from prefix sums so a huge paste stays linear: `sums[p][i]`
    is the Luhn sum of the first i digits when the positions of parity p are
    the doubled ones.
    """
    sums: tuple[list[int], list[int]] = ([0], [0])
    index = 0
    for group in groups:
        for char in group:
            value = ord(char) - 48
            for parity in (0, 1):
                doubled = _DOUBLED[value] if index % 2 == parity else value
                sums[parity].append(sums[parity][-1] + doubled)
            index += 1
    bounds = [0]
    for group in groups:
        bounds.append(bounds[-1] + len(group))
    for first, start in enumerate(bounds):
        for last in range(first + 1, len(bounds)):
            end = bounds[last]
            if end - start > 19:
                break
            # The rightmost digit (index end - 1) is not doubled, so the
            # positions with the parity of `end` are.
            parity = end % 2
            if end - start >= 13 and (sums[parity][end] - sums[parity][start]) % 10 == 0:
                return True
    return False


# --- phone --------------------------------------------------------------------

_PHONE_RUN = re.compile(r"(?:\+|(?<![0-9])00)?\s*\(?[0-9](?:[\s\-.()]{0,3}[0-9])*")
_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")
_NANP = re.compile(r"[2-9][0-9]{2}[2-9][0-9]{6}")
_CN_DIGIT_FOLD = str.maketrans({k: str(v) for k, v in SPOKEN_CN_DIGITS.items()})
_MIN_PHONE_DIGITS = 7


def parse_phone(text: str, default_region: Literal["US", "CN"] = "US") -> str | None:
    """A US or Chinese mobile number in E.164 form (`+14155550101`).

    Accepts the usual ways of writing them: "(415) 555-0101", "1-415-555-0101",
    "+1 415 555 0101", "13800138004", "+86 138 0013 8004", "138-0013-8004",
    and Chinese digits (`幺三八...`). An 11-digit number starting with 1 that
    is valid both as US (1 + area code + number) and as a Chinese mobile is
    decided by how it is grouped ("1-415-555-0101" vs "141-5555-0101"), else
    by `default_region`.

    Returns:
        The E.164 number, or None if there is no plausible US or Chinese
        mobile number, more than one, or a long digit run that is neither
        (other countries are not served).
    """
    if too_long(text):
        return None
    s = normalize(text).translate(_CN_DIGIT_FOLD)
    found: set[str] = set()
    for m in _PHONE_RUN.finditer(s):
        raw = m.group().strip()
        digits = re.sub(r"[^0-9]", "", raw)
        if len(digits) < _MIN_PHONE_DIGITS:
            continue
        number = _e164(raw, digits, default_region)
        if number is None:
            return None
        found.add(number)
    return found.pop() if len(found) == 1 else None


def _e164(raw: str, digits: str, region: str) -> str | None:
    if raw.startswith("+") or raw.startswith("00"):
        if raw.startswith("00"):
            digits = digits[2:]
        if digits.startswith("1") and _NANP.fullmatch(digits[1:]):
            return "+" + digits
        if digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
            return "+" + digits
        return None
    if len(digits) == 10:
        return "+1" + digits if _NANP.fullmatch(digits) else None
    if len(digits) == 13 and digits.startswith("86") and _CN_MOBILE.fullmatch(digits[2:]):
        return "+" + digits
    if len(digits) != 11:
        return None
    us = digits.startswith("1") and _NANP.fullmatch(digits[1:]) is not None
    cn = _CN_MOBILE.fullmatch(digits) is not None
    if us and cn:
        groups = [len(g) for g in re.findall(r"[0-9]+", raw)]
        if groups in ([1, 3, 3, 4], [1, 10]):
            cn = False
        elif groups == [3, 4, 4]:
            us = False
        else:
            us, cn = region == "US", region == "CN"
    if us:
        return "+" + digits
    if cn:
        return "+86" + digits
    return None
