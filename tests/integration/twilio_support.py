"""A gateway wired to a fake Rasa and a fake Twilio, on a seeded database.

Twilio tests need the demo personas (known numbers, P7's SMS opt-out) and
change what the seed set up (a START re-subscribes P7), so each test module
seeds its own database once and every test puts the tables it may change
back afterwards (`restore`).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any
from urllib.parse import urljoin

from aiohttp import ClientResponse, web
from aiohttp.test_utils import TestClient, unused_port
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from bot.db.engine import make_async_engine, make_async_sessionmaker, make_engine
from bot.db.models import (
    AuditLog,
    Consent,
    ContactLog,
    Conversation,
    Handoff,
    InboxMessage,
    OutboxMessage,
)
from bot.demo.seed import seed_demo
from bot.gateway.app import GatewayOptions, create_app
from bot.settings import Settings
from tests.conftest import DatabaseFactory
from tests.gateway_fakes import RASA_TOKEN, FakeRasa, LoopbackServer
from tests.twilio_fake import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM_NUMBER,
    PUBLIC_BASE_URL,
    FakeTwilioApi,
    sign,
)

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[..., Awaitable[Client]]

# Demo personas (CONTRACT.md §4).
EMILY = "+14155550101"  # P1, en
ZHANG_WEI = "+8613800138004"  # P4, zh
DAVID = "+16465550107"  # P7, en, opted out of SMS
LIU_YANG = "+19175550108"  # P8, zh with a US number
STRANGER = "+12025550199"  # nobody's number
CHINESE_STRANGER = "+8613600000000"

# What a test may change; restored after each one, children first.
_MUTABLE = (OutboxMessage, InboxMessage, ContactLog, AuditLog, Consent, Handoff, Conversation)


def seed_database(factory: DatabaseFactory) -> str:
    """A new database with the personas only (no synthetic portfolio)."""
    url = factory.create()
    seed_demo(url, accounts=0, today=date.today())
    return url


def restore(url: str, consents: list[dict[str, Any]]) -> None:
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            for model in _MUTABLE:
                conn.execute(delete(model))
            if consents:
                conn.execute(insert(Consent), consents)
    finally:
        engine.dispose()


def snapshot_consents(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(select(Consent.__table__))]
    finally:
        engine.dispose()


def twiml(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == "Response", text
    return root


def messages_of(text: str) -> list[str]:
    return [element.text or "" for element in twiml(text).iter("Message")]


@dataclass
class Harness:
    client: Client
    api: FakeTwilioApi
    rasa: FakeRasa
    sessions: async_sessionmaker[AsyncSession]
    settings: Settings
    texts_sent: int = 0

    async def post(
        self,
        path: str,
        params: dict[str, str],
        *,
        signature: str | None = "valid",
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        """A webhook POST, signed as Twilio signs it unless told otherwise."""
        all_headers = dict(headers or {})
        if signature == "valid":
            signature = sign(PUBLIC_BASE_URL + path, params)
        if signature is not None:
            all_headers["X-Twilio-Signature"] = signature
        return await self.client.post(path, data=params, headers=all_headers)

    async def sms(
        self, body: str, *, sender: str = EMILY, sid: str | None = None, **extra: str
    ) -> list[str]:
        """Text the bot; the bodies of its `<Message>`s."""
        self.texts_sent += 1
        params = {
            "MessageSid": sid or f"SM{self.texts_sent:032d}",
            "AccountSid": ACCOUNT_SID,
            "From": sender,
            "To": FROM_NUMBER,
            "Body": body,
            "NumMedia": "0",
            **extra,
        }
        response = await self.post("/twilio/sms", params)
        assert response.status == 200, await response.text()
        assert response.content_type == "text/xml"
        return messages_of(await response.text())

    async def call(self, call_sid: str, caller: str = EMILY, **extra: str) -> ET.Element:
        """A call connects; the opening TwiML."""
        params = {
            "CallSid": call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": caller,
            "To": FROM_NUMBER,
            "CallStatus": "ringing",
            "Direction": "inbound",
            **extra,
        }
        return await self._voice("/twilio/voice", params)

    async def answer(
        self, previous: ET.Element, call_sid: str, caller: str = EMILY, **input: str
    ) -> ET.Element:
        """Follow the previous TwiML's Gather action with the caller's input."""
        gather = previous.find("Gather")
        assert gather is not None, ET.tostring(previous, encoding="unicode")
        action = urljoin("/twilio/voice", gather.attrib["action"])
        params = {
            "CallSid": call_sid,
            "AccountSid": ACCOUNT_SID,
            "From": caller,
            "To": FROM_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            **input,
        }
        return await self._voice(action, params)

    async def _voice(self, path: str, params: dict[str, str]) -> ET.Element:
        response = await self.post(path, params)
        assert response.status == 200, await response.text()
        assert response.content_type == "text/xml"
        return twiml(await response.text())


def said(element: ET.Element) -> str:
    """Everything a TwiML document says, in order."""
    return " ".join(say.text or "" for say in element.iter("Say"))


@asynccontextmanager
async def running_harness(
    aiohttp_client: ClientFactory, url: str, **overrides: Any
) -> AsyncIterator[Harness]:
    rasa = FakeRasa()
    api = FakeTwilioApi()
    rasa_server = LoopbackServer(rasa.make_app)
    api_server = LoopbackServer(api.make_app)
    await rasa_server.start()
    await api_server.start()
    engine = make_async_engine(url, poolclass=NullPool)
    try:
        values: dict[str, Any] = {
            "database_url": url,
            # Not CI's REDIS_URL: shared rate-limit counters would carry over between tests.
            "redis_url": None,
            "rasa_url": AnyHttpUrl(rasa_server.url),
            "rasa_token": SecretStr(RASA_TOKEN),
            "rasa_timeout_seconds": 1.0,
            "action_server_url": AnyHttpUrl(f"http://127.0.0.1:{unused_port()}"),
            "public_base_url": AnyHttpUrl(PUBLIC_BASE_URL),
            "twilio_account_sid": ACCOUNT_SID,
            "twilio_auth_token": SecretStr(AUTH_TOKEN),
            "twilio_from_number": FROM_NUMBER,
            "twilio_api_base": AnyHttpUrl(api_server.url),
            "twilio_timeout_seconds": 2.0,
        }
        options = {
            key: overrides.pop(key)
            for key in list(overrides)
            if key in GatewayOptions.__dataclass_fields__
        }
        options.setdefault("retry_interval_seconds", 3600.0)
        values.update(overrides)
        settings = Settings(_env_file=None, **values)
        sessions = make_async_sessionmaker(engine)
        app = create_app(
            settings,
            session_factory=sessions,
            options=GatewayOptions(**options),
        )
        client = await aiohttp_client(app)
        yield Harness(client, api, rasa, sessions, settings)
    finally:
        await engine.dispose()
        await api_server.stop()
        await rasa_server.stop()


async def rows(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> list[Any]:
    async with sessions() as session:
        return list((await session.scalars(select(model).order_by(model.id))).all())


async def conversation(sessions: async_sessionmaker[AsyncSession], cid: str) -> Conversation:
    async with sessions() as session:
        found = await session.get(Conversation, cid)
        assert found is not None
        return found
