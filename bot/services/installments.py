"""Installment conversion (消费分期 / 账单分期): what may be split, setting plans up, plan status.

Prices and eligibility come from the policy file, the arithmetic from
`bot.domain.installments`; this module adds the database. Setting a plan up
is exactly-once: a confirmation retried with the same idempotency key (a
webhook replay, a double tap) returns the plan already made, and two
different confirmations for the same purchase or statement never make two
plans, even when they race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Account,
    InstallmentPlan,
    InstallmentScheduleItem,
    Offer,
    Statement,
    Transaction,
)
from bot.db.types import utcnow
from bot.domain.enums import (
    Authority,
    Bucket,
    OfferKind,
    OfferStatus,
    PlanSource,
    PlanStatus,
    TransactionKind,
)
from bot.domain.installments import (
    PERCENT_PLACES,
    Instalment,
    Payoff,
    Quote,
    add_months,
    early_payoff,
    quote,
)
from bot.policy.models import InstallmentPolicy, Policy
from bot.services import audit
from bot.services.accounts import AccountNotFound

# The database keeps the annualised rate to 6 places (NUMERIC(8, 6)).
_STORED_RATE_PLACES = Decimal("0.000001")
_CONVERTIBLE_SOURCES = (PlanSource.PURCHASE, PlanSource.STATEMENT)
# Plans that still occupy their purchase or statement.
_LIVE_PLAN_STATUSES = (PlanStatus.ACTIVE, PlanStatus.PAID_OFF, PlanStatus.BROKEN)


class InstallmentError(Exception):
    """Base of the installment service's refusals (each has a polite reply)."""


class AccountNotEligible(InstallmentError):
    """The account's bucket may not convert anything (only current accounts may)."""

    def __init__(self, account_id: int, bucket: Bucket) -> None:
        super().__init__(f"account {account_id} in bucket {bucket.value} cannot convert")
        self.account_id = account_id
        self.bucket = bucket


class ItemNotFound(InstallmentError, LookupError):
    """No purchase or statement with this reference on this account."""


class ItemNotEligible(InstallmentError):
    """The purchase or statement is not marked as convertible, or is not the latest statement."""


class ItemAlreadyInPlan(InstallmentError):
    """The purchase or statement has been converted already."""


class AmountBelowMinimum(InstallmentError):
    def __init__(self, amount: Decimal, minimum: Decimal) -> None:
        super().__init__(f"{amount} is below the minimum of {minimum}")
        self.amount = amount
        self.minimum = minimum


class TenorNotOffered(InstallmentError):
    def __init__(self, tenor: int, offered: tuple[int, ...]) -> None:
        offered_text = ", ".join(str(t) for t in offered)
        super().__init__(f"{tenor} months is not offered (offered: {offered_text})")
        self.tenor = tenor
        self.offered = offered


class IdempotencyKeyConflict(InstallmentError):
    """The key was already used for a different account, item or tenor."""


# --- item references ---------------------------------------------------------------


def item_ref(source: PlanSource, item_id: int) -> str:
    """The stable text handle of a convertible item ("purchase:12", "statement:3")."""
    return f"{source.value}:{item_id}"


def parse_item_ref(ref: str) -> tuple[PlanSource, int]:
    """The source and id an item reference names.

    Raises:
        ItemNotFound: if `ref` is not a purchase or statement reference.
    """
    kind, _, number = ref.partition(":")
    try:
        source = PlanSource(kind)
    except ValueError as exc:
        raise ItemNotFound(ref) from exc
    if source not in _CONVERTIBLE_SOURCES or not number.isdigit():
        raise ItemNotFound(ref)
    return source, int(number)


@dataclass(frozen=True)
class EligibleItem:
    """A purchase or statement balance that may be converted into a plan.

    Attributes:
        ref: What the dialogue keeps in a slot and passes to `create_plan`.
        description: The merchant, or "Statement balance"; localise by `source`.
        item_date: Posting date of the purchase, closing date of the statement.
    """

    ref: str
    source: PlanSource
    id: int
    description: str
    amount: Decimal
    item_date: date


STATEMENT_DESCRIPTION = "Statement balance"


def _purchase_item(txn: Transaction) -> EligibleItem:
    return EligibleItem(
        ref=item_ref(PlanSource.PURCHASE, txn.id),
        source=PlanSource.PURCHASE,
        id=txn.id,
        description=txn.merchant,
        amount=txn.amount,
        item_date=txn.posted_on,
    )


