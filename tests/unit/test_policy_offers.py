"""The offer-limit engine against every row of CONTRACT.md §5, in CN and US."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.enums import Authority, Bucket, FeeKind, Jurisdiction, OfferKind
from bot.policy import load_policy
from bot.policy.offers import (
    AccountSnapshot,
    Decision,
    FeeItem,
    FeeWaiverRequest,
    HardshipPlanRequest,
    OfferRequest,
    PersonalisedInstallmentRequest,
    PromiseRequest,
    SettlementRequest,
    best_hardship_offer,
    evaluate,
)
from bot.settings import PROJECT_ROOT

POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
TODAY = date(2027, 3, 15)
CN, US = Jurisdiction.CN, Jurisdiction.US
BOT, AGENT, SUPERVISOR = Authority.BOT, Authority.AGENT, Authority.SUPERVISOR
BOTH = pytest.mark.parametrize("jurisdiction", [CN, US])

DPD = {
    Bucket.CURRENT: 0,
    Bucket.EARLY: 12,
    Bucket.MID: 45,
    Bucket.LATE: 75,
    Bucket.NPL: 120,
    Bucket.CHARGED_OFF: 200,
}


def D(text: str) -> Decimal:
    return Decimal(text)


def snap(bucket: Bucket, jurisdiction: Jurisdiction = US, **changes: Any) -> AccountSnapshot:
    dpd = DPD[bucket]
    base = AccountSnapshot(
        jurisdiction=jurisdiction,
        bucket=bucket,
        days_past_due=dpd,
        balance=D("6000.00"),
        past_due_amount=D("0.00") if dpd == 0 else D("400.00"),
        minimum_due=D("180.00") if dpd == 0 else D("400.00"),
    )
    return replace(base, **changes)


def decide(snapshot: AccountSnapshot, request: OfferRequest) -> Decision:
    return evaluate(POLICY, snapshot, request, TODAY)


def in_days(n: int) -> date:
    return TODAY + timedelta(days=n)


def late_fee(fee_id: int, days_ago: int, amount: str = "29.00", **kw: Any) -> FeeItem:
    return FeeItem(fee_id, FeeKind.LATE, D(amount), TODAY - timedelta(days=days_ago), **kw)


def assert_bot(decision: Decision) -> None:
    assert decision.bot_may_agree, decision
    assert decision.authority is BOT and decision.reasons == ()


def assert_needs(decision: Decision, authority: Authority | None, *reasons: str) -> None:
    assert not decision.bot_may_agree
    assert decision.authority is authority, decision
    for reason in reasons:
        assert reason in decision.reasons, decision


# --- current: installments only, plus a promise of the minimum ---------------------------


@BOTH
def test_current_promise_of_the_minimum_within_14_days(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.CURRENT, jurisdiction)
    assert_bot(decide(account, PromiseRequest(D("180.00"), in_days(14))))
    assert_needs(
        decide(account, PromiseRequest(D("100.00"), in_days(3))), AGENT, "amount_below_required"
    )
    assert_needs(
        decide(account, PromiseRequest(D("180.00"), in_days(15))), AGENT, "promise_beyond_window"
    )


@BOTH
def test_current_accounts_get_no_hardship_plan_from_the_bot(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.CURRENT, jurisdiction)
    decision = decide(account, HardshipPlanRequest(months=12))
    assert_needs(decision, AGENT, "not_offered_by_bot_in_bucket")
    offer = best_hardship_offer(POLICY, account, D("1000"), TODAY)
    assert not offer.found and offer.reason == "bot_not_authorised"


# --- early: promise within 14 days, one late fee waiver per 12 months ------------------------


@BOTH
def test_early_promise_within_14_days_is_the_bots(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.EARLY, jurisdiction)
    decision = decide(account, PromiseRequest(D("400.00"), in_days(14)))
    assert_bot(decision)
    assert decision.kind is OfferKind.PROMISE
    assert decision.terms is not None and decision.terms_record()["required_amount"] == "400.00"
    assert_bot(decide(account, PromiseRequest(D("900.00"), TODAY)))


@BOTH
def test_early_promise_escalations(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.EARLY, jurisdiction)
    assert_needs(
        decide(account, PromiseRequest(D("400.00"), in_days(15))), AGENT, "promise_beyond_window"
    )
    assert_needs(
        decide(account, PromiseRequest(D("399.99"), in_days(5))), AGENT, "amount_below_required"
    )
    assert_needs(
        decide(replace(account, open_promises=1), PromiseRequest(D("400.00"), in_days(5))),
        AGENT,
        "promise_already_open",
    )
    # Refused outright: nobody may agree to these.
    assert_needs(
        decide(account, PromiseRequest(D("400.00"), TODAY - timedelta(days=1))),
        None,
        "promise_date_past",
    )
    assert_needs(
        decide(account, PromiseRequest(D("400.00"), in_days(31))), None, "promise_beyond_window"
    )
    assert_needs(decide(account, PromiseRequest(D("0"), in_days(2))), None, "amount_not_positive")
    assert_needs(
        decide(account, PromiseRequest(D("6000.01"), in_days(2))), None, "amount_above_balance"
    )


@BOTH
def test_early_one_late_fee_waiver_per_12_months(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.EARLY, jurisdiction, fees=(late_fee(7, 11),))
    decision = decide(account, FeeWaiverRequest())
    assert_bot(decision)
    assert decision.kind is OfferKind.FEE_WAIVER
    assert decision.terms_record()["amount_waived"] == "29.00"
    assert_bot(decide(account, FeeWaiverRequest(fee_ids=(7,))))

    second = replace(account, late_fee_waivers_last_12_months=1)
    assert_needs(decide(second, FeeWaiverRequest()), AGENT, "waiver_limit_reached")
    third = replace(account, late_fee_waivers_last_12_months=2)
    assert_needs(decide(third, FeeWaiverRequest()), None, "waiver_limit_reached")


@BOTH
def test_early_anything_else_goes_to_an_agent(jurisdiction: Jurisdiction) -> None:
    annual = FeeItem(8, FeeKind.ANNUAL, D("95.00"), TODAY - timedelta(days=40))
    account = snap(Bucket.EARLY, jurisdiction, fees=(late_fee(7, 11), annual))
    assert_needs(decide(account, FeeWaiverRequest(fee_ids=(8,))), AGENT, "fee_not_covered")
    assert_needs(decide(account, HardshipPlanRequest(months=6)), AGENT)
    assert_needs(
        decide(account, SettlementRequest(pay_by=in_days(5), pct=D("80"))),
        AGENT,
        "not_offered_by_bot_in_bucket",
    )


def test_fee_waiver_requests_that_make_no_sense_are_refused() -> None:
    account = snap(Bucket.EARLY, fees=(late_fee(7, 11), late_fee(6, 200, waived=True)))
    assert_needs(decide(account, FeeWaiverRequest(fee_ids=(99,))), None, "unknown_fee")
    assert_needs(decide(account, FeeWaiverRequest(fee_ids=(6,))), None, "fee_already_waived")
    assert_needs(decide(snap(Bucket.EARLY), FeeWaiverRequest()), None, "no_fees_to_waive")
    assert_needs(decide(account, FeeWaiverRequest(pct=D("0"))), None, "invalid_pct")


# --- mid: 12-month plan with a down payment, episode fee waivers ------------------------------


@BOTH
def test_mid_plan_up_to_12_months_with_a_down_payment_is_the_bots(
    jurisdiction: Jurisdiction,
) -> None:
    account = snap(Bucket.MID, jurisdiction)
    # 6,000.00 = 500.00 down + 11 × 500.00 … one instalment down is enough.
    decision = decide(account, HardshipPlanRequest(months=11, down_payment=D("500.00")))
    assert_bot(decision)
    record = decision.terms_record()
    assert record["instalments"] == ["500.00"] * 11 and record["down_payment"] == "500.00"
    assert decision.kind is OfferKind.HARDSHIP_PLAN


@BOTH
def test_mid_escalations(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.MID, jurisdiction)
    assert_needs(
        decide(account, HardshipPlanRequest(months=12)), AGENT, "down_payment_below_required"
    )
    assert_needs(
        decide(account, HardshipPlanRequest(months=18, down_payment=D("1000"))),
        AGENT,
        "months_beyond_limit",
    )
    assert_needs(
        decide(
            account,
            HardshipPlanRequest(months=12, down_payment=D("1000"), interest_waiver_pct=D("10")),
        ),
        AGENT,
        "interest_waiver_over_limit",
    )
    assert_needs(
        decide(account, HardshipPlanRequest(months=2, down_payment=D("3000"))),
        AGENT,
        "months_below_minimum",
    )
    assert_needs(
        decide(account, HardshipPlanRequest(months=61, down_payment=D("1000"))),
        None,
        "over_max_months",
    )
    assert_needs(
        decide(account, HardshipPlanRequest(months=6, down_payment=D("6000"))),
        None,
        "down_payment_covers_balance",
    )


@BOTH
def test_mid_waives_this_episodes_fees_but_not_older_ones(jurisdiction: Jurisdiction) -> None:
    overlimit = FeeItem(3, FeeKind.OVERLIMIT, D("25.00"), TODAY - timedelta(days=20))
    old = late_fee(1, 200)
    account = snap(Bucket.MID, jurisdiction, fees=(late_fee(2, 44), overlimit, old))
    decision = decide(account, FeeWaiverRequest(fee_ids=(2, 3)))
    assert_bot(decision)
    assert decision.terms_record()["amount_waived"] == "54.00"
    assert_needs(decide(account, FeeWaiverRequest(fee_ids=(1,))), AGENT, "fee_not_covered")
    assert_needs(decide(account, FeeWaiverRequest()), AGENT, "fee_not_covered")


def test_p3_sarah_lost_her_job_gets_a_mid_bucket_plan_from_the_bot() -> None:
    # CONTRACT §4 P3: US, 45 DPD, balance 6,800.00, one late fee this episode.
    account = AccountSnapshot(
        jurisdiction=US,
        bucket=Bucket.MID,
        days_past_due=45,
        balance=D("6800.00"),
        past_due_amount=D("408.00"),
        minimum_due=D("408.00"),
        fees=(late_fee(1, 44, "40.00"),),
    )
    offer = best_hardship_offer(POLICY, account, D("600.00"), TODAY)
    assert offer.found and offer.terms is not None and offer.request is not None
    terms = offer.terms
    assert terms.fee_waiver == D("40.00") and terms.amount_to_repay == D("6760.00")
    # Shortest term with instalment ≤ 600: 6,760 / (11 + 1 down) = 563.34 → 11 months.
    assert terms.months == 11
    assert terms.down_payment >= terms.instalment
    assert terms.instalment <= D("600.00")
    assert terms.down_payment + sum(terms.instalments) == terms.amount_to_repay
    assert_bot(decide(account, offer.request))

    too_little = best_hardship_offer(POLICY, account, D("450.00"), TODAY)
    assert not too_little.found and too_little.reason == "instalment_above_affordable"
    asked = HardshipPlanRequest(months=12, monthly_affordable=D("450.00"), down_payment=D("600"))
    assert_needs(decide(account, asked), AGENT, "instalment_above_affordable")


def test_cn_mid_personalised_installment_needs_a_person() -> None:
    account = snap(Bucket.MID, CN)
    assert_needs(decide(account, PersonalisedInstallmentRequest(24)), AGENT, "bot_not_authorised")
    assert_needs(decide(account, PersonalisedInstallmentRequest(48)), SUPERVISOR)


# --- late: 36 months, 50 % interest waiver; CN needs an agent; 37–60 supervisor --------------


def test_us_late_plan_up_to_36_months_with_half_the_interest_waived() -> None:
    interest = FeeItem(5, FeeKind.INTEREST, D("800.00"), TODAY - timedelta(days=30))
    account = snap(Bucket.LATE, US, fees=(interest,))
    decision = decide(account, HardshipPlanRequest(months=36, interest_waiver_pct=D("50")))
    assert_bot(decision)
    record = decision.terms_record()
    assert record["interest_waiver"] == "400.00" and record["amount_to_repay"] == "5600.00"

    assert_needs(
        decide(account, HardshipPlanRequest(months=24, interest_waiver_pct=D("60"))),
        AGENT,
        "interest_waiver_over_limit",
    )
    assert_needs(decide(account, HardshipPlanRequest(months=37)), SUPERVISOR, "months_beyond_limit")
    assert_needs(decide(account, HardshipPlanRequest(months=60)), SUPERVISOR)
    assert_needs(
        decide(account, HardshipPlanRequest(months=48, interest_waiver_pct=D("60"))),
        SUPERVISOR,
        "months_beyond_limit",
        "interest_waiver_over_limit",
    )
    assert_needs(decide(account, HardshipPlanRequest(months=61)), None, "over_max_months")
    offer = best_hardship_offer(POLICY, account, D("200.00"), TODAY)
    assert offer.found and offer.terms is not None
    assert offer.terms.interest_waiver == D("400.00")
    assert offer.terms.months == 28  # 5,600 / 200 = 28


def test_us_late_has_no_personalised_installment() -> None:
    decision = decide(snap(Bucket.LATE, US), PersonalisedInstallmentRequest(24))
    assert_needs(decision, None, "not_offered")


def test_cn_late_personalised_installment_is_collected_then_approved() -> None:
    # P5 李娜: CN, 75 DPD, 42,000.00, illness.
    account = snap(Bucket.LATE, CN, balance=D("42000.00"), past_due_amount=D("12600.00"))
    agent = decide(account, PersonalisedInstallmentRequest(36))
    assert_needs(agent, AGENT, "bot_not_authorised")
    # 42,000.00 / 36 = 1,166.66 a month; the 0.24 remainder goes on the first.
    assert agent.terms is not None
    assert agent.terms_record()["instalments"][:2] == ["1166.90", "1166.66"]
    assert_needs(decide(account, PersonalisedInstallmentRequest(37)), SUPERVISOR)
    assert_needs(decide(account, PersonalisedInstallmentRequest(60)), SUPERVISOR)
    assert_needs(decide(account, PersonalisedInstallmentRequest(61)), None, "over_max_months")
    assert_needs(decide(account, PersonalisedInstallmentRequest(0)), None, "invalid_months")
    # A hardship plan is the same product in CN: the bot may not agree it alone.
    assert_needs(decide(account, HardshipPlanRequest(months=24)), AGENT, "bot_not_authorised")
    assert_needs(decide(account, HardshipPlanRequest(months=40)), SUPERVISOR)
    offer = best_hardship_offer(POLICY, account, D("5000"), TODAY)
    assert not offer.found and offer.reason == "bot_not_authorised"


# --- npl: settlement ≥ 70 % in 30 days; ≥ 50 % agent; ≥ 40 % supervisor -----------------------


@BOTH
def test_npl_settlement_limits(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.NPL, jurisdiction, balance=D("65000.00"))
    bot = decide(account, SettlementRequest(pay_by=in_days(30), pct=D("70")))
    assert_bot(bot)
    assert bot.kind is OfferKind.SETTLEMENT
    assert bot.terms_record()["amount"] == "45500.00"
    assert bot.terms_record()["forgiven"] == "19500.00"
    assert_bot(decide(account, SettlementRequest(pay_by=in_days(10), amount=D("45500.00"))))
    assert_needs(
        decide(account, SettlementRequest(pay_by=in_days(10), amount=D("45499.99"))),
        AGENT,
        "settlement_below_minimum",
    )
    assert_needs(
        decide(account, SettlementRequest(pay_by=in_days(31), pct=D("70"))),
        AGENT,
        "pay_by_beyond_window",
    )
    assert_needs(decide(account, SettlementRequest(pay_by=in_days(20), pct=D("50"))), AGENT)
    assert_needs(
        decide(account, SettlementRequest(pay_by=in_days(20), pct=D("45"))),
        SUPERVISOR,
        "settlement_below_minimum",
    )
    assert_needs(decide(account, SettlementRequest(pay_by=in_days(20), pct=D("40"))), SUPERVISOR)
    assert_needs(
        decide(account, SettlementRequest(pay_by=in_days(20), pct=D("39.99"))),
        None,
        "settlement_below_minimum",
    )
    assert_needs(
        decide(account, SettlementRequest(pay_by=TODAY - timedelta(days=1), pct=D("90"))),
        None,
        "pay_by_past",
    )


def test_a_settlement_names_exactly_one_of_amount_and_pct() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        SettlementRequest(pay_by=TODAY)
    with pytest.raises(ValueError, match="exactly one"):
        SettlementRequest(pay_by=TODAY, amount=D("1"), pct=D("1"))


@BOTH
def test_npl_plans_and_other_requests_go_to_an_agent(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.NPL, jurisdiction)
    assert_needs(decide(account, HardshipPlanRequest(months=24)), AGENT)
    assert_bot(decide(account, PromiseRequest(D("400.00"), in_days(7))))
    assert_needs(decide(account, PromiseRequest(D("400.00"), in_days(8))), AGENT)


# --- charged off: information only --------------------------------------------------------


@BOTH
@pytest.mark.parametrize(
    "request_",
    [
        PromiseRequest(D("100.00"), TODAY + timedelta(days=3)),
        FeeWaiverRequest(),
        HardshipPlanRequest(months=24),
        SettlementRequest(pay_by=TODAY + timedelta(days=10), pct=D("90")),
    ],
)
def test_charged_off_offers_all_go_to_a_supervisor(
    jurisdiction: Jurisdiction, request_: OfferRequest
) -> None:
    account = snap(Bucket.CHARGED_OFF, jurisdiction, fees=(late_fee(1, 100),))
    assert_needs(decide(account, request_), SUPERVISOR, "not_offered_by_bot_in_bucket")


@BOTH
def test_charged_off_still_never_exceeds_60_months(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.CHARGED_OFF, jurisdiction)
    assert_needs(decide(account, HardshipPlanRequest(months=61)), None, "over_max_months")
    assert not best_hardship_offer(POLICY, account, D("9999"), TODAY).found


# --- everywhere ------------------------------------------------------------------------------

FLAGS = [
    "dispute_open",
    "attorney_represented",
    "bankruptcy",
    "deceased",
    "vulnerable",
    "complaint",
]


@pytest.mark.parametrize("flag", FLAGS)
@pytest.mark.parametrize("bucket", list(Bucket))
def test_a_flag_means_handoff_in_every_bucket(flag: str, bucket: Bucket) -> None:
    account = snap(bucket, CN if bucket in (Bucket.MID, Bucket.NPL) else US, **{flag: True})
    decision = decide(account, PromiseRequest(D("400.00"), in_days(1)))
    assert decision.handoff_required and not decision.bot_may_agree
    assert decision.authority is AGENT and decision.reasons == (flag,)
    assert decision.terms is None and decision.terms_record() == {}
    offer = best_hardship_offer(POLICY, account, D("1000"), TODAY)
    assert offer.reason == "handoff_required"


@BOTH
def test_two_broken_promises_need_an_agent(jurisdiction: Jurisdiction) -> None:
    account = snap(Bucket.EARLY, jurisdiction)
    request = PromiseRequest(D("400.00"), in_days(5))
    assert_bot(decide(replace(account, broken_promises=1), request))
    assert_needs(decide(replace(account, broken_promises=2), request), AGENT, "broken_promises")
    mid = snap(Bucket.MID, jurisdiction, broken_promises=2)
    assert best_hardship_offer(POLICY, mid, D("1000"), TODAY).reason == "broken_promises"


@settings(max_examples=200, deadline=None)
@given(
    bucket=st.sampled_from(list(Bucket)),
    jurisdiction=st.sampled_from(list(Jurisdiction)),
    months=st.integers(min_value=61, max_value=240),
    down=st.integers(min_value=0, max_value=3000),
)
def test_no_plan_over_60_months_at_any_authority(
    bucket: Bucket, jurisdiction: Jurisdiction, months: int, down: int
) -> None:
    account = snap(bucket, jurisdiction)
    plan = decide(account, HardshipPlanRequest(months=months, down_payment=Decimal(down)))
    personalised = decide(account, PersonalisedInstallmentRequest(months))
    for decision in (plan, personalised):
        assert decision.authority is None and not decision.allowed


@settings(max_examples=200, deadline=None)
@given(
    bucket=st.sampled_from([Bucket.MID, Bucket.LATE]),
    balance_cents=st.integers(min_value=50_000, max_value=20_000_000),
    affordable_cents=st.integers(min_value=1_000, max_value=2_000_000),
    late_fee_cents=st.integers(min_value=0, max_value=10_000),
    interest_cents=st.integers(min_value=0, max_value=200_000),
)
def test_the_best_offer_is_always_one_the_bot_may_agree(
    bucket: Bucket,
    balance_cents: int,
    affordable_cents: int,
    late_fee_cents: int,
    interest_cents: int,
) -> None:
    fees = []
    if late_fee_cents:
        fees.append(late_fee(1, 10, str(Decimal(late_fee_cents).scaleb(-2))))
    if interest_cents:
        fees.append(FeeItem(2, FeeKind.INTEREST, Decimal(interest_cents).scaleb(-2), TODAY))
    balance = Decimal(balance_cents + late_fee_cents + interest_cents).scaleb(-2)
    account = snap(bucket, US, balance=balance, fees=tuple(fees))
    affordable = Decimal(affordable_cents).scaleb(-2)
    offer = best_hardship_offer(POLICY, account, affordable, TODAY)
    rule = POLICY.collections.rules_for(bucket, US).hardship_plan
    assert rule is not None
    if not offer.found:
        assert offer.reason == "instalment_above_affordable"
        longest = offer_for_months(account, rule.max_months.bot or 0)
        assert longest is None or longest.instalment > affordable
        return
    assert offer.terms is not None and offer.request is not None
    terms = offer.terms
    assert_bot(decide(account, offer.request))
    assert terms.instalment <= affordable
    assert terms.down_payment + sum(terms.instalments) == terms.amount_to_repay
    assert terms.amount_to_repay == balance - terms.fee_waiver - terms.interest_waiver
    if bucket is Bucket.MID:
        assert terms.down_payment >= terms.instalment
    # Shortest: one month fewer would not be affordable.
    if terms.months > rule.min_months:
        shorter = offer_for_months(account, terms.months - 1)
        assert shorter is None or shorter.instalment > affordable


def offer_for_months(account: AccountSnapshot, months: int) -> Any:
    """The bot's plan of exactly `months` (via the engine's own construction)."""
    from bot.policy.offers import _plan_with_down_payment

    rules = POLICY.collections.rules_for(account.bucket, account.jurisdiction)
    assert rules.hardship_plan is not None
    down = rules.hardship_plan.min_down_payment_instalments.bot or 0
    interest = rules.hardship_plan.max_interest_waiver_pct.bot or Decimal(0)
    fee = rules.episode_fee_waiver.max_pct.bot or Decimal(0) if rules.episode_fee_waiver else 0
    return _plan_with_down_payment(POLICY, account, TODAY, months, down, interest, Decimal(fee))


def test_decisions_record_the_policy_version_and_json_safe_terms() -> None:
    decision = decide(snap(Bucket.NPL), SettlementRequest(pay_by=in_days(30), pct=D("70")))
    assert decision.policy_version == POLICY.version
    record = decision.terms_record()
    assert json.loads(json.dumps(record)) == record
    assert record["type"] == "SettlementTerms" and record["pay_by"] == in_days(30).isoformat()


# --- whole negotiations: no sequence of requests gets past the policy ------------------

_REQUESTS = st.one_of(
    st.builds(
        lambda cents, days: PromiseRequest(Decimal(cents).scaleb(-2), in_days(days)),
        st.integers(min_value=0, max_value=1_000_000),
        st.integers(min_value=-5, max_value=90),
    ),
    st.builds(
        lambda months, down: HardshipPlanRequest(months=months, down_payment=Decimal(down)),
        st.integers(min_value=1, max_value=120),
        st.integers(min_value=0, max_value=20_000),
    ),
    st.builds(
        lambda pct, days: SettlementRequest(in_days(days), pct=Decimal(pct)),
        st.integers(min_value=1, max_value=100),
        st.integers(min_value=0, max_value=120),
    ),
    st.builds(PersonalisedInstallmentRequest, st.integers(min_value=1, max_value=120)),
)


@settings(max_examples=300, deadline=None)
@given(
    bucket=st.sampled_from(list(Bucket)),
    jurisdiction=st.sampled_from(list(Jurisdiction)),
    requests=st.lists(_REQUESTS, min_size=1, max_size=6),
    counter_offers=st.lists(st.integers(min_value=1_000, max_value=500_000), max_size=4),
)
def test_no_negotiation_gets_the_bot_past_its_limits(
    bucket: Bucket,
    jurisdiction: Jurisdiction,
    requests: list[OfferRequest],
    counter_offers: list[int],
) -> None:
    account = snap(bucket, jurisdiction)
    rules = POLICY.collections.rules_for(bucket, jurisdiction)
    for request in requests:
        decision = decide(account, request)
        if isinstance(request, HardshipPlanRequest | PersonalisedInstallmentRequest):
            months = request.months if isinstance(request, HardshipPlanRequest) else request.periods
            # Nobody, at any authority, may agree a plan over the ceiling.
            assert months <= POLICY.max_plan_months or decision.authority is None
        if not decision.bot_may_agree:
            continue
        # Whatever the bot agreed to by itself is inside the bucket's bot limits.
        if isinstance(request, PromiseRequest):
            assert rules.promise is not None
            window = rules.promise.window_days.limit_for(Authority.BOT)
            assert window is not None and TODAY <= request.pay_on <= in_days(window)
        elif isinstance(request, HardshipPlanRequest):
            assert rules.hardship_plan is not None
            longest = rules.hardship_plan.max_months.limit_for(Authority.BOT)
            assert longest is not None and request.months <= longest
        elif isinstance(request, SettlementRequest):
            assert rules.settlement is not None
            least = rules.settlement.min_pct.limit_for(Authority.BOT)
            assert least is not None and request.pct is not None and request.pct >= least
        else:
            raise AssertionError(f"the bot may never agree {request} by itself")
    # Counter-offers (what the person says they can afford) never buy a plan
    # the bot may not agree.
    for cents in counter_offers:
        offer = best_hardship_offer(POLICY, account, Decimal(cents).scaleb(-2), TODAY)
        if offer.found:
            assert offer.request is not None
            assert decide(account, offer.request).bot_may_agree
            assert offer.request.months <= POLICY.max_plan_months
