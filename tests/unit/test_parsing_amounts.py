"""Money amounts (bot.domain.parsing.amounts)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import MAX_AMOUNT, extract_amounts, parse_amount
from tests.unit.test_parsing_numbers import to_chinese, to_english

_CENTS = Decimal("0.01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # English, typed
        ("$1,200", "1200.00"),
        ("1200.50", "1200.50"),
        ("1,200.5", "1200.50"),
        ("2k", "2000.00"),
        ("2K", "2000.00"),
        ("2 k", "2000.00"),
        ("1.2k", "1200.00"),
        ("$1.5k", "1500.00"),
        ("1.234k", "1234.00"),
        ("$200", "200.00"),
        ("$ 200", "200.00"),
        ("$200.00", "200.00"),
        ("200 dollars", "200.00"),
        ("200 bucks", "200.00"),
        ("75 bucks", "75.00"),
        ("USD 75", "75.00"),
        ("75 usd", "75.00"),
        ("US$75", "75.00"),
        ("1 grand", "1000.00"),
        ("2 grand", "2000.00"),
        ("2 thousand", "2000.00"),
        ("1.5 thousand", "1500.00"),
        ("3 hundred", "300.00"),
        ("1.5 million", "1500000.00"),
        ("50 cents", "0.50"),
        ("200 dollars and 50 cents", "200.50"),
        ("0.99", "0.99"),
        ("200", "200.00"),
        ("007", "7.00"),
        # English, spoken
        ("two hundred", "200.00"),
        ("two hundred fifty", "250.00"),
        ("two hundred and fifty dollars", "250.00"),
        ("a hundred and twenty", "120.00"),
        ("twelve hundred", "1200.00"),
        ("twenty five hundred dollars", "2500.00"),
        ("one thousand two hundred", "1200.00"),
        ("a grand", "1000.00"),
        ("two grand", "2000.00"),
        ("fifty bucks", "50.00"),
        ("five hundred dollars and fifty cents", "500.50"),
        ("twenty", "20.00"),
        ("five", "5.00"),  # the whole answer
        ("five dollars", "5.00"),
        # Chinese
        ("¥3,000", "3000.00"),
        ("￥3000", "3000.00"),
        ("3000元", "3000.00"),
        ("3000 元", "3000.00"),
        ("三千块", "3000.00"),
        ("三千块钱", "3000.00"),
        ("五千块", "5000.00"),
        ("两千", "2000.00"),
        ("2千", "2000.00"),
        ("1.5万", "15000.00"),
        ("一点五万", "15000.00"),
        ("3万5", "35000.00"),
        ("一千二", "1200.00"),
        ("两万三千五百块", "23500.00"),
        ("一万零五百", "10500.00"),
        ("壹仟贰佰元整", "1200.00"),
        ("rmb 500", "500.00"),
        ("RMB500", "500.00"),
        ("500rmb", "500.00"),
        ("人民币500", "500.00"),
        ("五百元", "500.00"),
        ("五十", "50.00"),  # the whole answer
        ("五十块", "50.00"),
        ("75美元", "75.00"),
        ("75刀", "75.00"),
        ("三块五", "3.50"),
        ("两块五毛钱", "2.50"),
        ("18,600.00元", "18600.00"),
        ("兩千塊", "2000.00"),
        ("１２００元", "1200.00"),
    ],
)
def test_amounts(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ok i can do two hundred on friday", "200.00"),
        ("I'll pay 200 on the 15th", "200.00"),
        ("I will pay 200 on the 15", "200.00"),
        ("pay 15 on the 15th", "15.00"),
        ("I can pay $75 by Dec 1", "75.00"),
        ("can i pay 300 on 12/15?", "300.00"),
        ("I'll pay 200 in 3 days", "200.00"),
        ("I can do 500 by 5pm", "500.00"),
        ("pay 250 at 10:30", "250.00"),
        ("3 payments of $200", "200.00"),
        ("I owe 2480 but I can only pay $200", "200.00"),
        ("my card ending 4821, I'll pay $200", "200.00"),
        ("i can pay about 200", "200.00"),
        ("I'll pay $1.2k tomorrow", "1200.00"),
        ("one more thing, 200 is ok", "200.00"),
        ("i can pay 200. thanks", "200.00"),
        ("what about a 12 month plan for 1,200?", "1200.00"),
        ("我下周五还两千", "2000.00"),
        ("15号还500", "500.00"),
        ("下个月5号还一千五", "1500.00"),
        ("三天后还2000", "2000.00"),
        ("我这个月15号能还3000块", "3000.00"),
        ("下周五之前还五千", "5000.00"),
        ("万一还不上，我先还两千", "2000.00"),
        ("我能还上两千", "2000.00"),
        ("把5000分12期", "5000.00"),
        ("五千分期", "5000.00"),
        ("第一期还500", "500.00"),
        ("大概两千左右", "2000.00"),
        ("我先还2000一次性", "2000.00"),
        ("星期五还1000", "1000.00"),
        ("年化18%的话我还一万", "10000.00"),
    ],
)
def test_amounts_in_sentences(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello",
        "payday",
        "next friday",
        "我下周五还",
        "能不能分12期",
        "分12期",
        "on the 15th",
        "12 months",
        "3 days",
        "5pm",
        "100%",
        "12/1",
        "2026-12-01",
        "ending in 4821",
        "my last 4 digits are 4821",
        "尾号4821",
        # several different amounts
        "$200 or $300",
        "200-300",
        "200, 300",
        "my balance is 2480 and i can pay 500",
        "I owe $2,480 but can only pay $200",
        "还了两千，还剩三千",
        "call me 415-555-0101",
        "4111 1111 1111 1111",
        # negatives and zero
        "-200",
        "-$200",
        "$-200",
        "minus 200",
        "负200",
        "0",
        "$0",
        # absurd
        "$20,000,000",
        "10000001",
        "12 million",
        "1,500万",
        # bounds, ranges, approximations
        "两三千",
        "一两万",
        "三四百",
        "两千多",
        "200+",
        "200 plus",
        "up to 200",
        "less than 200",
        "over 200",
        "a couple hundred",
        "a few hundred",
        "几千",
        "好几千",
        "不到两千",
        "两千以上",
        "十几万",
        # formats we cannot read safely
        "1.200,50",
        "1.200",
        "1,20",
        "12,00",
        "1,2000",
        "$12.345",
        "1.2.3",
        "1.234567k",
        "two fifty",
        "i can pay 2oo",  # letter o for zero
        "2kg",
        # other currencies
        "€200",
        "200 euros",
        "£50",
        "500日元",
        "HK$300",
        "500港币",
        # words that are not amounts
        "一点",
        "我可以先还一点",
        "还五十",
        "十分感谢",
        "千万别打电话",
        "Option 2",
    ],
)
def test_no_confident_amount(text: str) -> None:
    assert parse_amount(text) is None


def test_single_small_numbers_count_only_alone() -> None:
    assert parse_amount("one") == Decimal("1.00")
    assert parse_amount("one more day please") is None
    assert parse_amount("we need one") is None
    assert parse_amount("一") == Decimal("1.00")
    assert parse_amount("我们一起想办法") is None


def test_limits() -> None:
    assert parse_amount("$10,000,000") == MAX_AMOUNT
    assert parse_amount("$10,000,000.01") is None
    assert parse_amount("0.01") == Decimal("0.01")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$200 or $300", ["200.00", "300.00"]),
        ("I'll pay 200 on the 15th", ["200.00"]),
        ("还了两千，还剩三千", ["2000.00", "3000.00"]),
        ("1.200,50 or 300", ["300.00"]),
        ("nothing here", []),
    ],
)
def test_extract_amounts(text: str, expected: list[str]) -> None:
    assert extract_amounts(text) == [Decimal(v) for v in expected]


def test_extract_amounts_refuses_huge_text() -> None:
    assert extract_amounts("$200 " * 1000) == []


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f")


_money = st.decimals(min_value=Decimal("0.01"), max_value=MAX_AMOUNT, places=2)


@given(
    _money,
    st.sampled_from(
        [
            "${:,.2f}",
            "{:.2f}",
            "{:,.2f}",
            "USD {:.2f}",
            "{:.2f} dollars",
            "¥{:,.2f}",
            "{:.2f}元",
            "rmb {:,.2f}",
            "I'll pay ${:,.2f} on the 15th",
            "我下周五还{:.2f}元",
            "ok i can do {:,.2f} on friday",
        ]
    ),
)
def test_formatted_amounts_round_trip(value: Decimal, template: str) -> None:
    assert parse_amount(template.format(value)) == value


@given(_money, st.sampled_from(["{}k", "{}K", "${}k", "{} grand"]))
def test_thousands_shorthand_round_trips(value: Decimal, template: str) -> None:
    assert parse_amount(template.format(_plain(value / 1000))) == value


@given(_money)
def test_wan_shorthand_round_trips(value: Decimal) -> None:
    assert parse_amount(f"{_plain(value / 10000)}万") == value


@given(st.integers(min_value=1, max_value=9_999_999), st.sampled_from(["{}元", "{}块", "还{}块钱"]))
def test_chinese_numerals_round_trip(value: int, template: str) -> None:
    assert parse_amount(template.format(to_chinese(value))) == value


@given(st.integers(min_value=1, max_value=999_999))
def test_spoken_amounts_round_trip(value: int) -> None:
    assert parse_amount(f"{to_english(value)} dollars") == value


@given(_money, _money)
def test_two_different_amounts_are_refused(first: Decimal, second: Decimal) -> None:
    text = f"${first:,.2f} or ${second:,.2f}"
    assert parse_amount(text) == (first if first == second else None)


@given(st.text())
def test_never_raises_and_only_returns_cents(text: str) -> None:
    value = parse_amount(text)
    if value is not None:
        assert isinstance(value, Decimal)
        assert value.as_tuple().exponent == -2
        assert _CENTS <= value <= MAX_AMOUNT
    assert all(v.as_tuple().exponent == -2 for v in extract_amounts(text))


def test_long_text_is_refused_without_error() -> None:
    assert parse_amount("$200 " + "x" * 10_000) is None
    assert parse_amount("\x00\x01\u202e😀" * 500) is None
