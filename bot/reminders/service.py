"""`python -m bot reminders run|plan`: the scheduler as its own process.

`make run` starts it as one more supervised child (like the gateway), not as
a task inside the gateway: a slow planning pass never delays a web request,
a crash is visible (the supervisor logs it and restarts it) rather than a silently
dead task, and several gateways never each run a scheduler. Several
schedulers are still safe (claims), so scaling out is a matter of starting
more.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from datetime import datetime

import structlog
from sqlalchemy.pool import NullPool

from bot.channels.outbound import Outbound
from bot.channels.twilio_rest import TwilioRest
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.db.types import utcnow
from bot.policy.loader import get_policy
from bot.reminders.messages import Sender
from bot.reminders.planner import PlanReport, plan
from bot.reminders.scheduler import ReminderScheduler, RunReport, SchedulerOptions
from bot.settings import Settings

log = structlog.get_logger(__name__)


async def run_scheduler(
    settings: Settings,
    stop: asyncio.Event | None = None,
    *,
    options: SchedulerOptions | None = None,
    once: bool = False,
) -> RunReport | None:
    """Run the scheduler until `stop` is set (or one pass when `once`)."""
    engine = make_async_engine(settings.database_url)
    rest = TwilioRest.from_settings(settings)
    try:
        sessions = make_async_sessionmaker(engine)
        scheduler = ReminderScheduler(
            sessions,
            Outbound(sessions, rest),
            lambda: get_policy(settings),
            Sender.from_settings(settings),
            options=options,
            send_enabled=rest.configured,
        )
        if not rest.configured:
            log.warning("reminders.twilio_not_configured", planning_only=True)
        if once:
            return await scheduler.run_once()
        await scheduler.run_forever(stop or asyncio.Event())
        return None
    finally:
        await rest.close()
        await engine.dispose()


def serve(settings: Settings) -> None:
    """Run in the foreground until SIGINT or SIGTERM."""
    from bot.logging import configure_logging

    configure_logging(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        log.info("reminders.starting")
        await run_scheduler(settings, stop)
        log.info("reminders.stopped")

    asyncio.run(main())


async def plan_report(
    settings: Settings, *, dry_run: bool, now: datetime | None = None
) -> PlanReport:
    """One planning pass; `dry_run` rolls it back (the benchmark measures this)."""
    engine = make_async_engine(settings.database_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            transaction = await conn.begin()
            report = await plan(conn, get_policy(settings), now or utcnow())
            if dry_run:
                await transaction.rollback()
            else:
                await transaction.commit()
        return report
    finally:
        await engine.dispose()
