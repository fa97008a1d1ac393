"""Identity answers (bot.domain.parsing.identity): DOB, card last four, phone."""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import (
    looks_like_card_number,
    parse_birth_date,
    parse_card_last4,
    parse_phone,
)
from tests.unit.test_parsing_numbers import to_chinese

TODAY = date(2026, 3, 11)
_EN_DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_CN_DIGITS = "零一二三四五六七八九"
_ORDINALS = [
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
    "tenth",
    "eleventh",
    "twelfth",
    "thirteenth",
    "fourteenth",
    "fifteenth",
    "sixteenth",
    "seventeenth",
    "eighteenth",
    "nineteenth",
    "twentieth",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TEENS = [
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]


# --- date of birth ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1988-04-12", "1988-04-12"),
        ("1988/4/12", "1988-04-12"),
        ("1988.04.12", "1988-04-12"),
        ("04/12/1988", "1988-04-12"),
        ("4/12/1988", "1988-04-12"),
        ("4/12/88", "1988-04-12"),
        ("25/12/1988", "1988-12-25"),  # no 25th month: day/month is the only reading
        ("25.04.1988", "1988-04-25"),
        ("06-18-1975", "1975-06-18"),
        ("04.04.1988", "1988-04-04"),  # both readings agree
        ("April 12 1988", "1988-04-12"),
        ("April 12, 1988", "1988-04-12"),
        ("april 12th 1988", "1988-04-12"),
        ("12 April 1988", "1988-04-12"),
        ("12th of April, 1988", "1988-04-12"),
        ("Apr 12, 88", "1988-04-12"),
        ("Apr. 12 '88", "1988-04-12"),
        ("19880412", "1988-04-12"),
        ("1988年4月12日", "1988-04-12"),
        ("1988年4月12号", "1988-04-12"),
        ("八八年四月十二号", "1988-04-12"),
        ("一九八八年四月十二日", "1988-04-12"),
        ("88年4月12日", "1988-04-12"),
        ("april twelfth nineteen eighty eight", "1988-04-12"),
        ("april twelve nineteen eighty-eight", "1988-04-12"),
        ("the twelfth of april nineteen eighty eight", "1988-04-12"),
        ("may twenty first nineteen ninety", "1990-05-21"),
        ("may twenty one nineteen ninety", "1990-05-21"),
        ("march third two thousand five", "2005-03-03"),
        ("march third two thousand and five", "2005-03-03"),
        ("march third twenty oh five", "2005-03-03"),
        ("june first nineteen oh five", "1905-06-01"),
        ("jan 2 05", "2005-01-02"),  # two-digit years: the latest not in the future
        ("jan 2 27", "1927-01-02"),
        ("my date of birth is 1988-04-12", "1988-04-12"),
        ("born on April 12, 1988 thanks", "1988-04-12"),
        ("I was born 4/12/1988", "1988-04-12"),
        ("我的生日是1988年4月12日", "1988-04-12"),
        # The demo personas (CONTRACT.md §4)
        ("1979-11-03", "1979-11-03"),
        ("november third nineteen seventy nine", "1979-11-03"),
        ("7/21/1992", "1992-07-21"),
        ("1985年2月14日", "1985-02-14"),
        ("一九九零年九月三十日", "1990-09-30"),
        ("1982年12月5号", "1982-12-05"),
        ("June 18, 1975", "1975-06-18"),
        ("3/8/1995", "1995-03-08"),
        ("1995年3月8日", "1995-03-08"),
        ("１９８８－０４－１２", "1988-04-12"),
        ("1988年4月12號", "1988-04-12"),
    ],
)
def test_birth_dates(text: str, expected: str) -> None:
    assert parse_birth_date(text, TODAY) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I don't remember",
        "April 12",  # no year
        "1988",
        "12.04.1988",  # 12 April or 4 December?
        "12-04-1988",
        "04121988",
        "Feb 30 1988",
        "1988-02-30",
        "1988年2月30日",
        "2/29/1987",
        "2030-01-01",  # the future
        "2026-03-12",
        "1900-01-01",  # 126 years old
        "1988-13-01",
        "4/12/1988 or 4/13/1988",
        "1988年4月",
        "041288",
        "april nineteen eighty",  # April 1980, or April 19, '80?
        "april nineteen eighty eight",
    ],
)
def test_no_confident_birth_date(text: str) -> None:
    assert parse_birth_date(text, TODAY) is None


