"""The demo's desk accounts follow `.env`; `python -m bot desk user` manages people."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db.models import Agent
from bot.demo.desk_accounts import (
    deactivate_desk_user,
    ensure_demo_desk_accounts,
    upsert_desk_user,
)
from bot.desk.auth import verify_password
from bot.domain.enums import AgentRole
from bot.settings import Settings


def _settings(url: str, agent: str, supervisor: str = "") -> Settings:
    return Settings(
        _env_file=None,
        database_url=url,
        desk_agent_password=SecretStr(agent),
        desk_supervisor_password=SecretStr(supervisor),
    )


def _agents(engine: Engine) -> dict[str, Agent]:
    with Session(engine) as session:
        return {a.username: a for a in session.scalars(select(Agent))}


def test_demo_accounts_are_created_then_kept_then_follow_a_changed_env(
    db_engine: Engine, database_url: str
) -> None:
    first = ensure_demo_desk_accounts(_settings(database_url, "agent-pass-1", "super-pass-1"))
    again = ensure_demo_desk_accounts(_settings(database_url, "agent-pass-1", "super-pass-1"))
    changed = ensure_demo_desk_accounts(_settings(database_url, "agent-pass-2"))

    assert first == {"agent": "created", "supervisor": "created"}
    assert again == {"agent": "unchanged", "supervisor": "unchanged"}
    assert changed == {"agent": "password reset"}  # an empty password leaves one alone
    agents = _agents(db_engine)
    assert agents["agent"].role is AgentRole.AGENT
    assert agents["supervisor"].role is AgentRole.SUPERVISOR
    assert verify_password(agents["agent"].password_hash, "agent-pass-2")
    assert not verify_password(agents["agent"].password_hash, "agent-pass-1")
    assert verify_password(agents["supervisor"].password_hash, "super-pass-1")


def test_a_desk_user_can_be_promoted_and_deactivated(db_engine: Engine) -> None:
    with Session(db_engine) as session, session.begin():
        assert upsert_desk_user(session, "kim", "Kim", AgentRole.AGENT, "pw-123456789") == "created"
    with Session(db_engine) as session, session.begin():
        done = upsert_desk_user(session, "kim", "Kim Park", AgentRole.SUPERVISOR, "pw-123456789")
        assert done == "unchanged"
        assert deactivate_desk_user(session, "KIM ") == "deactivated"
        assert deactivate_desk_user(session, "nobody") == "not found"
    kim = _agents(db_engine)["kim"]
    assert (kim.role, kim.display_name, kim.active) == (AgentRole.SUPERVISOR, "Kim Park", False)
