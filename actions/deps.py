"""What actions need from the outside world, built on first use.

rasa-sdk instantiates actions itself (no constructor arguments) and imports
every module here at start-up, so dependencies are created lazily on the
first call and can be replaced wholesale by tests (`override`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings, get_settings


@dataclass
class Dependencies:
    settings: Settings
    sessionmaker: async_sessionmaker[AsyncSession]


_current: Dependencies | None = None


def current() -> Dependencies:
    """The process's dependencies, built from the environment on first use."""
    global _current
    if _current is None:
        from bot.db.engine import make_async_engine, make_async_sessionmaker

        settings = get_settings()
        engine = make_async_engine(settings.database_url)
        _current = Dependencies(settings, make_async_sessionmaker(engine))
    return _current


def override(dependencies: Dependencies | None) -> None:
    """Use these dependencies from now on (tests); None restores the default."""
    global _current
    _current = dependencies


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncSession]:
    """A session in a transaction, committed on success and rolled back on error."""
    async with current().sessionmaker() as session, session.begin():
        yield session
