"""The demo seed: the contract's personas exactly, a sane portfolio, and safe repeats.

The seed runs the migrations itself, so these tests use fresh databases rather
than the create_all-based fixtures of tests/conftest.py.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, String, func, insert, select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.models import (
    Account,
    Base,
    Card,
    Cardholder,
    Consent,
    Fee,
    HardshipCase,
    InstallmentPlan,
    InstallmentScheduleItem,
    Statement,
    Transaction,
)
from bot.demo import portfolio
from bot.demo.personas import PERSONAS, add_personas
from bot.demo.seed import DemoDataExists, SeedReport, seed_demo
from bot.domain.buckets import bucket_for
from bot.domain.enums import (
    Bucket,
    Channel,
    ConsentStatus,
    FeeKind,
    Jurisdiction,
    Language,
    PlanSource,
    PlanStatus,
)
from tests.conftest import fresh_database

# The end of January makes the plan's month arithmetic clamp (31st → 28th/30th).
TODAY = date(2027, 1, 21)
SYNTHETIC = 300
SEED = 4242

# CONTRACT.md §4, typed in again here so a typo in bot/demo/personas.py fails.
CONTRACT_PERSONAS = [
    # ref, name, phone, dob, last4, currency, language, dpd, balance
    ("P1", "Emily Carter", "+14155550101", "1988-04-12", "4821", "USD", "en", 0, "2480.00"),
    ("P2", "Michael Ortiz", "+13125550102", "1979-11-03", "1937", "USD", "en", 12, "3150.00"),
    ("P3", "Sarah Kim", "+12065550103", "1992-07-21", "5504", "USD", "en", 45, "6800.00"),
    ("P4", "张伟", "+8613800138004", "1985-02-14", "6230", "CNY", "zh", 0, "18600.00"),
    ("P5", "李娜", "+8613900139005", "1990-09-30", "7712", "CNY", "zh", 75, "42000.00"),
    ("P6", "王芳", "+8613700137006", "1982-12-05", "8845", "CNY", "zh", 120, "65000.00"),
    ("P7", "David Chen", "+16465550107", "1975-06-18", "3390", "USD", "en", 20, "1900.00"),
    ("P8", "刘洋", "+19175550108", "1995-03-08", "2268", "USD", "zh", 8, "2050.00"),
]
TIME_ZONES = {
    "P1": "America/Los_Angeles",
    "P2": "America/Chicago",
    "P3": "America/Los_Angeles",
    "P4": "Asia/Shanghai",
    "P5": "Asia/Shanghai",
    "P6": "Asia/Shanghai",
    "P7": "America/New_York",
    "P8": "America/New_York",
}
E164 = re.compile(r"^\+[1-9]\d{7,14}$")


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, SeedReport]]:
    """A fresh database seeded once for the read-only checks of this module."""
    with fresh_database(tmp_path_factory.mktemp("seed")) as url:
        report = seed_demo(url, accounts=SYNTHETIC, random_seed=SEED, today=TODAY)
        yield url, report


@pytest.fixture(scope="module")
def engine(seeded: tuple[str, SeedReport]) -> Iterator[Engine]:
    engine = make_engine(seeded[0])
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session:
        yield session


def _account(session: Session, ref: str) -> Account:
    return session.scalars(
        select(Account).join(Cardholder).where(Cardholder.external_ref == ref)
    ).one()


# --- personas --------------------------------------------------------------------


@pytest.mark.parametrize("row", CONTRACT_PERSONAS, ids=[row[0] for row in CONTRACT_PERSONAS])
def test_persona_matches_the_contract(session: Session, row: tuple[Any, ...]) -> None:
    ref, name, phone, dob, last4, currency, language, dpd, balance = row
    account = _account(session, ref)
    holder = account.cardholder
    assert holder.full_name == name
    assert holder.phone_e164 == phone
    assert holder.date_of_birth == date.fromisoformat(dob)
    assert holder.preferred_language is Language(language)
    assert account.currency == currency
    assert account.jurisdiction is (Jurisdiction.CN if currency == "CNY" else Jurisdiction.US)
    assert account.time_zone == TIME_ZONES[ref]
    assert account.days_past_due == dpd
    assert account.bucket is bucket_for(dpd)
    assert account.current_balance == Decimal(balance)
    expected_due = TODAY + timedelta(days=10) if dpd == 0 else TODAY - timedelta(days=dpd)
    assert account.payment_due_date == expected_due
    assert account.credit_limit > account.current_balance or ref == "P6"
    assert isinstance(account.purchase_apr, Decimal)
    assert Decimal("0") < account.purchase_apr < Decimal("0.40")
    assert [(c.last4, c.is_primary) for c in account.cards] == [(last4, True)]
    assert len(account.statements) == 1


def test_exactly_eight_personas(session: Session) -> None:
    refs = session.scalars(
        select(Cardholder.external_ref).where(Cardholder.external_ref.like("P%"))
    ).all()
    assert sorted(refs) == [f"P{i}" for i in range(1, 9)]
    assert len(PERSONAS) == 8


def test_persona_buckets(session: Session) -> None:
    buckets = {ref: _account(session, ref).bucket for ref, *_ in CONTRACT_PERSONAS}
    assert buckets == {
        "P1": Bucket.CURRENT,
        "P2": Bucket.EARLY,
        "P3": Bucket.MID,
        "P4": Bucket.CURRENT,
        "P5": Bucket.LATE,
        "P6": Bucket.NPL,
        "P7": Bucket.EARLY,
        "P8": Bucket.EARLY,
    }


def test_p1_minimum_due_and_eligible_purchase(session: Session) -> None:
    account = _account(session, "P1")
    assert account.minimum_due == Decimal("75.00")
    assert account.past_due_amount == Decimal("0.00")
    eligible = session.scalars(
        select(Transaction).where(
            Transaction.account_id == account.id,
            Transaction.installment_eligible.is_(True),
            Transaction.installment_plan_id.is_(None),
        )
    ).all()
    assert [t.amount for t in eligible] == [Decimal("1200.00")]
    assert eligible[0].card_id == account.cards[0].id
    others = [t for t in account.transactions if t.installment_plan_id is None]
    assert len(others) >= 3  # ordinary spending besides the big purchase


def test_p1_plan_has_three_payments_left(session: Session) -> None:
    account = _account(session, "P1")
    plans = account.installment_plans
    assert len(plans) == 1
    plan = plans[0]
    assert plan.status is PlanStatus.ACTIVE
    assert plan.source is PlanSource.PURCHASE
    assert plan.tenor_months == 6
    schedule = plan.schedule
    assert [item.sequence for item in schedule] == [1, 2, 3, 4, 5, 6]
    paid = [item for item in schedule if item.paid_at is not None]
    unpaid = [item for item in schedule if item.paid_at is None]
    assert [i.sequence for i in paid] == [1, 2, 3]
    assert [i.sequence for i in unpaid] == [4, 5, 6]
    assert all(item.due_date < TODAY for item in paid)
    assert unpaid[0].due_date == account.payment_due_date
    assert [i.due_date for i in schedule] == sorted({i.due_date for i in schedule})
    assert sum((i.principal_part for i in schedule), Decimal(0)) == plan.principal
    assert sum((i.fee_part for i in schedule), Decimal(0)) == plan.total_fee
    assert all(i.amount == i.principal_part + i.fee_part for i in schedule)
    # The plan points at the purchase it converted, and the purchase back at it.
    source = session.get(Transaction, plan.source_transaction_id)
    assert source is not None
    assert source.account_id == account.id
    assert source.installment_plan_id == plan.id
    assert source.amount == plan.principal


@pytest.mark.parametrize(
    "today",
    [date(2027, 5, 21), date(2027, 2, 18), date(2028, 2, 19), date(2027, 12, 25)],
    ids=["due-may-31", "due-feb-28", "due-feb-29-leap", "due-jan-4"],
)
def test_p1_plan_dates_hold_at_month_ends(today: date) -> None:
    """The fourth instalment always falls on the statement due date, whatever the day."""
    engine = make_engine("sqlite://")
    Base.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            add_personas(session, today, datetime.now(timezone.utc))
            account = _account(session, "P1")
            (plan,) = account.installment_plans
            dues = [item.due_date for item in plan.schedule]
            unpaid = [item.due_date for item in plan.schedule if item.paid_at is None]
            assert unpaid[0] == account.payment_due_date == today + timedelta(days=10)
            assert dues == sorted(set(dues))
            assert all(25 <= (b - a).days <= 31 for a, b in itertools.pairwise(dues))
            assert all(d < today for d in dues[:3])
    finally:
        engine.dispose()


def test_p2_late_fee_and_past_due(session: Session) -> None:
    account = _account(session, "P2")
    assert account.past_due_amount == Decimal("120.00")
    fees = account.fees
    assert [(f.kind, f.amount, f.waived_at) for f in fees] == [
        (FeeKind.LATE, Decimal("29.00"), None)
    ]
    assert account.payment_due_date is not None
    assert fees[0].assessed_on > account.payment_due_date


def test_p3_p5_p6_notes(session: Session) -> None:
    assert "job" in (_account(session, "P3").notes or "")
    p5 = _account(session, "P5")
    assert "illness" in (p5.notes or "")
    assert p5.vulnerable is False
    assert "non-performing" in (_account(session, "P6").notes or "")
    # Hardship cases and plans come from the dialogue, never from the seed.
    assert session.scalar(select(func.count()).select_from(HardshipCase)) == 0
    hardship_plans = select(func.count()).where(InstallmentPlan.source == PlanSource.HARDSHIP)
    assert session.scalar(hardship_plans) == 0


def test_p4_statement_eligible_for_statement_installments(session: Session) -> None:
    account = _account(session, "P4")
    (statement,) = account.statements
    assert statement.installment_eligible is True
    assert statement.closing_balance == Decimal("18600.00")
    assert statement.due_date == TODAY + timedelta(days=10)
    assert account.days_past_due == 0


def test_p7_opted_out_of_sms_only(session: Session) -> None:
    account = _account(session, "P7")
    consents = session.scalars(select(Consent)).all()
    assert [(c.cardholder_id, c.channel, c.status) for c in consents] == [
        (account.cardholder_id, Channel.SMS, ConsentStatus.OPTED_OUT)
    ]


def test_p8_chinese_speaker_on_a_us_account(session: Session) -> None:
    account = _account(session, "P8")
    assert account.cardholder.preferred_language is Language.ZH
    assert account.jurisdiction is Jurisdiction.US
    assert account.currency == "USD"


# --- synthetic portfolio -------------------------------------------------------------


def test_report_counts(seeded: tuple[str, SeedReport], session: Session) -> None:
    report = seeded[1]
    assert report.seeded is True
    assert report.personas == 8
    assert report.synthetic_accounts == SYNTHETIC
    assert report.total_accounts == SYNTHETIC + 8
    assert session.scalar(select(func.count()).select_from(Account)) == SYNTHETIC + 8
    assert sum(n for _, n in report.by_bucket) == SYNTHETIC + 8
    assert sum(n for _, n in report.by_jurisdiction) == SYNTHETIC + 8
    text = str(report)
    assert "8 personas" in text
    assert f"{SYNTHETIC:,} synthetic accounts" in text
    assert "charged_off" in text


def test_every_bucket_and_jurisdiction_is_present(session: Session) -> None:
    synthetic = (
        select(Account.bucket, Account.jurisdiction)
        .join(Cardholder)
        .where(Cardholder.external_ref.like("S%"))
    )
    pairs = set(session.execute(synthetic).tuples().all())
    assert pairs == {(b, j) for b in Bucket for j in Jurisdiction}
    counts: dict[Bucket, int] = {}
    for bucket, _ in session.execute(synthetic).tuples():
        counts[bucket] = counts.get(bucket, 0) + 1
    assert counts[Bucket.CURRENT] > SYNTHETIC * 0.45  # most accounts pay on time


def test_accounts_are_internally_consistent(session: Session) -> None:
    for account in session.scalars(select(Account)):
        assert account.bucket is bucket_for(account.days_past_due)
        assert account.currency == ("CNY" if account.jurisdiction is Jurisdiction.CN else "USD")
        assert account.current_balance > 0
        assert Decimal(0) <= account.past_due_amount <= account.current_balance
        if account.days_past_due == 0:
            assert account.past_due_amount == 0
            assert account.payment_due_date is not None
            assert account.payment_due_date > TODAY
        else:
            assert account.past_due_amount > 0
            assert account.payment_due_date == TODAY - timedelta(days=account.days_past_due)
        for amount in (account.current_balance, account.minimum_due, account.credit_limit):
            assert amount == amount.quantize(Decimal("0.01"))


def test_one_primary_card_and_statement_each(session: Session) -> None:
    accounts = session.scalar(select(func.count()).select_from(Account))
    cards_per_account = session.execute(
        select(Card.account_id, func.count()).where(Card.is_primary).group_by(Card.account_id)
    ).all()
    assert len(cards_per_account) == accounts
    assert {n for _, n in cards_per_account} == {1}
    statements = session.scalar(select(func.count(func.distinct(Statement.account_id))))
    assert statements == accounts
    assert (session.scalar(select(func.count()).select_from(Transaction)) or 0) > 8


def test_phone_numbers_are_e164_and_unique(session: Session) -> None:
    phones = session.scalars(select(Cardholder.phone_e164)).all()
    assert len(phones) == len(set(phones)) == SYNTHETIC + 8
    assert all(E164.match(p) for p in phones)


def test_synthetic_phone_schemes_never_meet_the_personas() -> None:
    persona_phones = {p.phone_e164 for p in PERSONAS}
    indexes = range(0, 200_000, 7)
    us = {portfolio.us_phone(i) for i in indexes}
    cn = {portfolio.cn_phone(i) for i in indexes}
    assert len(us) == len(cn) == len(indexes)
    assert not (us | cn) & persona_phones
    assert all(p.startswith("+12") and p[5] == "7" and len(p) == 12 for p in us)
    assert all(p.startswith("+8615") and len(p) == 14 for p in cn)


def test_no_full_card_numbers_anywhere(engine: Engine) -> None:
    with engine.connect() as conn:
        last4s = conn.scalars(select(Card.last4)).all()
        assert last4s
        assert all(re.fullmatch(r"\d{4}", value) for value in last4s)
        # A PAN is 15-19 digits; no text column may hold a run that long.
        pan_like = re.compile(r"\d{15,}")
        for table in Base.metadata.sorted_tables:
            text_columns = [c for c in table.c if isinstance(c.type, String)]
            for row in conn.execute(select(*text_columns)) if text_columns else ():
                for value in row:
                    assert not (isinstance(value, str) and pan_like.search(value)), (
                        table.name,
                        value,
                    )


def test_sequences_continue_after_the_explicit_ids(engine: Engine) -> None:
    """New rows after seeding get fresh ids (PostgreSQL sequences were advanced)."""
    with engine.connect() as conn, conn.begin() as transaction:
        new_id = conn.scalar(
            insert(Cardholder)
            .values(
                external_ref="NEW",
                full_name="New Customer",
                date_of_birth=date(1990, 1, 1),
                phone_e164="+15550000000",
                preferred_language=Language.EN,
            )
            .returning(Cardholder.id)
        )
        assert new_id == SYNTHETIC + 9
        transaction.rollback()


# --- repeat runs ---------------------------------------------------------------------


def test_if_empty_leaves_a_seeded_database_alone(seeded: tuple[str, SeedReport]) -> None:
    url, first = seeded
    report = seed_demo(url, accounts=50, if_empty=True, random_seed=1)
    assert report.seeded is False
    assert report.total_accounts == first.total_accounts
    assert report.by_bucket == first.by_bucket
    assert "skipped" in str(report)


def test_seeding_twice_is_refused(seeded: tuple[str, SeedReport], session: Session) -> None:
    url, first = seeded
    with pytest.raises(DemoDataExists, match="P1"):
        seed_demo(url, accounts=50, random_seed=SEED, today=TODAY)
    assert session.scalar(select(func.count()).select_from(Account)) == first.total_accounts


def test_negative_account_count_is_rejected(seeded: tuple[str, SeedReport]) -> None:
    with pytest.raises(ValueError, match="negative"):
        seed_demo(seeded[0], accounts=-1)


# --- determinism and atomicity -------------------------------------------------------

_DUMPED = (Cardholder, Account, Card, Statement, Transaction, Fee, Consent)


def _dump(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every seeded row, minus the wall-clock columns that differ run to run."""
    wall_clock = {"created_at", "updated_at"}
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            dump = {}
            for model in (*_DUMPED, InstallmentPlan, InstallmentScheduleItem):
                table = Base.metadata.tables[model.__tablename__]
                columns = [c for c in table.c if c.name not in wall_clock]
                dump[table.name] = [
                    tuple(row) for row in conn.execute(select(*columns).order_by(table.c.id))
                ]
            return dump
    finally:
        engine.dispose()


