"""Installment plan arithmetic: schedules, fees, the annualised rate, early payoff.

Card installments charge a flat monthly fee on the ORIGINAL principal while
the balance falls, so "0.72% a month" costs far more than 12 × 0.72% = 8.64%
a year. Regulators (RULES.md) require the annualised rate computed from the
cash flows, so `quote` solves for the internal rate of return and always
reports it. Everything is exact `Decimal`: a cardholder who adds up the
schedule must get exactly the principal plus the total fee.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

MONTHS_PER_YEAR = 12
# The IRR is solved to well below this; the stored annual rate keeps 10 places.
RATE_PLACES = Decimal("1e-10")
PERCENT_PLACES = Decimal("0.01")
_SOLVER_TOLERANCE = Decimal("1e-14")
_SOLVER_MAX_STEPS = 200


def quantum(currency_exponent: int = 2) -> Decimal:
    """The smallest amount of the currency: 0.01 for USD and CNY (cent, fen)."""
    return Decimal(1).scaleb(-currency_exponent)


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month0 = divmod(month_index, 12)
    month = month0 + 1
    next_month_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def due_dates(first_due: date, tenor: int) -> list[date]:
    """Monthly due dates on `first_due`'s day of the month, clamped to each month's end.

    Each date is counted from `first_due`, not from the previous one, so a plan
    starting on the 31st pays on the 31st whenever a month has one (no drift
    to the 28th after February).
    """
    return [add_months(first_due, k) for k in range(tenor)]


def split_evenly(total: Decimal, parts: int, currency_exponent: int = 2) -> list[Decimal]:
    """`total` in `parts` equal amounts, rounded down; the remainder goes on the first.

    The parts always add up to `total` exactly.

    Raises:
        ValueError: if `parts` is not positive or `total` is negative.
    """
    if parts <= 0:
        raise ValueError(f"cannot split into {parts} parts")
    if total < 0:
        raise ValueError(f"cannot split a negative amount: {total}")
    unit = quantum(currency_exponent)
    total = total.quantize(unit, rounding=ROUND_HALF_UP)
    each = (total / parts).quantize(unit, rounding=ROUND_DOWN)
    first = total - each * (parts - 1)
    return [first] + [each] * (parts - 1)


@dataclass(frozen=True)
class Instalment:
    """One monthly payment of a plan.

    Attributes:
        amount: Always `principal_part + fee_part`.
        paid: Whether it has been paid (for existing plans; quotes are unpaid).
    """

    sequence: int
    due_date: date
    principal_part: Decimal
    fee_part: Decimal
    amount: Decimal
    paid: bool = False


@dataclass(frozen=True)
class Quote:
    """The terms of converting `principal` into `tenor` monthly payments.

    Attributes:
        annual_rate: 12 × the monthly internal rate of return of the cash
            flows, as a fraction (0.1558234628 for 15.58%).
        annual_rate_pct: `annual_rate` as a percentage rounded to 0.01, the
            figure shown to the cardholder.
    """

    principal: Decimal
    tenor: int
    monthly_fee_rate: Decimal
    first_due: date
    total_fee: Decimal
    annual_rate: Decimal
    annual_rate_pct: Decimal
    schedule: tuple[Instalment, ...]

    @property
    def total_repayable(self) -> Decimal:
        return self.principal + self.total_fee

    @property
    def first_instalment(self) -> Decimal:
        """The first payment, which carries the rounding remainder (never smaller)."""
        return self.schedule[0].amount

    @property
    def regular_instalment(self) -> Decimal:
        """Every payment after the first."""
        return self.schedule[-1].amount


def quote(
    principal: Decimal,
    tenor: int,
    monthly_fee_rate: Decimal,
    first_due: date,
    currency_exponent: int = 2,
) -> Quote:
    """Schedule and price of an installment conversion.

    The total fee is principal × rate × tenor, rounded half-up to the cent/fen;
    principal and fee are each split evenly (rounded down) and each rounding
    remainder is added to the first instalment, so the schedule adds up to
    exactly principal + total fee and its principal parts to exactly principal.

    Raises:
        ValueError: if the principal is not positive, the tenor not positive
            or the rate negative.
    """
    if principal <= 0:
        raise ValueError(f"principal must be positive: {principal}")
    if tenor <= 0:
        raise ValueError(f"tenor must be positive: {tenor}")
    if monthly_fee_rate < 0:
        raise ValueError(f"fee rate cannot be negative: {monthly_fee_rate}")
    unit = quantum(currency_exponent)
    principal = principal.quantize(unit, rounding=ROUND_HALF_UP)
    total_fee = (principal * monthly_fee_rate * tenor).quantize(unit, rounding=ROUND_HALF_UP)
    principal_parts = split_evenly(principal, tenor, currency_exponent)
    fee_parts = split_evenly(total_fee, tenor, currency_exponent)
    schedule = tuple(
        Instalment(
            sequence=k + 1,
            due_date=due,
            principal_part=p,
            fee_part=f,
            amount=p + f,
        )
        for k, (due, p, f) in enumerate(
            zip(due_dates(first_due, tenor), principal_parts, fee_parts, strict=True)
        )
    )
    rate = annualised_rate(principal, [item.amount for item in schedule])
    return Quote(
        principal=principal,
        tenor=tenor,
        monthly_fee_rate=monthly_fee_rate,
        first_due=first_due,
        total_fee=total_fee,
        annual_rate=rate,
        annual_rate_pct=(rate * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP),
        schedule=schedule,
    )


def monthly_irr(principal: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The monthly rate r with principal = Σ payment_k / (1 + r)^k, k = 1…n.

    Solved by Newton's method kept inside a bisection bracket, in 50-digit
    decimal arithmetic, to 1e-14. Payments that add up to no more than the
    principal (no fee) give 0: a plan is never quoted with a negative rate.

    Raises:
        ValueError: if the principal is not positive or there are no payments.
    """
    if principal <= 0:
        raise ValueError(f"principal must be positive: {principal}")
    if not payments:
        raise ValueError("no payments")
    with localcontext() as ctx:
        ctx.prec = 50
        if sum(payments, Decimal(0)) <= principal:
            return Decimal(0)

        def npv_and_slope(rate: Decimal) -> tuple[Decimal, Decimal]:
            # npv(rate) = principal - Σ p_k v^k with v = 1/(1+rate); increasing in rate.
            v = 1 / (1 + rate)
            npv, slope, vk = principal, Decimal(0), Decimal(1)
            for k, payment in enumerate(payments, start=1):
                vk *= v
                npv -= payment * vk
                slope += k * payment * vk * v
            return npv, slope

        low, high = Decimal(0), Decimal(1)
        while npv_and_slope(high)[0] < 0:
            low, high = high, high * 2
        rate = (low + high) / 2
        for _ in range(_SOLVER_MAX_STEPS):
            npv, slope = npv_and_slope(rate)
            if npv == 0:
                return +rate
            if npv < 0:
                low = rate
            else:
                high = rate
            step = npv / slope if slope else Decimal(0)
            candidate = rate - step
            if not low < candidate < high:
                candidate = (low + high) / 2
            if abs(candidate - rate) < _SOLVER_TOLERANCE or high - low < _SOLVER_TOLERANCE:
                return +candidate
            rate = candidate
        raise ArithmeticError("IRR did not converge")  # pragma: no cover - bracketed


