"""The policy file as typed, frozen pydantic models.

Every number an offer depends on lives in `policy/default.yml`; these models
are its schema. They refuse unknown keys (a typo must not silently fall back
to a default) and check what would otherwise surface as a wrong offer in a
conversation: rates out of range, limits that shrink as authority grows,
plans longer than the global maximum, a bucket left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time
from decimal import Decimal
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.domain.enums import Authority, Bucket, FeeKind, Jurisdiction

AUTHORITY_ORDER: tuple[Authority, ...] = (Authority.BOT, Authority.AGENT, Authority.SUPERVISOR)

Rate = Annotated[Decimal, Field(ge=0, le=Decimal("0.05"))]
Money = Annotated[Decimal, Field(gt=0, decimal_places=2)]
Pct = Annotated[Decimal, Field(ge=0, le=100)]
Months = Annotated[int, Field(gt=0)]
Days = Annotated[int, Field(ge=0)]
Count = Annotated[int, Field(ge=0)]

N = TypeVar("N", int, Decimal)
T = TypeVar("T")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --- per-authority limits -----------------------------------------------------


class _Limits(_Frozen, Generic[N]):
    """One limit per authority; an unlisted authority inherits the next lower one's."""

    bot: N | None = None
    agent: N | None = None
    supervisor: N | None = None

    def listed(self) -> Iterator[tuple[Authority, N]]:
        for authority in AUTHORITY_ORDER:
            value = getattr(self, authority.value)
            if value is not None:
                yield authority, value

    def limit_for(self, authority: Authority) -> N | None:
        """The limit `authority` works under, or None if it may not grant this at all."""
        found: N | None = None
        for candidate, value in self.listed():
            if AUTHORITY_ORDER.index(candidate) > AUTHORITY_ORDER.index(authority):
                break
            found = value
        return found

    @model_validator(mode="after")
    def _not_empty(self) -> _Limits[N]:
        if next(self.listed(), None) is None:
            raise ValueError("at least one of bot, agent, supervisor must be given")
        return self


class UpTo(_Limits[N], Generic[N]):
    """Upper bounds (months, days, percentages waived): never lower for higher authority."""

    @model_validator(mode="after")
    def _non_decreasing(self) -> UpTo[N]:
        values = [v for _, v in self.listed()]
        if values != sorted(values):
            raise ValueError("a higher authority's limit cannot be lower than a lower one's")
        return self

    def lowest_allowing(self, value: N) -> Authority | None:
        """The lowest authority whose limit is at least `value`; None if nobody's is."""
        for authority, limit in self.listed():
            if value <= limit:
                return authority
        return None


class AtLeast(_Limits[N], Generic[N]):
    """Lower bounds (minimum % paid, down payment): never higher for higher authority."""

    @model_validator(mode="after")
    def _non_increasing(self) -> AtLeast[N]:
        values = [v for _, v in self.listed()]
        if values != sorted(values, reverse=True):
            raise ValueError("a higher authority's minimum cannot be above a lower one's")
        return self

    def lowest_allowing(self, value: N) -> Authority | None:
        """The lowest authority whose minimum `value` meets; None if nobody's is met."""
        for authority, minimum in self.listed():
            if value >= minimum:
                return authority
        return None


# --- installments ---------------------------------------------------------------


class InstallmentPolicy(_Frozen):
    """Conversion of a purchase or a statement balance into equal monthly payments.

    Attributes:
        tenors: Months → monthly fee rate on the original principal.
        first_due: The first instalment falls on the account's next payment
            due date, or one month after the plan starts if there is none.
        early_payoff_waives_future_fees: Whether paying the plan off early
            cancels the fees of instalments not yet due (US practice) or
            still owes them (usual in CN).
    """

    tenors: dict[Months, Rate] = Field(min_length=1)
    minimum_amount: Money
    eligible_buckets: frozenset[Bucket] = Field(min_length=1)
    first_due: Literal["next_payment_due_date"] = "next_payment_due_date"
    early_payoff_waives_future_fees: bool

    def rate_for(self, tenor: int) -> Decimal | None:
        return self.tenors.get(tenor)


