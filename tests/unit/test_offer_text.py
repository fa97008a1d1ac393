"""An offer's stored terms in plain words, both languages, every kind of terms."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from bot.domain.enums import Language, OfferKind
from bot.domain.formatting import format_date
from bot.domain.offer_text import describe_offer
from bot.policy.offers import (
    FeeWaiverTerms,
    HardshipTerms,
    PersonalisedInstallmentTerms,
    PromiseTerms,
    SettlementTerms,
    terms_record,
)

D = Decimal
EN, ZH = Language.EN, Language.ZH


def _stored(terms: Any, **extra: Any) -> dict[str, Any]:
    """The terms as `record_offer` stores them (with the keys it adds)."""
    return {**terms_record(terms), "reasons": ["months_beyond_limit"], **extra}


HARDSHIP_24 = HardshipTerms(
    balance=D("7141.50"),
    fee_waiver=D("58.00"),
    interest_waiver=D("0.00"),
    amount_to_repay=D("7083.50"),
    down_payment=D("283.34"),
    months=24,
    instalments=(D("283.42"), *[D("283.34")] * 23),
)
PERSONALISED_48 = PersonalisedInstallmentTerms(
    periods=48, balance=D("42000.00"), instalments=tuple([D("875.00")] * 48)
)
SETTLEMENT = SettlementTerms(
    amount=D("45500.00"),
    pct_of_balance=D("70.00"),
    pay_by=date(2026, 12, 3),
    forgiven=D("19500.00"),
)


def test_hardship_plan_in_english() -> None:
    text = describe_offer(
        OfferKind.HARDSHIP_PLAN,
        _stored(HARDSHIP_24, monthly_affordable="300.00", case_summary="Hardship (job_loss)…"),
        "USD",
        EN,
    )
    assert text.startswith("Hardship plan: down payment $283.34, then 24 monthly payments")
    assert "the first $283.42 and the others $283.34" in text
    assert "total $7,083.50" in text
    assert "fees waived $58.00" in text
    assert "interest" not in text  # nothing waived: not mentioned
    assert "job_loss" not in text and "300.00" not in text and "months_beyond" not in text


def test_hardship_plan_in_chinese() -> None:
    text = describe_offer(OfferKind.HARDSHIP_PLAN, _stored(HARDSHIP_24), "USD", ZH)
    assert text.startswith("还款计划：首付283.34美元，之后分24个月")
    assert "首月283.42美元，其余每月283.34美元" in text
    assert "合计7,083.50美元" in text
    assert "减免费用58.00美元" in text
    assert text.endswith("。")


def test_hardship_plan_without_down_payment_and_with_interest_waived() -> None:
    terms = HardshipTerms(
        balance=D("1200.00"),
        fee_waiver=D("0.00"),
        interest_waiver=D("30.00"),
        amount_to_repay=D("1170.00"),
        down_payment=D("0.00"),
        months=6,
        instalments=tuple([D("195.00")] * 6),
    )
    english = describe_offer(OfferKind.HARDSHIP_PLAN, _stored(terms), "USD", EN)
    assert english == (
        "Hardship plan: 6 monthly payments of $195.00 (total $1,170.00; interest waived $30.00)."
    )
    chinese = describe_offer(OfferKind.HARDSHIP_PLAN, _stored(terms), "CNY", ZH)
    assert (
        chinese == "还款计划：无需首付，分6个月，每月195.00元（合计1,170.00元；减免利息30.00元）。"
    )


def test_personalised_installment_in_both_languages() -> None:
    stored = _stored(PERSONALISED_48, case_summary="个性化分期 requested over 48 periods")
    chinese = describe_offer(OfferKind.HARDSHIP_PLAN, stored, "CNY", ZH)
    assert chinese == "个性化分期：共48期，每期875.00元（合计42,000.00元）。"
    english = describe_offer(OfferKind.HARDSHIP_PLAN, stored, "CNY", EN)
    assert english == (
        "Personalised repayment plan: 48 monthly payments of ¥875.00 (total ¥42,000.00)."
    )


def test_personalised_installment_with_a_remainder_on_the_first_period() -> None:
    terms = PersonalisedInstallmentTerms(
        periods=3, balance=D("1000.00"), instalments=(D("333.34"), D("333.33"), D("333.33"))
    )
    chinese = describe_offer(OfferKind.HARDSHIP_PLAN, _stored(terms), "CNY", ZH)
    assert "共3期，首期333.34元，其余每期333.33元" in chinese
    assert "合计1,000.00元" in chinese
    english = describe_offer(OfferKind.HARDSHIP_PLAN, _stored(terms), "CNY", EN)
    assert "the first ¥333.34 and the others ¥333.33" in english


def test_settlement_in_both_languages() -> None:
    english = describe_offer(OfferKind.SETTLEMENT, _stored(SETTLEMENT), "CNY", EN)
    assert english == (
        "Settlement: pay ¥45,500.00 (70% of the balance) by Thursday, December 3, 2026. "
        "Once it is received, the remaining ¥19,500.00 is waived."
    )
    chinese = describe_offer(OfferKind.SETTLEMENT, _stored(SETTLEMENT), "CNY", ZH)
    assert "在2026年12月3日（星期四）前一次性还款45,500.00元（欠款余额的70%）" in chinese
    assert "剩余的19,500.00元予以减免" in chinese


def test_settlement_percentage_keeps_its_decimals() -> None:
    terms = SettlementTerms(
        amount=D("4930.00"), pct_of_balance=D("72.50"), pay_by=date(2026, 12, 3), forgiven=D("1870")
    )
    assert "(72.5% of the balance)" in describe_offer(
        OfferKind.SETTLEMENT, _stored(terms), "USD", EN
    )


def test_promise_in_both_languages() -> None:
    terms = PromiseTerms(amount=D("200"), pay_on=date(2026, 12, 4), required_amount=D("120.00"))
    assert describe_offer(OfferKind.PROMISE, _stored(terms), "USD", EN) == (
        "Promise to pay: $200.00 on Friday, December 4, 2026."
    )
    assert describe_offer(OfferKind.PROMISE, _stored(terms), "CNY", ZH) == (
        "还款承诺：于2026年12月4日（星期五）还款200.00元。"
    )


def test_fee_waiver_in_both_languages() -> None:
    whole = FeeWaiverTerms(fee_ids=(3, 4), pct=D(100), amount_waived=D("58.00"))
    assert describe_offer(OfferKind.FEE_WAIVER, _stored(whole), "USD", EN) == (
        "Fee waiver: $58.00 of fees waived and taken off the balance."
    )
    assert describe_offer(OfferKind.FEE_WAIVER, _stored(whole), "USD", ZH) == (
        "费用减免：减免费用共58.00美元，从欠款中扣除。"
    )
    half = FeeWaiverTerms(fee_ids=(3,), pct=D("50"), amount_waived=D("14.50"))
    english = describe_offer(OfferKind.FEE_WAIVER, _stored(half), "USD", EN)
    assert "50% of the fees waived, $14.50 in total" in english
    chinese = describe_offer(OfferKind.FEE_WAIVER, _stored(half), "USD", ZH)
    assert "50%" in chinese and "14.50美元" in chinese


@pytest.mark.parametrize(
    ("language", "expected"), [(EN, "$12,345,678.91"), (ZH, "12,345,678.91美元")]
)
def test_amounts_stay_exact(language: Language, expected: str) -> None:
    """Decimal strings all the way: a large amount keeps every cent (a float would not)."""
    terms = {**terms_record(SETTLEMENT), "amount": "12345678.91", "forgiven": "0.09"}
    assert expected in describe_offer(OfferKind.SETTLEMENT, terms, "USD", language)


@pytest.mark.parametrize("language", [EN, ZH])
@pytest.mark.parametrize(
    "terms",
    [
        {"type": "SomethingNew", "amount": "100.00", "case_summary": "secret notes"},
        {"amount": "100.00"},  # no type at all
        {"type": "SettlementTerms", "amount": 45500.5, "pay_by": "2026-12-03"},  # a float
        {"type": "SettlementTerms", "amount": "oops", "pct_of_balance": "70"},
        {"type": "PromiseTerms", "amount": "200.00", "pay_on": "next friday"},
        {"type": "HardshipTerms", "months": 24, "instalments": ["283.34"]},  # 1 of 24
        {"type": "PersonalisedInstallmentTerms", "periods": 0, "instalments": []},
    ],
)
def test_unreadable_terms_give_a_generic_sentence(
    terms: dict[str, Any], language: Language
) -> None:
    text = describe_offer(OfferKind.SETTLEMENT, terms, "USD", language)
    if language is EN:
        assert text == "Settlement: a colleague can go through the details with you."
    else:
        assert text == "一次性结清：具体条款可由同事为您说明。"
    assert "100" not in text and "secret" not in text


def test_dates_use_the_project_format() -> None:
    day = date(2026, 12, 3)
    text = describe_offer(OfferKind.SETTLEMENT, _stored(SETTLEMENT), "CNY", ZH)
    assert format_date(day, ZH) in text