def annualised_rate(principal: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """12 × the monthly IRR (nominal annual rate, 年化利率), as a fraction to 10 places."""
    rate = MONTHS_PER_YEAR * monthly_irr(principal, payments)
    return rate.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Payoff:
    """What paying a plan off today costs.

    Attributes:
        remaining_principal: Principal of every unpaid instalment.
        fees_due: Fees still owed: those of unpaid instalments already due,
            plus, unless the policy waives them, those not yet due.
        fees_waived: Fees of future instalments the payoff cancels.
    """

    remaining_principal: Decimal
    fees_due: Decimal
    fees_waived: Decimal

    @property
    def amount(self) -> Decimal:
        return self.remaining_principal + self.fees_due


def early_payoff(
    schedule: Sequence[Instalment], today: date, *, waives_future_fees: bool
) -> Payoff:
    """The amount that settles the plan today.

    An instalment due today or earlier is owed in full; one due later owes
    its principal, and its fee only if the jurisdiction's policy keeps future
    fees (`early_payoff_waives_future_fees` false, usual in CN).
    """
    unpaid = [item for item in schedule if not item.paid]
    principal = sum((item.principal_part for item in unpaid), Decimal(0))
    fees_now = sum((item.fee_part for item in unpaid if item.due_date <= today), Decimal(0))
    fees_later = sum((item.fee_part for item in unpaid if item.due_date > today), Decimal(0))
    if waives_future_fees:
        return Payoff(principal, fees_now, fees_later)
    return Payoff(principal, fees_now + fees_later, Decimal(0))
