"""`POST /api/chat`, the messages endpoint, the retry worker and the page.

The real gateway app and the real test database; a fake Rasa on loopback.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, unused_port
from pydantic import AnyHttpUrl, SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.db.engine import make_async_sessionmaker
from bot.db.models import Conversation, InboxMessage, OutboxMessage
from bot.db.types import utcnow
from bot.domain.enums import Channel, ConversationOwner, InboxStatus, Language
from bot.gateway.app import RETRY_WORKER, GatewayOptions, create_app
from bot.gateway.rasa import BotMessage, RasaClient
from bot.settings import Settings
from tests.gateway_fakes import RASA_TOKEN, FakeRasa, LoopbackServer, eventually

ClientFactory = Callable[..., Awaitable[TestClient[web.Request, web.Application]]]
Client = TestClient[web.Request, web.Application]

SAVED_EN = "Sorry, I'm having trouble right now. Your message is saved and I'll reply here shortly."
SAVED_ZH = "抱歉,我这边暂时出了点问题。您的消息已保存,我稍后会在这里回复您。"


@pytest.fixture
def rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def rasa_server(rasa: FakeRasa) -> AsyncIterator[LoopbackServer]:
    server = LoopbackServer(rasa.make_app)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def sessions(async_db_engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_async_sessionmaker(async_db_engine)


@pytest.fixture
def start_gateway(
    aiohttp_client: ClientFactory,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
    rasa_server: LoopbackServer,
) -> Callable[..., Awaitable[Client]]:
    async def start(**options: Any) -> Client:
        settings = Settings(
            _env_file=None,
            redis_url=None,
            database_url=database_url,
            rasa_url=AnyHttpUrl(rasa_server.url),
            rasa_token=SecretStr(RASA_TOKEN),
            rasa_timeout_seconds=1.0,
            action_server_url=AnyHttpUrl(f"http://127.0.0.1:{unused_port()}"),
        )
        # The worker sleeps an hour unless a test asks for it: tests that need
        # a pass either set a short interval or call `run_once` themselves.
        options.setdefault("retry_interval_seconds", 3600.0)
        app = create_app(settings, session_factory=sessions, options=GatewayOptions(**options))
        return await aiohttp_client(app)

    return start


@pytest.fixture
async def gateway(start_gateway: Callable[..., Awaitable[Client]]) -> Client:
    return await start_gateway()


async def chat(client: Client, conversation_id: str, text: str, **extra: Any) -> dict[str, Any]:
    response = await client.post(
        "/api/chat", json={"conversation_id": conversation_id, "text": text, **extra}
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def inbox_rows(
    sessions: async_sessionmaker[AsyncSession], conversation_id: str
) -> list[InboxMessage]:
    async with sessions() as session:
        rows = await session.scalars(
            select(InboxMessage)
            .where(InboxMessage.conversation_id == conversation_id)
            .order_by(InboxMessage.id)
        )
        return list(rows.all())


async def count(sessions: async_sessionmaker[AsyncSession], model: type[Any]) -> int:
    async with sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


# --- happy path ------------------------------------------------------------------


async def test_english_message_gets_rasa_reply_in_contract_shape(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = await chat(gateway, "web-en-1", "How much do I owe?", language="en")

    assert body == {
        "conversation_id": "web-en-1",
        "messages": [
            {
                "text": "You said: How much do I owe?",
                "buttons": [{"title": "Yes", "payload": "/affirm"}],
            }
        ],
        "handed_off": False,
    }
    # The first message carries its language; no separate slot call is needed.
    assert rasa.events == [("message", "web-en-1", "How much do I owe?")]
    assert rasa.metadata[0]["channel"] == "web"
    assert rasa.metadata[0]["language"] == "en"
    [row] = await inbox_rows(sessions, "web-en-1")
    assert (row.status, row.attempts, row.language) == (InboxStatus.PROCESSED, 1, Language.EN)
    async with sessions() as session:
        conversation = await session.get(Conversation, "web-en-1")
        assert conversation is not None
        assert (conversation.channel, conversation.language) == (Channel.WEB, Language.EN)
        outbox = (await session.scalars(select(OutboxMessage))).all()
        assert [(o.author, o.text, o.inbox_message_id) for o in outbox] == [
            ("bot", "You said: How much do I owe?", row.id)
        ]


async def test_chinese_first_message_is_answered_in_chinese(
    gateway: Client, rasa: FakeRasa
) -> None:
    body = await chat(gateway, "web-zh-1", "我还欠多少钱")

    assert body["messages"] == [
        {"text": "收到:我还欠多少钱", "buttons": [{"title": "是", "payload": "/affirm"}]}
    ]
    assert rasa.events == [("message", "web-zh-1", "我还欠多少钱")]
    assert rasa.metadata[0]["language"] == "zh"


async def test_language_switch_syncs_the_slot_once(gateway: Client, rasa: FakeRasa) -> None:
    await chat(gateway, "web-switch", "hello there")
    await chat(gateway, "web-switch", "what is my balance")
    await chat(gateway, "web-switch", "你好")
    await chat(gateway, "web-switch", "我还欠多少钱")
    last = await chat(gateway, "web-switch", "1234")  # no evidence: stays Chinese

    assert rasa.slot_events("web-switch") == ["language=zh"]
    zh_slot = rasa.events.index(("slot", "web-switch", "language=zh"))
    assert rasa.events[zh_slot + 1] == ("message", "web-switch", "你好")
    assert last["messages"][0]["text"] == "收到:1234"


async def test_explicit_language_wins_over_text(gateway: Client, rasa: FakeRasa) -> None:
    body = await chat(gateway, "web-explicit", "hello there", language="zh")
    assert rasa.metadata[0]["language"] == "zh"
    assert body["messages"][0]["text"] == "收到:hello there"


async def test_first_message_without_evidence_follows_the_browser(
    gateway: Client, rasa: FakeRasa
) -> None:
    response = await gateway.post(
        "/api/chat",
        json={"conversation_id": "web-browser", "text": "👍"},
        headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"},
    )
    assert response.status == 200
    assert rasa.metadata[0]["language"] == "zh"
    assert (await response.json())["messages"][0]["text"] == "收到:👍"


async def test_emoji_only_text_is_accepted(gateway: Client, rasa: FakeRasa) -> None:
    body = await chat(gateway, "web-emoji", "👍🙏")
    assert body["messages"][0]["text"] == "You said: 👍🙏"
    assert rasa.messages() == ["👍🙏"]


async def test_text_is_trimmed_and_control_characters_removed(
    gateway: Client, rasa: FakeRasa
) -> None:
    await chat(gateway, "web-clean", "  pay\x00 now \r\nplease\x07  ")
    assert rasa.messages() == ["pay now \nplease"]


async def test_exactly_2000_characters_is_accepted(gateway: Client, rasa: FakeRasa) -> None:
    await chat(gateway, "web-long", "x" * 1999 + "你")
    assert len(rasa.messages()[0]) == 2000


# --- bad input -------------------------------------------------------------------


BAD_BODIES = [
    pytest.param({"text": "hi"}, "conversation_id is required", id="missing-id"),
    pytest.param({"conversation_id": "web-1"}, "text is required", id="missing-text"),
    pytest.param({"conversation_id": "web-1", "text": 42}, "text must be a string", id="int-text"),
    pytest.param({"conversation_id": "web-1", "text": None}, "text must be a string", id="null"),
    pytest.param({"conversation_id": 7, "text": "hi"}, "conversation_id must be", id="int-id"),
    pytest.param({"conversation_id": "", "text": "hi"}, "conversation_id must be", id="empty-id"),
    pytest.param({"conversation_id": "a b", "text": "hi"}, "conversation_id must", id="space"),
    pytest.param({"conversation_id": "../x", "text": "hi"}, "conversation_id must", id="slash"),
    pytest.param({"conversation_id": "a" * 129, "text": "hi"}, "conversation_id must", id="129"),
    pytest.param({"conversation_id": "web-1", "text": "   "}, "must not be empty", id="blank"),
    pytest.param({"conversation_id": "web-1", "text": "\x00"}, "must not be empty", id="nul"),
    pytest.param(
        {"conversation_id": "web-1", "text": "x" * 2001}, "at most 2,000 characters", id="2001"
    ),
    pytest.param(
        {"conversation_id": "web-1", "text": "好" * 10_000}, "at most 2,000 characters", id="10k"
    ),
    pytest.param(
        {"conversation_id": "web-1", "text": "hi", "language": "fr"},
        'language must be "en" or "zh"',
        id="french",
    ),
    pytest.param(
        {"conversation_id": "web-1", "text": "hi", "language": 1},
        'language must be "en" or "zh"',
        id="int-language",
    ),
    pytest.param(["web-1", "hi"], "must be a JSON object", id="array"),
    pytest.param("hello", "must be a JSON object", id="string"),
]


async def test_a_message_sent_again_with_its_id_is_answered_once(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first = await chat(gateway, "web-again", "what is my balance", client_message_id="m-000001")
    again = await chat(gateway, "web-again", "what is my balance", client_message_id="m-000001")

    assert (
        again["messages"]
        == first["messages"]
        == [
            {
                "text": "You said: what is my balance",
                "buttons": [{"title": "Yes", "payload": "/affirm"}],
            }
        ]
    )
    assert rasa.messages("web-again") == ["what is my balance"]
    assert len(await inbox_rows(sessions, "web-again")) == 1
    # A new id is a new message, even with the same words.
    await chat(gateway, "web-again", "what is my balance", client_message_id="m-000002")
    assert rasa.messages("web-again") == ["what is my balance"] * 2


async def test_a_client_message_id_is_scoped_to_its_conversation(
    gateway: Client, rasa: FakeRasa
) -> None:
    await chat(gateway, "web-owner", "my secret question", client_message_id="shared-id-1")
    other = await chat(gateway, "web-guesser", "hello there", client_message_id="shared-id-1")

    assert other["messages"][0]["text"] == "You said: hello there"
    assert rasa.messages("web-guesser") == ["hello there"]


async def test_a_chinese_message_sent_again_is_answered_once_in_chinese(
    gateway: Client, rasa: FakeRasa
) -> None:
    first = await chat(gateway, "web-again-zh", "我还欠多少钱", client_message_id="zh-00000001")
    again = await chat(gateway, "web-again-zh", "我还欠多少钱", client_message_id="zh-00000001")

    assert again["messages"] == first["messages"]
    assert again["messages"][0]["text"] == "收到:我还欠多少钱"
    assert rasa.messages("web-again-zh") == ["我还欠多少钱"]


@pytest.mark.parametrize("bad_id", ["short", "has space 123", "x" * 65, 12345678])
async def test_a_malformed_client_message_id_is_400(gateway: Client, bad_id: object) -> None:
    response = await gateway.post(
        "/api/chat",
        json={"conversation_id": "web-bad-id", "text": "hi", "client_message_id": bad_id},
    )
    assert response.status == 400
    assert "client_message_id" in (await response.json())["error"]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
async def test_bad_json_bodies_are_400_and_nothing_is_saved(
    gateway: Client,
    rasa: FakeRasa,
    sessions: async_sessionmaker[AsyncSession],
    body: Any,
    message: str,
) -> None:
    response = await gateway.post("/api/chat", json=body)
    assert response.status == 400
    assert response.content_type == "application/json"
    error = (await response.json())["error"]
    assert isinstance(error, str)
    assert message in error
    assert await count(sessions, Conversation) == 0
    assert await count(sessions, InboxMessage) == 0
    assert rasa.events == []


@pytest.mark.parametrize(
    ("data", "headers", "message"),
    [
        pytest.param(b"{not json", {"Content-Type": "application/json"}, "not valid JSON"),
        pytest.param(b"", {"Content-Type": "application/json"}, "not valid JSON", id="empty"),
        pytest.param(
            b'{"conversation_id": "web-1", "text": "\\ud800"}',
            {"Content-Type": "application/json"},
            "not valid JSON",
            id="lone-surrogate",
        ),
        pytest.param(b"\xff\xfe\x00", {"Content-Type": "application/json"}, "not valid JSON"),
        pytest.param(
            json.dumps({"conversation_id": "web-1", "text": "hi"}).encode(),
            {"Content-Type": "text/plain"},
            "Content-Type must be application/json",
            id="text-plain",
        ),
        pytest.param(
            b"conversation_id=web-1&text=hi",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "Content-Type must be application/json",
            id="form",
        ),
        pytest.param(
            json.dumps({"conversation_id": "web-1", "text": "hi", "pad": "x" * 70_000}).encode(),
            {"Content-Type": "application/json"},
            "at most 65,536 bytes",
            id="oversized",
        ),
    ],
)
async def test_bad_raw_bodies_are_400_and_nothing_is_saved(
    gateway: Client,
    sessions: async_sessionmaker[AsyncSession],
    data: bytes,
    headers: dict[str, str],
    message: str,
) -> None:
    response = await gateway.post("/api/chat", data=data, headers=headers)
    assert response.status == 400
    assert message in (await response.json())["error"]
    assert await count(sessions, InboxMessage) == 0


async def test_oversized_chunked_body_is_400(gateway: Client) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"conversation_id": "web-1", "text": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    response = await gateway.post(
        "/api/chat", data=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status == 400
    assert "at most" in (await response.json())["error"]


async def test_wrong_method_and_unknown_api_path_answer_json(gateway: Client) -> None:
    response = await gateway.get("/api/chat")
    assert response.status == 405
    assert "error" in await response.json()
    response = await gateway.get("/api/nothing-here")
    assert response.status == 404
    assert "error" in await response.json()


async def test_sms_conversation_cannot_be_used_from_the_web(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        session.add(Conversation(id="sms:14155550101", channel=Channel.SMS, language=Language.EN))
        await session.commit()

    response = await gateway.post(
        "/api/chat", json={"conversation_id": "sms:14155550101", "text": "balance"}
    )
    assert response.status == 409
    assert "error" in await response.json()
    response = await gateway.get("/api/chat/sms:14155550101/messages")
    assert response.status == 404
    assert rasa.events == []
    assert await count(sessions, InboxMessage) == 0


# --- Rasa down, retry, ordering ---------------------------------------------------


async def messages_after(client: Client, conversation_id: str, after: int = 0) -> dict[str, Any]:
    response = await client.get(f"/api/chat/{conversation_id}/messages", params={"after": after})
    assert response.status == 200
    body: dict[str, Any] = await response.json()
    return body


@pytest.mark.parametrize(
    ("language", "text", "saved"),
    [(Language.EN, "When is my payment due?", SAVED_EN), (Language.ZH, "还款日是哪天", SAVED_ZH)],
)
async def test_rasa_down_gives_a_polite_reply_and_keeps_the_message(
    start_gateway: Callable[..., Awaitable[Client]],
    rasa: FakeRasa,
    rasa_server: LoopbackServer,
    sessions: async_sessionmaker[AsyncSession],
    language: Language,
    text: str,
    saved: str,
) -> None:
    gateway = await start_gateway(retry_interval_seconds=0.05)
    await rasa_server.stop()

    body = await chat(gateway, "web-down", text)

    assert body == {
        "conversation_id": "web-down",
        "messages": [{"text": saved, "buttons": []}],
        "handed_off": False,
    }
    [row] = await inbox_rows(sessions, "web-down")
    assert row.status is InboxStatus.PENDING_RETRY
    assert row.attempts == 1
    assert row.language is language
    assert row.last_error is not None
    assert "cannot connect" in row.last_error
    assert (await messages_after(gateway, "web-down"))["pending"] is True

    await rasa_server.start()  # same port: Rasa is back

    async def replied() -> list[dict[str, Any]] | None:
        page = await messages_after(gateway, "web-down", after=0)
        bot = [m for m in page["messages"] if m["author"] == "bot"]
        return page["messages"] if bot and not page["pending"] else None

    messages = await eventually(replied)
    assert [m["author"] for m in messages] == ["system", "bot"]
    assert messages[1]["text"].endswith(text)
    assert messages[1]["buttons"] == [
        {"title": "Yes" if language is Language.EN else "是", "payload": "/affirm"}
    ]
    assert rasa.events[0] == ("message", "web-down", text)
    assert rasa.metadata[0]["language"] == language.value
    [row] = await inbox_rows(sessions, "web-down")
    assert (row.status, row.attempts, row.last_error) == (InboxStatus.PROCESSED, 2, None)

    # The cursor moves on: nothing new after the last message.
    after = await messages_after(gateway, "web-down", after=messages[-1]["id"])
    assert after == {"messages": [], "pending": False, "handed_off": False}


async def test_rasa_5xx_also_keeps_the_message(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    rasa.mode = "error"
    body = await chat(gateway, "web-5xx", "hello there")
    assert body["messages"] == [{"text": SAVED_EN, "buttons": []}]
    [row] = await inbox_rows(sessions, "web-5xx")
    assert row.status is InboxStatus.PENDING_RETRY
    assert row.last_error is not None
    assert "HTTP 503" in row.last_error


async def test_a_message_sent_while_another_waits_queues_behind_it(
    gateway: Client,
    rasa: FakeRasa,
    rasa_server: LoopbackServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await rasa_server.stop()
    await chat(gateway, "web-order", "first message")
    await rasa_server.start()

    # Rasa is back, but the first message has not been replayed yet: the second
    # must not overtake it.
    second = await chat(gateway, "web-order", "second message")
    assert second["messages"] == [{"text": SAVED_EN, "buttons": []}]
    assert rasa.messages() == []
    rows = await inbox_rows(sessions, "web-order")
    assert [(r.status, r.attempts) for r in rows] == [
        (InboxStatus.PENDING_RETRY, 1),
        (InboxStatus.PENDING_RETRY, 0),
    ]

    delivered = await gateway.app[RETRY_WORKER].run_once()

    assert delivered == 2
    assert rasa.messages() == ["first message", "second message"]
    assert rasa.slot_events() == []
    page = await messages_after(gateway, "web-order")
    assert [(m["author"], m["text"]) for m in page["messages"]] == [
        ("system", SAVED_EN),
        ("system", SAVED_EN),
        ("bot", "You said: first message"),
        ("bot", "You said: second message"),
    ]
    assert page["pending"] is False
    # A third message goes straight through again.
    third = await chat(gateway, "web-order", "third message")
    assert third["messages"][0]["text"] == "You said: third message"


async def test_worker_waits_while_rasa_is_still_down(
    gateway: Client,
    rasa: FakeRasa,
    rasa_server: LoopbackServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await rasa_server.stop()
    await chat(gateway, "web-still-down", "hello there")

    assert await gateway.app[RETRY_WORKER].run_once() == 0
    [row] = await inbox_rows(sessions, "web-still-down")
    # An outage does not use up the message's attempts.
    assert (row.status, row.attempts) == (InboxStatus.PENDING_RETRY, 1)

    await rasa_server.start()
    rasa.model_file = None  # up, but no model yet: still not ready
    assert await gateway.app[RETRY_WORKER].run_once() == 0
    rasa.model_file = "models/x.tar.gz"
    assert await gateway.app[RETRY_WORKER].run_once() == 1


async def test_a_message_that_keeps_failing_is_marked_failed_and_the_next_proceeds(
    start_gateway: Callable[..., Awaitable[Client]],
    rasa: FakeRasa,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    gateway = await start_gateway(max_attempts=3)
    rasa.failing_texts.add("poison")
    await chat(gateway, "web-poison", "poison")
    await chat(gateway, "web-poison", "after the poison")  # queued behind it
    worker = gateway.app[RETRY_WORKER]

    assert await worker.run_once() == 0  # attempt 2 fails; stops this pass
    assert await worker.run_once() == 1  # attempt 3 fails -> FAILED; the next goes

    rows = await inbox_rows(sessions, "web-poison")
    assert [(r.status, r.attempts) for r in rows] == [
        (InboxStatus.FAILED, 3),
        (InboxStatus.PROCESSED, 1),
    ]
    page = await messages_after(gateway, "web-poison")
    texts = [m["text"] for m in page["messages"]]
    assert texts[-2].startswith("Sorry, I couldn't process one of your messages")
    assert texts[-1] == "You said: after the poison"
    assert page["pending"] is False


async def test_waiting_messages_go_to_the_person_who_took_over(
    gateway: Client,
    rasa: FakeRasa,
    rasa_server: LoopbackServer,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await rasa_server.stop()
    await chat(gateway, "web-taken", "hello there")
    await rasa_server.start()
    async with sessions() as session:
        conversation = await session.get(Conversation, "web-taken")
        assert conversation is not None
        conversation.owner = ConversationOwner.AGENT
        await session.commit()

    assert await gateway.app[RETRY_WORKER].run_once() == 0

    assert rasa.messages() == []
    [row] = await inbox_rows(sessions, "web-taken")
    assert row.status is InboxStatus.PROCESSED
    page = await messages_after(gateway, "web-taken")
    assert page["pending"] is False and page["handed_off"] is True


async def test_the_messages_page_says_when_the_chat_is_back_with_the_bot(
    gateway: Client, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(gateway, "web-owner", "hello there")
    assert (await messages_after(gateway, "web-owner"))["handed_off"] is False
    for owner, shown in (
        (ConversationOwner.WAITING, True),
        (ConversationOwner.AGENT, True),
        (ConversationOwner.BOT, False),  # handed back: the page drops its notice
        (ConversationOwner.CLOSED, False),
    ):
        async with sessions() as session:
            conversation = await session.get(Conversation, "web-owner")
            assert conversation is not None
            conversation.owner = owner
            await session.commit()
        assert (await messages_after(gateway, "web-owner"))["handed_off"] is shown, owner


async def test_a_message_abandoned_mid_delivery_is_replayed(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        session.add(Conversation(id="web-crash", channel=Channel.WEB, language=Language.ZH))
        await session.flush()
        session.add(
            InboxMessage(
                conversation_id="web-crash",
                channel=Channel.WEB,
                text="你好",
                language=Language.ZH,
                status=InboxStatus.RECEIVED,
                received_at=utcnow() - timedelta(minutes=10),
            )
        )
        await session.commit()

    assert await gateway.app[RETRY_WORKER].run_once() == 1
    assert rasa.events == [("message", "web-crash", "你好")]
    assert rasa.metadata[0]["language"] == "zh"


async def test_messages_endpoint_validates_its_input(gateway: Client) -> None:
    assert (await gateway.get("/api/chat/web-x/messages?after=-1")).status == 400
    assert (await gateway.get("/api/chat/web-x/messages?after=abc")).status == 400
    assert (await gateway.get("/api/chat/a%20b/messages")).status == 400
    assert await messages_after(gateway, "web-never-seen") == {
        "messages": [],
        "pending": False,
        "handed_off": False,
    }


# --- handed off ------------------------------------------------------------------


async def _owned_by(
    sessions: async_sessionmaker[AsyncSession], cid: str, owner: ConversationOwner
) -> None:
    async with sessions() as session:
        session.add(Conversation(id=cid, channel=Channel.WEB, language=Language.EN, owner=owner))
        await session.commit()


async def test_a_waiting_cardholder_is_told_once_and_rasa_only_logs_the_message(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _owned_by(sessions, "web-waiting", ConversationOwner.WAITING)

    first = await chat(gateway, "web-waiting", "还在吗")
    second = await chat(gateway, "web-waiting", "有人吗")

    assert first["handed_off"] is True and second["handed_off"] is True
    [message] = first["messages"]
    assert message["text"].startswith("您正在等待我们的客服人员")
    assert second["messages"] == []  # not the same notice after every message
    # Paused, then logged: the tracker has the whole transcript, the bot says nothing.
    assert [(kind, value) for kind, _, value in rasa.events] == [
        ("pause", ""),
        ("message", "还在吗"),
        ("pause", ""),
        ("message", "有人吗"),
    ]
    rows = await inbox_rows(sessions, "web-waiting")
    assert [(r.status, r.attempts) for r in rows] == [(InboxStatus.PROCESSED, 0)] * 2


async def test_a_message_to_an_agent_goes_to_the_agent_not_the_bot(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _owned_by(sessions, "web-agent", ConversationOwner.AGENT)

    body = await chat(gateway, "web-agent", "are you still there?")

    assert body == {"conversation_id": "web-agent", "messages": [], "handed_off": True}
    assert rasa.messages("web-agent") == ["are you still there?"]
    assert "web-agent" in rasa.paused
    [row] = await inbox_rows(sessions, "web-agent")
    assert (row.status, row.text) == (InboxStatus.PROCESSED, "are you still there?")


async def test_a_person_gets_the_message_even_when_rasa_is_down(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _owned_by(sessions, "web-agent-down", ConversationOwner.AGENT)
    rasa.mode = "error"

    body = await chat(gateway, "web-agent-down", "hello?")

    assert body["handed_off"] is True
    [row] = await inbox_rows(sessions, "web-agent-down")
    assert row.status is InboxStatus.PROCESSED


async def test_a_closed_conversation_reopens_with_the_bot(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        session.add(
            Conversation(
                id="web-closed",
                channel=Channel.WEB,
                language=Language.EN,
                owner=ConversationOwner.CLOSED,
            )
        )
        await session.commit()
    body = await chat(gateway, "web-closed", "hello again")
    assert body["handed_off"] is False
    assert rasa.messages() == ["hello again"]


async def test_handoff_by_an_action_during_the_turn_is_reported(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async def action_hands_off(sender: str, text: str) -> None:
        # What the action server does on `request_human`, mid-turn.
        if text == "let me talk to a person":
            async with sessions() as session:
                conversation = await session.get(Conversation, sender)
                assert conversation is not None
                conversation.owner = ConversationOwner.WAITING
                await session.commit()

    rasa.during_turn = action_hands_off
    assert (await chat(gateway, "web-handoff", "hello there"))["handed_off"] is False

    body = await chat(gateway, "web-handoff", "let me talk to a person")

    assert body["handed_off"] is True
    assert body["messages"][0]["text"] == "You said: let me talk to a person"
    next_turn = await chat(gateway, "web-handoff", "hello?")
    assert next_turn["handed_off"] is True
    assert next_turn["messages"][0]["text"].startswith("You're waiting for a member")
    # Only logged now: Rasa's tracker is paused before the message reaches it.
    assert rasa.messages() == ["hello there", "let me talk to a person", "hello?"]
    assert "web-handoff" in rasa.paused


# --- unexpected failures ----------------------------------------------------------


class ExplodingRasa(RasaClient):
    """A Rasa client with a bug in it."""

    async def set_slot(self, sender: str, name: str, value: Any) -> None:
        return None

    async def send_message(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        raise RuntimeError("a bug, not an outage")


async def test_an_unexpected_error_on_the_chat_api_is_503_json_not_500(
    aiohttp_client: ClientFactory,
    database_url: str,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    settings = Settings(_env_file=None, redis_url=None, database_url=database_url)
    async with aiohttp.ClientSession() as http:
        rasa = ExplodingRasa(http, "http://127.0.0.1:9", SecretStr(""), 1.0)
        app = create_app(settings, session_factory=sessions, rasa=rasa)

        async def explode(_request: web.Request) -> web.Response:
            raise RuntimeError("boom")

        app.router.add_get("/explode", explode)
        client = await aiohttp_client(app)

        response = await client.post("/api/chat", json={"conversation_id": "web-bug", "text": "hi"})
        assert response.status == 503
        assert "try again" in (await response.json())["error"]
        # The message was saved first; the retry worker will pick it up.
        [row] = await inbox_rows(sessions, "web-bug")
        assert row.status is InboxStatus.RECEIVED

        response = await client.get("/explode")
        assert response.status == 500
        assert await response.json() == {"error": "internal server error"}


# --- the page --------------------------------------------------------------------


async def test_page_is_served_with_the_language_switch(gateway: Client) -> None:
    response = await gateway.get("/")
    assert response.status == 200
    assert response.content_type == "text/html"
    page = await response.text()
    assert "Harbor Bank" in page
    assert "港湾银行" in page
    assert 'data-lang="en"' in page
    assert 'data-lang="zh"' in page
    assert "中文" in page
    assert "{{" not in page
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


async def test_page_assets_are_local(gateway: Client) -> None:
    page = await (await gateway.get("/")).text()
    for asset in ("/static/chat.css", "/static/chat.js"):
        assert asset in page
        response = await gateway.get(asset)
        assert response.status == 200, asset
        content = await response.text()
        assert "http://" not in content
        assert "https://" not in content
        assert "@import" not in content
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in page


# --- messages a person must take over at once --------------------------------------


async def test_distress_goes_to_a_person_first_with_a_caring_reply(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = await chat(gateway, "web-distress-en", "honestly i dont want to live anymore")
    assert body["handed_off"] is True
    assert "988" in body["messages"][0]["text"]
    assert rasa.messages("web-distress-en") == []  # not left to the intent model
    async with sessions() as session:
        conversation = await session.get(Conversation, "web-distress-en")
        assert conversation is not None
        assert conversation.owner is ConversationOwner.WAITING
        assert conversation.handoff_reason == "distress"
        assert conversation.priority == 100  # ahead of every routine handoff


async def test_chinese_distress_and_complaints_escalate_in_chinese(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    body = await chat(gateway, "web-distress-zh", "我真的不想活了", language="zh")
    assert body["handed_off"] is True and "12356" in body["messages"][0]["text"]
    body = await chat(gateway, "web-complaint-zh", "我要投诉你们", language="zh")
    assert body["handed_off"] is True and "投诉" in body["messages"][0]["text"]
    assert rasa.messages() == []


async def test_a_later_distress_message_raises_the_priority_of_a_waiting_conversation(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(gateway, "web-complaint-then-distress", "i want to file a complaint")
    body = await chat(gateway, "web-complaint-then-distress", "i want to kill myself")
    assert body["handed_off"] is True
    async with sessions() as session:
        conversation = await session.get(Conversation, "web-complaint-then-distress")
        assert conversation is not None
        assert conversation.priority == 100 and conversation.handoff_reason == "distress"


async def test_idioms_that_only_sound_alarming_reach_the_dialogue(
    gateway: Client, rasa: FakeRasa
) -> None:
    body = await chat(gateway, "web-idiom", "I'm dying to know my balance")
    assert body["handed_off"] is False
    assert rasa.messages("web-idiom") == ["I'm dying to know my balance"]


async def test_a_pasted_card_number_never_reaches_rasa_or_the_inbox(
    gateway: Client, rasa: FakeRasa, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await chat(gateway, "web-card", "my card is 4111 1111 1111 1111 can you check it")
    assert rasa.messages("web-card") == ["my card is •••• 1111 can you check it"]
    rows = await inbox_rows(sessions, "web-card")
    assert "4111 1111" not in rows[0].text


@pytest.mark.parametrize(
    ("text", "seen"),
    [
        ("my CVV is 734", "my CVV is •••"),
        ("卡背面的安全码是734", "卡背面的安全码是•••"),
        ("4111 1111 1111 1111 exp 12/27 734", "•••• 1111 exp 12/27 •••"),
    ],
)
async def test_a_security_code_never_reaches_rasa_or_the_inbox(
    gateway: Client,
    rasa: FakeRasa,
    sessions: async_sessionmaker[AsyncSession],
    text: str,
    seen: str,
) -> None:
    await chat(gateway, "web-cvv", text)
    assert rasa.messages("web-cvv") == [seen]
    rows = await inbox_rows(sessions, "web-cvv")
    assert all("734" not in row.text for row in rows)
