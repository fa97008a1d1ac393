"""Alembic environment: runs migrations against the URL it is given.

`bot.db.migrate` passes the URL (and an open connection, if it has one) through
`config.attributes`; the `alembic` command line falls back to the settings'
`DATABASE_URL`. alembic.ini never holds a URL, so no credential is committed.
"""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from bot.db import types as db_types
from bot.db.engine import make_engine, sync_url
from bot.db.models import Base

config = context.config
target_metadata = Base.metadata

# Configure logging from alembic.ini only for the `alembic` command line: a
# programmatic upgrade (CLI, seeding, tests) must not reset the host's logging.
if config.config_file_name is not None and not config.attributes.get("skip_logging_config"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _database_url() -> str:
    url = config.attributes.get("database_url")
    if url:
        return sync_url(str(url))
    from bot.settings import Settings

    return sync_url(Settings().database_url)


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Render the project's column types by their import path, without arguments.

    The default rendering reprs the wrapped type (`Money(precision=14, ...)`);
    the decorators take no arguments, and the import is added to the script.
    """
    if type_ == "type" and isinstance(obj, db_types.Money | db_types.UTCDateTime):
        autogen_context.imports.add("import bot.db.types")
        return f"bot.db.types.{type(obj).__name__}()"
    return False


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        render_item=_render_item,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`alembic upgrade --sql`) instead of executing it."""
    url = _database_url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run against a live database, reusing the caller's connection if it passed one."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_database_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
