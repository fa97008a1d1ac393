"""Web chat: `POST /api/chat` and `GET /api/chat/{conversation_id}/messages`.

A cardholder in distress must never see a stack trace or a blank failure: bad
input gets a 400 that says what is wrong, a Rasa outage gets a polite reply
(the message is kept and answered later), and only a database outage, when
nothing can be promised, gets a 503. A client over a rate limit (per IP, per
conversation: `bot.gateway.ratelimit`) gets a 429 before anything is saved.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import structlog
from aiohttp import web
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationError,
)
from pydantic_core import ErrorDetails
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.inbound import MAX_TEXT_CHARS, clean_text, mask_sensitive
from bot.db.models import Conversation, InboxMessage, OutboxMessage
from bot.domain.enums import Channel, ConversationOwner, Language
from bot.domain.language import language_from_accept_header
from bot.gateway.deadline import DeadlineExceeded, within
from bot.gateway.dialogue import DialogueService, ForeignConversation, Inbound
from bot.gateway.inbox import UNFINISHED
from bot.gateway.keys import SETTINGS
from bot.gateway.ratelimit import ABUSE_LIMITS, RATE_LIMITER, too_many

log = structlog.get_logger(__name__)

MAX_BODY_BYTES = 64 * 1024  # 2,000 characters fit even as escaped surrogate pairs (24 KB)
CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9_.:-]{1,128}$"
# The page's own id for one message, so a retry after a lost answer is not a second message.
CLIENT_MESSAGE_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"
MESSAGES_PAGE_SIZE = 200

_UNAVAILABLE_ERROR = (
    "Sorry, we can't take your message right now. Please try again in a minute. "
    "/ 抱歉,暂时无法接收您的消息,请稍后再试。"
)


class BadRequest(Exception):
    """The request cannot be processed as sent; the message says why."""


def _clean_text(value: str) -> str:
    # NUL and other control characters break PostgreSQL text and confuse NLU;
    # a pasted card number is masked to its last four before anything stores it.
    value = clean_text(value)
    if not value:
        raise ValueError("text must not be empty")
    if len(value) > MAX_TEXT_CHARS:
        raise ValueError(f"text must be at most {MAX_TEXT_CHARS:,} characters")
    return mask_sensitive(value)


class ChatRequest(BaseModel):
    """The body of `POST /api/chat` (CONTRACT.md §2)."""

    model_config = ConfigDict(strict=True, frozen=True)

    conversation_id: Annotated[str, StringConstraints(pattern=CONVERSATION_ID_PATTERN)]
    text: Annotated[str, AfterValidator(_clean_text)]
    language: Language | None = None
    client_message_id: (
        Annotated[str, StringConstraints(pattern=CLIENT_MESSAGE_ID_PATTERN)] | None
    ) = None

    @property
    def provider_message_id(self) -> str | None:
        """The inbox's idempotency key: the client's id, scoped to its conversation.

        Hashed with the conversation id, so one client can never replay (and
        read) another conversation's answers by guessing its message ids.
        """
        if self.client_message_id is None:
            return None
        scoped = f"{self.conversation_id}\n{self.client_message_id}".encode()
        return "web:" + hashlib.sha256(scoped).hexdigest()[:40]


def _describe(error: ErrorDetails) -> str:
    """One validation error as a sentence a front-end developer can act on."""
    where = ".".join(str(part) for part in error["loc"])
    kind = error["type"]
    if kind == "json_invalid":
        return "request body is not valid JSON"
    if kind == "model_type":
        return "request body must be a JSON object"
    if kind == "missing":
        return f"{where} is required"
    if where == "language":
        return 'language must be "en" or "zh"'
    if kind == "string_type":
        return f"{where} must be a string"
    if where == "conversation_id":
        return "conversation_id must be 1-128 characters of letters, digits, _ . : -"
    if where == "client_message_id":
        return "client_message_id must be 8-64 characters of letters, digits, _ -"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    return f"{where}: {error['msg']}"


async def read_chat_request(request: web.Request) -> ChatRequest:
    """Parse and validate the body, bounded in size before it is read whole.

    Raises:
        BadRequest: for anything but a JSON object matching `ChatRequest`.
    """
    if request.content_type != "application/json":
        raise BadRequest("Content-Type must be application/json")
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise BadRequest(f"request body must be at most {MAX_BODY_BYTES:,} bytes")
    body = bytearray()
    while chunk := await request.content.read(MAX_BODY_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise BadRequest(f"request body must be at most {MAX_BODY_BYTES:,} bytes")
    try:
        return ChatRequest.model_validate_json(bytes(body))
    except ValidationError as error:
        raise BadRequest(_describe(error.errors(include_url=False)[0])) from None


@dataclass(frozen=True)
class ChatReply:
    """What one user message produced, in the contract's shape."""

    conversation_id: str
    messages: list[OutboxMessage] = field(default_factory=list)
    handed_off: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "messages": [
                {"text": message.text, "buttons": list(message.buttons or [])}
                for message in self.messages
            ],
            "handed_off": self.handed_off,
        }


