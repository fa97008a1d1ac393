"""Fixtures for action tests: the actions' dependencies pointed at a seeded database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from actions import deps
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.settings import Settings
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
