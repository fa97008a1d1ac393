"""Shared fixtures: a real database for each test session.

With `DATABASE_URL` set to PostgreSQL (CI), a throwaway database is created on
that server for the session and dropped afterwards, so tests never touch the
database the URL names. Without it, a temporary SQLite file is used.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from bot.db.engine import make_async_engine, make_engine, sync_url
from bot.db.models import Base


def _postgres_server_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith("postgres") else None


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    """URL of a brand-new empty database, removed afterwards.

    A SQLite file in `directory`, or a throwaway database on the PostgreSQL
    server `DATABASE_URL` names.
    """
    server = _postgres_server_url()
    if server is None:
        yield f"sqlite:///{directory / f'fresh_{uuid.uuid4().hex[:8]}.db'}"
        return
    name = f"cardbot_test_{uuid.uuid4().hex[:10]}"
    _admin(server, f'CREATE DATABASE "{name}"')
    try:
        yield make_url(sync_url(server)).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(server: str, statement: str) -> None:
    """Run one statement on the server, holding no connection afterwards.

    A database lives until the session ends; an idle connection kept for
    each would exhaust the server's `max_connections` in a long run.
    """
    admin = create_engine(sync_url(server), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


class DatabaseFactory:
    """Creates empty databases that live until the end of the test session."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._stack = ExitStack()

    def create(self) -> str:
        """URL of a new, empty database."""
        return self._stack.enter_context(fresh_database(self._tmp.mktemp("db")))

    def drop_all(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """Make fresh empty databases on demand (e.g. to run migrations on)."""
    factory = DatabaseFactory(tmp_path_factory)
    yield factory
    factory.drop_all()


@pytest.fixture(scope="session")
def database_url(database_factory: DatabaseFactory) -> str:
    """URL of an empty database that lives for the test session."""
    return database_factory.create()


@pytest.fixture(scope="session")
def schema_engine(database_url: str) -> Iterator[Engine]:
    """A synchronous engine on the session database with the full schema."""
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def db_engine(schema_engine: Engine) -> Iterator[Engine]:
    """The session database, emptied after each test."""
    yield schema_engine
    with schema_engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
async def async_db_engine(db_engine: Engine, database_url: str) -> AsyncIterator[AsyncEngine]:
    """An asyncio engine on the same (per-test emptied) database."""
    engine = make_async_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
def seeded_url(database_factory: DatabaseFactory) -> str:
    """A database with the demo personas and a small synthetic portfolio (read-mostly)."""
    from datetime import date

    from bot.demo.seed import seed_demo

    url = database_factory.create()
    seed_demo(url, accounts=20, today=date.today())
    return url


@pytest.fixture
def fresh_seeded_url(database_factory: DatabaseFactory) -> str:
    """A database of this test's own with the demo personas only (for tests that write)."""
    from datetime import date

    from bot.demo.seed import seed_demo

    url = database_factory.create()
    seed_demo(url, accounts=0, today=date.today())
    return url
