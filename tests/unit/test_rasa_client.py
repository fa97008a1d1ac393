"""The Rasa client against a fake Rasa on loopback (real HTTP, no mocks)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import unused_port
from pydantic import SecretStr
from structlog.testing import capture_logs

from bot.gateway.rasa import (
    BotMessage,
    Button,
    RasaClient,
    RasaRejected,
    RasaUnavailable,
    parse_bot_messages,
)
from tests.gateway_fakes import RASA_TOKEN, FakeRasa, LoopbackServer


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def fake() -> AsyncIterator[tuple[FakeRasa, LoopbackServer]]:
    rasa = FakeRasa()
    server = LoopbackServer(rasa.make_app)
    await server.start()
    yield rasa, server
    await server.stop()


@pytest.fixture
def client(http: aiohttp.ClientSession, fake: tuple[FakeRasa, LoopbackServer]) -> RasaClient:
    return RasaClient(http, fake[1].url + "/", SecretStr(RASA_TOKEN), timeout_seconds=0.5)


async def test_send_message_returns_text_and_buttons_and_skips_images(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    rasa, _ = fake
    replies = await client.send_message("web-1", "hello", {"channel": "web"})
    assert replies == [BotMessage("You said: hello", (Button("Yes", "/affirm"),))]
    assert rasa.messages("web-1") == ["hello"]
    assert rasa.metadata == [{"channel": "web"}]


async def test_set_slot_sends_a_slot_event_with_the_token(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    rasa, _ = fake
    sender = "sms:+8613800138004"
    await client.send_message(sender, "hello")  # the session exists from here on
    await client.set_slot(sender, "language", "zh")
    assert rasa.slots == {sender: {"language": "zh"}}
    assert rasa.slot_events(sender) == ["language=zh"]
    assert rasa.bad_token_attempts == 0
    assert (await client.send_message(sender, "你好"))[0].text == "收到:你好"


async def test_status_reports_the_loaded_model(client: RasaClient) -> None:
    status = await client.status()
    assert status.model_loaded
    assert status.model_file == "models/20261123-test.tar.gz"
    assert status.model_id == "abc123"


async def test_status_without_a_model(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    fake[0].model_file = None
    assert not (await client.status()).model_loaded
    fake[0].model_file = ""
    assert not (await client.status()).model_loaded


async def test_connection_refused_is_unavailable(http: aiohttp.ClientSession) -> None:
    client = RasaClient(http, f"http://127.0.0.1:{unused_port()}", SecretStr("t"), 0.5)
    with pytest.raises(RasaUnavailable, match="cannot connect"):
        await client.send_message("web-1", "hello")


async def test_timeout_is_unavailable(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    fake[0].mode = "hang"
    with pytest.raises(RasaUnavailable, match=r"no answer within 0\.5s"):
        await client.send_message("web-1", "hello")


async def test_server_error_is_unavailable(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    fake[0].mode = "error"
    with pytest.raises(RasaUnavailable, match="HTTP 503"):
        await client.send_message("web-1", "hello")


async def test_malformed_json_is_unavailable(
    client: RasaClient, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    fake[0].mode = "garbage"
    with pytest.raises(RasaUnavailable, match="malformed JSON"):
        await client.send_message("web-1", "hello")
    with pytest.raises(RasaUnavailable, match="malformed JSON"):
        await client.status()


async def test_wrong_shape_is_unavailable() -> None:
    with pytest.raises(RasaUnavailable, match="expected a list"):
        parse_bot_messages({"text": "hi"})
    with pytest.raises(RasaUnavailable, match="expected objects"):
        parse_bot_messages(["hi"])


def test_parse_keeps_button_only_messages_and_drops_bad_buttons() -> None:
    data = [
        {"recipient_id": "a", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"recipient_id": "a", "text": "Hi", "buttons": [{"title": "No payload"}, "junk"]},
        {"recipient_id": "a", "custom": {"kind": "card"}},
    ]
    assert parse_bot_messages(data) == [
        BotMessage("", (Button("Yes", "/affirm"),)),
        BotMessage("Hi", ()),
    ]


async def test_client_error_is_rejected_not_unavailable(
    http: aiohttp.ClientSession, fake: tuple[FakeRasa, LoopbackServer]
) -> None:
    client = RasaClient(http, fake[1].url, SecretStr("wrong-token"), 0.5)
    with pytest.raises(RasaRejected) as caught:
        await client.set_slot("web-1", "language", "en")
    assert caught.value.status == 401


async def test_token_never_appears_in_errors_or_logs(http: aiohttp.ClientSession) -> None:
    secret = "do-not-leak-0123456789"
    app = web.Application()

    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=502, text="bad gateway")

    app.router.add_route("*", "/{tail:.*}", broken)
    server = LoopbackServer(lambda: app)
    await server.start()
    try:
        client = RasaClient(http, server.url, SecretStr(secret), 0.5)
        with capture_logs() as logs:
            for call in (client.status(), client.set_slot("web-1", "language", "en")):
                with pytest.raises(RasaUnavailable) as caught:
                    await call
                assert secret not in str(caught.value)
                assert secret not in repr(caught.value.__cause__)
        assert secret not in repr(logs)
    finally:
        await server.stop()

    down = RasaClient(http, f"http://127.0.0.1:{unused_port()}", SecretStr(secret), 0.5)
    with pytest.raises(RasaUnavailable) as refused:
        await down.status()
    assert secret not in str(refused.value)
