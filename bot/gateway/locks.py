"""One conversation's messages are handled one at a time, on every gateway.

Within a process an `asyncio.Lock` per conversation does it. With several
gateway instances (behind a load balancer, `REDIS_URL` set) a Redis lock with
a lease is taken as well, so two instances never deliver the same
conversation's messages at once: without it, two retry workers could replay
the same waiting message and the cardholder would get two answers.

The Redis lock is a short lease that its holder renews while the turn goes
on: a gateway killed while holding one frees the conversation within one
lease (15 s) instead of blocking it for the longest possible turn, and the
inbox (`bot/gateway/inbox.py`) still orders the work by its rows. Redis
trouble never stops a turn: the lock is then taken in this process only,
which is what a single instance does anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as aioredis
import structlog
from redis.exceptions import LockError, RedisError

log = structlog.get_logger(__name__)

KEY_PREFIX = "cardbot:conversation-lock:"
# After a Redis failure, locks stay local for this long before Redis is asked again.
REDIS_RETRY_SECONDS = 5.0


class ConversationLocks:
    """Per-conversation mutual exclusion, across gateway instances when Redis is given.

    Args:
        redis: Shared by every instance; None for one instance (memory only).
        lease_seconds: How long a Redis lock outlives a holder that died; a
            live holder renews it every third of that.
        wait_seconds: How long `hold` waits for another instance's turn
            before going ahead without the shared lock (the inbox still
            orders the messages); shorter than a client's patience.
    """

    def __init__(
        self,
        redis: aioredis.Redis[bytes] | None = None,
        *,
        lease_seconds: float = 15.0,
        wait_seconds: float = 10.0,
    ) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: Counter[str] = Counter()
        self._redis = redis
        self._lease = lease_seconds
        self._wait = wait_seconds
        self._redis_down_until = 0.0

    @classmethod
    def from_url(cls, url: str | None, **kwargs: Any) -> ConversationLocks:
        """Redis-backed when `url` is set, else in this process only."""
        if not url:
            return cls(**kwargs)
        client = aioredis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        return cls(client, **kwargs)

    @property
    def shared(self) -> bool:
        """Whether the locks hold across gateway instances."""
        return self._redis is not None

    async def close(self) -> None:
        """Release the Redis connection pool, if any."""
        if self._redis is not None:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates it

    @asynccontextmanager
    async def hold(self, conversation_id: str, *, wait: bool = True) -> AsyncIterator[bool]:
        """Hold the conversation for the duration of the block.

        Args:
            conversation_id: The conversation.
            wait: Wait (up to `wait_seconds`) for another instance's turn; when
                False, give up at once if another instance holds it.

        Yields:
            True if this holder has the conversation to itself everywhere;
            False if another instance still holds it (the caller should leave
            the work to that instance, or accept that the inbox orders it).
        """
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        self._users[conversation_id] += 1
        try:
            async with lock, self._shared(conversation_id, wait) as held:
                yield held
        finally:
            self._users[conversation_id] -= 1
            if self._users[conversation_id] == 0:
                # Forget idle conversations so the map does not grow forever.
                del self._users[conversation_id]
                del self._locks[conversation_id]

    @asynccontextmanager
    async def _shared(self, conversation_id: str, wait: bool) -> AsyncIterator[bool]:
        if self._redis is None or time.monotonic() < self._redis_down_until:
            yield True
            return
        lease = self._redis.lock(
            KEY_PREFIX + conversation_id,
            timeout=self._lease,
            blocking=wait,
            blocking_timeout=self._wait if wait else None,
        )
        try:
            acquired = bool(await lease.acquire())
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            self._redis_failed(error)
            yield True
            return
        if not acquired:
            log.warning("locks.busy_elsewhere", conversation_id=conversation_id, waited=wait)
            yield False
            return
        keeper = asyncio.create_task(self._renew(lease, conversation_id))
        try:
            yield True
        finally:
            keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            await self._release(lease, conversation_id)

    async def _renew(self, lease: Any, conversation_id: str) -> None:
        """Keep the lease alive while this holder is: every third of its length."""
        while True:
            await asyncio.sleep(self._lease / 3)
            try:
                await lease.reacquire()
            except LockError:
                log.warning("locks.lease_lost", conversation_id=conversation_id)
                return
            except (RedisError, OSError, asyncio.TimeoutError) as error:
                self._redis_failed(error)
                return

    async def _release(self, lease: Any, conversation_id: str) -> None:
        try:
            await lease.release()
        except LockError:
            # The lease ran out first (a very long turn); another holder may
            # already have it, which the inbox's ordering tolerates.
            log.warning("locks.lease_expired", conversation_id=conversation_id)
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            self._redis_failed(error)

    def _redis_failed(self, error: BaseException) -> None:
        if time.monotonic() >= self._redis_down_until:
            log.warning("locks.redis_unavailable", error=type(error).__name__)
        self._redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