def test_birth_date_limits() -> None:
    assert parse_birth_date("2026-03-11", TODAY) == TODAY
    assert parse_birth_date("1905-03-12", TODAY) == date(1905, 3, 12)  # 120 years old
    assert parse_birth_date("1905-03-11", TODAY) is None  # 121 today


def _spoken_year(year: int) -> str:
    if 2000 <= year < 2010:
        return "two thousand" + (f" {_EN_DIGITS[year % 10]}" if year % 10 else "")
    century, rest = divmod(year, 100)
    head = "nineteen" if century == 19 else "twenty"
    if rest < 10:
        return f"{head} oh {_EN_DIGITS[rest]}" if rest else f"{head} hundred"
    if rest < 20:
        return f"{head} {_TEENS[rest - 10]}"
    tens, ones = divmod(rest, 10)
    return f"{head} {_TENS[tens]}" + (f" {_EN_DIGITS[ones]}" if ones else "")


def _spoken_ordinal(day: int) -> str:
    if day <= 20:
        return _ORDINALS[day - 1]
    if day == 30:
        return "thirtieth"
    tens, ones = divmod(day, 10)
    return f"{_TENS[tens]} {_ORDINALS[ones - 1]}"


_OLDEST = date(1905, 3, 12)  # 120 years old on TODAY
_births = st.dates(min_value=_OLDEST, max_value=TODAY)


@given(
    _births,
    st.sampled_from(
        [
            "{d:%Y-%m-%d}",
            "{d.month}/{d.day}/{d.year}",
            "{d:%m/%d/%Y}",
            "{d:%Y%m%d}",
            "{d.year}年{d.month}月{d.day}日",
            "{d.year}年{d.month}月{d.day}号",
            "{d:%B} {d.day}, {d.year}",
            "{d.day} {d:%b} {d.year}",
            "{cn_year}年{cn_month}月{cn_day}号",
            "{d:%B} {spoken_day} {spoken_year}",
        ]
    ),
)
def test_birth_dates_round_trip(day: date, template: str) -> None:
    text = template.format(
        d=day,
        cn_year="".join(_CN_DIGITS[int(c)] for c in str(day.year)),
        cn_month=to_chinese(day.month),
        cn_day=to_chinese(day.day),
        spoken_day=_spoken_ordinal(day.day),
        spoken_year=_spoken_year(day.year),
    )
    assert parse_birth_date(text, TODAY) == day


@given(_births)
def test_day_month_order_is_only_guessed_when_it_cannot_matter(day: date) -> None:
    found = parse_birth_date(f"{day.day:02d}.{day.month:02d}.{day.year}", TODAY)
    swapped = date(day.year, day.day, day.month) if day.day <= 12 else None
    if swapped is None or swapped == day or not _OLDEST <= swapped <= TODAY:
        assert found == day  # the other reading is not a possible birthday
    else:
        assert found is None


@given(st.text())
def test_birth_date_never_raises(text: str) -> None:
    found = parse_birth_date(text, TODAY)
    assert found is None or _OLDEST <= found <= TODAY


