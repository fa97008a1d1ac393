"""The demo's desk accounts: an agent and a supervisor, passwords from `.env`.

`make run` calls `ensure_demo_desk_accounts` on every start: the accounts
are created when missing, and a password that no longer matches `.env`
(DESK_AGENT_PASSWORD / DESK_SUPERVISOR_PASSWORD) is reset to it, so the
passwords a person reads in `.env` are always the ones that work. An empty
password leaves that account alone (production manages people with
`python -m bot desk user`).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.models import Agent
from bot.desk.auth import hash_password, verify_password
from bot.domain.enums import AgentRole
from bot.settings import Settings


class DemoDeskAccount(NamedTuple):
    username: str
    display_name: str
    role: AgentRole


AGENT = DemoDeskAccount("agent", "Alex Rivera", AgentRole.AGENT)
SUPERVISOR = DemoDeskAccount("supervisor", "Mei Lin 林梅", AgentRole.SUPERVISOR)


def upsert_desk_user(
    session: Session, username: str, display_name: str, role: AgentRole, password: str
) -> str:
    """Create the desk user, or update their role and name and make `password` theirs.

    Returns what was done: "created", "unchanged" or "password reset".
    """
    agent = session.scalar(select(Agent).where(Agent.username == username))
    if agent is None:
        session.add(
            Agent(
                username=username,
                display_name=display_name,
                role=role,
                password_hash=hash_password(password),
                active=True,
            )
        )
        return "created"
    agent.role = role
    agent.display_name = display_name
    agent.active = True
    if verify_password(agent.password_hash, password):
        return "unchanged"
    agent.password_hash = hash_password(password)
    return "password reset"


def deactivate_desk_user(session: Session, username: str) -> str:
    """Stop a desk user signing in; their open sessions end with it."""
    agent = session.scalar(select(Agent).where(Agent.username == username.strip().lower()))
    if agent is None:
        return "not found"
    agent.active = False
    return "deactivated"


def ensure_demo_desk_accounts(settings: Settings) -> dict[str, str]:
    """Make the demo agent and supervisor match `.env`. Returns username → what was done."""
    wanted = {
        AGENT: settings.desk_agent_password.get_secret_value(),
        SUPERVISOR: settings.desk_supervisor_password.get_secret_value(),
    }
    done: dict[str, str] = {}
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session, session.begin():
            for account, password in wanted.items():
                if password:
                    done[account.username] = upsert_desk_user(
                        session, account.username, account.display_name, account.role, password
                    )
    finally:
        engine.dispose()
    return done
