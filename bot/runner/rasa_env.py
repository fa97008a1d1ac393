"""Environment for the Rasa server, derived from the one `Settings`.

`endpoints.yml` reads these variables, so operators configure storage once
(`DATABASE_URL`, `REDIS_URL`) and Rasa's tracker and lock stores follow.
"""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.settings import VAR_DIR, Settings


def tracker_store_env(settings: Settings) -> dict[str, str]:
    """SQL tracker store: a SQLite file beside ours, or the same PostgreSQL database.

    Rasa 3.6 uses SQLAlchemy 1.4 with psycopg2, so the URL gets that driver.
    """
    if settings.is_sqlite:
        database = make_url(settings.database_url).database
        folder = Path(database).parent if database and database != ":memory:" else VAR_DIR
        path = folder / "rasa_tracker.db"
        return {
            "TRACKER_STORE_DIALECT": "sqlite",
            "TRACKER_STORE_URL": f"sqlite:///{path}",
            "TRACKER_STORE_DB": str(path),
        }
    url = make_url(settings.database_url).set(drivername="postgresql+psycopg2")
    return {
        "TRACKER_STORE_DIALECT": "postgresql",
        "TRACKER_STORE_URL": url.render_as_string(hide_password=False),
        "TRACKER_STORE_DB": url.database or "",
        # Rasa's own variables: its default pool (50 + 100 overflow per server)
        # would let two servers exhaust PostgreSQL's 100 connections. A server
        # handles one turn per conversation at a time; 15 is plenty.
        "SQL_POOL_SIZE": "5",
        "SQL_MAX_OVERFLOW": "10",
    }


def lock_lifetime_seconds(settings: Settings) -> int:
    """Twice the gateway's Rasa timeout, at least 20 s."""
    return max(20, math.ceil(2 * settings.rasa_timeout_seconds))


def lock_store_env(settings: Settings) -> dict[str, str]:
    """Redis lock store when `REDIS_URL` is set (needed for several Rasa servers)."""
    if not settings.redis_url:
        return {
            "LOCK_STORE_TYPE": "in_memory",
            "LOCK_STORE_HOST": "",
            "LOCK_STORE_PORT": "",
            "LOCK_STORE_DB": "",
            "LOCK_STORE_PASSWORD": "",
        }
    url = make_url(settings.redis_url)
    return {
        # Rasa's own variable: how long a conversation stays locked by a Rasa
        # server that died mid-turn (Rasa's default is 60 s). Longer than any
        # turn the gateway still waits for, so a live turn is never overtaken.
        "TICKET_LOCK_LIFETIME": str(lock_lifetime_seconds(settings)),
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_HOST": url.host or "127.0.0.1",
        "LOCK_STORE_PORT": str(url.port or 6379),
        "LOCK_STORE_DB": (url.database or "0").lstrip("/") or "0",
        "LOCK_STORE_PASSWORD": url.password if isinstance(url.password, str) else "",
    }


def rasa_server_env(settings: Settings) -> dict[str, str]:
    """All variables `endpoints.yml` expects."""
    return {
        "ACTION_ENDPOINT_URL": f"{str(settings.action_server_url).rstrip('/')}/webhook",
        **tracker_store_env(settings),
        **lock_store_env(settings),
    }
