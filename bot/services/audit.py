"""Append-only audit trail: who did what to which record."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditLog


def record(
    session: AsyncSession,
    *,
    actor: str,
    action: str,
    entity_type: str,
    entity_id: str | int,
    details: dict[str, Any] | None = None,
    policy_version: str | None = None,
) -> AuditLog:
    """Add an audit entry to the session (flushed with the caller's transaction)."""
    entry = AuditLog(
        actor=actor,
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        details=details or {},
        policy_version=policy_version,
    )
    session.add(entry)
    return entry
