"""A time limit on a request's work that never waits for the work to clean up.

`asyncio.wait_for` cancels the work and then waits for it to finish; a
session closing on a database that stopped answering would make that wait as
long as the hang itself. Twilio gives a webhook 15 s, so the webhooks answer
when the deadline passes and leave the cancelled work to end in the background.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar

import structlog

log = structlog.get_logger(__name__)

T = TypeVar("T")


class DeadlineExceeded(Exception):
    """The work did not finish in time (it has been cancelled)."""


def _reap(task: asyncio.Future[Any]) -> None:
    if task.cancelled():
        return
    error = task.exception()
    if error is not None:
        log.warning("deadline.late_failure", error=type(error).__name__)


async def within(work: Awaitable[T], seconds: float) -> T:
    """The result of `work`, or `DeadlineExceeded` once `seconds` have passed.

    Raises:
        DeadlineExceeded: after cancelling `work` (not waiting for it to end).
        Whatever `work` raises within the time.
    """
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if task in done:
        return task.result()
    task.cancel()
    task.add_done_callback(_reap)
    raise DeadlineExceeded(f"not done within {seconds:g}s")
