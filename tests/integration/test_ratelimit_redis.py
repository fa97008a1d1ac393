"""The Redis rate limiter: shared by gateway instances, and open when Redis is not there.

A private `redis-server` is started on a free loopback port for this module
(skipped where Redis is not installed); nothing touches another Redis.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import unused_port
from structlog.testing import capture_logs

from bot.gateway.ratelimit import (
    Limit,
    MemoryRateLimiter,
    RedisRateLimiter,
    make_limiter,
)
from bot.settings import Settings
from tests.redis_support import needs_redis, private_redis

pytestmark = needs_redis


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def limiters(redis_url: str) -> AsyncIterator[tuple[RedisRateLimiter, RedisRateLimiter]]:
    """Two gateway instances' limiters on the same Redis, with one clock."""
    clock = Clock(6_000_000.0)  # a window boundary for 60 s windows
    prefix = f"test:{time.monotonic_ns()}:"
    first = RedisRateLimiter.from_url(redis_url, prefix=prefix, clock=clock)
    second = RedisRateLimiter.from_url(redis_url, prefix=prefix, clock=clock)
    yield first, second
    await first.close()
    await second.close()


async def test_instances_share_one_count(
    limiters: tuple[RedisRateLimiter, RedisRateLimiter],
) -> None:
    first, second = limiters
    limit = Limit("chat_ip", 3, 60)
    allowed = [
        (await (first if n % 2 else second).hit(limit, "198.51.100.1")).allowed for n in range(4)
    ]
    assert allowed == [True, True, True, False]
    refused = await first.hit(limit, "198.51.100.1")
    assert not refused.allowed and refused.count == 5 and refused.retry_after == 60
    assert (await second.hit(limit, "198.51.100.2")).allowed


async def test_counts_expire_with_their_window(
    limiters: tuple[RedisRateLimiter, RedisRateLimiter], redis_url: str
) -> None:
    first, _ = limiters
    limit = Limit("sms_number", 1, 60)
    assert (await first.hit(limit, "+14155550101")).allowed
    assert not (await first.hit(limit, "+14155550101")).allowed
    client = aioredis.Redis.from_url(redis_url)
    try:
        keys = [key async for key in client.scan_iter(match="test:*sms_number*")]
        assert keys
        for key in keys:
            assert 0 < await client.ttl(key) <= 61
    finally:
        await client.aclose()  # type: ignore[attr-defined]
    first._clock.now += 60  # type: ignore[attr-defined]
    assert (await first.hit(limit, "+14155550101")).allowed


async def test_redis_down_lets_everything_through_and_says_so_once() -> None:
    limiter = RedisRateLimiter.from_url(f"redis://127.0.0.1:{unused_port()}/0", pause_seconds=0.0)
    limit = Limit("chat_ip", 1, 60)
    try:
        with capture_logs() as logs:
            decisions = [await limiter.hit(limit, "198.51.100.1") for _ in range(5)]
    finally:
        await limiter.close()
    assert all(d.allowed for d in decisions)
    warnings = [e for e in logs if e["event"] == "ratelimit.redis_unavailable"]
    assert len(warnings) == 1
    assert warnings[0]["log_level"] == "warning"


async def test_redis_comes_back(redis_url: str) -> None:
    limiter = RedisRateLimiter.from_url(redis_url, prefix=f"test:{time.monotonic_ns()}:")
    limiter._failing = True  # as after an outage
    try:
        with capture_logs() as logs:
            assert (await limiter.hit(Limit("x", 1, 60), "k")).allowed
            assert not (await limiter.hit(Limit("x", 1, 60), "k")).allowed
    finally:
        await limiter.close()
    assert [e["event"] for e in logs] == ["ratelimit.redis_recovered", "ratelimit.exceeded"]


def test_the_backend_follows_redis_url(redis_url: str) -> None:
    assert isinstance(make_limiter(Settings(_env_file=None, redis_url=None)), MemoryRateLimiter)
    assert isinstance(make_limiter(Settings(_env_file=None, redis_url=redis_url)), RedisRateLimiter)