def _statement_item(statement: Statement) -> EligibleItem:
    return EligibleItem(
        ref=item_ref(PlanSource.STATEMENT, statement.id),
        source=PlanSource.STATEMENT,
        id=statement.id,
        description=STATEMENT_DESCRIPTION,
        amount=statement.closing_balance,
        item_date=statement.statement_date,
    )


# --- eligibility -------------------------------------------------------------------


async def _account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return account


def _terms_for(account: Account, policy: Policy) -> InstallmentPolicy:
    """The jurisdiction's installment terms, if the account's bucket may convert.

    Raises:
        AccountNotEligible: if the bucket is not eligible.
    """
    terms = policy.installments[account.jurisdiction]
    if account.bucket not in terms.eligible_buckets:
        raise AccountNotEligible(account.id, account.bucket)
    return terms


async def _latest_statement(session: AsyncSession, account_id: int) -> Statement | None:
    row = await session.execute(
        select(Statement)
        .where(Statement.account_id == account_id)
        .order_by(Statement.statement_date.desc(), Statement.id.desc())
        .limit(1)
    )
    return row.scalar_one_or_none()


async def _statement_plan_id(session: AsyncSession, statement_id: int) -> int | None:
    row = await session.execute(
        select(InstallmentPlan.id)
        .where(
            InstallmentPlan.source_statement_id == statement_id,
            InstallmentPlan.status.in_(_LIVE_PLAN_STATUSES),
        )
        .limit(1)
    )
    return row.scalar_one_or_none()


async def eligible_items(
    session: AsyncSession, account_id: int, policy: Policy
) -> list[EligibleItem]:
    """What this account may convert now: eligible purchases, then the latest statement.

    Purchases must be marked installment-eligible, not already in a plan and
    at least the policy minimum; the statement must be the latest one, marked
    eligible, not converted yet and at least the minimum. Purchases come
    newest first.

    Raises:
        AccountNotFound: if there is no such account.
        AccountNotEligible: if the account's bucket may not convert anything.
    """
    account = await _account(session, account_id)
    terms = _terms_for(account, policy)
    rows = await session.execute(
        select(Transaction)
        .where(
            Transaction.account_id == account_id,
            Transaction.kind == TransactionKind.PURCHASE,
            Transaction.installment_eligible.is_(True),
            Transaction.installment_plan_id.is_(None),
        )
        .order_by(Transaction.posted_on.desc(), Transaction.id.desc())
    )
    items = [_purchase_item(txn) for txn in rows.scalars() if txn.amount >= terms.minimum_amount]
    statement = await _latest_statement(session, account_id)
    if (
        statement is not None
        and statement.installment_eligible
        and statement.closing_balance >= terms.minimum_amount
        and await _statement_plan_id(session, statement.id) is None
    ):
        items.append(_statement_item(statement))
    return items


async def _item(session: AsyncSession, account_id: int, ref: str) -> EligibleItem:
    """The item `ref` names, if it is convertible at all (the minimum is checked later).

    Raises:
        ItemNotFound, ItemNotEligible, ItemAlreadyInPlan.
    """
    source, item_id = parse_item_ref(ref)
    if source is PlanSource.PURCHASE:
        txn = await session.get(Transaction, item_id)
        if txn is None or txn.account_id != account_id:
            raise ItemNotFound(ref)
        if txn.installment_plan_id is not None:
            raise ItemAlreadyInPlan(ref)
        if txn.kind is not TransactionKind.PURCHASE or not txn.installment_eligible:
            raise ItemNotEligible(ref)
        return _purchase_item(txn)
    statement = await session.get(Statement, item_id)
    if statement is None or statement.account_id != account_id:
        raise ItemNotFound(ref)
    if await _statement_plan_id(session, statement.id) is not None:
        raise ItemAlreadyInPlan(ref)
    latest = await _latest_statement(session, account_id)
    if not statement.installment_eligible or latest is None or latest.id != statement.id:
        raise ItemNotEligible(ref)
    return _statement_item(statement)


# --- quotes ------------------------------------------------------------------------


def first_due_date(payment_due_date: date | None, today: date) -> date:
    """The account's next payment due date, or one month from today if it has none ahead."""
    if payment_due_date is not None and payment_due_date > today:
        return payment_due_date
    return add_months(today, 1)


@dataclass(frozen=True)
class ItemQuotes:
    """One item and its quote for every tenor the policy offers, shortest first."""

    item: EligibleItem
    quotes: tuple[Quote, ...]


