"""Programmatic Alembic: bring a database's schema to a revision.

The CLI (`python -m bot db upgrade`), the demo seeder and the tests all call
`upgrade`, so there is one path to a schema and it is the migration path: a
database built here is the database production gets.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext

from bot.db.engine import make_engine, sync_url
from bot.settings import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(url: str) -> Config:
    """An Alembic config for `url`, independent of the working directory.

    The URL travels in `config.attributes` rather than `sqlalchemy.url`, so it
    is never interpolated by configparser (a `%` in a password would break it).
    """
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = sync_url(url)
    config.attributes["skip_logging_config"] = True
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to `revision`; a database already there is left alone."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()
