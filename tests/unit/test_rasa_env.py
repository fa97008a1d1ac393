from pydantic import SecretStr

from bot.runner.rasa_env import rasa_server_env
from bot.settings import Settings


def _settings(**overrides: object) -> Settings:
    """Settings from the arguments only: CI's own DATABASE_URL/REDIS_URL must not leak in."""
    values: dict[str, object] = {
        "database_url": "sqlite:////srv/cardbot/var/app.db",
        "redis_url": None,
        "action_server_url": "http://127.0.0.1:5055",
        **overrides,
    }
    return Settings(_env_file=None, rasa_token=SecretStr("t"), **values)  # type: ignore[arg-type]


def test_demo_defaults_use_sqlite_beside_the_database_and_in_memory_locks() -> None:
    env = rasa_server_env(_settings(database_url="sqlite:////srv/cardbot/var/app.db"))
    assert env["TRACKER_STORE_DIALECT"] == "sqlite"
    assert env["TRACKER_STORE_URL"] == "sqlite:////srv/cardbot/var/rasa_tracker.db"
    assert env["LOCK_STORE_TYPE"] == "in_memory"
    assert env["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"


def test_production_uses_postgres_with_psycopg2_and_redis_locks() -> None:
    env = rasa_server_env(
        _settings(
            database_url="postgresql+psycopg://bot:s3cret@db.internal:5433/cardbot",
            redis_url="redis://:pw@cache.internal:6380/2",
        )
    )
    assert env["TRACKER_STORE_DIALECT"] == "postgresql"
    assert env["TRACKER_STORE_URL"] == "postgresql+psycopg2://bot:s3cret@db.internal:5433/cardbot"
    assert env["TRACKER_STORE_DB"] == "cardbot"
    # Bounded, so several Rasa servers fit in PostgreSQL's connection limit.
    assert (env["SQL_POOL_SIZE"], env["SQL_MAX_OVERFLOW"]) == ("5", "10")
    assert env["LOCK_STORE_TYPE"] == "redis"
    assert env["LOCK_STORE_HOST"] == "cache.internal"
    assert env["LOCK_STORE_PORT"] == "6380"
    assert env["LOCK_STORE_DB"] == "2"
    assert env["LOCK_STORE_PASSWORD"] == "pw"
    # A Rasa server killed mid-turn frees its conversations in 20 s, not Rasa's 60.
    assert env["TICKET_LOCK_LIFETIME"] == "20"


def test_the_lock_lifetime_outlasts_the_gateways_wait() -> None:
    env = rasa_server_env(_settings(redis_url="redis://r:6379/0", rasa_timeout_seconds=25.0))
    assert env["TICKET_LOCK_LIFETIME"] == "50"
    assert "TICKET_LOCK_LIFETIME" not in rasa_server_env(_settings())


def test_every_variable_endpoints_yml_names_is_provided() -> None:
    import re

    from bot.settings import PROJECT_ROOT

    wanted = set(re.findall(r"\$\{(\w+)\}", (PROJECT_ROOT / "endpoints.yml").read_text()))
    for settings in (_settings(), _settings(redis_url="redis://127.0.0.1:6379/0")):
        assert wanted <= set(rasa_server_env(settings))
