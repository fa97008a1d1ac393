"""Abuse limits on the real gateway: rates per IP, conversation, number and call; body sizes.

The real app on a seeded database; Rasa and Twilio's REST API are fakes on
loopback. The test client is on loopback, which is exempt from per-IP limits
by default, so tests of those limits clear `rate_limit_exempt`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest
from aiohttp import ClientResponse
from sqlalchemy import select

from bot.db.models import Cardholder, Consent, Conversation, InboxMessage
from bot.domain.enums import Channel, ConsentStatus, ConversationOwner, InboxStatus
from bot.gateway.app import RETRY_WORKER
from bot.gateway.openapi import OPENAPI_PATH
from bot.gateway.ratelimit import TOO_MANY_REQUESTS
from tests.integration.twilio_support import (
    EMILY,
    STRANGER,
    ClientFactory,
    Harness,
    rows,
    running_harness,
    said,
    twiml,
)
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")


@pytest.fixture
async def start(
    aiohttp_client: ClientFactory, clean_db: str
) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """Start a gateway with some settings changed."""
    async with AsyncExitStack() as stack:

        async def started(**overrides: Any) -> Harness:
            return await stack.enter_async_context(
                running_harness(aiohttp_client, clean_db, **overrides)
            )

        yield started


Start = Callable[..., Awaitable[Harness]]


async def post_chat(
    bot: Harness, conversation_id: str, text: str = "hi", **headers: str
) -> ClientResponse:
    return await bot.client.post(
        "/api/chat", json={"conversation_id": conversation_id, "text": text}, headers=headers
    )


async def inbox(bot: Harness, conversation_id: str) -> list[InboxMessage]:
    async with bot.sessions() as session:
        found = await session.scalars(
            select(InboxMessage)
            .where(InboxMessage.conversation_id == conversation_id)
            .order_by(InboxMessage.id)
        )
        return list(found.all())


async def assert_429_json(response: ClientResponse) -> None:
    assert response.status == 429
    assert response.content_type == "application/json"
    assert (await response.json()) == {"error": TOO_MANY_REQUESTS}
    assert 1 <= int(response.headers["Retry-After"]) <= 60


# --- web chat -----------------------------------------------------------------------


async def test_chat_per_client_ip_then_429_and_nothing_saved(start: Start) -> None:
    bot = await start(rate_limit_exempt=[], rate_limit_chat_per_ip=3)
    for n in range(3):
        assert (await post_chat(bot, f"web-ip-{n}")).status == 200
    await assert_429_json(await post_chat(bot, "web-ip-over"))
    # Counted before the body is read: even a bad body is refused now.
    bad = await bot.client.post("/api/chat", data=b"{", headers={"Content-Type": "text/plain"})
    assert bad.status == 429
    async with bot.sessions() as session:
        assert await session.get(Conversation, "web-ip-over") is None
    assert await inbox(bot, "web-ip-over") == []
    assert bot.rasa.messages("web-ip-over") == []


async def test_chat_per_conversation_then_429_and_nothing_saved(start: Start) -> None:
    bot = await start(rate_limit_chat_per_conversation=2)
    for text in ("one", "two"):
        assert (await post_chat(bot, "web-flood", text)).status == 200
    await assert_429_json(await post_chat(bot, "web-flood", "three"))
    assert [row.text for row in await inbox(bot, "web-flood")] == ["one", "two"]
    assert bot.rasa.messages("web-flood") == ["one", "two"]
    assert (await post_chat(bot, "web-other")).status == 200  # another conversation


async def test_loopback_is_exempt_from_per_ip_limits_by_default(start: Start) -> None:
    bot = await start(rate_limit_chat_per_ip=1, rate_limit_health_per_ip=1)
    for n in range(3):
        assert (await post_chat(bot, f"web-local-{n}")).status == 200


async def test_a_trusted_proxy_names_the_client(start: Start) -> None:
    bot = await start(
        rate_limit_exempt=[], rate_limit_chat_per_ip=1, trusted_proxies=["127.0.0.0/8"]
    )
    first = {"X-Forwarded-For": "198.51.100.1"}
    assert (await post_chat(bot, "web-proxy-1", **first)).status == 200
    await assert_429_json(await post_chat(bot, "web-proxy-2", **first))
    # A hop the client wrote in front is not believed.
    forged = {"X-Forwarded-For": "203.0.113.50, 198.51.100.1"}
    assert (await post_chat(bot, "web-proxy-3", **forged)).status == 429
    assert (
        await post_chat(bot, "web-proxy-4", **{"X-Forwarded-For": "198.51.100.2"})
    ).status == 200


async def test_without_trusted_proxies_the_header_is_ignored(start: Start) -> None:
    bot = await start(rate_limit_exempt=[], rate_limit_chat_per_ip=1)
    assert (await post_chat(bot, "web-xff-1", **{"X-Forwarded-For": "198.51.100.1"})).status == 200
    response = await post_chat(bot, "web-xff-2", **{"X-Forwarded-For": "198.51.100.2"})
    assert response.status == 429


async def test_polling_payment_page_and_health_have_per_ip_limits(start: Start) -> None:
    bot = await start(
        rate_limit_exempt=[],
        rate_limit_chat_poll_per_ip=2,
        rate_limit_pay_per_ip=1,
        rate_limit_health_per_ip=1,
    )
    for _ in range(2):
        assert (await bot.client.get("/api/chat/web-poll/messages?after=0")).status == 200
    await assert_429_json(await bot.client.get("/api/chat/web-poll/messages?after=0"))

    assert (await bot.client.get("/pay/not-a-token")).status == 410
    page = await bot.client.get("/pay/not-a-token")
    assert page.status == 429 and page.content_type == "text/plain"
    assert "Retry-After" in page.headers

    await bot.client.get("/healthz")  # 503 here (no action server), still counted
    await assert_429_json(await bot.client.get("/healthz"))
    # The description and the page itself are not limited.
    for _ in range(3):
        assert (await bot.client.get(OPENAPI_PATH)).status == 200
        assert (await bot.client.get("/")).status == 200


# --- body sizes -----------------------------------------------------------------------


async def test_a_declared_body_over_the_limit_is_413_before_anything_reads_it(start: Start) -> None:
    bot = await start(max_request_bytes=4096)
    big = b'{"conversation_id": "web-big", "text": "' + b"x" * 8000 + b'"}'
    response = await bot.client.post(
        "/api/chat", data=big, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert (await response.json()) == {"error": "request body must be at most 4,096 bytes"}
    assert await inbox(bot, "web-big") == []

    form = {"From": EMILY, "Body": "x" * 8000, "MessageSid": "SM" + "1" * 32}
    response = await bot.post("/twilio/sms", form)
    assert response.status == 413 and response.content_type == "text/plain"
    assert await rows(bot.sessions, InboxMessage) == []


async def test_the_default_limit_leaves_the_chat_apis_own_400_in_place(start: Start) -> None:
    bot = await start()
    body = b'{"conversation_id": "web-big", "text": "' + b"x" * 70_000 + b'"}'
    response = await bot.client.post(
        "/api/chat", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.status == 400  # CONTRACT.md §2: the API's own 64 KiB limit
    response = await bot.client.post(
        "/api/chat", data=body * 2, headers={"Content-Type": "application/json"}
    )
    assert response.status == 413
    assert "131,072 bytes" in (await response.json())["error"]


# --- SMS ------------------------------------------------------------------------------


async def test_texts_over_the_per_number_limit_are_kept_but_not_answered(start: Start) -> None:
    bot = await start(rate_limit_sms_per_number=2)
    assert await bot.sms("hello", sid="SM" + "a" * 32)
    assert await bot.sms("what's my balance", sid="SM" + "b" * 32)
    assert await bot.sms("third", sid="SM" + "c" * 32) == []  # an empty <Response/>
    assert bot.rasa.messages() == ["hello", "what's my balance"]
    saved = await rows(bot.sessions, InboxMessage)
    assert [(r.text, r.status) for r in saved] == [
        ("hello", InboxStatus.PROCESSED),
        ("what's my balance", InboxStatus.PROCESSED),
        ("third", InboxStatus.RATE_LIMITED),
    ]
    # Twilio's retry of it is answered from the inbox: still nothing, no new row.
    assert await bot.sms("third", sid="SM" + "c" * 32) == []
    assert len(await rows(bot.sessions, InboxMessage)) == 3
    # The retry worker does not pick it up either.
    assert await bot.client.app[RETRY_WORKER].run_once() == 0
    # Another number has its own count.
    assert await bot.sms("hello", sender=STRANGER)


async def test_unsigned_texts_are_refused_before_they_count(start: Start) -> None:
    bot = await start(rate_limit_sms_per_number=1)
    params = {"From": EMILY, "To": FROM_NUMBER, "Body": "hi", "AccountSid": ACCOUNT_SID}
    for n in range(5):
        response = await bot.post(
            "/twilio/sms", {**params, "MessageSid": f"SM{n:032d}"}, signature="bad"
        )
        assert response.status == 403
    assert await rows(bot.sessions, InboxMessage) == []
    assert await bot.sms("hello")  # the number's first signed text: answered


async def test_stop_and_start_are_honoured_over_the_limit(start: Start) -> None:
    bot = await start(rate_limit_sms_per_number=1)
    assert await bot.sms("hello")
    assert await bot.sms("more") == []  # over the limit
    # Keywords come first: carriers require them answered.
    [stopped] = await bot.sms("STOP")
    assert "unsubscribed" in stopped
    async with bot.sessions() as session:
        consent = await session.scalar(
            select(Consent)
            .join(Cardholder, Consent.cardholder_id == Cardholder.id)
            .where(Cardholder.phone_e164 == EMILY, Consent.channel == Channel.SMS)
        )
        assert consent is not None and consent.status is ConsentStatus.OPTED_OUT
    assert await bot.sms("START")


async def test_distress_over_the_limit_still_reaches_a_person(start: Start) -> None:
    bot = await start(rate_limit_sms_per_number=1)
    assert await bot.sms("hello", sender=STRANGER)
    [reply] = await bot.sms("i dont want to live anymore", sender=STRANGER)
    assert "988" in reply
    # Once a person has it, a flood is kept for them (the desk shows the inbox).
    assert await bot.sms("please", sender=STRANGER) == []
    saved = await rows(bot.sessions, InboxMessage)
    assert [r.status for r in saved] == [
        InboxStatus.PROCESSED,
        InboxStatus.PROCESSED,
        InboxStatus.RATE_LIMITED,
    ]
    async with bot.sessions() as session:
        conversation = await session.get(Conversation, "sms:" + STRANGER.lstrip("+"))
        assert conversation is not None
        assert conversation.owner is ConversationOwner.WAITING
        assert conversation.handoff_reason == "distress"
    assert bot.rasa.messages() == ["hello"]


# --- voice ----------------------------------------------------------------------------


async def test_voice_webhooks_per_call_then_an_apology_and_hang_up(start: Start) -> None:
    bot = await start(rate_limit_voice_per_call=2)
    opening = await bot.call("CA" + "1" * 32)
    answer = await bot.answer(opening, "CA" + "1" * 32, SpeechResult="what's my balance")
    assert answer.find("Gather") is not None
    params = {
        "CallSid": "CA" + "1" * 32,
        "AccountSid": ACCOUNT_SID,
        "From": EMILY,
        "To": FROM_NUMBER,
        "SpeechResult": "and again",
    }
    response = await bot.post("/twilio/voice/gather?turn=2&silence=0", params)
    assert response.status == 200
    over = twiml(await response.text())
    assert over.find("Hangup") is not None and "Sorry" in said(over)
    assert bot.rasa.messages() == ["/greet", "what's my balance"]
    # Another call is not affected; an unsigned one is still refused.
    assert (await bot.call("CA" + "2" * 32)).find("Gather") is not None
    unsigned = await bot.post(
        "/twilio/voice", {**params, "CallSid": "CA" + "3" * 32}, signature=None
    )
    assert unsigned.status == 403


# --- the OpenAPI description -------------------------------------------------------------


async def test_openapi_describes_every_public_route(start: Start) -> None:
    bot = await start()
    response = await bot.client.get(OPENAPI_PATH)
    assert response.status == 200 and response.content_type == "application/json"
    document = await response.json()
    assert document["openapi"].startswith("3.0")
    described = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    routed = {
        (route.method, route.resource.canonical)
        for route in bot.client.app.router.routes()
        if route.resource is not None
        and route.method not in ("HEAD", "*")
        and not route.resource.canonical.startswith(("/desk", "/static"))
        and route.resource.canonical != "/"
    }
    assert described == routed
    gather = document["paths"]["/twilio/voice/gather"]["post"]["parameters"]
    assert {p["name"] for p in gather if p["in"] == "query"} == {"turn", "silence"}

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "$ref":
                    yield value
                else:
                    yield from refs(value)
        elif isinstance(node, list):
            for item in node:
                yield from refs(item)

    schemas = document["components"]["schemas"]
    for ref in refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas
