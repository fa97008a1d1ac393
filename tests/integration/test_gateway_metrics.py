"""`GET /metrics` and `GET /healthz/details` on the real gateway, fake Rasa and fake Twilio.

Each test reads the metrics the way Prometheus does (the text exposition
format over HTTP) and checks that what the gateway did was counted: a chat
turn, a handoff, an outbound text, a rate-limited request. Both endpoints are
for operators: a loopback client or a bearer token, otherwise 404.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import unused_port
from prometheus_client.parser import text_string_to_metric_families
from pydantic import AnyHttpUrl

from bot.channels.outbound import OUTBOUND
from bot.gateway.health import HealthChecker
from bot.gateway.rasa import RasaClient
from bot.services.conversations import request_handoff
from tests.gateway_fakes import FakeActionServer, LoopbackServer
from tests.integration.twilio_support import (
    DAVID,
    EMILY,
    ClientFactory,
    Harness,
    running_harness,
)
from tests.twilio_fake import Refusal

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

TOKEN = "metrics-token-for-tests"
OUTSIDER = {"X-Forwarded-For": "203.0.113.9"}  # through the trusted proxy (loopback)


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(bot: Harness, headers: dict[str, str] | None = None) -> tuple[Samples, str]:
    """Every sample `/metrics` reports, by name and labels; and the raw text."""
    response = await bot.client.get("/metrics", headers=headers or {})
    assert response.status == 200, await response.text()
    assert response.content_type == "text/plain"
    text = await response.text()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, text


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over the samples of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


@pytest.fixture
async def actions() -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer(FakeActionServer().make_app)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def gateway(
    aiohttp_client: ClientFactory, clean_db: str, actions: LoopbackServer
) -> AsyncIterator[Harness]:
    """The gateway behind a trusted proxy on loopback, a metrics token and tight limits."""
    async with running_harness(
        aiohttp_client,
        clean_db,
        action_server_url=AnyHttpUrl(actions.url),
        trusted_proxies="127.0.0.1/32",
        metrics_token=TOKEN,
        rate_limit_chat_per_conversation=2,
    ) as harness:
        yield harness


async def chat(bot: Harness, cid: str, text: str) -> dict[str, Any]:
    response = await bot.client.post("/api/chat", json={"conversation_id": cid, "text": text})
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_a_chat_turn_is_counted_and_timed(gateway: Harness) -> None:
    await chat(gateway, "web-metrics-1", "hello there")

    samples, text = await scrape(gateway)

    assert value(samples, "cardbot_turns_total", channel="web", language="en", outcome="answered")
    assert value(samples, "cardbot_turn_seconds_count", channel="web") == 1
    assert value(samples, "cardbot_rasa_request_seconds_count", endpoint="webhook", outcome="ok")
    assert value(
        samples, "cardbot_http_requests_total", route="/api/chat", method="POST", status="200"
    )
    assert "web-metrics-1" not in text and "hello there" not in text
    assert value(samples, "cardbot_dependency_up", dependency="database") == 1
    assert value(samples, "cardbot_dependency_up", dependency="rasa") == 1
    assert value(samples, "cardbot_dependency_up", dependency="action_server") == 1
    assert value(samples, "cardbot_inbox_unfinished") == 0
    assert value(samples, "cardbot_conversations_waiting_for_person") == 0


async def test_a_polled_path_is_counted_by_its_route_template(gateway: Harness) -> None:
    await chat(gateway, "web-metrics-2", "hi")
    await gateway.client.get("/api/chat/web-metrics-2/messages?after=0")
    await gateway.client.get("/no/such/page")

    samples, text = await scrape(gateway)

    route = "/api/chat/{conversation_id}/messages"
    assert value(samples, "cardbot_http_requests_total", route=route, method="GET", status="200")
    assert value(
        samples, "cardbot_http_requests_total", route="unmatched", method="GET", status="404"
    )
    assert "web-metrics-2" not in text and "/no/such/page" not in text


async def test_a_handoff_by_an_action_is_counted_with_its_reason(gateway: Harness) -> None:
    async def action_hands_off(sender: str, _text: str) -> None:
        async with gateway.sessions() as session, session.begin():
            await request_handoff(session, sender, reason="request_human")

    gateway.rasa.during_turn = action_hands_off
    body = await chat(gateway, "web-metrics-3", "let me talk to a person")
    assert body["handed_off"] is True
    gateway.rasa.during_turn = None
    await chat(gateway, "web-metrics-3", "hello?")  # with people now: not a second handoff

    samples, _ = await scrape(gateway)

    assert value(samples, "cardbot_handoffs_total", reason="request_human") == 1
    assert total(samples, "cardbot_handoffs_total") == 1
    assert value(
        samples, "cardbot_turns_total", channel="web", language="en", outcome="with_people"
    )
    assert value(samples, "cardbot_conversations_waiting_for_person") == 1


async def test_an_escalated_text_is_a_handoff_and_an_sms_turn(gateway: Harness) -> None:
    await gateway.sms("I want to talk to my lawyer about this debt", sender=EMILY)

    samples, text = await scrape(gateway)

    assert total(samples, "cardbot_handoffs_total") == 1
    assert total(samples, "cardbot_turns_total", channel="sms") == 1
    assert value(
        samples, "cardbot_http_requests_total", route="/twilio/sms", method="POST", status="200"
    )
    assert "4155550101" not in text


async def test_outbound_texts_are_counted_sent_suppressed_and_failed(gateway: Harness) -> None:
    outbound = gateway.client.app[OUTBOUND]
    gateway.api.refusals[EMILY] = Refusal(400, 21211, "invalid 'To' number")
    assert (await outbound.send_sms(EMILY, "Your payment is due.", purpose="test")).delivery
    del gateway.api.refusals[EMILY]
    await outbound.send_sms(EMILY, "Your payment is due.", purpose="test")
    await outbound.send_sms(DAVID, "Your payment is due.", purpose="test")  # opted out

    samples, _ = await scrape(gateway)

    assert value(samples, "cardbot_outbound_total", channel="sms", delivery="sent") == 1
    assert value(samples, "cardbot_outbound_total", channel="sms", delivery="suppressed") == 1
    assert value(samples, "cardbot_outbound_total", channel="sms", delivery="failed") == 1
    assert value(samples, "cardbot_errors_total", where="twilio") == 1


async def test_a_rate_limited_request_is_counted_by_its_limit(gateway: Harness) -> None:
    for _ in range(2):
        await chat(gateway, "web-metrics-4", "again")
    refused = await gateway.client.post(
        "/api/chat", json={"conversation_id": "web-metrics-4", "text": "again"}
    )
    assert refused.status == 429

    samples, _ = await scrape(gateway)

    assert value(samples, "cardbot_rate_limited_total", scope="chat_conversation") == 1
    assert value(
        samples, "cardbot_http_requests_total", route="/api/chat", method="POST", status="429"
    )


async def test_a_rasa_outage_is_an_error_and_a_pending_turn(gateway: Harness) -> None:
    gateway.rasa.mode = "error"
    await chat(gateway, "web-metrics-5", "anyone?")

    samples, _ = await scrape(gateway)

    assert value(
        samples, "cardbot_turns_total", channel="web", language="en", outcome="pending_retry"
    )
    assert value(samples, "cardbot_errors_total", where="rasa") >= 1
    assert value(samples, "cardbot_dependency_up", dependency="rasa") == 0
    assert value(samples, "cardbot_inbox_unfinished") == 1


@pytest.mark.parametrize("path", ["/metrics", "/healthz/details"])
async def test_operator_endpoints_are_hidden_from_other_clients(
    gateway: Harness, path: str
) -> None:
    client = gateway.client
    assert (await client.get(path)).status in (200, 503)  # loopback, no proxy
    assert (await client.get(path, headers=OUTSIDER)).status == 404
    wrong = {**OUTSIDER, "Authorization": "Bearer not-the-token"}
    assert (await client.get(path, headers=wrong)).status == 404
    right = {**OUTSIDER, "Authorization": f"Bearer {TOKEN}"}
    assert (await client.get(path, headers=right)).status in (200, 503)


async def test_behind_an_untrusted_proxy_nobody_is_local(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(aiohttp_client, clean_db) as bot:  # no TRUSTED_PROXIES
        assert (await bot.client.get("/metrics")).status == 200
        forwarded = await bot.client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
        assert forwarded.status == 404  # a proxy we do not trust relayed it
        details = await bot.client.get("/healthz/details", headers={"X-Real-IP": "10.0.0.1"})
        assert details.status == 404


async def test_the_detailed_health_view_names_every_dependency(gateway: Harness) -> None:
    await gateway.sms("hello", sender=EMILY)
    gateway.rasa.mode = "error"
    await chat(gateway, "web-metrics-6", "still there?")
    gateway.rasa.mode = "ok"

    response = await gateway.client.get("/healthz/details")

    assert response.status == 200
    body = await response.json()
    checks = body["checks"]
    assert body["status"] == "ok"
    for name in ("database", "rasa", "action_server"):
        assert checks[name]["status"] == "ok"
        assert checks[name]["detail"] == "ok"
        assert checks[name]["latency_ms"] >= 0
    assert "redis" not in checks  # REDIS_URL unset
    assert checks["twilio"]["status"] == "configured"
    assert body["inbox"]["unfinished"] == 1
    assert body["inbox"]["oldest_age_seconds"] >= 0
    assert body["inbox"]["waiting_for_person"] == 0
    # /healthz keeps its contract's shape.
    healthz = await (await gateway.client.get("/healthz")).json()
    assert healthz == {
        "status": "ok",
        "checks": {"database": "ok", "rasa": "ok", "action_server": "ok"},
    }


async def test_a_configured_redis_that_is_down_shows_in_the_details_only(
    gateway: Harness, actions: LoopbackServer
) -> None:
    # A checker of its own points at a dead Redis: the gateway's rate limiter
    # and locks keep their in-memory defaults.
    async with aiohttp.ClientSession() as http:
        checker = HealthChecker(
            gateway.sessions,
            RasaClient.from_settings(http, gateway.settings),
            http,
            actions.url,
            timeout_seconds=0.5,
            redis_url=f"redis://:hunter2@127.0.0.1:{unused_port()}/0",
        )
        try:
            details = await checker.details()
            summary = await checker.check()
        finally:
            await checker.close()

    redis = details["checks"]["redis"]
    assert redis["status"] == "down"
    assert redis["detail"] and "hunter2" not in redis["detail"]  # the error's class only
    assert details["checks"]["twilio"]["status"] == "not configured"
    assert details["status"] == "ok"  # Redis is optional: the gateway fails open without it
    assert summary == {"database": "ok", "rasa": "ok", "action_server": "ok"}
