"""Periodic upkeep the gateway runs in the background: broken promises for now.

A promise whose date has passed without the payment is marked broken, and
the second broken promise sends the account to a person (CONTRACT.md §5).
The reminder scheduler will own this with the rest of outbound planning;
until then the gateway runs it every `interval_seconds`. The work is one set
of UPDATEs per time zone (`mark_broken_promises`), so several gateways
running it at once only repeat a no-op.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.policy import PolicyError, get_policy
from bot.services.collections import BrokenPromises, mark_broken_promises
from bot.settings import Settings

log = structlog.get_logger(__name__)


class Housekeeping:
    """Runs `run_once` forever, every `interval_seconds`; a failed pass is logged and retried."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        *,
        interval_seconds: float,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._interval = interval_seconds

    async def run_once(self) -> BrokenPromises:
        """Mark broken promises now (one transaction)."""
        policy = get_policy(self._settings)
        async with self._sessions() as session, session.begin():
            result = await mark_broken_promises(session, policy)
        if result.promise_ids:
            log.info(
                "promises.broken",
                promises=len(result.promise_ids),
                routed_accounts=len(result.routed_account_ids),
            )
        return result

    async def run_forever(self) -> None:
        while True:
            try:
                await self.run_once()
            except (SQLAlchemyError, PolicyError, OSError) as error:
                log.warning("housekeeping.failed", error=str(error))
            await asyncio.sleep(self._interval)