class ByJurisdiction(_Frozen, Generic[T]):
    """One entry for each jurisdiction: a missing one is an error, not a fallback."""

    CN: T
    US: T

    def __getitem__(self, jurisdiction: Jurisdiction) -> T:
        value: T = getattr(self, jurisdiction.value)
        return value


# --- collections ----------------------------------------------------------------


class PromiseRule(_Frozen):
    """Promise to pay: how far ahead, and how much of which amount, per authority."""

    window_days: UpTo[int]
    minimum_basis: Literal["past_due", "minimum_due"]
    minimum_pct: AtLeast[Decimal]


class LateFeeWaiverRule(_Frozen):
    """Late fees waived per rolling 12 months (counting this one)."""

    per_12_months: UpTo[int]


class EpisodeFeeWaiverRule(_Frozen):
    """Waiver of the fees of the current delinquency episode, as a percentage."""

    max_pct: UpTo[Decimal]


class HardshipPlanRule(_Frozen):
    """A repayment plan for the whole balance (协商还款 / hardship workout).

    Attributes:
        min_months: Fewer instalments than this is a promise, not a plan.
        max_months: Monthly instalments after the down payment.
        min_down_payment_instalments: Down payment as a number of instalments.
        max_interest_waiver_pct: Share of accrued interest charges waived.
    """

    min_months: Months = 1
    max_months: UpTo[int]
    min_down_payment_instalments: AtLeast[int]
    max_interest_waiver_pct: UpTo[Decimal]

    @model_validator(mode="after")
    def _min_within_max(self) -> HardshipPlanRule:
        longest = max(months for _, months in self.max_months.listed())
        if self.min_months > longest:
            raise ValueError(f"min_months ({self.min_months}) is above every max_months")
        return self


class SettlementRule(_Frozen):
    """A lump sum that settles the account: at least a share of the balance, paid soon."""

    min_pct: AtLeast[Decimal]
    pay_within_days: UpTo[int]


class PersonalisedInstallmentRule(_Frozen):
    """个性化分期: collected by the bot, approved by a person (CN)."""

    max_periods: UpTo[int]


class BucketRules(_Frozen):
    """What may be agreed in one bucket; a rule left out is not the bot's to grant.

    Attributes:
        escalate_to: Who decides a request this bucket has no rule for.
        personalised_installment: None means the product is not offered
            (rather than escalated): it exists only where configured.
    """

    escalate_to: Authority
    promise: PromiseRule | None = None
    late_fee_waiver: LateFeeWaiverRule | None = None
    episode_fee_waiver: EpisodeFeeWaiverRule | None = None
    hardship_plan: HardshipPlanRule | None = None
    settlement: SettlementRule | None = None
    personalised_installment: PersonalisedInstallmentRule | None = None


class BucketRulesPatch(_Frozen):
    """A per-jurisdiction change to a bucket: the rules given replace the defaults."""

    escalate_to: Authority | None = None
    promise: PromiseRule | None = None
    late_fee_waiver: LateFeeWaiverRule | None = None
    episode_fee_waiver: EpisodeFeeWaiverRule | None = None
    hardship_plan: HardshipPlanRule | None = None
    settlement: SettlementRule | None = None
    personalised_installment: PersonalisedInstallmentRule | None = None

    @model_validator(mode="after")
    def _keeps_escalation(self) -> BucketRulesPatch:
        if "escalate_to" in self.model_fields_set and self.escalate_to is None:
            raise ValueError("escalate_to cannot be withdrawn, only changed")
        return self

    def apply(self, rules: BucketRules) -> BucketRules:
        changes = {name: getattr(self, name) for name in self.model_fields_set}
        return rules.model_copy(update=changes)


class _PerBucket(_Frozen, Generic[T]):
    current: T
    early: T
    mid: T
    late: T
    npl: T
    charged_off: T

    def __getitem__(self, bucket: Bucket) -> T:
        value: T = getattr(self, bucket.value)
        return value


class BucketTable(_PerBucket[BucketRules]):
    """Every bucket's rules: a bucket left out is an error."""