def _quote(
    account: Account, terms: InstallmentPolicy, item: EligibleItem, tenor: int, today: date
) -> Quote:
    if item.amount < terms.minimum_amount:
        raise AmountBelowMinimum(item.amount, terms.minimum_amount)
    rate = terms.rate_for(tenor)
    if rate is None:
        raise TenorNotOffered(tenor, tuple(sorted(terms.tenors)))
    return quote(item.amount, tenor, rate, first_due_date(account.payment_due_date, today))


async def quote_options(
    session: AsyncSession, account_id: int, ref: str, policy: Policy, today: date
) -> ItemQuotes:
    """Every tenor's terms for one item: what the cardholder chooses from.

    Raises:
        AccountNotFound, AccountNotEligible, ItemNotFound, ItemNotEligible,
        ItemAlreadyInPlan, AmountBelowMinimum.
    """
    account = await _account(session, account_id)
    terms = _terms_for(account, policy)
    item = await _item(session, account_id, ref)
    quotes = tuple(_quote(account, terms, item, tenor, today) for tenor in sorted(terms.tenors))
    return ItemQuotes(item=item, quotes=quotes)


async def quote_item(
    session: AsyncSession, account_id: int, ref: str, tenor: int, policy: Policy, today: date
) -> Quote:
    """The terms of converting one item over `tenor` months ("what does 12 months cost?").

    Raises:
        AccountNotFound, AccountNotEligible, ItemNotFound, ItemNotEligible,
        ItemAlreadyInPlan, AmountBelowMinimum, TenorNotOffered.
    """
    account = await _account(session, account_id)
    terms = _terms_for(account, policy)
    item = await _item(session, account_id, ref)
    return _quote(account, terms, item, tenor, today)


# --- setting a plan up ---------------------------------------------------------------


@dataclass(frozen=True)
class CreatedPlan:
    """A plan set up by `create_plan`.

    Attributes:
        created: False when an earlier call with the same idempotency key had
            already made it (say "your plan is set up", not "again").
        quote: The plan's terms and schedule as stored.
    """

    plan_id: int
    created: bool
    item_ref: str
    description: str
    quote: Quote
    policy_version: str


def _schedule(rows: list[InstallmentScheduleItem]) -> tuple[Instalment, ...]:
    return tuple(
        Instalment(
            sequence=row.sequence,
            due_date=row.due_date,
            principal_part=row.principal_part,
            fee_part=row.fee_part,
            amount=row.amount,
            paid=row.paid_at is not None,
        )
        for row in sorted(rows, key=lambda r: r.sequence)
    )


async def _schedule_rows(session: AsyncSession, plan_id: int) -> list[InstallmentScheduleItem]:
    rows = await session.execute(
        select(InstallmentScheduleItem)
        .where(InstallmentScheduleItem.plan_id == plan_id)
        .order_by(InstallmentScheduleItem.sequence)
    )
    return list(rows.scalars())


def _stored_quote(plan: InstallmentPlan, schedule: tuple[Instalment, ...]) -> Quote:
    return Quote(
        principal=plan.principal,
        tenor=plan.tenor_months,
        monthly_fee_rate=plan.monthly_fee_rate,
        first_due=schedule[0].due_date,
        total_fee=plan.total_fee,
        annual_rate=plan.annual_rate,
        annual_rate_pct=(plan.annual_rate * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP),
        schedule=schedule,
    )


async def _description(session: AsyncSession, plan: InstallmentPlan) -> tuple[str, date | None]:
    if plan.source_transaction_id is not None:
        txn = await session.get(Transaction, plan.source_transaction_id)
        if txn is not None:
            return txn.merchant, txn.posted_on
    if plan.source_statement_id is not None:
        statement = await session.get(Statement, plan.source_statement_id)
        if statement is not None:
            return STATEMENT_DESCRIPTION, statement.statement_date
    return plan.source.value, None


def _plan_ref(plan: InstallmentPlan) -> str:
    if plan.source is PlanSource.PURCHASE and plan.source_transaction_id is not None:
        return item_ref(PlanSource.PURCHASE, plan.source_transaction_id)
    if plan.source is PlanSource.STATEMENT and plan.source_statement_id is not None:
        return item_ref(PlanSource.STATEMENT, plan.source_statement_id)
    return f"{plan.source.value}:-"


async def _plan_by_key(session: AsyncSession, key: str) -> InstallmentPlan | None:
    row = await session.execute(
        select(InstallmentPlan)
        .where(InstallmentPlan.idempotency_key == key)
        .execution_options(populate_existing=True)
    )
    return row.scalar_one_or_none()


