"""Installment arithmetic: exact schedules, the annualised rate, early payoff."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.enums import Jurisdiction
from bot.domain.installments import (
    Instalment,
    add_months,
    annualised_rate,
    due_dates,
    early_payoff,
    monthly_irr,
    quote,
    split_evenly,
)
from bot.policy import load_policy
from bot.settings import PROJECT_ROOT

POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
# Every (tenor, rate) the shipped policy offers, in either jurisdiction.
POLICY_TERMS = sorted(
    {(tenor, rate) for j in Jurisdiction for tenor, rate in POLICY.installments[j].tenors.items()}
)

principals = st.integers(min_value=50_000, max_value=100_000_000).map(
    lambda cents: Decimal(cents).scaleb(-2)
)
days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


def _reference_monthly_irr(principal: float, payments: list[float]) -> float:
    """An independent float solver: plain Newton from 1%, no bracketing, no Decimal."""
    rate = 0.01
    for _ in range(100):
        npv = principal - sum(p / (1 + rate) ** k for k, p in enumerate(payments, start=1))
        slope = sum(k * p / (1 + rate) ** (k + 1) for k, p in enumerate(payments, start=1))
        step = npv / slope
        rate -= step
        if abs(step) < 1e-15:
            break
    return rate


# --- the figures people quote --------------------------------------------------------


def test_point_72_percent_a_month_over_12_months_is_about_15_6_percent_a_year() -> None:
    q = quote(Decimal("10000.00"), 12, Decimal("0.0072"), date(2026, 12, 15))
    assert q.total_fee == Decimal("864.00")
    assert q.annual_rate_pct == Decimal("15.58")
    assert abs(q.annual_rate - Decimal("0.156")) < Decimal("0.001")
    # Far above the naive 12 × 0.72% = 8.64%: the fee is on the original principal.
    assert q.annual_rate > 12 * Decimal("0.0072") * Decimal("1.7")


def test_the_demo_plan_annual_rate_matches_the_seeded_figure() -> None:
    # bot/demo/personas.py stores 0.122394 for 155.40 a month on 900.00 over 6 months.
    assert annualised_rate(Decimal("900.00"), [Decimal("155.40")] * 6).quantize(
        Decimal("0.000001")
    ) == Decimal("0.122394")


def test_a_schedule_puts_the_rounding_remainder_on_the_first_instalment() -> None:
    q = quote(Decimal("1000.00"), 3, Decimal("0.0095"), date(2027, 1, 31))
    assert q.total_fee == Decimal("28.50")
    assert [i.principal_part for i in q.schedule] == [
        Decimal("333.34"),
        Decimal("333.33"),
        Decimal("333.33"),
    ]
    assert [i.fee_part for i in q.schedule] == [Decimal("9.50")] * 3
    assert [i.amount for i in q.schedule] == [
        Decimal("342.84"),
        Decimal("342.83"),
        Decimal("342.83"),
    ]
    assert q.first_instalment == Decimal("342.84") and q.regular_instalment == Decimal("342.83")
    assert q.total_repayable == Decimal("1028.50")


def test_due_dates_keep_the_day_and_clamp_to_month_end_without_drifting() -> None:
    assert due_dates(date(2027, 1, 31), 4) == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
        date(2027, 4, 30),
    ]
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2027, 12, 15), 1) == date(2028, 1, 15)
    assert add_months(date(2027, 3, 31), -1) == date(2027, 2, 28)


def test_a_zero_fee_plan_has_a_zero_rate() -> None:
    q = quote(Decimal("600.00"), 6, Decimal("0"), date(2027, 5, 1))
    assert q.total_fee == 0 and q.annual_rate == 0 and q.annual_rate_pct == 0
    assert monthly_irr(Decimal("100"), [Decimal("50"), Decimal("50")]) == 0


@pytest.mark.parametrize(
    ("principal", "tenor", "rate"),
    [
        (Decimal("0"), 3, Decimal("0.0095")),
        (Decimal("-1"), 3, Decimal("0.0095")),
        (Decimal("500"), 0, Decimal("0.0095")),
        (Decimal("500"), 3, Decimal("-0.001")),
    ],
)
def test_impossible_quotes_are_refused(principal: Decimal, tenor: int, rate: Decimal) -> None:
    with pytest.raises(ValueError, match=r"must be positive|cannot be negative"):
        quote(principal, tenor, rate, date(2027, 1, 1))


def test_split_evenly_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="parts"):
        split_evenly(Decimal("10"), 0)
    with pytest.raises(ValueError, match="negative"):
        split_evenly(Decimal("-10"), 2)
    assert split_evenly(Decimal("0.05"), 10) == [Decimal("0.05")] + [Decimal("0.00")] * 9
    with pytest.raises(ValueError, match="no payments"):
        monthly_irr(Decimal("10"), [])
    with pytest.raises(ValueError, match="principal"):
        monthly_irr(Decimal("0"), [Decimal("1")])


# --- properties over every policy term ------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(principal=principals, terms=st.sampled_from(POLICY_TERMS), first_due=days)
def test_schedules_add_up_exactly(
    principal: Decimal, terms: tuple[int, Decimal], first_due: date
) -> None:
    tenor, rate = terms
    q = quote(principal, tenor, rate, first_due)
    assert len(q.schedule) == tenor
    assert q.total_fee == (principal * rate * tenor).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert sum(i.principal_part for i in q.schedule) == principal
    assert sum(i.fee_part for i in q.schedule) == q.total_fee
    assert sum(i.amount for i in q.schedule) == principal + q.total_fee
    for item in q.schedule:
        assert item.amount == item.principal_part + item.fee_part
        assert item.amount.as_tuple().exponent == -2
    # Only the first instalment differs, by less than one cent per instalment.
    assert len({i.amount for i in q.schedule[1:]}) <= 1
    assert Decimal(0) <= q.first_instalment - q.regular_instalment < Decimal("0.01") * 2 * tenor
    assert [i.sequence for i in q.schedule] == list(range(1, tenor + 1))
    assert q.schedule[0].due_date == first_due
    for earlier, later in zip(q.schedule, q.schedule[1:], strict=False):
        assert 28 <= (later.due_date - earlier.due_date).days <= 31


@settings(max_examples=150, deadline=None)
@given(principal=principals, terms=st.sampled_from(POLICY_TERMS))
def test_the_rate_matches_an_independent_float_solver(
    principal: Decimal, terms: tuple[int, Decimal]
) -> None:
    tenor, rate = terms
    q = quote(principal, tenor, rate, date(2027, 3, 10))
    reference = 12 * _reference_monthly_irr(float(principal), [float(i.amount) for i in q.schedule])
    assert abs(float(q.annual_rate) - reference) < 1e-6
    assert q.annual_rate_pct == (q.annual_rate * 100).quantize(Decimal("0.01"))


@settings(max_examples=150, deadline=None)
@given(
    principal=principals,
    tenor=st.sampled_from([3, 6, 12, 24]),
    rates=st.lists(
        st.integers(min_value=1, max_value=500), min_size=2, max_size=2, unique=True
    ).map(sorted),
)
def test_a_higher_fee_never_gives_a_lower_rate(
    principal: Decimal, tenor: int, rates: list[int]
) -> None:
    low, high = (Decimal(r).scaleb(-4) for r in rates)
    cheaper = quote(principal, tenor, low, date(2027, 6, 1))
    dearer = quote(principal, tenor, high, date(2027, 6, 1))
    assert dearer.total_fee >= cheaper.total_fee
    assert dearer.annual_rate >= cheaper.annual_rate


@settings(max_examples=100, deadline=None)
@given(principal=principals, terms=st.sampled_from(POLICY_TERMS))
def test_the_solved_rate_discounts_the_payments_back_to_the_principal(
    principal: Decimal, terms: tuple[int, Decimal]
) -> None:
    tenor, rate = terms
    q = quote(principal, tenor, rate, date(2027, 6, 1))
    r = monthly_irr(principal, [i.amount for i in q.schedule])
    present_value = sum(i.amount / (1 + r) ** i.sequence for i in q.schedule)
    assert abs(present_value - principal) < Decimal("1e-6")


# --- early payoff ----------------------------------------------------------------------


def _paid(schedule: tuple[Instalment, ...], count: int) -> list[Instalment]:
    return [
        Instalment(i.sequence, i.due_date, i.principal_part, i.fee_part, i.amount, paid=True)
        if i.sequence <= count
        else i
        for i in schedule
    ]


def test_early_payoff_in_the_us_owes_no_future_fees() -> None:
    q = quote(Decimal("1200.00"), 6, Decimal("0.0089"), date(2027, 1, 10))
    schedule = _paid(q.schedule, 2)
    payoff = early_payoff(schedule, date(2027, 3, 20), waives_future_fees=True)
    # Instalment 3 (due 10 March) is overdue: its fee is owed; 4–6 are future.
    assert payoff.remaining_principal == Decimal("800.00")
    assert payoff.fees_due == Decimal("10.68")
    assert payoff.fees_waived == Decimal("10.68") * 3
    assert payoff.amount == Decimal("810.68")


def test_early_payoff_in_cn_still_owes_every_remaining_fee() -> None:
    q = quote(Decimal("12000.00"), 12, Decimal("0.0072"), date(2027, 1, 10))
    schedule = _paid(q.schedule, 3)
    payoff = early_payoff(schedule, date(2027, 4, 1), waives_future_fees=False)
    assert payoff.remaining_principal == Decimal("9000.00")
    assert payoff.fees_due == Decimal("86.40") * 9
    assert payoff.fees_waived == 0
    assert payoff.amount == Decimal("9000.00") + Decimal("777.60")


@settings(max_examples=100, deadline=None)
@given(
    principal=principals,
    terms=st.sampled_from(POLICY_TERMS),
    paid=st.integers(min_value=0, max_value=24),
    offset=st.integers(min_value=-40, max_value=800),
)
def test_early_payoff_never_exceeds_what_is_left_and_covers_the_principal(
    principal: Decimal, terms: tuple[int, Decimal], paid: int, offset: int
) -> None:
    tenor, rate = terms
    first_due = date(2027, 2, 28)
    q = quote(principal, tenor, rate, first_due)
    schedule = _paid(q.schedule, min(paid, tenor))
    today = first_due + timedelta(days=offset)
    left = sum(i.amount for i in schedule if not i.paid)
    for waives in (True, False):
        payoff = early_payoff(schedule, today, waives_future_fees=waives)
        assert payoff.remaining_principal == sum(i.principal_part for i in schedule if not i.paid)
        assert payoff.amount + payoff.fees_waived == left
        assert payoff.remaining_principal <= payoff.amount <= left
