"""Engines and sessions, built on demand from a database URL (never at import time)."""

from __future__ import annotations

import select
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection


def sync_url(url: str) -> str:
    """The URL for synchronous use (migrations, seeding, CLI tools)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername.startswith("sqlite"):
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL for the asyncio engine (gateway, actions): psycopg 3 or aiosqlite."""
    parsed = make_url(sync_url(url))
    if parsed.drivername == "sqlite":
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _ensure_sqlite_dir(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the gateway read while the action server writes; the busy
    # timeout turns short lock waits into waits instead of errors.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """A synchronous engine for `url`."""
    url = sync_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **kwargs)


def make_async_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """An asyncio engine for `url`, pooled for a long-running server."""
    url = async_url(url)
    if url.startswith("sqlite"):
        _ensure_sqlite_dir(url)
        engine = create_async_engine(url, hide_parameters=True, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    if "poolclass" not in kwargs:  # a NullPool (tests, one-off tools) takes no sizes
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        kwargs.setdefault("pool_timeout", POOL_TIMEOUT_SECONDS)
    kwargs["connect_args"] = {**_postgres_bounds(), **kwargs.get("connect_args", {})}
    engine = create_async_engine(url, hide_parameters=True, **kwargs)
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _discard_if_dead)
    return engine


# How long a pooled connection may sit unused before it is pinged at checkout.
IDLE_PING_SECONDS = 30.0


def _note_checkin(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _discard_if_dead(
    dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
) -> None:
    """Hand out only live connections, without a round trip per checkout.

    `pool_pre_ping` sends `SELECT 1` on every checkout: with a checkout per
    commit that was a fifth of the gateway's and the action server's CPU per
    turn under load (`make bench`). A connection idle in the pool has nothing
    to read, so a readable socket means the server spoke first: it was
    terminated (restart, failover, `pg_terminate_backend`) or the kernel's
    keepalive gave up on the peer. Such a connection is discarded and the pool
    opens a fresh one. One that has been idle long (a firewall may have
    dropped it silently) gets a real ping.

    Raises:
        DisconnectionError: the connection is dead; the pool retries with a new one.
    """
    connection = getattr(dbapi_connection, "driver_connection", dbapi_connection)
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError) as error:  # closed already
        raise DisconnectionError(f"pooled connection unusable: {error}") from error
    if readable:
        raise DisconnectionError("the server closed this pooled connection")
    idle = time.monotonic() - record.info.get("checked_in_at", time.monotonic())
    if idle > IDLE_PING_SECONDS:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
        except Exception as error:  # any failure at all: do not hand this one out
            raise DisconnectionError(f"ping failed after {idle:.0f} s idle: {error}") from error
        finally:
            cursor.close()


# A server that hangs at connect or a table someone locked must cost a request
# seconds, not minutes: Twilio gives a webhook 15 s. No statement_timeout: the
# reminder planner's statements may rightly run long at a million accounts
# (webhooks bound the rest themselves, see `bot.gateway.deadline`).
CONNECT_TIMEOUT_SECONDS = 5
LOCK_TIMEOUT_MS = 5000
POOL_TIMEOUT_SECONDS = 5.0


def _postgres_bounds() -> dict[str, Any]:
    """psycopg connect arguments bounding a connect and any wait for a lock."""
    return {
        "connect_timeout": CONNECT_TIMEOUT_SECONDS,
        "options": f"-c lock_timeout={LOCK_TIMEOUT_MS}",
        # A peer that vanished without closing (a failover, a dropped route) is
        # noticed by the kernel within about a minute, not hours.
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def make_sessionmaker(engine: Engine) -> sessionmaker[Any]:
    return sessionmaker(engine, expire_on_commit=False)


def make_async_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    return async_sessionmaker(engine, expire_on_commit=False)
