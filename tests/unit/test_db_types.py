"""Money stays exact and timestamps stay UTC through a real database round trip."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import StatementError

from bot.db.types import Money, UTCDateTime, utcnow

_metadata = MetaData()
_probe = Table(
    "type_probe",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", Money()),
    Column("at", UTCDateTime()),
)


@pytest.fixture
def probe(db_engine: Engine) -> Iterator[Engine]:
    """The session database with a throwaway table holding one column of each type."""
    _metadata.create_all(db_engine)
    yield db_engine
    _metadata.drop_all(db_engine)


def _dialect(driver: str) -> Dialect:
    """A dialect object for unit-testing bind/result processing; no connection made."""
    return make_url(f"{driver}://").get_dialect()()


def _round_trip_amount(engine: Engine, amount: object) -> Decimal:
    with engine.begin() as conn:
        row_id = conn.scalar(insert(_probe).values(amount=amount).returning(_probe.c.id))
        value = conn.scalar(select(_probe.c.amount).where(_probe.c.id == row_id))
    assert isinstance(value, Decimal)
    return value


@pytest.mark.parametrize(
    "amount",
    [
        "0.00",
        "0.01",
        "0.10",
        "19.99",
        "2480.00",
        "1234567890.99",
        "9999999999.99",
        "-0.01",
        "-29.00",
        "-1234567890.99",
    ],
)
def test_money_round_trips_exactly(probe: Engine, amount: str) -> None:
    value = _round_trip_amount(probe, Decimal(amount))
    assert value == Decimal(amount)
    assert str(value) == amount  # same digits, same scale: no float on the way


def test_money_sums_stay_exact(probe: Engine) -> None:
    # 0.1 + 0.2 is the classic float failure; a thousand cents must be exactly 10.00.
    for _ in range(1000):
        _round_trip_amount(probe, Decimal("0.01"))
    with probe.connect() as conn:
        amounts = conn.scalars(select(_probe.c.amount)).all()
    assert sum(amounts, Decimal(0)) == Decimal("10.00")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        (Decimal("7"), "7.00"),
        (Decimal("19.999"), "20.00"),
        (Decimal("0.004"), "0.00"),
        (Decimal("-0.006"), "-0.01"),
        (42, "42.00"),
        ("3.1", "3.10"),
    ],
)
def test_money_quantises_to_the_cent(probe: Engine, given: object, stored: str) -> None:
    assert str(_round_trip_amount(probe, given)) == stored


def test_money_rejects_float(probe: Engine) -> None:
    with pytest.raises(StatementError) as raised, probe.begin() as conn:
        conn.execute(insert(_probe).values(amount=0.1))
    assert isinstance(raised.value.orig, TypeError)
    with probe.connect() as conn:
        assert conn.scalar(select(_probe.c.id)) is None


def test_money_none_is_null(probe: Engine) -> None:
    with probe.begin() as conn:
        conn.execute(insert(_probe).values(amount=None))
        assert conn.scalar(select(_probe.c.amount)) is None


def test_money_storage_is_exact_per_dialect(probe: Engine) -> None:
    """SQLite keeps integer minor units; PostgreSQL keeps NUMERIC(14, 2)."""
    _round_trip_amount(probe, Decimal("1234567890.99"))
    with probe.connect() as conn:
        raw = conn.execute(text("SELECT amount FROM type_probe")).scalar_one()
    if probe.dialect.name == "sqlite":
        assert raw == 123456789099
        assert isinstance(raw, int)
    else:
        assert raw == Decimal("1234567890.99")


def test_money_bind_param_per_dialect() -> None:
    money = Money()
    assert money.process_bind_param(Decimal("12.34"), _dialect("sqlite")) == 1234
    assert money.process_bind_param(Decimal("12.34"), _dialect("postgresql+psycopg")) == Decimal(
        "12.34"
    )
    assert money.process_result_value(1234, _dialect("sqlite")) == Decimal("12.34")
    with pytest.raises(TypeError, match="float"):
        money.process_bind_param(12.34, _dialect("postgresql+psycopg"))


def test_utc_datetime_rejects_naive(probe: Engine) -> None:
    with pytest.raises(StatementError) as raised, probe.begin() as conn:
        conn.execute(insert(_probe).values(at=datetime(2026, 1, 1, 12, 0)))
    assert isinstance(raised.value.orig, ValueError)


def test_utc_datetime_rejects_dates() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        UTCDateTime().process_bind_param(date(2026, 1, 1), _dialect("sqlite"))


@pytest.mark.parametrize("offset_hours", [0, 8, -5])
def test_utc_datetime_returns_the_same_instant_in_utc(probe: Engine, offset_hours: int) -> None:
    zone = timezone(timedelta(hours=offset_hours))
    moment = datetime(2026, 11, 23, 9, 30, 15, 123456, tzinfo=zone)
    with probe.begin() as conn:
        row_id = conn.scalar(insert(_probe).values(at=moment).returning(_probe.c.id))
        value = conn.scalar(select(_probe.c.at).where(_probe.c.id == row_id))
    assert isinstance(value, datetime)
    assert value.utcoffset() == timedelta(0)
    assert value.tzinfo is not None
    assert value == moment
    assert value.hour == (9 - offset_hours) % 24


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