# --- card last four -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4821", "4821"),
        ("0421", "0421"),
        ("ending in 4821", "4821"),
        ("card ending 4821", "4821"),
        ("it ends with 4821.", "4821"),
        ("last four are 4 8 2 1", "4821"),
        ("my last 4 digits are 4821", "4821"),
        ("the last four digits: 5504.", "5504"),
        ("4 8 2 1", "4821"),
        ("4-8-2-1", "4821"),
        ("48 21", "4821"),
        ("four eight two one", "4821"),
        ("Four, eight, two, one", None),
        ("oh four two one", "0421"),
        ("o four two one", "0421"),
        ("zero four two one", "0421"),
        ("four oh two one", "4021"),
        ("oh, 4821", "4821"),
        ("forty eight twenty one", "4821"),
        ("forty-eight twenty-one", "4821"),
        ("nineteen thirty seven", "1937"),
        ("four double two one", "4221"),
        ("triple three nine", "3339"),
        ("four thousand eight hundred twenty one", "4821"),
        ("four thousand", "4000"),
        ("I think it's 4821", "4821"),
        ("四八二一", "4821"),
        ("六二三零", "6230"),
        ("幺二三四", "1234"),
        ("七七幺二", "7712"),
        ("尾号6230", "6230"),
        ("尾号是八八四五", "8845"),
        ("后四位是六二三零", "6230"),
        ("卡号后四位4821", "4821"),
        ("四千八百二十一", "4821"),
        ("四 八 二 一", "4821"),
        ("四、八、二、一", "4821"),
        ("２２６８", "2268"),
    ],
)
def test_card_last4(text: str, expected: str | None) -> None:
    assert parse_card_last4(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "I don't know",
        "482",
        "4 8 2",
        "48211",
        "4111 1111 1111 1111",  # a full card number is never taken
        "4111-1111-1111-1111",
        "4111111111111111",
        "my number is 415-555-0101",
        "card ending 4821 born 1988",
        "4821 or 4822",
        "1937 1937",
        "1988-04-12",
        "twelve thousand",
        "一万二",
        "ending in 48.21",
    ],
)
def test_no_confident_last4(text: str) -> None:
    assert parse_card_last4(text) is None


_four_digits = st.text(alphabet="0123456789", min_size=4, max_size=4)


@given(
    _four_digits,
    st.sampled_from(
        ["{d}", "ending in {d}", "{spaced}", "{dashed}", "{en}", "{cn}", "last four are {en}"]
    ),
)
def test_last4_round_trips(digits: str, template: str) -> None:
    text = template.format(
        d=digits,
        spaced=" ".join(digits),
        dashed="-".join(digits),
        en=" ".join(_EN_DIGITS[int(c)] for c in digits),
        cn="".join(_CN_DIGITS[int(c)] for c in digits).replace("一", "幺"),
    )
    assert parse_card_last4(text) == digits


@given(st.text())
def test_last4_is_four_digits_or_nothing(text: str) -> None:
    found = parse_card_last4(text)
    assert found is None or re.fullmatch(r"[0-9]{4}", found)


def _with_luhn_digit(body: str) -> str:
    total = 0
    for index, char in enumerate(reversed(body)):
        value = int(char)
        if index % 2 == 0:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return body + str((10 - total % 10) % 10)


@given(st.text(alphabet="0123456789", min_size=15, max_size=15), st.sampled_from([" ", "-", ""]))
def test_pasted_card_numbers_are_spotted_and_never_read_as_last4(body: str, sep: str) -> None:
    number = _with_luhn_digit(body)
    text = "my card is " + sep.join(number[i : i + 4] for i in range(0, 16, 4))
    assert looks_like_card_number(text)
    assert parse_card_last4(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4111 1111 1111 1111", True),
        ("4111-1111-1111-1111", True),
        ("card: 4111111111111111 exp 12/28", True),
        ("3782 822463 10005", True),  # 15-digit Amex grouping
        ("5555 5555 5555 4444 and cvv 123", True),
        ("4111 1111 1111 1112", False),  # fails Luhn
        ("4821", False),
        ("415-555-0101", False),
        ("I'll pay $1,200 on 12/15", False),
        ("", False),
    ],
)
def test_looks_like_card_number(text: str, expected: bool) -> None:
    assert looks_like_card_number(text) is expected


def test_card_check_stays_fast_on_huge_input() -> None:
    assert looks_like_card_number("1 " * 50_000 + "4111 1111 1111 1111")