def test_same_seed_same_data_different_seed_different_data(tmp_path: Path) -> None:
    with (
        fresh_database(tmp_path) as first,
        fresh_database(tmp_path) as second,
        fresh_database(tmp_path) as other,
    ):
        seed_demo(first, accounts=60, random_seed=7, today=TODAY)
        # A different chunking must not change the data either.
        seed_demo(second, accounts=60, random_seed=7, today=TODAY, chunk_size=7)
        seed_demo(other, accounts=60, random_seed=8, today=TODAY)
        a, b, c = _dump(first), _dump(second), _dump(other)
    assert a == b
    assert len(a["accounts"]) == 68
    assert a["cardholders"][:8] == c["cardholders"][:8]  # personas don't depend on the seed
    assert a["cardholders"][8:] != c["cardholders"][8:]
    assert a["accounts"][8:] != c["accounts"][8:]


def test_a_failed_seed_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = portfolio.generate_portfolio

    def failing(*args: Any, **kwargs: Any) -> Iterator[portfolio.Chunk]:
        chunks = real(*args, **kwargs)
        yield next(chunks)
        raise RuntimeError("disk full")

    monkeypatch.setattr("bot.demo.seed.generate_portfolio", failing)
    with fresh_database(tmp_path) as url:
        with pytest.raises(RuntimeError, match="disk full"):
            seed_demo(url, accounts=30, chunk_size=10, today=TODAY)
        engine = make_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.scalar(select(func.count()).select_from(Cardholder)) == 0
                assert conn.scalar(select(func.count()).select_from(Account)) == 0
        finally:
            engine.dispose()
        # Nothing half-done blocks a retry.
        monkeypatch.undo()
        assert seed_demo(url, accounts=5, today=TODAY).total_accounts == 13
