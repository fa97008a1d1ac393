"""Installment conversion on a real seeded database: listing, plans, refusals, races, status.

Each test seeds its own database (the session-wide `seeded_url` is shared and
read-mostly; these tests write plans and commit).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.db.models import (
    Account,
    AuditLog,
    Cardholder,
    InstallmentPlan,
    InstallmentScheduleItem,
    Offer,
    Statement,
    Transaction,
)
from bot.demo.seed import seed_demo
from bot.domain.enums import Bucket, OfferKind, OfferStatus, PlanSource
from bot.policy import load_policy
from bot.services import installments
from bot.services.accounts import AccountNotFound
from bot.services.installments import (
    AccountNotEligible,
    AmountBelowMinimum,
    IdempotencyKeyConflict,
    ItemAlreadyInPlan,
    ItemNotEligible,
    ItemNotFound,
    TenorNotOffered,
    create_plan,
    eligible_items,
    plan_status,
    quote_item,
    quote_options,
)
from bot.settings import PROJECT_ROOT
from tests.conftest import DatabaseFactory

POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
# The end of January makes month arithmetic clamp (31st → 28th).
TODAY = date(2027, 1, 21)
P1_DUE = TODAY + timedelta(days=10)

Maker = async_sessionmaker[AsyncSession]


@pytest.fixture
async def maker(database_factory: DatabaseFactory) -> AsyncIterator[Maker]:
    url = database_factory.create()
    seed_demo(url, accounts=0, today=TODAY)
    engine = make_async_engine(url, poolclass=NullPool)
    yield make_async_sessionmaker(engine)
    await engine.dispose()


async def _account_id(maker: Maker, ref: str) -> int:
    async with maker() as session:
        row = await session.execute(
            select(Account.id).join(Cardholder).where(Cardholder.external_ref == ref)
        )
        return int(row.scalar_one())


async def _purchase_ref(maker: Maker, account_id: int, merchant: str) -> str:
    async with maker() as session:
        row = await session.execute(
            select(Transaction.id).where(
                Transaction.account_id == account_id, Transaction.merchant == merchant
            )
        )
        return f"purchase:{row.scalar_one()}"


async def _create(maker: Maker, account_id: int, ref: str, tenor: int, key: str, **kw: Any) -> Any:
    async with maker() as session, session.begin():
        return await create_plan(
            session,
            account_id,
            ref,
            tenor,
            POLICY,
            idempotency_key=key,
            created_by="bot",
            today=TODAY,
            **kw,
        )


async def _count(maker: Maker, model: Any, *where: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# --- what may be converted ---------------------------------------------------------------


async def test_p1_may_convert_her_1200_purchase_only(maker: Maker) -> None:
    p1 = await _account_id(maker, "P1")
    async with maker() as session:
        items = await eligible_items(session, p1, POLICY)
    assert len(items) == 1
    item = items[0]
    assert item.source is PlanSource.PURCHASE
    assert item.ref == f"purchase:{item.id}"
    assert item.description == "Best Buy #1123 San Francisco"
    assert item.amount == Decimal("1200.00")
    assert item.item_date == TODAY - timedelta(days=20)


async def test_p4_may_convert_the_statement_balance(maker: Maker) -> None:
    p4 = await _account_id(maker, "P4")
    async with maker() as session:
        items = await eligible_items(session, p4, POLICY)
        (item,) = items
        assert item.source is PlanSource.STATEMENT and item.amount == Decimal("18600.00")
        statement = await session.get(Statement, item.id)
        assert statement is not None and item.item_date == statement.statement_date
        options = await quote_options(session, p4, item.ref, POLICY, TODAY)
    assert [q.tenor for q in options.quotes] == [3, 6, 12, 24]
    twelve = options.quotes[2]
    assert twelve.monthly_fee_rate == Decimal("0.0072")
    assert twelve.annual_rate_pct == Decimal("15.58")


@pytest.mark.parametrize("ref", ["P2", "P3", "P5", "P6", "P7", "P8"])
async def test_delinquent_accounts_may_not_convert(maker: Maker, ref: str) -> None:
    account_id = await _account_id(maker, ref)
    async with maker() as session:
        with pytest.raises(AccountNotEligible) as caught:
            await eligible_items(session, account_id, POLICY)
    assert caught.value.bucket is not Bucket.CURRENT


async def test_unknown_account_is_not_found(maker: Maker) -> None:
    async with maker() as session:
        with pytest.raises(AccountNotFound):
            await eligible_items(session, 999_999, POLICY)
        with pytest.raises(AccountNotFound):
            await plan_status(session, 999_999, POLICY, TODAY)
    with pytest.raises(AccountNotFound):
        await _create(maker, 999_999, "purchase:1", 6, "k-missing")


# --- setting plans up ---------------------------------------------------------------------


async def test_p1_converts_the_purchase_into_six_months(maker: Maker) -> None:
    p1 = await _account_id(maker, "P1")
    ref = await _purchase_ref(maker, p1, "Best Buy #1123 San Francisco")
    created = await _create(maker, p1, ref, 6, "conv-p1-6", conversation_id=None)
    assert created.created and created.item_ref == ref
    assert created.policy_version == POLICY.version
    q = created.quote
    # US 6 months at 0.89 % a month on 1,200.00: 10.68 a month, 64.08 in all.
    assert q.total_fee == Decimal("64.08")
    assert [i.amount for i in q.schedule] == [Decimal("210.68")] * 6
    assert q.first_due == P1_DUE
    # Due on the 31st, clamped to February's end without drifting.
    assert date(2027, 1, 31) == P1_DUE
    assert [i.due_date for i in q.schedule[:3]] == [
        date(2027, 1, 31),
        date(2027, 2, 28),
        date(2027, 3, 31),
    ]

    async with maker() as session:
        plan = await session.get(InstallmentPlan, created.plan_id)
        assert plan is not None
        assert (plan.principal, plan.tenor_months, plan.total_fee) == (
            Decimal("1200.00"),
            6,
            Decimal("64.08"),
        )
        assert plan.source is PlanSource.PURCHASE and plan.created_by == "bot"
        assert plan.policy_version == POLICY.version
        assert plan.annual_rate == q.annual_rate.quantize(Decimal("0.000001"))
        rows = (
            await session.scalars(
                select(InstallmentScheduleItem).where(InstallmentScheduleItem.plan_id == plan.id)
            )
        ).all()
        assert sum(r.amount for r in rows) == Decimal("1264.08")
        assert sum(r.principal_part for r in rows) == Decimal("1200.00")
        txn = await session.get(Transaction, int(ref.split(":")[1]))
        assert txn is not None and txn.installment_plan_id == plan.id
        offer = (await session.scalars(select(Offer).where(Offer.account_id == p1))).one()
        assert offer.kind is OfferKind.INSTALLMENT and offer.status is OfferStatus.ACCEPTED
        assert offer.policy_version == POLICY.version
        assert offer.terms["tenor_months"] == 6 and offer.terms["annual_rate_pct"] == str(
            q.annual_rate_pct
        )
        entry = (
            await session.scalars(
                select(AuditLog).where(AuditLog.action == "installment_plan_created")
            )
        ).one()
        assert entry.entity_id == str(plan.id) and entry.policy_version == POLICY.version
        assert entry.details["offer_id"] == offer.id
        assert await eligible_items(session, p1, POLICY) == []
        status = await plan_status(session, p1, POLICY, TODAY)
    assert [s.tenor for s in status] == [6, 6]
    new = status[1]
    assert new.description == "Best Buy #1123 San Francisco"
    assert (new.payments_left, new.payments_made) == (6, 0)
    assert new.early_payoff.amount == Decimal("1200.00")  # US: future fees waived


async def test_p4_converts_the_statement_into_twelve_months(maker: Maker) -> None:
    p4 = await _account_id(maker, "P4")
    async with maker() as session:
        (item,) = await eligible_items(session, p4, POLICY)
        account = await session.get(Account, p4)
        assert account is not None
        due = account.payment_due_date
    created = await _create(maker, p4, item.ref, 12, "conv-p4-12")
    q = created.quote
    assert created.description == "Statement balance"
    assert q.total_fee == Decimal("1607.04")
    assert [i.amount for i in q.schedule] == [Decimal("1683.92")] * 12
    assert q.annual_rate_pct == Decimal("15.58")
    assert q.first_due == due

    async with maker() as session:
        assert await eligible_items(session, p4, POLICY) == []
        (status,) = await plan_status(session, p4, POLICY, TODAY)
    assert status.source is PlanSource.STATEMENT and status.payments_left == 12
    assert status.next_due_date == due and status.next_due_amount == Decimal("1683.92")
    assert status.remaining_principal == Decimal("18600.00")
    # CN: paying off early still owes every remaining fee.
    assert status.early_payoff.amount == Decimal("20207.04")
    assert status.annual_rate_pct == Decimal("15.58")

    with pytest.raises(ItemAlreadyInPlan):
        await _create(maker, p4, item.ref, 6, "conv-p4-6")


async def test_a_repeated_confirmation_returns_the_same_plan(maker: Maker) -> None:
    p1 = await _account_id(maker, "P1")
    ref = await _purchase_ref(maker, p1, "Best Buy #1123 San Francisco")
    first = await _create(maker, p1, ref, 12, "conv-repeat")
    again = await _create(maker, p1, ref, 12, "conv-repeat")
    assert first.created and not again.created
    assert again.plan_id == first.plan_id
    assert again.quote.schedule == first.quote.schedule
    assert again.quote.annual_rate_pct == first.quote.annual_rate_pct
    assert again.description == first.description
    assert await _count(maker, InstallmentPlan, InstallmentPlan.account_id == p1) == 2
    assert await _count(maker, Offer, Offer.account_id == p1) == 1
    assert await _count(maker, AuditLog, AuditLog.action == "installment_plan_created") == 1

    with pytest.raises(IdempotencyKeyConflict):
        await _create(maker, p1, ref, 6, "conv-repeat")


async def test_refusals_are_named(maker: Maker) -> None:
    p1, p2, p4 = [await _account_id(maker, ref) for ref in ("P1", "P2", "P4")]
    best_buy = await _purchase_ref(maker, p1, "Best Buy #1123 San Francisco")
    groceries = await _purchase_ref(maker, p1, "Whole Foods Market")
    converted = await _purchase_ref(maker, p1, "Delta Air Lines")

    with pytest.raises(TenorNotOffered) as tenor:
        await _create(maker, p1, best_buy, 9, "r-1")
    assert tenor.value.offered == (3, 6, 12, 24)
    with pytest.raises(ItemNotEligible):
        await _create(maker, p1, groceries, 6, "r-2")
    with pytest.raises(ItemAlreadyInPlan):
        await _create(maker, p1, converted, 6, "r-3")
    with pytest.raises(ItemNotFound):
        await _create(maker, p4, best_buy, 6, "r-4")  # someone else's purchase
    with pytest.raises(ItemNotFound):
        await _create(maker, p1, "coupon:12", 6, "r-5")
    with pytest.raises(ItemNotFound):
        await _create(maker, p1, "statement:x", 6, "r-5b")
    async with maker() as session:
        p2_statement = await session.scalar(select(Statement.id).where(Statement.account_id == p2))
        p1_statement = await session.scalar(select(Statement.id).where(Statement.account_id == p1))
    with pytest.raises(AccountNotEligible):
        await _create(maker, p2, f"statement:{p2_statement}", 6, "r-6")
    with pytest.raises(ItemNotEligible):
        await _create(maker, p1, f"statement:{p1_statement}", 6, "r-7")

    # A small purchase marked eligible is still below the 500.00 minimum.
    async with maker() as session, session.begin():
        await session.execute(
            update(Transaction)
            .where(Transaction.id == int(groceries.split(":")[1]))
            .values(installment_eligible=True)
        )
    async with maker() as session:
        assert [i.ref for i in await eligible_items(session, p1, POLICY)] == [best_buy]
        with pytest.raises(AmountBelowMinimum) as below:
            await quote_item(session, p1, groceries, 6, POLICY, TODAY)
    assert below.value.minimum == Decimal("500.00")
    with pytest.raises(AmountBelowMinimum):
        await _create(maker, p1, groceries, 6, "r-8")
    assert await _count(maker, InstallmentPlan) == 1  # only the seeded plan


async def test_concurrent_confirmations_with_one_key_make_one_plan(maker: Maker) -> None:
    p1 = await _account_id(maker, "P1")
    ref = await _purchase_ref(maker, p1, "Best Buy #1123 San Francisco")
    results = await asyncio.gather(*(_create(maker, p1, ref, 3, "race-same-key") for _ in range(3)))
    assert len({r.plan_id for r in results}) == 1
    assert sorted(r.created for r in results) == [False, False, True]
    assert await _count(maker, Offer, Offer.account_id == p1) == 1


async def test_concurrent_confirmations_for_one_item_make_one_plan(maker: Maker) -> None:
    p4 = await _account_id(maker, "P4")
    async with maker() as session:
        (item,) = await eligible_items(session, p4, POLICY)
    results = await asyncio.gather(
        _create(maker, p4, item.ref, 6, "race-a"),
        _create(maker, p4, item.ref, 12, "race-b"),
        return_exceptions=True,
    )
    made = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(made) == 1 and len(refused) == 1
    assert isinstance(refused[0], ItemAlreadyInPlan)
    assert await _count(maker, InstallmentPlan, InstallmentPlan.account_id == p4) == 1


async def test_the_unique_key_backs_up_the_check_inside_the_transaction(
    maker: Maker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the key check misses a plan (a race), the insert fails and the savepoint recovers."""
    p1, p4 = await _account_id(maker, "P1"), await _account_id(maker, "P4")
    ref = await _purchase_ref(maker, p1, "Best Buy #1123 San Francisco")
    await _create(maker, p1, ref, 6, "shared-key")
    real_lookup = installments._plan_by_key
    calls = 0

    async def blind_first(session: AsyncSession, key: str) -> InstallmentPlan | None:
        nonlocal calls
        calls += 1
        return None if calls == 1 else await real_lookup(session, key)

    monkeypatch.setattr(installments, "_plan_by_key", blind_first)
    async with maker() as session, session.begin():
        (statement,) = await eligible_items(session, p4, POLICY)
        with pytest.raises(IdempotencyKeyConflict):
            await create_plan(
                session,
                p4,
                statement.ref,
                12,
                POLICY,
                idempotency_key="shared-key",
                created_by="bot",
                today=TODAY,
            )
        # The savepoint rolled back only the failed insert: the session still works.
        assert await eligible_items(session, p4, POLICY) == [statement]
    assert calls == 2


# --- existing plans -----------------------------------------------------------------------


async def test_p1_existing_plan_status(maker: Maker) -> None:
    p1 = await _account_id(maker, "P1")
    async with maker() as session:
        (status,) = await plan_status(session, p1, POLICY, TODAY)
    assert status.description == "Delta Air Lines"
    assert status.source is PlanSource.PURCHASE
    assert status.tenor == 6
    assert (status.payments_made, status.payments_left) == (3, 3)
    assert status.next_due_date == P1_DUE
    assert status.next_due_amount == Decimal("155.40")
    assert status.remaining_principal == Decimal("450.00")
    # US: the three future fees (5.40 each) are not owed on an early payoff.
    assert status.early_payoff.amount == Decimal("450.00")
    assert status.early_payoff.fees_waived == Decimal("16.20")
    assert status.annual_rate_pct == Decimal("12.24")


async def test_plan_status_is_empty_without_plans(maker: Maker) -> None:
    p2 = await _account_id(maker, "P2")
    async with maker() as session:
        assert await plan_status(session, p2, POLICY, TODAY) == []