async def _replayed(
    session: AsyncSession, plan: InstallmentPlan, account_id: int, ref: str, tenor: int
) -> CreatedPlan:
    """The plan an earlier call with the same key made, if it is the same request."""
    if plan.account_id != account_id or _plan_ref(plan) != ref or plan.tenor_months != tenor:
        raise IdempotencyKeyConflict("idempotency key already used for a different plan request")
    description, _ = await _description(session, plan)
    schedule = _schedule(await _schedule_rows(session, plan.id))
    return CreatedPlan(
        plan_id=plan.id,
        created=False,
        item_ref=ref,
        description=description,
        quote=_stored_quote(plan, schedule),
        policy_version=plan.policy_version,
    )


async def create_plan(
    session: AsyncSession,
    account_id: int,
    item_ref: str,
    tenor: int,
    policy: Policy,
    *,
    idempotency_key: str,
    created_by: str,
    today: date,
    conversation_id: str | None = None,
) -> CreatedPlan:
    """Convert one purchase or statement into a `tenor`-month plan, exactly once.

    Adds the plan and its schedule, links the purchase to it, and records the
    accepted offer and an audit entry under the policy's version. The caller
    owns the transaction and commits.

    Concurrency: the first statement takes the account row's write lock (an
    UPDATE), so two confirmations for one account run one after the other;
    the second then finds the first's plan (same key → returned; another key
    → `ItemAlreadyInPlan`). The unique idempotency key and a guarded UPDATE of
    the purchase back this up inside a savepoint.

    Args:
        created_by: "bot" or "agent:<username>", as in the audit log.
        today: The day in the account's time zone (due dates count from it).

    Raises:
        AccountNotFound, AccountNotEligible, ItemNotFound, ItemNotEligible,
        ItemAlreadyInPlan, AmountBelowMinimum, TenorNotOffered,
        IdempotencyKeyConflict.
    """
    parse_item_ref(item_ref)  # a malformed reference fails before any write
    locked = await session.execute(
        update(Account)
        .where(Account.id == account_id)
        .values(updated_at=utcnow())
        .returning(Account.id)
    )
    if locked.scalar_one_or_none() is None:
        raise AccountNotFound(account_id)

    existing = await _plan_by_key(session, idempotency_key)
    if existing is not None:
        return await _replayed(session, existing, account_id, item_ref, tenor)

    account = await _account(session, account_id)
    terms = _terms_for(account, policy)
    item = await _item(session, account_id, item_ref)
    plan_quote = _quote(account, terms, item, tenor, today)

    try:
        async with session.begin_nested():
            plan = await _insert_plan(
                session, account, item, plan_quote, policy, idempotency_key, created_by
            )
    except IntegrityError:
        # Another transaction took the key between our check and our insert.
        existing = await _plan_by_key(session, idempotency_key)
        if existing is None:
            raise
        return await _replayed(session, existing, account_id, item_ref, tenor)

    offer = Offer(
        account_id=account_id,
        conversation_id=conversation_id,
        kind=OfferKind.INSTALLMENT,
        terms=_offer_terms(item, plan_quote),
        made_by=created_by,
        authority_required=Authority.BOT,
        status=OfferStatus.ACCEPTED,
        policy_version=policy.version,
        decided_at=utcnow(),
        decided_by=created_by,
    )
    session.add(offer)
    await session.flush()
    audit.record(
        session,
        actor=created_by,
        action="installment_plan_created",
        entity_type="installment_plan",
        entity_id=plan.id,
        details={
            "account_id": account_id,
            "offer_id": offer.id,
            "conversation_id": conversation_id,
            "idempotency_key": idempotency_key,
            **_offer_terms(item, plan_quote),
        },
        policy_version=policy.version,
    )
    await session.flush()
    return CreatedPlan(
        plan_id=plan.id,
        created=True,
        item_ref=item.ref,
        description=item.description,
        quote=plan_quote,
        policy_version=policy.version,
    )


