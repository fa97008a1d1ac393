"""`GET /healthz` against a fake Rasa, a fake action server and the real database."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from bot.db.engine import make_async_sessionmaker
from bot.gateway.app import GatewayOptions, create_app
from bot.settings import Settings
from tests.gateway_fakes import RASA_TOKEN, FakeActionServer, FakeRasa, LoopbackServer

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]


class Stack:
    """The fakes a gateway depends on, each stoppable."""

    def __init__(self) -> None:
        self.rasa = FakeRasa()
        self.rasa_server = LoopbackServer(self.rasa.make_app)
        self.actions = FakeActionServer()
        self.actions_server = LoopbackServer(self.actions.make_app)


@pytest.fixture
async def stack() -> AsyncIterator[Stack]:
    parts = Stack()
    await parts.rasa_server.start()
    await parts.actions_server.start()
    yield parts
    await parts.rasa_server.stop()
    await parts.actions_server.stop()


@pytest.fixture
def start_gateway(
    aiohttp_client: ClientFactory,
    database_url: str,
    async_db_engine: AsyncEngine,
    stack: Stack,
) -> Callable[..., Awaitable[Client]]:
    async def start(
        sessions: async_sessionmaker[AsyncSession] | None = None, **options: Any
    ) -> Client:
        settings = Settings(
            _env_file=None,
            redis_url=None,
            database_url=database_url,
            rasa_url=AnyHttpUrl(stack.rasa_server.url),
            rasa_token=SecretStr(RASA_TOKEN),
            action_server_url=AnyHttpUrl(stack.actions_server.url),
        )
        app = create_app(
            settings,
            session_factory=sessions or make_async_sessionmaker(async_db_engine),
            options=GatewayOptions(**{"health_timeout_seconds": 0.5, **options}),
        )
        return await aiohttp_client(app)

    return start


async def healthz(client: Client) -> tuple[int, dict[str, Any]]:
    response = await client.get("/healthz")
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def test_all_up_is_200(start_gateway: Callable[..., Awaitable[Client]]) -> None:
    status, body = await healthz(await start_gateway())
    assert status == 200
    assert body == {
        "status": "ok",
        "checks": {"database": "ok", "rasa": "ok", "action_server": "ok"},
    }


async def test_rasa_without_a_model_is_down(
    start_gateway: Callable[..., Awaitable[Client]], stack: Stack
) -> None:
    stack.rasa.model_file = None
    status, body = await healthz(await start_gateway())
    assert status == 503
    assert body["status"] == "unavailable"
    assert body["checks"] == {
        "database": "ok",
        "rasa": "down: no model loaded",
        "action_server": "ok",
    }


async def test_each_stopped_part_is_named(
    start_gateway: Callable[..., Awaitable[Client]], stack: Stack
) -> None:
    client = await start_gateway()
    await stack.rasa_server.stop()
    await stack.actions_server.stop()

    status, body = await healthz(client)

    assert status == 503
    checks = body["checks"]
    assert checks["database"] == "ok"
    assert checks["rasa"].startswith("down: ")
    assert "cannot connect" in checks["rasa"]
    assert checks["action_server"].startswith("down: cannot connect")

    await stack.rasa_server.start()
    await stack.actions_server.start()
    status, _ = await healthz(client)
    assert status == 200


async def test_action_server_errors_are_down(
    start_gateway: Callable[..., Awaitable[Client]], stack: Stack
) -> None:
    stack.actions.status = 500
    status, body = await healthz(await start_gateway())
    assert status == 503
    assert body["checks"]["action_server"] == "down: HTTP 500"
    assert body["checks"]["rasa"] == "ok"


async def test_rasa_errors_are_down(
    start_gateway: Callable[..., Awaitable[Client]], stack: Stack
) -> None:
    client = await start_gateway()
    stack.rasa.mode = "error"
    assert (await healthz(client))[1]["checks"]["rasa"] == "down: status: HTTP 503"
    stack.rasa.mode = "rejected"
    assert (await healthz(client))[1]["checks"]["rasa"] == "down: status: HTTP 401"


async def test_a_hung_rasa_is_down_within_the_timeout(
    start_gateway: Callable[..., Awaitable[Client]], stack: Stack
) -> None:
    client = await start_gateway(health_timeout_seconds=0.2)
    stack.rasa.mode = "hang"
    started = time.monotonic()

    status, body = await healthz(client)

    assert time.monotonic() - started < 2.0
    assert status == 503
    assert "0.2s" in body["checks"]["rasa"]
    assert body["checks"]["action_server"] == "ok"


async def test_unreachable_database_is_down(
    start_gateway: Callable[..., Awaitable[Client]],
) -> None:
    dead = create_async_engine(
        f"postgresql+psycopg://postgres@127.0.0.1:{unused_port()}/nothing",
        connect_args={"connect_timeout": 1},
    )
    try:
        client = await start_gateway(sessions=make_async_sessionmaker(dead))
        status, body = await healthz(client)
    finally:
        await dead.dispose()

    assert status == 503
    assert body["checks"]["database"].startswith("down: ")
    assert body["checks"]["rasa"] == "ok"
    assert body["checks"]["action_server"] == "ok"