@dataclass(frozen=True)
class MessagesPage:
    """Outbox messages after a cursor, whether more are still to come, and who has the chat.

    `handed_off` lets the page keep its "a person will reply" notice in step
    with the desk: it goes when an agent hands the conversation back or
    closes it, without the cardholder having to write first.
    """

    messages: list[OutboxMessage]
    pending: bool
    handed_off: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "messages": [
                {
                    "id": message.id,
                    "text": message.text,
                    "buttons": list(message.buttons or []),
                    "author": message.author,
                }
                for message in self.messages
            ],
            "pending": self.pending,
            "handed_off": self.handed_off,
        }


class ChatService:
    """Web chat on top of the channel-neutral `DialogueService`."""

    def __init__(
        self, dialogue: DialogueService, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self._dialogue = dialogue
        self._sessions = sessions

    async def handle(self, message: ChatRequest, default_language: Language) -> ChatReply:
        """Save the message, then answer it (now, or later if it must wait).

        Raises:
            ForeignConversation: if the id names an SMS or voice conversation.
            SQLAlchemyError: if the database fails (nothing can be promised).
        """
        turn = await self._dialogue.handle(
            Inbound(
                conversation_id=message.conversation_id,
                channel=Channel.WEB,
                text=message.text,
                default_language=default_language,
                language=message.language,
                provider_message_id=message.provider_message_id,
            )
        )
        return ChatReply(turn.conversation_id, turn.messages, handed_off=turn.handed_off)

    async def messages_after(self, conversation_id: str, after: int) -> MessagesPage:
        """Messages for the page to show, and whether a reply is still owed.

        Raises:
            ForeignConversation: if the id names an SMS or voice conversation.
        """
        async with self._sessions() as session:
            conversation = await session.get(Conversation, conversation_id)
            if conversation is None:
                return MessagesPage([], pending=False)
            if conversation.channel is not Channel.WEB:
                raise ForeignConversation(conversation_id)
            messages = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.conversation_id == conversation_id,
                        OutboxMessage.id > after,
                    )
                    .order_by(OutboxMessage.id)
                    .limit(MESSAGES_PAGE_SIZE)
                )
            ).all()
            pending = await session.scalar(
                select(
                    exists().where(
                        InboxMessage.conversation_id == conversation_id,
                        InboxMessage.status.in_(UNFINISHED),
                    )
                )
            )
            return MessagesPage(
                list(messages),
                pending=bool(pending),
                handed_off=conversation.owner
                in (ConversationOwner.WAITING, ConversationOwner.AGENT),
            )


CHAT_SERVICE = web.AppKey("chat_service", ChatService)


def _error(message: str, status: int) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def post_chat(request: web.Request) -> web.Response:
    """`POST /api/chat`: one user message in, the bot's answer out."""
    try:
        message = await read_chat_request(request)
    except BadRequest as error:
        log.info("chat.bad_request", reason=str(error))
        return _error(str(error), 400)
    # Per conversation (per client IP is counted before the body is read,
    # by the rate-limit middleware); refused before anything is saved.
    decision = await request.app[RATE_LIMITER].hit(
        request.app[ABUSE_LIMITS].chat_per_conversation, message.conversation_id
    )
    if not decision.allowed:
        return too_many(decision)
    default = language_from_accept_header(request.headers.get("Accept-Language"))
    deadline = request.app[SETTINGS].chat_deadline_seconds
    try:
        reply = await within(
            request.app[CHAT_SERVICE].handle(message, default or Language.EN), deadline
        )
    except ForeignConversation:
        return _error("conversation_id is in use by another channel; start a new chat", 409)
    except (SQLAlchemyError, DeadlineExceeded) as error:
        # The page shows the error and lets the user send again.
        log.error(
            "chat.database_unavailable",
            conversation_id=message.conversation_id,
            error=type(error).__name__,
        )
        return _error(_UNAVAILABLE_ERROR, 503)
    return web.json_response(reply.as_json())


async def get_messages(request: web.Request) -> web.Response:
    """`GET /api/chat/{conversation_id}/messages?after=<id>`: replies since a cursor.

    The page polls this while a reply is owed (a message waiting for Rasa, or
    a person who has taken over), so answers given later still reach it.
    """
    conversation_id = request.match_info["conversation_id"]
    if not re.fullmatch(CONVERSATION_ID_PATTERN, conversation_id):
        return _error("conversation_id must be 1-128 characters of letters, digits, _ . : -", 400)
    raw_after = request.query.get("after", "0")
    if not raw_after.isdecimal() or len(raw_after) > 18:
        return _error("after must be a non-negative integer", 400)
    try:
        page = await request.app[CHAT_SERVICE].messages_after(conversation_id, int(raw_after))
    except ForeignConversation:
        return _error("no such web conversation", 404)
    except SQLAlchemyError:
        log.exception("chat.database_error", conversation_id=conversation_id)
        return _error(_UNAVAILABLE_ERROR, 503)
    return web.json_response(page.as_json(), headers={"Cache-Control": "no-store"})


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/chat", post_chat)
    app.router.add_get("/api/chat/{conversation_id}/messages", get_messages)
