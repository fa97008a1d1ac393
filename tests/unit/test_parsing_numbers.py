"""Chinese and English numerals (bot.domain.parsing.numbers)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import parse_chinese_number, parse_english_number
from bot.domain.parsing.numbers import english_words_value, read_digit_string

_CN_DIGITS = "零一二三四五六七八九"
_CAPITAL_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_EN_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
_EN_TEENS = "ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen"
_EN_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _cn_section(n: int, digits: str, units: tuple[str, str, str]) -> str:
    out = ""
    gap = False
    for size, unit in ((1000, units[2]), (100, units[1]), (10, units[0]), (1, "")):
        digit = n // size % 10
        if digit == 0:
            gap = gap or bool(out)
            continue
        if gap:
            out += "零"
            gap = False
        out += digits[digit] + unit
    return out


def to_chinese(n: int, *, capitals: bool = False) -> str:
    """The standard (textbook) Chinese reading of 1 <= n < 10^8, for round trips."""
    digits = _CAPITAL_DIGITS if capitals else _CN_DIGITS
    units = ("拾", "佰", "仟") if capitals else ("十", "百", "千")
    high, low = divmod(n, 10000)
    out = _cn_section(high, digits, units) + "万" if high else ""
    if low:
        if high and low < 1000:
            out += "零"
        out += _cn_section(low, digits, units)
    if not capitals and out.startswith("一十"):
        out = out[1:]
    return out


def to_english(n: int) -> str:
    """n (1 <= n < 10^6) in words, the way people say it, for round trips."""
    if n >= 1000:
        high, low = divmod(n, 1000)
        return (to_english(high) + " thousand " + (to_english(low) if low else "")).strip()
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_ONES[hundreds], "hundred"]
    if 10 <= rest < 20:
        words.append(_EN_TEENS.split()[rest - 10])
    else:
        tens, ones = divmod(rest, 10)
        if tens:
            words.append(_EN_TENS[tens])
        if ones:
            words.append(_EN_ONES[ones])
    return " ".join(words)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("两千", "2000"),
        ("二千", "2000"),
        ("一千二", "1200"),
        ("三万五", "35000"),
        ("两万三千五", "23500"),
        ("一万零五百", "10500"),
        ("十二", "12"),
        ("十", "10"),
        ("二十", "20"),
        ("二十五", "25"),
        ("一百零八", "108"),
        ("一百一十", "110"),
        ("一百五", "150"),
        ("一千零五", "1005"),
        ("一千零二十", "1020"),
        ("一万零五", "10005"),
        ("十万", "100000"),
        ("一百万", "1000000"),
        ("三千万", "30000000"),
        ("一千二万", "12000000"),
        ("一亿二", "120000000"),
        ("一点五万", "15000"),
        ("十二点五", "12.5"),
        ("零点五", "0.5"),
        ("三点一四", "3.14"),
        ("3万", "30000"),
        ("1.5万", "15000"),
        ("3万5", "35000"),
        ("1万2千", "12000"),
        ("1万零25", "10025"),
        ("2千", "2000"),
        ("1200", "1200"),
        ("1200.50", "1200.50"),
        ("壹仟贰佰", "1200"),
        ("壹万伍仟", "15000"),
        ("壹拾贰", "12"),
        ("〇", "0"),
        ("零", "0"),
        ("两", "2"),
        ("五", "5"),
        # Traditional characters and full-width digits.
        ("兩千", "2000"),
        ("一萬二", "12000"),
        ("一點五萬", "15000"),
        ("壹仟貳佰", "1200"),
        ("３万", "30000"),
        ("  两千  ", "2000"),
    ],
)
def test_chinese_numbers(text: str, expected: str) -> None:
    assert parse_chinese_number(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "百",  # a unit with no digit
        "千",
        "万",
        "千万",  # "by all means"
        "万一",  # "in case"
        "一二",  # digits read one by one
        "二零二六",
        "零五",
        "两三千",  # "two or three thousand"
        "一两万",
        "三四百",
        "一百一千",  # units out of order
        "一万万",
        "十十",
        "三点",  # three o'clock
        "一点",  # "a bit"
        "点五",
        "一百二点五",  # 102.5 or 120.5?
        "1万25",  # 10025 or 12500?
        "两千块",  # currency is the amount parser's business
        "two",
        "abc",
        "1,200",
        "9" * 40,
    ],
)
def test_chinese_non_numbers(text: str) -> None:
    assert parse_chinese_number(text) is None


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("two hundred", 200),
        ("two hundred fifty", 250),
        ("two hundred and fifty", 250),
        ("a hundred and twenty", 120),
        ("a hundred", 100),
        ("an hundred", 100),
        ("twelve hundred", 1200),
        ("twenty five hundred", 2500),
        ("one thousand two hundred", 1200),
        ("one thousand and five", 1005),
        ("two grand", 2000),
        ("a grand", 1000),
        ("twenty-five", 25),
        ("forty two", 42),
        ("fourty", 40),
        ("nineteen", 19),
        ("zero", 0),
        ("one million two hundred thousand", 1200000),
        ("two hundred thousand", 200000),
    ],
)
def test_english_numbers(words: str, expected: int) -> None:
    assert english_words_value(words) == expected


@pytest.mark.parametrize(
    "words",
    [
        "two fifty",  # 2.50 or 250?
        "one two",
        "twenty twenty",
        "twenty twelve",
        "hundred",
        "a",
        "and",
        "five hundred and",
        "two hundred three hundred",
        "one thousand one million",
        "grand",
        "",
        "fifty bucks",
    ],
)
def test_english_non_numbers(words: str) -> None:
    assert english_words_value(words) is None


def test_english_number_takes_a_word_list() -> None:
    assert parse_english_number(["two", "hundred", "and", "five"]) == 205
    assert parse_english_number([]) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("一九八八", "1988"),
        ("二〇二六", "2026"),
        ("幺三八", "138"),
        ("八八", "88"),
        ("0421", "0421"),
    ],
)
def test_digit_readings(text: str, expected: str) -> None:
    assert read_digit_string(text) == expected


@pytest.mark.parametrize("text", ["", "一千", "12a", "十二"])
def test_digit_readings_refuse_quantities(text: str) -> None:
    assert read_digit_string(text) is None


@given(st.integers(min_value=1, max_value=99_999_999))
def test_standard_chinese_readings_round_trip(n: int) -> None:
    assert parse_chinese_number(to_chinese(n)) == n


@given(st.integers(min_value=1, max_value=99_999_999))
def test_financial_capitals_round_trip(n: int) -> None:
    assert parse_chinese_number(to_chinese(n, capitals=True)) == n


@given(st.integers(min_value=1, max_value=99_999_999))
def test_liang_for_two_round_trips(n: int) -> None:
    text = to_chinese(n).replace("二千", "两千").replace("二万", "两万").replace("二百", "两百")
    assert parse_chinese_number(text) == n


@given(st.integers(min_value=1, max_value=999_999))
def test_english_words_round_trip(n: int) -> None:
    assert english_words_value(to_english(n)) == n


@given(st.text())
def test_never_raises(text: str) -> None:
    value = parse_chinese_number(text)
    assert value is None or value >= 0


def test_no_float_anywhere_in_the_parsers() -> None:
    """Money must never pass through binary floating point, not even briefly."""
    package = Path(__file__).resolve().parents[2] / "bot" / "domain" / "parsing"
    sources = sorted(package.glob("*.py"))
    assert sources
    for source in sources:
        assert "float(" not in source.read_text(encoding="utf-8"), source.name
