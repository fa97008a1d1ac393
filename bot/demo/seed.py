"""Fill a database with the demo personas and a synthetic portfolio, once.

`make run` calls this with `--if-empty` on every start, so it must be cheap
to repeat and must never duplicate or overwrite data: an empty database is
filled in one transaction (all or nothing), a database with accounts is left
alone, and a second explicit seed of an already seeded database is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, func, insert, select, text
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import Account, Base, Card, Cardholder, Statement, Transaction
from bot.db.types import utcnow
from bot.demo.personas import PERSONA_REFS, add_personas
from bot.demo.portfolio import DEFAULT_CHUNK_SIZE, IdStart, generate_portfolio
from bot.domain.enums import Bucket

DEFAULT_ACCOUNTS = 2_000
DEFAULT_RANDOM_SEED = 20261123
_BUCKET_ORDER = tuple(Bucket)

# Tables the portfolio fills with explicit ids, in foreign-key order.
_BULK_TABLES: tuple[Table, ...] = tuple(
    Base.metadata.tables[model.__tablename__]
    for model in (Cardholder, Account, Card, Statement, Transaction)
)


class DemoDataExists(RuntimeError):
    """The personas are already in the database; seeding again would duplicate them."""


@dataclass(frozen=True)
class SeedReport:
    """What the database holds after a seed request, and how long it took.

    Attributes:
        seeded: False when `if_empty` found accounts and nothing was written.
        by_bucket: (bucket, accounts) for every bucket present, in bucket order.
        by_jurisdiction: (jurisdiction, accounts), alphabetically.
    """

    seeded: bool
    personas: int
    synthetic_accounts: int
    total_accounts: int
    by_bucket: tuple[tuple[str, int], ...]
    by_jurisdiction: tuple[tuple[str, int], ...]
    elapsed_seconds: float

    def __str__(self) -> str:
        if self.seeded:
            headline = (
                f"Seeded demo data in {self.elapsed_seconds:.1f} s: {self.personas} personas"
                f" + {self.synthetic_accounts:,} synthetic accounts."
            )
        else:
            headline = (
                f"Demo seed skipped: the database already has {self.total_accounts:,}"
                " accounts (--if-empty)."
            )
        return "\n".join(
            (
                headline,
                f"  by bucket:       {_pairs(self.by_bucket)}",
                f"  by jurisdiction: {_pairs(self.by_jurisdiction)}",
            )
        )


def _pairs(pairs: Iterable[tuple[str, int]]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in pairs) or "none"


def seed_demo(
    url: str,
    *,
    accounts: int = DEFAULT_ACCOUNTS,
    if_empty: bool = False,
    random_seed: int = DEFAULT_RANDOM_SEED,
    today: date | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> SeedReport:
    """Migrate the database at `url`, then add the personas and `accounts` synthetic ones.

    Args:
        url: Any SQLAlchemy URL the project accepts (SQLite or PostgreSQL).
        accounts: Synthetic accounts besides the eight personas.
        if_empty: Do nothing (and report so) if the database has any account.
        random_seed: Same seed, same day → same data.
        today: The day dates are relative to; defaults to today in UTC.
        chunk_size: Accounts per bulk insert round trip.

    Raises:
        DemoDataExists: if the personas are already there and `if_empty` is False.
        ValueError: if `accounts` is negative.
    """
    if accounts < 0:
        raise ValueError(f"account count cannot be negative: {accounts}")
    started = time.perf_counter()
    upgrade(url)
    now = utcnow()
    day = today if today is not None else now.date()
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if if_empty and conn.scalar(select(func.count()).select_from(Account)):
                return _report(conn, seeded=False, started=started)
            _refuse_if_seeded(conn)
            _insert_personas(conn, day, now)
            _insert_portfolio(conn, accounts, random_seed, day, now, chunk_size)
            return _report(conn, seeded=True, started=started)
    finally:
        engine.dispose()


def _refuse_if_seeded(conn: Connection) -> None:
    found = conn.scalars(
        select(Cardholder.external_ref).where(Cardholder.external_ref.in_(PERSONA_REFS))
    ).all()
    if found:
        raise DemoDataExists(
            f"demo personas already present ({', '.join(sorted(found))}); "
            "use --if-empty to skip, or seed a fresh database"
        )


def _insert_personas(conn: Connection, today: date, now: datetime) -> None:
    # The session joins the caller's transaction: flushed rows commit (or roll
    # back) together with the portfolio.
    with Session(bind=conn) as session:
        add_personas(session, today, now)


def _insert_portfolio(
    conn: Connection, count: int, random_seed: int, today: date, now: datetime, chunk_size: int
) -> None:
    ids = IdStart(*(_next_id(conn, table) for table in _BULK_TABLES))
    for chunk in generate_portfolio(
        count, random_seed=random_seed, today=today, now=now, ids=ids, chunk_size=chunk_size
    ):
        rows_by_table = (
            chunk.cardholders,
            chunk.accounts,
            chunk.cards,
            chunk.statements,
            chunk.transactions,
        )
        for table, rows in zip(_BULK_TABLES, rows_by_table, strict=True):
            if rows:
                conn.execute(insert(table), rows)
    if conn.dialect.name == "postgresql":
        _advance_sequences(conn)


def _next_id(conn: Connection, table: Table) -> int:
    highest: Any = conn.scalar(select(func.max(table.c.id)))
    return int(highest or 0) + 1


def _advance_sequences(conn: Connection) -> None:
    """Move each id sequence past the explicit ids, so later inserts don't collide."""
    for table in _BULK_TABLES:
        conn.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), max(id)) "
                f"FROM {table.name}"
            )
        )


def _report(conn: Connection, *, seeded: bool, started: float) -> SeedReport:
    by_bucket = dict(
        conn.execute(select(Account.bucket, func.count()).group_by(Account.bucket)).tuples().all()
    )
    by_jurisdiction = dict(
        conn.execute(select(Account.jurisdiction, func.count()).group_by(Account.jurisdiction))
        .tuples()
        .all()
    )
    total = sum(by_bucket.values())
    personas = (
        conn.scalar(
            select(func.count())
            .select_from(Account)
            .join(Cardholder)
            .where(Cardholder.external_ref.in_(PERSONA_REFS))
        )
        or 0
    )
    return SeedReport(
        seeded=seeded,
        personas=personas,
        synthetic_accounts=total - personas,
        total_accounts=total,
        by_bucket=tuple((b.value, n) for b, n in sorted(by_bucket.items(), key=_bucket_order)),
        by_jurisdiction=tuple((j.value, n) for j, n in sorted(by_jurisdiction.items())),
        elapsed_seconds=time.perf_counter() - started,
    )


def _bucket_order(item: tuple[Bucket, int]) -> int:
    return _BUCKET_ORDER.index(item[0])