class BucketPatches(_Frozen):
    current: BucketRulesPatch | None = None
    early: BucketRulesPatch | None = None
    mid: BucketRulesPatch | None = None
    late: BucketRulesPatch | None = None
    npl: BucketRulesPatch | None = None
    charged_off: BucketRulesPatch | None = None

    def __getitem__(self, bucket: Bucket) -> BucketRulesPatch | None:
        patch: BucketRulesPatch | None = getattr(self, bucket.value)
        return patch


class CollectionsPolicy(_Frozen):
    broken_promises_to_agent: Annotated[int, Field(gt=0)]
    episode_fee_kinds: frozenset[FeeKind]
    buckets: BucketTable
    overrides: dict[Jurisdiction, BucketPatches] = Field(default_factory=dict)

    def rules_for(self, bucket: Bucket, jurisdiction: Jurisdiction) -> BucketRules:
        """The default rules of `bucket` with `jurisdiction`'s changes applied."""
        rules = self.buckets[bucket]
        patches = self.overrides.get(jurisdiction)
        patch = patches[bucket] if patches is not None else None
        return patch.apply(rules) if patch is not None else rules


# --- contact --------------------------------------------------------------------


class ContactWindow(_Frozen):
    """Outbound contact only between these local times (cardholder's time zone)."""

    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> ContactWindow:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class SmsCaps(_Frozen):
    max_per_day: Count | None = None
    max_per_7_days: Count | None = None


class CallCaps(_Frozen):
    max_per_day: Count | None = None
    max_per_7_days: Count | None = None
    quiet_days_after_conversation: Days = 0


class ContactPolicy(_Frozen):
    window: ContactWindow
    sms: SmsCaps
    calls: CallCaps
    opt_out_words: tuple[str, ...] = Field(min_length=1)
    opt_in_words: tuple[str, ...] = Field(min_length=1)
    help_words: tuple[str, ...] = Field(min_length=1)


# --- the whole file ---------------------------------------------------------------


class Policy(_Frozen):
    """One version of the issuer's policy, as loaded from the policy file."""

    version: str = Field(min_length=1, max_length=32, pattern=r"^[0-9A-Za-z._-]+$")
    authorities: tuple[Authority, ...]
    max_plan_months: Months
    installments: ByJurisdiction[InstallmentPolicy]
    collections: CollectionsPolicy
    contact: ByJurisdiction[ContactPolicy]

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        if self.authorities != AUTHORITY_ORDER:
            order = " < ".join(a.value for a in AUTHORITY_ORDER)
            raise ValueError(f"authorities: must be exactly [{order}], lowest first")
        problems = list(self._plans_beyond_maximum())
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _plans_beyond_maximum(self) -> Iterator[str]:
        ceiling = self.max_plan_months
        for jurisdiction in Jurisdiction:
            for tenor in self.installments[jurisdiction].tenors:
                if tenor > ceiling:
                    yield (
                        f"installments.{jurisdiction.value}.tenors.{tenor}: "
                        f"longer than max_plan_months ({ceiling})"
                    )
        for where, limits in self._month_limits():
            for authority, months in limits.listed():
                if months > ceiling:
                    yield (
                        f"{where}.{authority.value}: {months} is longer than "
                        f"max_plan_months ({ceiling})"
                    )

    def _month_limits(self) -> Iterator[tuple[str, UpTo[int]]]:
        sections: list[tuple[str, BucketRules | BucketRulesPatch | None]] = []
        for bucket in Bucket:
            sections.append(
                (f"collections.buckets.{bucket.value}", self.collections.buckets[bucket])
            )
            for jurisdiction, patches in self.collections.overrides.items():
                where = f"collections.overrides.{jurisdiction.value}.{bucket.value}"
                sections.append((where, patches[bucket]))
        for where, rules in sections:
            if rules is None:
                continue
            if rules.hardship_plan is not None:
                yield f"{where}.hardship_plan.max_months", rules.hardship_plan.max_months
            if rules.personalised_installment is not None:
                yield (
                    f"{where}.personalised_installment.max_periods",
                    rules.personalised_installment.max_periods,
                )

    def rank(self, authority: Authority) -> int:
        """Position of `authority` in the order (bot 0, agent 1, supervisor 2)."""
        return self.authorities.index(authority)