async def _insert_plan(
    session: AsyncSession,
    account: Account,
    item: EligibleItem,
    plan_quote: Quote,
    policy: Policy,
    idempotency_key: str,
    created_by: str,
) -> InstallmentPlan:
    """Plan, schedule and the purchase's link, or nothing (runs inside a savepoint).

    Raises:
        ItemAlreadyInPlan: if the purchase was linked to another plan meanwhile.
    """
    is_purchase = item.source is PlanSource.PURCHASE
    plan = InstallmentPlan(
        account_id=account.id,
        source=item.source,
        source_transaction_id=item.id if is_purchase else None,
        source_statement_id=None if is_purchase else item.id,
        principal=plan_quote.principal,
        tenor_months=plan_quote.tenor,
        monthly_fee_rate=plan_quote.monthly_fee_rate,
        total_fee=plan_quote.total_fee,
        annual_rate=plan_quote.annual_rate.quantize(_STORED_RATE_PLACES, rounding=ROUND_HALF_UP),
        status=PlanStatus.ACTIVE,
        policy_version=policy.version,
        created_by=created_by,
        idempotency_key=idempotency_key,
    )
    session.add(plan)
    await session.flush()
    if is_purchase:
        linked = await session.execute(
            update(Transaction)
            .where(Transaction.id == item.id, Transaction.installment_plan_id.is_(None))
            .values(installment_plan_id=plan.id)
            .returning(Transaction.id)
        )
        if linked.scalar_one_or_none() is None:
            raise ItemAlreadyInPlan(item.ref)
    elif await _other_statement_plan(session, item.id, plan.id):
        raise ItemAlreadyInPlan(item.ref)
    session.add_all(
        InstallmentScheduleItem(
            plan_id=plan.id,
            sequence=line.sequence,
            due_date=line.due_date,
            principal_part=line.principal_part,
            fee_part=line.fee_part,
            amount=line.amount,
        )
        for line in plan_quote.schedule
    )
    await session.flush()
    return plan


async def _other_statement_plan(session: AsyncSession, statement_id: int, plan_id: int) -> bool:
    row = await session.execute(
        select(InstallmentPlan.id).where(
            InstallmentPlan.source_statement_id == statement_id,
            InstallmentPlan.status.in_(_LIVE_PLAN_STATUSES),
            InstallmentPlan.id != plan_id,
        )
    )
    return row.first() is not None


def _offer_terms(item: EligibleItem, plan_quote: Quote) -> dict[str, Any]:
    return {
        "item_ref": item.ref,
        "description": item.description,
        "principal": str(plan_quote.principal),
        "tenor_months": plan_quote.tenor,
        "monthly_fee_rate": str(plan_quote.monthly_fee_rate),
        "total_fee": str(plan_quote.total_fee),
        "annual_rate_pct": str(plan_quote.annual_rate_pct),
        "first_due": plan_quote.first_due.isoformat(),
        "first_instalment": str(plan_quote.first_instalment),
        "regular_instalment": str(plan_quote.regular_instalment),
    }


# --- existing plans ------------------------------------------------------------------


@dataclass(frozen=True)
class ActivePlan:
    """Where one active plan stands today.

    Attributes:
        next_due_date / next_due_amount: The earliest unpaid instalment
            (possibly already overdue); None when all are paid.
        early_payoff: What settles the plan today under the jurisdiction's
            rule for future fees (`early_payoff.amount`).
    """

    plan_id: int
    source: PlanSource
    description: str
    item_date: date | None
    tenor: int
    payments_made: int
    payments_left: int
    next_due_date: date | None
    next_due_amount: Decimal | None
    remaining_principal: Decimal
    early_payoff: Payoff
    annual_rate_pct: Decimal


async def plan_status(
    session: AsyncSession, account_id: int, policy: Policy, today: date
) -> list[ActivePlan]:
    """Every active plan on the account, oldest first ("how many payments are left?").

    Raises:
        AccountNotFound: if there is no such account.
    """
    account = await _account(session, account_id)
    waives = policy.installments[account.jurisdiction].early_payoff_waives_future_fees
    rows = await session.execute(
        select(InstallmentPlan)
        .where(
            InstallmentPlan.account_id == account_id,
            InstallmentPlan.status == PlanStatus.ACTIVE,
        )
        .order_by(InstallmentPlan.created_at, InstallmentPlan.id)
    )
    result = []
    for plan in rows.scalars():
        schedule = _schedule(await _schedule_rows(session, plan.id))
        unpaid = [line for line in schedule if not line.paid]
        payoff = early_payoff(schedule, today, waives_future_fees=waives)
        description, item_date = await _description(session, plan)
        result.append(
            ActivePlan(
                plan_id=plan.id,
                source=plan.source,
                description=description,
                item_date=item_date,
                tenor=plan.tenor_months,
                payments_made=len(schedule) - len(unpaid),
                payments_left=len(unpaid),
                next_due_date=unpaid[0].due_date if unpaid else None,
                next_due_amount=unpaid[0].amount if unpaid else None,
                remaining_principal=payoff.remaining_principal,
                early_payoff=payoff,
                annual_rate_pct=(plan.annual_rate * 100).quantize(
                    PERCENT_PLACES, rounding=ROUND_HALF_UP
                ),
            )
        )
    return result
