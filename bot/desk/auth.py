"""Desk sign-in: argon2 password hashes, server-side sessions, CSRF and rate limits.

The session cookie carries a random token; the database keeps only its
SHA-256, so a leaked table opens no session. Every sign-in mints a new token
(nothing presented before it is ever promoted: no session fixation), and a
session ends after `SESSION_IDLE` without use or `SESSION_MAX` in all.
Every state-changing request must carry the session's CSRF token. Failed
sign-ins are counted per username and per address in the database, so the
limit holds across gateway instances.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Agent, DeskSession, LoginAttempt
from bot.db.types import utcnow
from bot.domain.enums import AgentRole, Authority
from bot.services import audit

log = structlog.get_logger(__name__)

SESSION_IDLE = timedelta(minutes=30)
SESSION_MAX = timedelta(hours=12)
# `last_seen_at` is written at most this often (not on every request).
_TOUCH_EVERY = timedelta(seconds=60)
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_IP = 20
MAX_PASSWORD_CHARS = 256

_HASHER = PasswordHasher()  # argon2id with the library's current defaults

# What each role may approve (CONTRACT.md §5: "beyond that → agent / supervisor").
ROLE_AUTHORITY: dict[AgentRole, frozenset[Authority]] = {
    AgentRole.AGENT: frozenset({Authority.BOT, Authority.AGENT}),
    AgentRole.SUPERVISOR: frozenset({Authority.BOT, Authority.AGENT, Authority.SUPERVISOR}),
}


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (salted; safe to store)."""
    return _HASHER.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches; a malformed hash never matches."""
    try:
        return _HASHER.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def _verify_unknown(password: str) -> None:
    # Checked when the username is unknown, so both cases cost the same.
    verify_password(_dummy_hash(), password)


def token_id(token: str) -> str:
    """The stored id of a session token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(expected: str, presented: str | None) -> bool:
    """Constant-time comparison of a CSRF token."""
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())


@dataclass(frozen=True)
class DeskUser:
    """Who a desk request comes from."""

    agent_id: int
    username: str
    display_name: str
    role: AgentRole
    session_id: str
    csrf_token: str

    @property
    def actor(self) -> str:
        """How the audit log and the transcript name this person."""
        return f"agent:{self.username}"

    @property
    def is_supervisor(self) -> bool:
        return self.role is AgentRole.SUPERVISOR

    def may_grant(self, authority: Authority) -> bool:
        """Whether this role may approve (or refuse) what `authority` must decide."""
        return authority in ROLE_AUTHORITY[self.role]


class LoginLimited(Exception):
    """Too many failed sign-ins for this username or address; try later."""


@dataclass(frozen=True)
class SignedIn:
    """A fresh session: the token for the cookie, and who it is."""

    token: str
    user: DeskUser


async def _failures(session: AsyncSession, column: object, value: str, since: datetime) -> int:
    count = await session.scalar(
        select(func.count(LoginAttempt.id)).where(
            column == value,  # type: ignore[arg-type]
            LoginAttempt.at >= since,
            LoginAttempt.succeeded.is_(False),
        )
    )
    return int(count or 0)


async def sign_in(
    session: AsyncSession,
    username: str,
    password: str,
    *,
    ip: str,
    now: datetime | None = None,
) -> SignedIn | None:
    """Check a username and password; on success start a new session.

    Every attempt is recorded (and committed by the caller). Returns None on
    a wrong username or password, or an inactive account, without saying which.

    Raises:
        LoginLimited: after too many recent failures for the username or address.
    """
    now = now or utcnow()
    username = username.strip().lower()[:64]
    ip = ip[:64]
    since = now - LOGIN_WINDOW
    if (
        await _failures(session, LoginAttempt.username, username, since)
        >= MAX_FAILURES_PER_USERNAME
        or await _failures(session, LoginAttempt.ip, ip, since) >= MAX_FAILURES_PER_IP
    ):
        log.warning("desk.login_limited", username=username)
        raise LoginLimited(username)
    agent = await session.scalar(select(Agent).where(Agent.username == username))
    password = password[:MAX_PASSWORD_CHARS]
    # argon2 takes tens of milliseconds of CPU on purpose: off the event loop.
    if agent is None:
        await asyncio.to_thread(_verify_unknown, password)
        ok = False
    else:
        ok = await asyncio.to_thread(verify_password, agent.password_hash, password)
        ok = ok and agent.active
    session.add(LoginAttempt(username=username, ip=ip, succeeded=ok, at=now))
    if not ok or agent is None:
        log.info("desk.login_failed", username=username)
        return None
    if _HASHER.check_needs_rehash(agent.password_hash):
        agent.password_hash = await asyncio.to_thread(hash_password, password)
    token = secrets.token_urlsafe(32)
    row = DeskSession(
        id=token_id(token),
        agent_id=agent.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=now,
        last_seen_at=now,
        expires_at=now + SESSION_MAX,
        ip=ip,
    )
    session.add(row)
    audit.record(
        session,
        actor=f"agent:{agent.username}",
        action="desk_signed_in",
        entity_type="agent",
        entity_id=agent.id,
        details={"ip": ip},
    )
    log.info("desk.signed_in", agent_id=agent.id, role=agent.role.value)
    return SignedIn(token, _user(agent, row))


def _user(agent: Agent, row: DeskSession) -> DeskUser:
    return DeskUser(
        agent_id=agent.id,
        username=agent.username,
        display_name=agent.display_name,
        role=agent.role,
        session_id=row.id,
        csrf_token=row.csrf_token,
    )


async def authenticate(
    session: AsyncSession, token: str | None, now: datetime | None = None
) -> DeskUser | None:
    """The user a session cookie belongs to, if the session is still valid."""
    if not token or len(token) > 128:
        return None
    now = now or utcnow()
    row = await session.get(DeskSession, token_id(token))
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if now - row.last_seen_at > SESSION_IDLE:
        return None
    agent = await session.get(Agent, row.agent_id)
    if agent is None or not agent.active:
        return None
    if now - row.last_seen_at > _TOUCH_EVERY:
        row.last_seen_at = now
        await session.commit()
    return _user(agent, row)


async def sign_out(session: AsyncSession, user: DeskUser, now: datetime | None = None) -> None:
    """End the session (the token stops working at once)."""
    await session.execute(
        update(DeskSession)
        .where(DeskSession.id == user.session_id)
        .values(revoked_at=now or utcnow())
    )
    audit.record(
        session,
        actor=user.actor,
        action="desk_signed_out",
        entity_type="agent",
        entity_id=user.agent_id,
    )
