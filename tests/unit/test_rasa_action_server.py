"""A turn is only trusted if Rasa's action server was up around it.

Rasa 3.6 answers 200 even when its custom actions failed, so the client asks
the action server itself (fakes of both on loopback, real HTTP).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from pydantic import SecretStr

from bot.gateway.action_probe import ActionServerProbe
from bot.gateway.rasa import ActionServerDown, RasaClient
from tests.gateway_fakes import RASA_TOKEN, FakeActionServer, FakeRasa, LoopbackServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def actions() -> AsyncIterator[tuple[FakeActionServer, LoopbackServer]]:
    fake = FakeActionServer()
    server = LoopbackServer(fake.make_app)
    await server.start()
    yield fake, server
    await server.stop()


@pytest.fixture
async def rasa() -> AsyncIterator[tuple[FakeRasa, LoopbackServer]]:
    fake = FakeRasa()
    server = LoopbackServer(fake.make_app)
    await server.start()
    yield fake, server
    await server.stop()


def probe_for(http: aiohttp.ClientSession, url: str, clock: Clock) -> ActionServerProbe:
    return ActionServerProbe(http, url, timeout_seconds=0.5, clock=clock)


async def test_a_probe_that_never_reached_its_server_checks_nothing(
    http: aiohttp.ClientSession,
) -> None:
    probe = probe_for(http, f"http://127.0.0.1:{unused_port()}", Clock())

    assert await probe.problem() is None
    assert await probe.problem(fresh=True) is None


async def test_once_armed_a_dead_or_failing_server_is_a_problem(
    http: aiohttp.ClientSession, actions: tuple[FakeActionServer, LoopbackServer]
) -> None:
    fake, server = actions
    probe = probe_for(http, server.url, Clock())
    assert await probe.problem() is None

    fake.status = 503
    assert await probe.problem(fresh=True) == "action server: HTTP 503"
    await server.stop()
    assert await probe.problem(fresh=True) == "action server: cannot connect"


async def test_success_is_trusted_for_a_second_unless_asked_fresh(
    http: aiohttp.ClientSession, actions: tuple[FakeActionServer, LoopbackServer]
) -> None:
    fake, server = actions
    clock = Clock()
    probe = probe_for(http, server.url, clock)
    assert await probe.problem() is None
    fake.status = 500

    assert await probe.problem() is None  # remembered
    assert await probe.problem(fresh=True) is not None
    fake.status = 200
    assert await probe.problem() is None
    clock.now += 1.5
    fake.status = 500
    assert await probe.problem() is not None  # forgotten after a second


def client_for(
    http: aiohttp.ClientSession, rasa_url: str, actions_url: str, clock: Clock
) -> RasaClient:
    probe = probe_for(http, actions_url, clock)
    return RasaClient(http, rasa_url, SecretStr(RASA_TOKEN), 0.5, actions=probe)


async def test_a_dead_action_server_fails_the_turn_after_it_then_before_it(
    http: aiohttp.ClientSession,
    rasa: tuple[FakeRasa, LoopbackServer],
    actions: tuple[FakeActionServer, LoopbackServer],
) -> None:
    client = client_for(http, rasa[1].url, actions[1].url, Clock())
    await client.send_message("web-1", "hello")
    actions[0].status = 503

    with pytest.raises(ActionServerDown) as raised:
        await client.send_message("web-1", "how much do I owe")
    # The success a moment ago is remembered: this turn reached Rasa and was
    # then caught by the check after it.
    assert raised.value.turn_recorded is True
    with pytest.raises(ActionServerDown) as again:
        await client.send_message("web-1", "how much do I owe")
    assert again.value.turn_recorded is False
    assert rasa[0].messages("web-1") == ["hello", "how much do I owe"]


async def test_an_action_server_dying_during_the_turn_fails_it(
    http: aiohttp.ClientSession,
    rasa: tuple[FakeRasa, LoopbackServer],
    actions: tuple[FakeActionServer, LoopbackServer],
) -> None:
    client = client_for(http, rasa[1].url, actions[1].url, Clock())
    await client.send_message("web-2", "hello")

    async def die(_sender: str, _text: str) -> None:
        actions[0].status = 503

    rasa[0].during_turn = die
    with pytest.raises(ActionServerDown) as raised:
        await client.send_message("web-2", "how much do I owe")
    assert raised.value.turn_recorded is True
    with pytest.raises(ActionServerDown):
        await client.trigger_intent("web-2", "EXTERNAL_reminder")


async def test_a_paused_conversation_is_logged_without_the_action_server(
    http: aiohttp.ClientSession,
    rasa: tuple[FakeRasa, LoopbackServer],
    actions: tuple[FakeActionServer, LoopbackServer],
) -> None:
    clock = Clock()
    client = client_for(http, rasa[1].url, actions[1].url, clock)
    await client.send_message("web-3", "hello")
    actions[0].status = 503
    clock.now += 5

    await client.log_paused("web-3", "are you there?", {"language": "en"})

    assert rasa[0].messages("web-3") == ["hello", "are you there?"]
    assert await client.action_server_problem() == "action server: HTTP 503"
