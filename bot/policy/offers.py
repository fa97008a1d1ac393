"""The offer-limit engine: may the bot agree to this, and if not, who may?

Pure functions over the policy and a snapshot of the account (no I/O), so the
dialogue, the agent desk and the tests all get the same answer. The dialogue
model never decides an amount or a term (CONTRACT.md §5): it turns what the
cardholder asked for into a request, and `evaluate` says whether the bot may
agree, which authority must otherwise decide, and why, as machine codes the
dialogue can explain in either language.

Rules of the game, in order:
1. A dispute, attorney, bankruptcy, deceased, complaint or vulnerability flag
   means an immediate handoff, whatever was asked.
2. Malformed or impossible requests (a promise in the past, a plan longer
   than `max_plan_months`, below every authority's floor) are refused
   outright: `authority` is None.
3. Otherwise each dimension of the request (term, date, amount, waiver) asks
   for the lowest authority whose limit admits it; the decision needs the
   highest of those. Two broken promises need at least an agent.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Any

from bot.domain.enums import Authority, Bucket, FeeKind, Jurisdiction, OfferKind
from bot.domain.installments import quantum, split_evenly
from bot.policy.models import AtLeast, BucketRules, Policy, UpTo

HUNDRED = Decimal(100)

# Reason codes (stable: dialogue responses and reports key on them).
REASON_BROKEN_PROMISES = "broken_promises"
REASON_NOT_OFFERED_BY_BOT = "not_offered_by_bot_in_bucket"
REASON_BOT_NOT_AUTHORISED = "bot_not_authorised"
REASON_NOT_OFFERED = "not_offered"
REASON_AMOUNT_NOT_POSITIVE = "amount_not_positive"
REASON_AMOUNT_ABOVE_BALANCE = "amount_above_balance"
REASON_AMOUNT_BELOW_REQUIRED = "amount_below_required"
REASON_PROMISE_DATE_PAST = "promise_date_past"
REASON_PROMISE_BEYOND_WINDOW = "promise_beyond_window"
REASON_PROMISE_ALREADY_OPEN = "promise_already_open"
REASON_UNKNOWN_FEE = "unknown_fee"
REASON_FEE_ALREADY_WAIVED = "fee_already_waived"
REASON_NO_FEES_TO_WAIVE = "no_fees_to_waive"
REASON_FEE_NOT_COVERED = "fee_not_covered"
REASON_WAIVER_LIMIT_REACHED = "waiver_limit_reached"
REASON_WAIVER_PCT_OVER_LIMIT = "waiver_pct_over_limit"
REASON_INVALID_PCT = "invalid_pct"
REASON_INVALID_MONTHS = "invalid_months"
REASON_OVER_MAX_MONTHS = "over_max_months"
REASON_MONTHS_BELOW_MINIMUM = "months_below_minimum"
REASON_MONTHS_BEYOND_LIMIT = "months_beyond_limit"
REASON_INVALID_DOWN_PAYMENT = "invalid_down_payment"
REASON_DOWN_PAYMENT_COVERS_BALANCE = "down_payment_covers_balance"
REASON_DOWN_PAYMENT_BELOW_REQUIRED = "down_payment_below_required"
REASON_INTEREST_WAIVER_OVER_LIMIT = "interest_waiver_over_limit"
REASON_FEE_WAIVER_OVER_LIMIT = "fee_waiver_over_limit"
REASON_INSTALMENT_ABOVE_AFFORDABLE = "instalment_above_affordable"
REASON_AFFORDABLE_NOT_POSITIVE = "affordable_not_positive"
REASON_SETTLEMENT_BELOW_MINIMUM = "settlement_below_minimum"
REASON_PAY_BY_PAST = "pay_by_past"
REASON_PAY_BY_BEYOND_WINDOW = "pay_by_beyond_window"
REASON_PERIODS_BEYOND_LIMIT = "periods_beyond_limit"
REASON_HANDOFF_REQUIRED = "handoff_required"

# Handoff flags (RULES.md: escalate at once, in any bucket), as reason codes.
FLAG_DISPUTE = "dispute_open"
FLAG_ATTORNEY = "attorney_represented"
FLAG_BANKRUPTCY = "bankruptcy"
FLAG_DECEASED = "deceased"
FLAG_VULNERABLE = "vulnerable"
FLAG_COMPLAINT = "complaint"


# --- inputs -----------------------------------------------------------------------


@dataclass(frozen=True)
class FeeItem:
    id: int
    kind: FeeKind
    amount: Decimal
    assessed_on: date
    waived: bool = False


@dataclass(frozen=True)
class AccountSnapshot:
    """The facts about an account that offer limits depend on.

    Attributes:
        balance: Everything owed now, fees and interest included.
        fees: Fees and interest charges assessed (waived ones included, so a
            request naming one can be told it is already waived).
        late_fee_waivers_last_12_months: Late fees waived in the past 12 months.
        open_promises: Promises to pay not yet kept or broken.
        broken_promises: Promises broken (the count the policy escalates on).
    """

    jurisdiction: Jurisdiction
    bucket: Bucket
    days_past_due: int
    balance: Decimal
    past_due_amount: Decimal
    minimum_due: Decimal
    fees: tuple[FeeItem, ...] = ()
    late_fee_waivers_last_12_months: int = 0
    open_promises: int = 0
    broken_promises: int = 0
    dispute_open: bool = False
    attorney_represented: bool = False
    bankruptcy: bool = False
    deceased: bool = False
    vulnerable: bool = False
    complaint: bool = False
    currency_exponent: int = 2

    def handoff_flags(self) -> tuple[str, ...]:
        flags = (
            (self.dispute_open, FLAG_DISPUTE),
            (self.attorney_represented, FLAG_ATTORNEY),
            (self.bankruptcy, FLAG_BANKRUPTCY),
            (self.deceased, FLAG_DECEASED),
            (self.vulnerable, FLAG_VULNERABLE),
            (self.complaint, FLAG_COMPLAINT),
        )
        return tuple(code for raised, code in flags if raised)

    def delinquent_since(self, today: date) -> date:
        """The first day past due of the current episode (today when current)."""
        return today - timedelta(days=self.days_past_due)

    def episode_fees(self, today: date, kinds: Iterable[FeeKind]) -> list[FeeItem]:
        """Unwaived fees of `kinds` assessed since the account went past due."""
        wanted = frozenset(kinds)
        if self.days_past_due == 0:
            return []
        start = self.delinquent_since(today)
        return [
            fee
            for fee in self.fees
            if not fee.waived and fee.kind in wanted and fee.assessed_on >= start
        ]

    def interest_charges(self) -> list[FeeItem]:
        """Unwaived interest charges: what an interest waiver reduces."""
        return [fee for fee in self.fees if not fee.waived and fee.kind is FeeKind.INTEREST]

    def money(self, amount: Decimal) -> Decimal:
        return amount.quantize(quantum(self.currency_exponent), rounding=ROUND_HALF_UP)

    def money_up(self, amount: Decimal) -> Decimal:
        """Rounded up to the cent/fen: for minimums the cardholder must reach."""
        return amount.quantize(quantum(self.currency_exponent), rounding=ROUND_UP)


@dataclass(frozen=True)
class PromiseRequest:
    amount: Decimal
    pay_on: date


@dataclass(frozen=True)
class FeeWaiverRequest:
    """Waive the fees with these ids (None: every unwaived fee), `pct` of each."""

    fee_ids: tuple[int, ...] | None = None
    pct: Decimal = HUNDRED


@dataclass(frozen=True)
class HardshipPlanRequest:
    """Repay the whole balance: a down payment now, then `months` monthly instalments.

    Attributes:
        monthly_affordable: What the cardholder says they can pay a month; a
            plan above it is not one the bot should sign them into.
        interest_waiver_pct: Share of accrued interest charges waived.
        fee_waiver_pct: Share of this episode's fees waived.
    """

    months: int
    monthly_affordable: Decimal | None = None
    down_payment: Decimal = Decimal(0)
    interest_waiver_pct: Decimal = Decimal(0)
    fee_waiver_pct: Decimal = Decimal(0)


@dataclass(frozen=True)
class SettlementRequest:
    """Settle the account for a lump sum: `amount`, or `pct` of the balance.

    Raises:
        ValueError: unless exactly one of `amount` and `pct` is given.
    """

    pay_by: date
    amount: Decimal | None = None
    pct: Decimal | None = None

    def __post_init__(self) -> None:
        if (self.amount is None) == (self.pct is None):
            raise ValueError("give exactly one of amount and pct")


@dataclass(frozen=True)
class PersonalisedInstallmentRequest:
    """个性化分期 over `periods` months: the bot collects it, a person approves."""

    periods: int


OfferRequest = (
    PromiseRequest
    | FeeWaiverRequest
    | HardshipPlanRequest
    | SettlementRequest
    | PersonalisedInstallmentRequest
)


# --- outputs ----------------------------------------------------------------------


@dataclass(frozen=True)
class PromiseTerms:
    amount: Decimal
    pay_on: date
    required_amount: Decimal | None  # the least the bot may accept; None if it may not


@dataclass(frozen=True)
class FeeWaiverTerms:
    fee_ids: tuple[int, ...]
    pct: Decimal
    amount_waived: Decimal


@dataclass(frozen=True)
class HardshipTerms:
    """A hardship plan, down to the cent.

    Attributes:
        amount_to_repay: balance − fee_waiver − interest_waiver.
        instalments: After the down payment; the first carries the rounding
            remainder, so they add up exactly to amount_to_repay − down_payment.
    """

    balance: Decimal
    fee_waiver: Decimal
    interest_waiver: Decimal
    amount_to_repay: Decimal
    down_payment: Decimal
    months: int
    instalments: tuple[Decimal, ...]

    @property
    def instalment(self) -> Decimal:
        """The largest monthly payment (the first)."""
        return self.instalments[0]


@dataclass(frozen=True)
class SettlementTerms:
    amount: Decimal
    pct_of_balance: Decimal
    pay_by: date
    forgiven: Decimal


@dataclass(frozen=True)
class PersonalisedInstallmentTerms:
    periods: int
    balance: Decimal
    instalments: tuple[Decimal, ...]


Terms = (
    PromiseTerms | FeeWaiverTerms | HardshipTerms | SettlementTerms | PersonalisedInstallmentTerms
)


@dataclass(frozen=True)
class Decision:
    """The engine's answer to one request.

    Attributes:
        authority: The lowest authority that may grant the request as asked;
            None when nobody may (refused by policy).
        reasons: Why the bot may not agree by itself (empty when it may).
        handoff_required: A flag on the account: a person must take over now.
        terms: What was evaluated, computed exactly (None after a handoff or
            when the request could not be priced).
    """

    kind: OfferKind
    authority: Authority | None
    reasons: tuple[str, ...]
    policy_version: str
    terms: Terms | None = None
    handoff_required: bool = False

    @property
    def bot_may_agree(self) -> bool:
        return self.authority is Authority.BOT and not self.handoff_required

    @property
    def allowed(self) -> bool:
        """Whether anyone at all may grant it under this policy."""
        return self.authority is not None

    def terms_record(self) -> dict[str, Any]:
        """The terms as JSON-safe values, for `Offer.terms` and the audit log."""
        return terms_record(self.terms) if self.terms is not None else {}


def terms_record(terms: Terms) -> dict[str, Any]:
    """`terms` with decimals and dates as strings (exact, JSON-safe)."""

    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return {"type": type(terms).__name__, **{k: plain(v) for k, v in asdict(terms).items()}}


# --- evaluation -------------------------------------------------------------------


@dataclass
class _Verdict:
    """Accumulates the authority a request needs and the reasons why."""

    policy: Policy
    needed: Authority = Authority.BOT
    refused: bool = False
    reasons: list[str] = field(default_factory=list)

    def refuse(self, reason: str) -> None:
        self.refused = True
        self._note(reason)

    def require(self, authority: Authority | None, reason: str) -> None:
        if authority is None:
            self.refuse(reason)
        elif authority is not Authority.BOT:
            if self.policy.rank(authority) > self.policy.rank(self.needed):
                self.needed = authority
            self._note(reason)

    def require_limit(
        self,
        limits: UpTo[int] | UpTo[Decimal] | AtLeast[int] | AtLeast[Decimal],
        authority: Authority | None,
        reason: str,
    ) -> None:
        """Like `require`, saying "bot_not_authorised" when the bot has no limit at all."""
        if authority is not None and limits.bot is None:
            reason = REASON_BOT_NOT_AUTHORISED
        self.require(authority, reason)

    def _note(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def decision(self, kind: OfferKind, terms: Terms | None) -> Decision:
        return Decision(
            kind=kind,
            authority=None if self.refused else self.needed,
            reasons=tuple(self.reasons),
            policy_version=self.policy.version,
            terms=terms,
        )


def _kind(request: OfferRequest) -> OfferKind:
    if isinstance(request, PromiseRequest):
        return OfferKind.PROMISE
    if isinstance(request, FeeWaiverRequest):
        return OfferKind.FEE_WAIVER
    if isinstance(request, SettlementRequest):
        return OfferKind.SETTLEMENT
    return OfferKind.HARDSHIP_PLAN


def evaluate(
    policy: Policy, snapshot: AccountSnapshot, request: OfferRequest, today: date
) -> Decision:
    """Whether the bot may agree to `request` on this account today, and if not, who may."""
    kind = _kind(request)
    flags = snapshot.handoff_flags()
    if flags:
        return Decision(
            kind=kind,
            authority=Authority.AGENT,
            reasons=flags,
            policy_version=policy.version,
            handoff_required=True,
        )
    rules = policy.collections.rules_for(snapshot.bucket, snapshot.jurisdiction)
    verdict = _Verdict(policy)
    if snapshot.broken_promises >= policy.collections.broken_promises_to_agent:
        verdict.require(Authority.AGENT, REASON_BROKEN_PROMISES)
    terms: Terms | None
    if isinstance(request, PromiseRequest):
        terms = _promise(rules, snapshot, request, today, verdict)
    elif isinstance(request, FeeWaiverRequest):
        terms = _fee_waiver(policy, rules, snapshot, request, today, verdict)
    elif isinstance(request, HardshipPlanRequest):
        terms = _hardship(policy, rules, snapshot, request, today, verdict)
    elif isinstance(request, SettlementRequest):
        terms = _settlement(rules, snapshot, request, today, verdict)
    else:
        terms = _personalised(policy, rules, snapshot, request, verdict)
    return verdict.decision(kind, terms)


def _lowest_meeting_minimum(
    limits: AtLeast[Decimal], amount: Decimal, basis: Decimal, snapshot: AccountSnapshot
) -> Authority | None:
    """The lowest authority whose minimum share of `basis` `amount` reaches."""
    for authority, pct in limits.listed():
        if amount >= snapshot.money_up(basis * pct / HUNDRED):
            return authority
    return None


def _promise(
    rules: BucketRules,
    snapshot: AccountSnapshot,
    request: PromiseRequest,
    today: date,
    verdict: _Verdict,
) -> PromiseTerms:
    amount = snapshot.money(request.amount)
    if amount <= 0:
        verdict.refuse(REASON_AMOUNT_NOT_POSITIVE)
    if amount > snapshot.balance:
        verdict.refuse(REASON_AMOUNT_ABOVE_BALANCE)
    if request.pay_on < today:
        verdict.refuse(REASON_PROMISE_DATE_PAST)
    rule = rules.promise
    if rule is None:
        verdict.require(rules.escalate_to, REASON_NOT_OFFERED_BY_BOT)
        return PromiseTerms(amount, request.pay_on, None)
    days_ahead = max((request.pay_on - today).days, 0)
    verdict.require_limit(
        rule.window_days, rule.window_days.lowest_allowing(days_ahead), REASON_PROMISE_BEYOND_WINDOW
    )
    basis = snapshot.past_due_amount if rule.minimum_basis == "past_due" else snapshot.minimum_due
    verdict.require_limit(
        rule.minimum_pct,
        _lowest_meeting_minimum(rule.minimum_pct, amount, basis, snapshot),
        REASON_AMOUNT_BELOW_REQUIRED,
    )
    if snapshot.open_promises > 0:
        verdict.require(rules.escalate_to, REASON_PROMISE_ALREADY_OPEN)
    bot_pct = rule.minimum_pct.limit_for(Authority.BOT)
    required = snapshot.money_up(basis * bot_pct / HUNDRED) if bot_pct is not None else None
    return PromiseTerms(amount, request.pay_on, required)


def _fee_waiver(
    policy: Policy,
    rules: BucketRules,
    snapshot: AccountSnapshot,
    request: FeeWaiverRequest,
    today: date,
    verdict: _Verdict,
) -> FeeWaiverTerms:
    by_id = {fee.id: fee for fee in snapshot.fees}
    if request.fee_ids is None:
        fees = [fee for fee in snapshot.fees if not fee.waived]
    else:
        fees = []
        for fee_id in request.fee_ids:
            fee = by_id.get(fee_id)
            if fee is None:
                verdict.refuse(REASON_UNKNOWN_FEE)
            elif fee.waived:
                verdict.refuse(REASON_FEE_ALREADY_WAIVED)
            else:
                fees.append(fee)
    if not fees:
        verdict.refuse(REASON_NO_FEES_TO_WAIVE)
    pct = request.pct
    if not 0 < pct <= HUNDRED:
        verdict.refuse(REASON_INVALID_PCT)
    waived = snapshot.money(sum((fee.amount for fee in fees), Decimal(0)) * pct / HUNDRED)
    terms = FeeWaiverTerms(tuple(fee.id for fee in fees), pct, waived)
    if not fees:
        return terms

    # Each rule that covers every requested fee offers an authority; the
    # lowest of them decides. A rule that covers but is exhausted refuses
    # only if no other rule covers.
    offers: list[tuple[Authority | None, str, bool]] = []
    episode = {fee.id for fee in snapshot.episode_fees(today, policy.collections.episode_fee_kinds)}
    if rules.episode_fee_waiver is not None and all(fee.id in episode for fee in fees):
        limits = rules.episode_fee_waiver.max_pct
        offers.append(
            (limits.lowest_allowing(pct), REASON_WAIVER_PCT_OVER_LIMIT, limits.bot is None)
        )
    if rules.late_fee_waiver is not None and all(fee.kind is FeeKind.LATE for fee in fees):
        count = snapshot.late_fee_waivers_last_12_months + len(fees)
        limits_count = rules.late_fee_waiver.per_12_months
        offers.append(
            (
                limits_count.lowest_allowing(count),
                REASON_WAIVER_LIMIT_REACHED,
                limits_count.bot is None,
            )
        )
    if not offers:
        has_rule = rules.episode_fee_waiver is not None or rules.late_fee_waiver is not None
        verdict.require(
            rules.escalate_to, REASON_FEE_NOT_COVERED if has_rule else REASON_NOT_OFFERED_BY_BOT
        )
        return terms
    possible: list[tuple[Authority, str, bool]] = [
        (a, r, no_bot) for a, r, no_bot in offers if a is not None
    ]
    if not possible:
        for _, reason, _ in offers:
            verdict.refuse(reason)
        return terms
    authority, reason, no_bot = min(possible, key=lambda offer: policy.rank(offer[0]))
    verdict.require(authority, REASON_BOT_NOT_AUTHORISED if no_bot else reason)
    return terms


def hardship_terms(
    policy: Policy,
    snapshot: AccountSnapshot,
    today: date,
    *,
    months: int,
    down_payment: Decimal = Decimal(0),
    interest_waiver_pct: Decimal = Decimal(0),
    fee_waiver_pct: Decimal = Decimal(0),
) -> HardshipTerms:
    """The exact plan for these choices (whoever may grant it).

    Raises:
        ValueError: if months is not positive or the down payment leaves
            nothing to spread over the plan.
    """
    episode_fees = snapshot.episode_fees(today, policy.collections.episode_fee_kinds)
    fee_total = sum((fee.amount for fee in episode_fees), Decimal(0))
    interest_total = sum((fee.amount for fee in snapshot.interest_charges()), Decimal(0))
    fee_waiver = snapshot.money(fee_total * fee_waiver_pct / HUNDRED)
    interest_waiver = snapshot.money(interest_total * interest_waiver_pct / HUNDRED)
    to_repay = snapshot.balance - fee_waiver - interest_waiver
    down = snapshot.money(down_payment)
    financed = to_repay - down
    if financed <= 0:
        raise ValueError("the down payment covers the whole amount: that is a payment, not a plan")
    return HardshipTerms(
        balance=snapshot.balance,
        fee_waiver=fee_waiver,
        interest_waiver=interest_waiver,
        amount_to_repay=to_repay,
        down_payment=down,
        months=months,
        instalments=tuple(split_evenly(financed, months, snapshot.currency_exponent)),
    )


def _hardship(
    policy: Policy,
    rules: BucketRules,
    snapshot: AccountSnapshot,
    request: HardshipPlanRequest,
    today: date,
    verdict: _Verdict,
) -> HardshipTerms | None:
    months = request.months
    if months <= 0:
        verdict.refuse(REASON_INVALID_MONTHS)
        return None
    if months > policy.max_plan_months:
        verdict.refuse(REASON_OVER_MAX_MONTHS)
    if request.down_payment < 0:
        verdict.refuse(REASON_INVALID_DOWN_PAYMENT)
        return None
    for pct in (request.interest_waiver_pct, request.fee_waiver_pct):
        if not 0 <= pct <= HUNDRED:
            verdict.refuse(REASON_INVALID_PCT)
            return None
    try:
        terms = hardship_terms(
            policy,
            snapshot,
            today,
            months=months,
            down_payment=request.down_payment,
            interest_waiver_pct=request.interest_waiver_pct,
            fee_waiver_pct=request.fee_waiver_pct,
        )
    except ValueError:
        verdict.refuse(REASON_DOWN_PAYMENT_COVERS_BALANCE)
        return None
    rule = rules.hardship_plan
    if rule is None:
        verdict.require(rules.escalate_to, REASON_NOT_OFFERED_BY_BOT)
        return terms
    if months < rule.min_months:
        verdict.require(rules.escalate_to, REASON_MONTHS_BELOW_MINIMUM)
    verdict.require_limit(
        rule.max_months, rule.max_months.lowest_allowing(months), REASON_MONTHS_BEYOND_LIMIT
    )
    down_authority = None
    for authority, instalments in rule.min_down_payment_instalments.listed():
        if terms.down_payment >= instalments * terms.instalment:
            down_authority = authority
            break
    verdict.require_limit(
        rule.min_down_payment_instalments, down_authority, REASON_DOWN_PAYMENT_BELOW_REQUIRED
    )
    if request.interest_waiver_pct > 0:
        limits = rule.max_interest_waiver_pct
        verdict.require_limit(
            limits,
            limits.lowest_allowing(request.interest_waiver_pct),
            REASON_INTEREST_WAIVER_OVER_LIMIT,
        )
    if request.fee_waiver_pct > 0:
        if rules.episode_fee_waiver is None:
            verdict.require(rules.escalate_to, REASON_FEE_WAIVER_OVER_LIMIT)
        else:
            fee_limits = rules.episode_fee_waiver.max_pct
            verdict.require_limit(
                fee_limits,
                fee_limits.lowest_allowing(request.fee_waiver_pct),
                REASON_FEE_WAIVER_OVER_LIMIT,
            )
    if request.monthly_affordable is not None and terms.instalment > request.monthly_affordable:
        verdict.require(rules.escalate_to, REASON_INSTALMENT_ABOVE_AFFORDABLE)
    return terms


def _settlement(
    rules: BucketRules,
    snapshot: AccountSnapshot,
    request: SettlementRequest,
    today: date,
    verdict: _Verdict,
) -> SettlementTerms:
    balance = snapshot.balance
    if request.amount is not None:
        amount = snapshot.money(request.amount)
    else:
        assert request.pct is not None  # SettlementRequest guarantees one of them
        amount = snapshot.money_up(balance * request.pct / HUNDRED)
    if amount <= 0:
        verdict.refuse(REASON_AMOUNT_NOT_POSITIVE)
    if amount > balance:
        verdict.refuse(REASON_AMOUNT_ABOVE_BALANCE)
    if request.pay_by < today:
        verdict.refuse(REASON_PAY_BY_PAST)
    pct_of_balance = (
        (amount * HUNDRED / balance).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        if balance > 0
        else HUNDRED
    )
    terms = SettlementTerms(
        amount, pct_of_balance, request.pay_by, max(balance - amount, Decimal(0))
    )
    rule = rules.settlement
    if rule is None:
        verdict.require(rules.escalate_to, REASON_NOT_OFFERED_BY_BOT)
        return terms
    verdict.require_limit(
        rule.min_pct,
        _lowest_meeting_minimum(rule.min_pct, amount, balance, snapshot),
        REASON_SETTLEMENT_BELOW_MINIMUM,
    )
    days_ahead = max((request.pay_by - today).days, 0)
    verdict.require_limit(
        rule.pay_within_days,
        rule.pay_within_days.lowest_allowing(days_ahead),
        REASON_PAY_BY_BEYOND_WINDOW,
    )
    return terms


def _personalised(
    policy: Policy,
    rules: BucketRules,
    snapshot: AccountSnapshot,
    request: PersonalisedInstallmentRequest,
    verdict: _Verdict,
) -> PersonalisedInstallmentTerms | None:
    periods = request.periods
    if periods <= 0:
        verdict.refuse(REASON_INVALID_MONTHS)
        return None
    if periods > policy.max_plan_months:
        verdict.refuse(REASON_OVER_MAX_MONTHS)
    rule = rules.personalised_installment
    if rule is None:
        verdict.refuse(REASON_NOT_OFFERED)
    else:
        limits = rule.max_periods
        verdict.require_limit(limits, limits.lowest_allowing(periods), REASON_PERIODS_BEYOND_LIMIT)
    if snapshot.balance <= 0:
        verdict.refuse(REASON_AMOUNT_NOT_POSITIVE)
        return None
    instalments = split_evenly(snapshot.balance, periods, snapshot.currency_exponent)
    return PersonalisedInstallmentTerms(periods, snapshot.balance, tuple(instalments))


# --- the best plan the bot may offer by itself -------------------------------------


@dataclass(frozen=True)
class HardshipOffer:
    """The outcome of looking for a hardship plan the bot may offer.

    Attributes:
        terms: The plan, or None when the bot has none to offer.
        request: The request these terms answer (evaluate it to record it).
        reason: Why there is no plan (None when there is one).
    """

    terms: HardshipTerms | None
    request: HardshipPlanRequest | None
    reason: str | None

    @property
    def found(self) -> bool:
        return self.terms is not None


def _no_offer(reason: str) -> HardshipOffer:
    return HardshipOffer(terms=None, request=None, reason=reason)


def best_hardship_offer(
    policy: Policy, snapshot: AccountSnapshot, monthly_affordable: Decimal, today: date
) -> HardshipOffer:
    """The shortest plan the bot may agree by itself whose instalment is affordable.

    Uses every waiver the bot may grant (episode fees, accrued interest) and
    the smallest down payment the bot's rule allows (a whole number of
    instalments, e.g. one in the mid bucket). When nothing fits, the reason
    says why: a handoff flag, broken promises, the bot not authorised in this
    bucket, or no plan within the bot's months that is affordable (a person
    may agree a longer one).
    """
    flags = snapshot.handoff_flags()
    if flags:
        return _no_offer(REASON_HANDOFF_REQUIRED)
    if snapshot.broken_promises >= policy.collections.broken_promises_to_agent:
        return _no_offer(REASON_BROKEN_PROMISES)
    if monthly_affordable <= 0:
        return _no_offer(REASON_AFFORDABLE_NOT_POSITIVE)
    rules = policy.collections.rules_for(snapshot.bucket, snapshot.jurisdiction)
    rule = rules.hardship_plan
    bot_max = rule.max_months.limit_for(Authority.BOT) if rule is not None else None
    down_instalments = (
        rule.min_down_payment_instalments.limit_for(Authority.BOT) if rule is not None else None
    )
    if rule is None or bot_max is None or down_instalments is None:
        return _no_offer(REASON_BOT_NOT_AUTHORISED)
    interest_pct = rule.max_interest_waiver_pct.limit_for(Authority.BOT) or Decimal(0)
    fee_pct = Decimal(0)
    if rules.episode_fee_waiver is not None:
        fee_pct = rules.episode_fee_waiver.max_pct.limit_for(Authority.BOT) or Decimal(0)
    affordable = snapshot.money(monthly_affordable)
    for months in range(rule.min_months, min(bot_max, policy.max_plan_months) + 1):
        terms = _plan_with_down_payment(
            policy, snapshot, today, months, down_instalments, interest_pct, fee_pct
        )
        if terms is None or terms.instalment > affordable:
            continue
        request = HardshipPlanRequest(
            months=months,
            monthly_affordable=affordable,
            down_payment=terms.down_payment,
            interest_waiver_pct=interest_pct,
            fee_waiver_pct=fee_pct if terms.fee_waiver > 0 else Decimal(0),
        )
        if evaluate(policy, snapshot, request, today).bot_may_agree:
            return HardshipOffer(terms=terms, request=request, reason=None)
    return _no_offer(REASON_INSTALMENT_ABOVE_AFFORDABLE)


def _plan_with_down_payment(
    policy: Policy,
    snapshot: AccountSnapshot,
    today: date,
    months: int,
    down_instalments: int,
    interest_pct: Decimal,
    fee_pct: Decimal,
) -> HardshipTerms | None:
    """The plan whose down payment is `down_instalments` × its (first) instalment.

    Starts from an even split of the whole amount over months + down
    instalments and raises the down payment until it covers the first
    instalment, which carries the rounding remainder.
    """

    def build(down: Decimal) -> HardshipTerms | None:
        try:
            return hardship_terms(
                policy,
                snapshot,
                today,
                months=months,
                down_payment=down,
                interest_waiver_pct=interest_pct,
                fee_waiver_pct=fee_pct,
            )
        except ValueError:
            return None

    plain = build(Decimal(0))
    if plain is None or down_instalments == 0:
        return plain
    share = snapshot.money_up(plain.amount_to_repay / (months + down_instalments))
    down = down_instalments * share
    for _ in range(months + 2):
        terms = build(down)
        if terms is None:
            return None
        if terms.down_payment >= down_instalments * terms.instalment:
            return terms
        down = down_instalments * terms.instalment
    return None  # pragma: no cover - the first instalment shrinks as the down payment grows
