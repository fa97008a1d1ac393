"""Around a reminder: the voicemail a call leaves, and the context a reply carries."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.gateway.rasa import BotMessage, RasaClient, RasaRejected
from bot.reminders.context import REMINDER_INTENT
from tests.conftest import DatabaseFactory
from tests.gateway_fakes import LoopbackServer
from tests.integration.twilio_support import (
    EMILY,
    ClientFactory,
    running_harness,
    said,
    seed_database,
    twiml,
)
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")
TOKEN = "trigger-token"


async def test_a_call_that_reaches_voicemail_leaves_only_the_limited_message(
    aiohttp_client: ClientFactory, database_factory: DatabaseFactory
) -> None:
    url = seed_database(database_factory)
    async with running_harness(aiohttp_client, url) as bot:
        params = {
            "CallSid": "CA" + "7" * 32,
            "AccountSid": ACCOUNT_SID,
            "From": FROM_NUMBER,
            "To": EMILY,
            "CallStatus": "in-progress",
            "Direction": "outbound-api",
            "AnsweredBy": "machine_end_beep",
        }
        response = await bot.post("/twilio/voice", params)
        assert response.status == 200
        root = twiml(await response.text())
        text = said(root)
        assert "Harbor Bank" in text and FROM_NUMBER in text
        assert root.find("Gather") is None and root.find("Hangup") is not None
        assert bot.rasa.messages() == []  # the dialogue never ran

        human = {**params, "CallSid": "CA" + "8" * 32, "AnsweredBy": "human"}
        response = await bot.post("/twilio/voice", human)
        assert twiml(await response.text()).find("Gather") is not None


class FakeTrigger:
    """Rasa's `/conversations/{id}/trigger_intent`, as Rasa 3.6 answers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/conversations/{sender}/trigger_intent", self._trigger)
        return app

    async def _trigger(self, request: web.Request) -> web.Response:
        if request.query.get("token") != TOKEN:
            return web.json_response({"message": "unauthorized"}, status=401)
        body = await request.json()
        if not body["name"].startswith("EXTERNAL_"):
            return web.json_response({"message": "unknown intent"}, status=400)
        self.calls.append((request.match_info["sender"], body))
        return web.json_response(
            {
                "tracker": {"sender_id": request.match_info["sender"]},
                "messages": [{"recipient_id": "x", "text": "About your reminder…"}],
            }
        )


@pytest.fixture
async def trigger() -> AsyncIterator[tuple[FakeTrigger, str]]:
    fake = FakeTrigger()
    server = LoopbackServer(fake.make_app)
    await server.start()
    yield fake, server.url
    await server.stop()


async def test_trigger_intent_passes_the_reminder_and_returns_what_the_bot_said(
    trigger: tuple[FakeTrigger, str],
) -> None:
    fake, url = trigger
    async with aiohttp.ClientSession() as http:
        rasa = RasaClient(http, url, SecretStr(TOKEN), timeout_seconds=1.0)
        entities = {"reminder_kind": "overdue", "reminder_due_on": "2026-11-11"}
        replies = await rasa.trigger_intent("sms:13125550102", REMINDER_INTENT, entities)
        assert replies == [BotMessage("About your reminder…")]
        assert fake.calls == [("sms:13125550102", {"name": REMINDER_INTENT, "entities": entities})]
        with pytest.raises(RasaRejected):
            await rasa.trigger_intent("sms:1", "not_external")
