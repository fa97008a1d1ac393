"""Fixtures for action tests: the actions' dependencies pointed at a seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from actions import deps
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.settings import Settings
from tests.conftest import DatabaseFactory
from tests.integration.twilio_support import (
    ClientFactory,
    Harness,
    restore,
    running_harness,
    seed_database,
    snapshot_consents,
)
from tests.support import SECRET


@asynccontextmanager
async def _installed(url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = make_async_engine(url, poolclass=NullPool)
    maker = make_async_sessionmaker(engine)
    deps.override(
        deps.Dependencies(
            Settings(_env_file=None, database_url=url, session_secret=SecretStr(SECRET)), maker
        )
    )
    try:
        yield maker
    finally:
        deps.override(None)
        await engine.dispose()


@pytest.fixture
async def sessions(seeded_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """A session factory on the shared seeded database, installed as the actions' dependencies."""
    async with _installed(seeded_url) as maker:
        yield maker


@pytest.fixture
async def own_sessions(fresh_seeded_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Like `sessions`, on a database of the test's own (for actions that change accounts)."""
    async with _installed(fresh_seeded_url) as maker:
        yield maker


@pytest.fixture
def conversation_id(request: pytest.FixtureRequest) -> str:
    return f"test-{request.node.name}"[:120]


# --- the gateway with Twilio: one personas-only database per test module ----------


@pytest.fixture(scope="module")
def twilio_db(database_factory: DatabaseFactory) -> str:
    """A database with the eight personas only, shared by a module's tests."""
    return seed_database(database_factory)


@pytest.fixture(scope="module")
def seeded_consents(twilio_db: str) -> list[dict[str, Any]]:
    return snapshot_consents(twilio_db)


@pytest.fixture
def clean_db(twilio_db: str, seeded_consents: list[dict[str, Any]]) -> Iterator[str]:
    """`twilio_db`, restored after the test (messages, conversations, consents)."""
    yield twilio_db
    restore(twilio_db, seeded_consents)


@pytest.fixture
async def bot(aiohttp_client: ClientFactory, clean_db: str) -> AsyncIterator[Harness]:
    """The gateway on `clean_db`, with a fake Rasa and a fake Twilio REST API."""
    async with running_harness(aiohttp_client, clean_db) as harness:
        yield harness