# --- phone --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 555-0101", "US", "+14155550101"),
        ("415-555-0101", "US", "+14155550101"),
        ("415.555.0101", "US", "+14155550101"),
        ("4155550101", "US", "+14155550101"),
        ("+1 415 555 0101", "US", "+14155550101"),
        ("+1 (312) 555-0102", "US", "+13125550102"),
        ("1-415-555-0101", "US", "+14155550101"),
        ("1-415-555-0101", "CN", "+14155550101"),  # grouped the US way
        ("4155550101", "CN", "+14155550101"),  # ten digits are never a CN mobile
        ("13800138004", "US", "+8613800138004"),  # not a US number at all
        ("13800138004", "CN", "+8613800138004"),
        ("+86 138 0013 8004", "US", "+8613800138004"),
        ("138-0013-8004", "US", "+8613800138004"),
        ("0086 13800138004", "US", "+8613800138004"),
        ("8613800138004", "US", "+8613800138004"),
        ("幺三八零零幺三八零零四", "CN", "+8613800138004"),
        ("一三九零零一三九零零五", "CN", "+8613900139005"),
        ("14155550101", "US", "+14155550101"),  # valid both ways: the region decides
        ("14155550101", "CN", "+8614155550101"),
        ("my number is (917) 555-0108, thanks", "US", "+19175550108"),
        ("我的手机号是13700137006", "CN", "+8613700137006"),
        ("+１ ６４６ ５５５ ０１０７", "US", "+16465550107"),
    ],
)
def test_phones(text: str, region: Literal["US", "CN"], expected: str) -> None:
    assert parse_phone(text, region) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "call me",
        "555-0101",  # no area code
        "(015) 555-0101",  # area codes never start with 0 or 1
        "(115) 555-0101",
        "415-055-0101",  # nor do exchanges
        "415-555-010",
        "+44 20 7946 0958",  # other countries are not served
        "+1 138 0013 8004",
        "12800138004",  # 12x is not a CN mobile prefix, 280-013 not a US number
        "call 415-555-0101 or 415-555-0199",
        "4111 1111 1111 1111",
        "1988-04-12 and 415-555-0101",
    ],
)
def test_no_confident_phone(text: str) -> None:
    assert parse_phone(text) is None


_nanp = st.tuples(
    st.integers(min_value=200, max_value=999),
    st.integers(min_value=200, max_value=999),
    st.integers(min_value=0, max_value=9999),
)


@given(
    _nanp,
    st.sampled_from(
        [
            "({a}) {e}-{n}",
            "{a}-{e}-{n}",
            "+1 {a} {e} {n}",
            "1-{a}-{e}-{n}",
            "{a}.{e}.{n}",
            "{a}{e}{n}",
        ]
    ),
    st.sampled_from(["US", "CN"]),
)
def test_us_numbers_round_trip(
    parts: tuple[int, int, int], template: str, region: Literal["US", "CN"]
) -> None:
    area, exchange, number = parts
    text = template.format(a=area, e=exchange, n=f"{number:04d}")
    assert parse_phone(text, region) == f"+1{area}{exchange}{number:04d}"


@given(
    st.integers(min_value=3, max_value=9),
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.sampled_from(["1{p}{r}", "+86 1{p}{r3} {r4a} {r4b}", "1{p}{r3}-{r4a}-{r4b}", "+861{p}{r}"]),
)
def test_cn_mobiles_round_trip(prefix: int, rest: str, template: str) -> None:
    text = template.format(p=prefix, r=rest, r3=rest[:1], r4a=rest[1:5], r4b=rest[5:])
    assert parse_phone(text, "CN") == f"+861{prefix}{rest}"


@given(st.text(), st.sampled_from(["US", "CN"]))
def test_phone_is_e164_or_nothing(text: str, region: Literal["US", "CN"]) -> None:
    found = parse_phone(text, region)
    assert found is None or re.fullmatch(r"\+1[2-9][0-9]{2}[2-9][0-9]{6}|\+861[3-9][0-9]{9}", found)


def test_identity_parsers_refuse_huge_text() -> None:
    huge = "4821 " + "x" * 10_000
    assert parse_card_last4(huge) is None
    assert parse_phone("415-555-0101 " + "x" * 10_000) is None
    assert parse_birth_date("1988-04-12 " + "x" * 10_000, TODAY) is None
