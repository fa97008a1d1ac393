"""Stand-ins for the Rasa server and the action server, served on loopback.

They speak the same HTTP as the real ones (Rasa 3.6's REST channel and HTTP
API, rasa-sdk's `/health`), record what they were asked, and can be stopped
and started again on the same port, so "Rasa went down and came back" is a
real refused connection, not a mock.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.test_utils import TestServer

T = TypeVar("T")

RASA_TOKEN = "s3cret-rasa-token"


class FakeRasa:
    """A Rasa server whose replies depend on its `language` slot.

    Replies are "You said: <text>" (en) or "收到:<text>" (zh), each with a
    quick-reply button, followed by an image-only element the gateway must
    skip. `events` records slot events and messages in arrival order.

    Like the real server with its SQL tracker store, a conversation's session
    starts on its first message or event. The first message's metadata sets
    the language (our `action_session_start` does that); a slot event that
    itself creates the tracker is stamped before that session start and so is
    lost from the session.
    """

    def __init__(self, token: str = RASA_TOKEN) -> None:
        self.token = token
        self.events: list[tuple[str, str, str]] = []  # (kind, sender, value)
        self.metadata: list[dict[str, Any]] = []
        self.slots: dict[str, dict[str, Any]] = {}
        self.sessions: set[str] = set()
        self.paused: set[str] = set()
        self.model_file: str | None = "models/20261123-test.tar.gz"
        self.failing_texts: set[str] = set()  # answered with HTTP 500
        # Texts answered with these elements instead of the echo.
        self.scripted: dict[str, list[dict[str, Any]]] = {}
        # What the bot says when an intent is triggered (none unless scripted).
        self.intent_replies: dict[str, list[dict[str, Any]]] = {}
        self.mode = "ok"  # ok | error (503) | hang | garbage | rejected (401)
        self.hang_seconds = 5.0
        self.bad_token_attempts = 0
        # Runs during a turn, like an action server writing to the database.
        self.during_turn: Callable[[str, str], Awaitable[None]] | None = None

    def messages(self, sender: str | None = None) -> list[str]:
        return [v for kind, s, v in self.events if kind == "message" and sender in (None, s)]

    def slot_events(self, sender: str | None = None) -> list[str]:
        return [v for kind, s, v in self.events if kind == "slot" and sender in (None, s)]

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", self._webhook)
        app.router.add_post("/conversations/{sender}/tracker/events", self._tracker_events)
        app.router.add_post("/conversations/{sender}/trigger_intent", self._trigger_intent)
        app.router.add_get("/status", self._status)
        return app

    async def _misbehave(self) -> web.Response | None:
        if self.mode == "error":
            return web.json_response({"message": "model not ready"}, status=503)
        if self.mode == "hang":
            await asyncio.sleep(self.hang_seconds)
        if self.mode == "garbage":
            return web.Response(text="<html>proxy error</html>", content_type="text/html")
        if self.mode == "rejected":
            return web.json_response({"message": "unauthorized"}, status=401)
        return None

    def _authorised(self, request: web.Request) -> bool:
        if request.query.get("token") == self.token:
            return True
        self.bad_token_attempts += 1
        return False

    async def _webhook(self, request: web.Request) -> web.Response:
        if (failure := await self._misbehave()) is not None:
            return failure
        body = await request.json()
        sender, text = body["sender"], body["message"]
        if text in self.failing_texts:
            return web.json_response({"error": "boom"}, status=500)
        self.events.append(("message", sender, text))
        if self.during_turn is not None:
            await self.during_turn(sender, text)
        metadata = body.get("metadata") or {}
        self.metadata.append(metadata)
        if sender not in self.sessions:
            self.sessions.add(sender)
            if metadata.get("language"):
                self.slots.setdefault(sender, {})["language"] = metadata["language"]
        if sender in self.paused:  # logged, never answered (Rasa's human handoff)
            return web.json_response([])
        zh = self.slots.get(sender, {}).get("language") == "zh"
        if text in self.scripted:
            return web.json_response(
                [{"recipient_id": sender, **element} for element in self.scripted[text]]
            )
        return web.json_response(
            [
                {
                    "recipient_id": sender,
                    "text": f"收到:{text}" if zh else f"You said: {text}",
                    "buttons": [{"title": "是" if zh else "Yes", "payload": "/affirm"}],
                },
                {"recipient_id": sender, "image": "https://example.invalid/a.png"},
            ]
        )

    async def _tracker_events(self, request: web.Request) -> web.Response:
        if (failure := await self._misbehave()) is not None:
            return failure
        if not self._authorised(request):
            return web.json_response({"message": "unauthorized"}, status=401)
        sender = request.match_info["sender"]
        body = await request.json()
        for event in body if isinstance(body, list) else [body]:
            assert isinstance(event["timestamp"], float)
            self._apply(sender, event)
        return web.json_response({"sender_id": sender, "events": []})

    def _apply(self, sender: str, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "pause":
            self.paused.add(sender)
            self.events.append(("pause", sender, ""))
        elif kind == "resume":
            self.paused.discard(sender)
            self.events.append(("resume", sender, ""))
        elif kind == "bot":
            self.events.append(("bot", sender, f"{event['metadata']['author']}:{event['text']}"))
        else:
            assert kind == "slot", kind
            if sender in self.sessions:
                self.slots.setdefault(sender, {})[event["name"]] = event["value"]
            self.events.append(("slot", sender, f"{event['name']}={event['value']}"))
        self.sessions.add(sender)  # a first event starts the session and is lost from it

    async def _trigger_intent(self, request: web.Request) -> web.Response:
        if (failure := await self._misbehave()) is not None:
            return failure
        if not self._authorised(request):
            return web.json_response({"message": "unauthorized"}, status=401)
        sender = request.match_info["sender"]
        body = await request.json()
        self.sessions.add(sender)
        if sender in self.paused:
            return web.json_response({"tracker": {"sender_id": sender}, "messages": []})
        entities = ",".join(f"{k}={v}" for k, v in sorted((body.get("entities") or {}).items()))
        self.events.append(("intent", sender, f"{body['name']}:{entities}"))
        said = [{"recipient_id": sender, **m} for m in self.intent_replies.get(body["name"], [])]
        return web.json_response({"tracker": {"sender_id": sender}, "messages": said})

    async def _status(self, request: web.Request) -> web.Response:
        if (failure := await self._misbehave()) is not None:
            return failure
        if not self._authorised(request):
            return web.json_response({"message": "unauthorized"}, status=401)
        body: dict[str, Any] = {"model_id": "abc123", "num_active_training_jobs": 0}
        if self.model_file is not None:
            body["model_file"] = self.model_file
        return web.json_response(body)


class FakeActionServer:
    """rasa-sdk's `/health`, answering `{"status": "ok"}` unless told otherwise."""

    def __init__(self) -> None:
        self.status = 200

    def make_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/health", self._health)
        return app

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"}, status=self.status)


class LoopbackServer:
    """An app served on 127.0.0.1 that can be stopped and restarted on its port."""

    def __init__(self, make_app: Callable[[], web.Application]) -> None:
        self._make_app = make_app
        self._server: TestServer | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        assert self.port is not None, "start the server first"
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        server = TestServer(self._make_app(), host="127.0.0.1", port=self.port or 0)
        await server.start_server()
        self._server, self.port = server, server.port

    async def stop(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 5.0, interval: float = 0.02
) -> T:
    """Poll `probe` until it returns something other than None (or fail)."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result is not None:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)
