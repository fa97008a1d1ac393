"""Conversation locks across gateway instances: a real Redis, two real gateways.

Two gateway apps share one database, one (fake) Rasa and a private Redis, as
two instances behind a load balancer do. Without a shared lock both retry
workers would replay the same waiting message and the cardholder would get
the answer twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from structlog.testing import capture_logs

from bot.db.engine import make_async_sessionmaker
from bot.db.models import InboxMessage, OutboxMessage
from bot.domain.enums import InboxStatus
from bot.gateway.app import RETRY_WORKER, GatewayOptions, create_app
from bot.gateway.inbox import BOT_AUTHOR
from bot.gateway.locks import KEY_PREFIX, ConversationLocks
from bot.settings import Settings
from tests.gateway_fakes import RASA_TOKEN, FakeRasa, LoopbackServer
from tests.redis_support import needs_redis, private_redis

pytestmark = needs_redis

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with private_redis(tmp_path_factory.mktemp("redis")) as url:
        yield url


@pytest.fixture
async def pair(redis_url: str) -> AsyncIterator[tuple[ConversationLocks, ConversationLocks]]:
    """Two instances' locks on the same Redis."""
    first = ConversationLocks.from_url(redis_url, lease_seconds=5.0, wait_seconds=5.0)
    second = ConversationLocks.from_url(redis_url, lease_seconds=5.0, wait_seconds=5.0)
    yield first, second
    await first.close()
    await second.close()


# --- the lock itself ----------------------------------------------------------------------


async def test_another_instance_cannot_take_a_held_conversation(
    pair: tuple[ConversationLocks, ConversationLocks],
) -> None:
    first, second = pair
    async with first.hold("web-held") as mine:
        assert mine is True
        async with second.hold("web-held", wait=False) as theirs:
            assert theirs is False
        async with second.hold("web-other", wait=False) as other:
            assert other is True  # other conversations are unaffected
    async with second.hold("web-held", wait=False) as theirs:
        assert theirs is True


async def test_a_waiting_instance_goes_after_the_holder(
    pair: tuple[ConversationLocks, ConversationLocks],
) -> None:
    first, second = pair
    order: list[str] = []
    released = asyncio.Event()

    async def hold_first() -> None:
        async with first.hold("web-turns"):
            order.append("first in")
            await asyncio.sleep(0.3)
            order.append("first out")
        released.set()

    async def hold_second() -> None:
        await asyncio.sleep(0.05)
        async with second.hold("web-turns") as mine:
            assert mine is True
            order.append("second in")

    await asyncio.gather(hold_first(), hold_second())
    assert order == ["first in", "first out", "second in"]


async def test_a_dead_holders_lease_runs_out(redis_url: str) -> None:
    locks = ConversationLocks.from_url(redis_url, lease_seconds=5.0, wait_seconds=3.0)
    try:
        # A gateway that died holding the lock: its lease is all that is left.
        assert locks._redis is not None
        dead = locks._redis.lock(KEY_PREFIX + "web-dead", timeout=0.5)
        assert await dead.acquire(blocking=False)
        async with locks.hold("web-dead", wait=False) as mine:
            assert mine is False
        async with locks.hold("web-dead") as mine:  # waits out the lease
            assert mine is True
    finally:
        await locks.close()


async def test_a_live_holder_keeps_its_lease_past_the_lease_length(redis_url: str) -> None:
    holder = ConversationLocks.from_url(redis_url, lease_seconds=0.6)
    other = ConversationLocks.from_url(redis_url, lease_seconds=0.6)
    try:
        async with holder.hold("web-long-turn"):
            await asyncio.sleep(1.5)  # a long turn: renewed twice a lease
            async with other.hold("web-long-turn", wait=False) as theirs:
                assert theirs is False
        async with other.hold("web-long-turn", wait=False) as theirs:
            assert theirs is True
    finally:
        await holder.close()
        await other.close()


async def test_a_waiter_goes_ahead_after_its_wait_without_the_shared_lock(
    redis_url: str,
) -> None:
    holder = ConversationLocks.from_url(redis_url, lease_seconds=5.0)
    waiter = ConversationLocks.from_url(redis_url, wait_seconds=0.3)
    try:
        async with holder.hold("web-stuck"):
            started = asyncio.get_running_loop().time()
            async with waiter.hold("web-stuck") as shared:
                waited = asyncio.get_running_loop().time() - started
        assert shared is False
        assert 0.15 <= waited < 2.0  # redis-py polls every 0.1 s
    finally:
        await holder.close()
        await waiter.close()


async def test_redis_down_keeps_turns_going_and_says_so_once() -> None:
    locks = ConversationLocks.from_url(f"redis://127.0.0.1:{unused_port()}/0")
    try:
        with capture_logs() as logs:
            for _ in range(3):
                async with locks.hold("web-no-redis") as mine:
                    assert mine is True
        assert [e["event"] for e in logs].count("locks.redis_unavailable") == 1
    finally:
        await locks.close()


async def test_without_redis_the_lock_is_local_only() -> None:
    locks = ConversationLocks.from_url(None)
    assert locks.shared is False
    async with locks.hold("web-local", wait=False) as mine:
        assert mine is True
    await locks.close()


# --- two gateways, one waiting message ------------------------------------------------------


@pytest.fixture
async def slow_rasa() -> AsyncIterator[tuple[FakeRasa, LoopbackServer]]:
    rasa = FakeRasa()

    async def think(_sender: str, _text: str) -> None:
        await asyncio.sleep(0.3)  # long enough for the other worker to arrive

    rasa.during_turn = think
    server = LoopbackServer(rasa.make_app)
    await server.start()
    yield rasa, server
    await server.stop()


async def test_two_gateways_replay_a_waiting_message_once(
    aiohttp_client: ClientFactory,
    database_url: str,
    async_db_engine: AsyncEngine,
    redis_url: str,
    slow_rasa: tuple[FakeRasa, LoopbackServer],
) -> None:
    rasa, rasa_server = slow_rasa
    sessions: async_sessionmaker[AsyncSession] = make_async_sessionmaker(async_db_engine)

    async def gateway() -> Client:
        settings = Settings(
            _env_file=None,
            redis_url=redis_url,
            database_url=database_url,
            rasa_url=AnyHttpUrl(rasa_server.url),
            rasa_token=SecretStr(RASA_TOKEN),
            rasa_timeout_seconds=2.0,
            action_server_url=AnyHttpUrl(f"http://127.0.0.1:{unused_port()}"),
        )
        options = GatewayOptions(retry_interval_seconds=3600.0)
        return await aiohttp_client(create_app(settings, session_factory=sessions, options=options))

    first, second = await gateway(), await gateway()
    await rasa_server.stop()
    response = await first.post(
        "/api/chat", json={"conversation_id": "web-two-gateways", "text": "hello there"}
    )
    assert response.status == 200
    await rasa_server.start()

    delivered = await asyncio.gather(
        first.app[RETRY_WORKER].run_once(), second.app[RETRY_WORKER].run_once()
    )

    assert sorted(delivered) == [0, 1]
    assert rasa.messages("web-two-gateways") == ["hello there"]
    async with sessions() as session:
        [row] = (
            await session.scalars(
                select(InboxMessage).where(InboxMessage.conversation_id == "web-two-gateways")
            )
        ).all()
        answers = (
            await session.scalars(
                select(OutboxMessage.text).where(
                    OutboxMessage.inbox_message_id == row.id, OutboxMessage.author == BOT_AUTHOR
                )
            )
        ).all()
    assert row.status is InboxStatus.PROCESSED
    assert answers == ["You said: hello there"]
