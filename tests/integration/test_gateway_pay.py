"""The payment-link page: signed, expiring, one account, no card number asked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pydantic import AnyHttpUrl, SecretStr
from pytest_aiohttp import AiohttpClient
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.db.models import Account, Cardholder
from bot.gateway.app import GatewayOptions, create_app
from bot.services.payment_links import make_token
from bot.settings import Settings

SECRET = "pay-secret"
PayClient = tuple[TestClient[web.Request, web.Application], int]


@pytest.fixture
async def client(aiohttp_client: AiohttpClient, seeded_url: str) -> AsyncIterator[PayClient]:
    engine = make_async_engine(seeded_url, poolclass=NullPool)
    sessions = make_async_sessionmaker(engine)
    settings = Settings(
        _env_file=None,
        redis_url=None,
        database_url=seeded_url,
        session_secret=SecretStr(SECRET),
        rasa_url=AnyHttpUrl(f"http://127.0.0.1:{unused_port()}"),
    )
    app = create_app(
        settings, session_factory=sessions, options=GatewayOptions(retry_interval_seconds=3600)
    )
    async with sessions() as session:
        account_id = (
            await session.execute(
                select(Account.id).join(Cardholder).where(Cardholder.external_ref == "P2")
            )
        ).scalar_one()
    yield await aiohttp_client(app), account_id
    await engine.dispose()


async def test_valid_link_shows_what_is_due_and_only_the_last_four(
    client: PayClient,
) -> None:
    http, account_id = client
    token = make_token(SECRET, account_id, datetime.now(timezone.utc))
    response = await http.get(f"/pay/{token}?lang=en")
    page = await response.text()
    assert response.status == 200
    assert "$3,150.00" in page and "•••• 1937" in page
    assert "<input" not in page  # no card number is ever asked for here
    assert response.headers["Cache-Control"] == "no-store"


async def test_chinese_page_follows_the_browser(
    client: PayClient,
) -> None:
    http, account_id = client
    token = make_token(SECRET, account_id, datetime.now(timezone.utc))
    response = await http.get(f"/pay/{token}", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert "安全还款" in await response.text()


@pytest.mark.parametrize("kind", ["expired", "forged", "garbage"])
async def test_bad_links_are_refused_politely(client: PayClient, kind: str) -> None:
    http, account_id = client
    now = datetime.now(timezone.utc)
    token = {
        "expired": make_token(SECRET, account_id, now - timedelta(hours=1)),
        "forged": make_token("someone-else", account_id, now),
        "garbage": "%F0%9F%99%82.x",
    }[kind]
    response = await http.get(f"/pay/{token}?lang=en")
    assert response.status == 410
    page = await response.text()
    assert "expired or is not valid" in page and "3,150" not in page
