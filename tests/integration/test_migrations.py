"""The Alembic migrations build exactly the schema the models describe.

Every check runs on a database that only the migrations have touched (not
`metadata.create_all`), on SQLite by default and on PostgreSQL when
`DATABASE_URL` names one.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, current_revision, upgrade
from bot.db.models import Base
from tests.conftest import fresh_database


@pytest.fixture
def empty_url(tmp_path: Path) -> Iterator[str]:
    with fresh_database(tmp_path) as url:
        yield url


def _head() -> str:
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def _schema_differences(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs: list[object] = compare_metadata(context, Base.metadata)
            return diffs
    finally:
        engine.dispose()


def _schema_snapshot(url: str) -> dict[str, object]:
    engine = make_engine(url)
    try:
        inspector = inspect(engine)
        return {
            table: (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(i["name"] or "" for i in inspector.get_indexes(table)),
                sorted(fk["name"] or "" for fk in inspector.get_foreign_keys(table)),
            )
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


def test_single_linear_history() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


def test_fresh_database_has_no_revision(empty_url: str) -> None:
    assert current_revision(empty_url) is None


def test_upgrade_head_matches_the_models(empty_url: str) -> None:
    upgrade(empty_url)
    assert current_revision(empty_url) == _head()
    assert _schema_differences(empty_url) == []
    engine = make_engine(empty_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables == set(Base.metadata.tables) | {"alembic_version"}


def test_upgrade_twice_is_a_no_op(empty_url: str) -> None:
    upgrade(empty_url)
    before = _schema_snapshot(empty_url)
    upgrade(empty_url)
    assert current_revision(empty_url) == _head()
    assert _schema_snapshot(empty_url) == before
    engine = make_engine(empty_url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT count(*) FROM alembic_version")) == 1
    finally:
        engine.dispose()


def test_check_constraints_are_the_models_and_enums_have_none(empty_url: str) -> None:
    """Autogenerate ignores CHECK constraints, so compare them here.

    Enumerations are non-native VARCHARs without CHECKs: adding a member must
    not need a migration on either backend.
    """
    upgrade(empty_url)
    engine = make_engine(empty_url)
    try:
        inspector = inspect(engine)
        found = {
            (table, check["name"])
            for table in inspector.get_table_names()
            for check in inspector.get_check_constraints(table)
        }
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                enum_types = conn.scalar(text("SELECT count(*) FROM pg_type WHERE typtype = 'e'"))
            assert enum_types == 0
    finally:
        engine.dispose()
    assert found == {
        ("accounts", "ck_accounts_dpd_non_negative"),
        ("cards", "ck_cards_last4_len"),
    }


def test_downgrade_to_base_and_back(empty_url: str) -> None:
    upgrade(empty_url)
    command.downgrade(alembic_config(empty_url), "base")
    assert current_revision(empty_url) is None
    engine = make_engine(empty_url)
    try:
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    finally:
        engine.dispose()
    upgrade(empty_url)
    assert _schema_differences(empty_url) == []
