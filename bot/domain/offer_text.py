"""An offer's terms, as stored in `Offer.terms`, in one or two plain sentences.

The terms are the JSON of `bot.policy.offers.terms_record` (a "type" key,
decimal strings, ISO dates) plus whatever was added when the offer was
recorded ("reasons", "case_summary", "monthly_affordable", …: never shown
here). Used where a person has decided an offer and the cardholder is asked
to agree it, so the wording must be exact: amounts are parsed as `Decimal`
and written with `format_money`, dates with `format_date`.

Terms that cannot be read (an unknown type, a missing or malformed value)
give a generic sentence naming the kind of offer and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.domain.enums import Language, OfferKind
from bot.domain.formatting import format_date, format_money

_KIND_LABELS: dict[OfferKind, tuple[str, str]] = {
    OfferKind.INSTALLMENT: ("Installment plan", "分期"),
    OfferKind.PROMISE: ("Promise to pay", "还款承诺"),
    OfferKind.HARDSHIP_PLAN: ("Repayment plan", "还款计划"),
    OfferKind.FEE_WAIVER: ("Fee waiver", "费用减免"),
    OfferKind.INTEREST_WAIVER: ("Interest waiver", "利息减免"),
    OfferKind.SETTLEMENT: ("Settlement", "一次性结清"),
}


class _Unreadable(ValueError):
    """A value the terms should have is missing or malformed."""


def describe_offer(
    kind: OfferKind, terms: dict[str, Any], currency: str, language: Language
) -> str:
    """One or two sentences saying what the offer is, in `language`.

    Args:
        kind: The offer's kind (names the offer when its terms cannot be read).
        terms: `Offer.terms` as stored.
        currency: The account's currency ("USD", "CNY").
    """
    describe = _DESCRIBERS.get(str(terms.get("type") or ""))
    if describe is not None:
        try:
            return describe(_Terms(terms, currency, language))
        except _Unreadable:
            pass
    return _generic(kind, language)


def _generic(kind: OfferKind, language: Language) -> str:
    english, chinese = _KIND_LABELS.get(kind, ("An arrangement", "一项安排"))
    if language is Language.ZH:
        return f"{chinese}：具体条款可由同事为您说明。"
    return f"{english}: a colleague can go through the details with you."


def _decimal(value: Any, key: str) -> Decimal:
    """An exact amount from a decimal string (or an int); floats are not exact money."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Unreadable(key)
    try:
        amount = Decimal(value)
    except InvalidOperation as error:
        raise _Unreadable(key) from error
    if not amount.is_finite():
        raise _Unreadable(key)
    return amount


class _Terms:
    """Typed, formatted access to the stored terms (raises `_Unreadable`)."""

    def __init__(self, raw: dict[str, Any], currency: str, language: Language) -> None:
        self.raw = raw
        self.currency = currency
        self.language = language

    @property
    def zh(self) -> bool:
        return self.language is Language.ZH

    def decimal(self, key: str) -> Decimal:
        return _decimal(self.raw.get(key), key)

    def money(self, key: str) -> str:
        return self.format(self.decimal(key))

    def format(self, amount: Decimal) -> str:
        return format_money(amount, self.currency, self.language)

    def day(self, key: str) -> str:
        try:
            return format_date(date.fromisoformat(str(self.raw.get(key))), self.language)
        except ValueError as error:
            raise _Unreadable(key) from error

    def count(self, key: str) -> int:
        value = self.raw.get(key)
        if isinstance(value, bool):
            raise _Unreadable(key)
        try:
            number = int(str(value))
        except ValueError as error:
            raise _Unreadable(key) from error
        if number <= 0:
            raise _Unreadable(key)
        return number

    def schedule(self, count_key: str) -> tuple[int, list[Decimal]]:
        """The number of payments and each payment (they must agree)."""
        count = self.count(count_key)
        values = self.raw.get("instalments")
        if not isinstance(values, list) or len(values) != count:
            raise _Unreadable("instalments")
        return count, [_decimal(value, "instalments") for value in values]


