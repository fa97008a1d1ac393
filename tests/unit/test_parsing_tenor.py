"""Installment tenors in months (bot.domain.parsing.tenor)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import MAX_TENOR_MONTHS, parse_tenor
from tests.unit.test_parsing_numbers import to_chinese, to_english


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 months", 12),
        ("12 month", 12),
        ("12-month", 12),
        ("a 12-month plan", 12),
        ("what's the interest on a 12-month plan", 12),
        ("6 mo", 6),
        ("6mo", 6),
        ("6 mos", 6),
        ("18 mths", 18),
        ("twelve months", 12),
        ("twenty four months", 24),
        ("a year", 12),
        ("one year", 12),
        ("1 yr", 12),
        ("2 yrs", 24),
        ("two years", 24),
        ("1.5 years", 18),
        ("a year and a half", 18),
        ("year and a half", 18),
        ("one and a half years", 18),
        ("half a year", 6),
        ("1 year 6 months", 18),
        ("one year and six months", 18),
        ("3 installments", 3),
        ("3 instalments", 3),
        ("three payments", 3),
        ("12 monthly payments", 12),
        ("can I split it into 6 monthly installments?", 6),
        ("$200 a month for 12 months", 12),
        # Chinese
        ("18期", 18),
        ("分12期", 12),
        ("十二期", 12),
        ("分六期", 6),
        ("分3期吧", 3),
        ("24个月", 24),
        ("六个月", 6),
        ("分期3个月", 3),
        ("两年", 24),
        ("三年", 36),
        ("一年", 12),
        ("一年半", 18),
        ("两年半", 30),
        ("半年", 6),
        ("一年零六个月", 18),
        ("3年期", 36),
        ("能不能分12期", 12),
        ("账单分24期手续费多少", 24),
        ("分12期和12个月是一样的吧", 12),
        ("兩年", 24),
        ("分１２期", 12),
        ("24個月", 24),
    ],
)
def test_tenors(text: str, expected: int) -> None:
    assert parse_tenor(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "can I split my bill",
        "账单能分期吗",
        "我想分期",
        "make a payment",
        "5% a year",
        "20% per year",
        "6 or 12 months",
        "3-6 months",
        "12期和24期哪个好",
        "12到24期",
        "六或十二期",
        "两三年",
        "第12期",  # the 12th instalment, not a 12-month plan
        "12月",  # December
        "2026年",
        "1.3 years",
        "1000 months",
        "0 months",
        "121 months",
        "20年",
        "I'll pay $200",
    ],
)
def test_no_confident_tenor(text: str) -> None:
    assert parse_tenor(text) is None


@given(
    st.integers(min_value=1, max_value=MAX_TENOR_MONTHS),
    st.sampled_from(
        [
            "{n} months",
            "{n}-month plan",
            "{words} months",
            "{n} installments",
            "{n}期",
            "分{n}期",
            "分{cn}期",
            "{n}个月",
            "{cn}个月",
            "我想分{cn}期可以吗",
        ]
    ),
)
def test_month_tenors_round_trip(months: int, template: str) -> None:
    text = template.format(n=months, words=to_english(months), cn=to_chinese(months))
    assert parse_tenor(text) == months


@given(
    st.integers(min_value=1, max_value=10),
    st.sampled_from(["{n} years", "{words} years", "{cn}年"]),
)
def test_year_tenors_round_trip(years: int, template: str) -> None:
    text = template.format(n=years, words=to_english(years), cn=to_chinese(years))
    assert parse_tenor(text) == 12 * years


@given(st.text())
def test_never_raises(text: str) -> None:
    months = parse_tenor(text)
    assert months is None or 1 <= months <= MAX_TENOR_MONTHS


def test_long_text_is_refused_without_error() -> None:
    assert parse_tenor("12 months " + "x" * 10_000) is None