def _pct(value: Decimal) -> str:
    """`70`, `72.5`: a percentage without trailing zeros."""
    text = f"{value.quantize(Decimal('0.01')):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _payments(t: _Terms, count: int, instalments: Sequence[Decimal], *, periods: bool) -> str:
    """`24 monthly payments of $283.34`; `分24个月，每月…` (a plan) or `共48期，每期…` (个性化分期).

    The first payment carries the rounding remainder, so it is named
    separately when it differs from the others.
    """
    first, rest = instalments[0], list(instalments[1:])
    if t.zh:
        head, each, first_one = (
            (f"共{count}期", "每期", "首期") if periods else (f"分{count}个月", "每月", "首月")
        )
        if not rest or all(amount == first for amount in rest):
            return f"{head}，{each}{t.format(first)}"
        if len(set(rest)) == 1:
            return f"{head}，{first_one}{t.format(first)}，其余{each}{t.format(rest[0])}"
        low, high = t.format(min(instalments)), t.format(max(instalments))
        return f"{head}，{each}{low}至{high}"
    if not rest or all(amount == first for amount in rest):
        return f"{count} monthly payments of {t.format(first)}"
    if len(set(rest)) == 1:
        return (
            f"{count} monthly payments, the first {t.format(first)} "
            f"and the others {t.format(rest[0])}"
        )
    low, high = t.format(min(instalments)), t.format(max(instalments))
    return f"{count} monthly payments of {low} to {high}"


def _promise(t: _Terms) -> str:
    if t.zh:
        return f"还款承诺：于{t.day('pay_on')}还款{t.money('amount')}。"
    return f"Promise to pay: {t.money('amount')} on {t.day('pay_on')}."


def _fee_waiver(t: _Terms) -> str:
    waived = t.money("amount_waived")
    pct = t.decimal("pct") if "pct" in t.raw else Decimal(100)
    if pct >= 100:
        if t.zh:
            return f"费用减免：减免费用共{waived}，从欠款中扣除。"
        return f"Fee waiver: {waived} of fees waived and taken off the balance."
    if t.zh:
        return f"费用减免：减免相关费用的{_pct(pct)}%，共{waived}，从欠款中扣除。"
    return f"Fee waiver: {_pct(pct)}% of the fees waived, {waived} in total, taken off the balance."


def _hardship(t: _Terms) -> str:
    months, instalments = t.schedule("months")
    down = t.decimal("down_payment")
    total = t.money("amount_to_repay")
    fee_waiver, interest_waiver = t.decimal("fee_waiver"), t.decimal("interest_waiver")
    payments = _payments(t, months, instalments, periods=False)
    if t.zh:
        waivers = []
        if fee_waiver > 0:
            waivers.append(f"减免费用{t.format(fee_waiver)}")
        if interest_waiver > 0:
            waivers.append(f"减免利息{t.format(interest_waiver)}")
        extra = "".join(f"；{w}" for w in waivers)
        start = f"首付{t.format(down)}，之后{payments}" if down > 0 else f"无需首付，{payments}"
        return f"还款计划：{start}（合计{total}{extra}）。"
    waived = []
    if fee_waiver > 0:
        waived.append(f"fees waived {t.format(fee_waiver)}")
    if interest_waiver > 0:
        waived.append(f"interest waived {t.format(interest_waiver)}")
    extra = "".join(f"; {w}" for w in waived)
    start = f"down payment {t.format(down)}, then {payments}" if down > 0 else payments
    return f"Hardship plan: {start} (total {total}{extra})."


def _settlement(t: _Terms) -> str:
    amount, pay_by, forgiven = t.money("amount"), t.day("pay_by"), t.money("forgiven")
    pct = _pct(t.decimal("pct_of_balance"))
    if t.zh:
        return (
            f"一次性结清：在{pay_by}前一次性还款{amount}（欠款余额的{pct}%）。"
            f"款项到账后，剩余的{forgiven}予以减免。"
        )
    return (
        f"Settlement: pay {amount} ({pct}% of the balance) by {pay_by}. "
        f"Once it is received, the remaining {forgiven} is waived."
    )


def _personalised(t: _Terms) -> str:
    periods, instalments = t.schedule("periods")
    total = t.format(sum(instalments, Decimal(0)))
    payments = _payments(t, periods, instalments, periods=True)
    if t.zh:
        return f"个性化分期：{payments}（合计{total}）。"
    return f"Personalised repayment plan: {payments} (total {total})."


_DESCRIBERS: dict[str, Callable[[_Terms], str]] = {
    "PromiseTerms": _promise,
    "FeeWaiverTerms": _fee_waiver,
    "HardshipTerms": _hardship,
    "SettlementTerms": _settlement,
    "PersonalisedInstallmentTerms": _personalised,
}
