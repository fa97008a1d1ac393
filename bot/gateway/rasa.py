"""The Rasa server as the gateway sees it: a dialogue engine behind HTTP.

Every way Rasa can fail to answer (refused connection, timeout, 5xx, garbage
instead of JSON) becomes one named exception, `RasaUnavailable`, because the
caller's response is the same for all of them: keep the message and try
again later. A 4xx is different (our request or token is wrong, retrying will
not help by itself) and is `RasaRejected`. Error messages and log lines never
contain the URL: the HTTP API token travels in its query string.

A turn also fails when Rasa's action server is down before or during it
(`ActionServerDown`): Rasa itself answers 200 regardless, see
`bot.gateway.action_probe`.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import aiohttp
import structlog
from pydantic import SecretStr
from yarl import URL

from bot.gateway.action_probe import ActionServerProbe
from bot.gateway.metrics import GatewayMetrics
from bot.settings import Settings

log = structlog.get_logger(__name__)


class RasaError(Exception):
    """Rasa did not do what was asked."""


class RasaUnavailable(RasaError):
    """Rasa could not be reached or did not answer sensibly; retry later."""


class ActionServerDown(RasaUnavailable):
    """The action server was down before or during a turn; retry later.

    `turn_recorded` says Rasa ran the turn anyway (the action server went
    away during it): its tracker then holds a turn that must be undone
    before the message is replayed (`RasaClient.undo_turn`).
    """

    def __init__(self, message: str, *, turn_recorded: bool) -> None:
        super().__init__(message)
        self.turn_recorded = turn_recorded


class RasaRejected(RasaError):
    """Rasa refused the request (4xx): a wrong token or a malformed request."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class Button(NamedTuple):
    """A quick reply: what the user sees and what is sent back when tapped."""

    title: str
    payload: str


@dataclass(frozen=True)
class BotMessage:
    """One message the bot said, reduced to what every channel can show."""

    text: str
    buttons: tuple[Button, ...] = ()


@dataclass(frozen=True)
class RasaStatus:
    """What `GET /status` reports; a server without a model cannot answer anyone."""

    model_file: str | None
    model_id: str | None
    num_active_training_jobs: int

    @property
    def model_loaded(self) -> bool:
        return bool(self.model_file)


def _describe_client_error(error: aiohttp.ClientError) -> str:
    # Only the kind of failure: str() of some aiohttp errors includes the URL.
    if isinstance(error, aiohttp.ClientConnectorError):
        reason = error.os_error.strerror or type(error.os_error).__name__
        return f"cannot connect ({reason})"
    if isinstance(error, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "incomplete response"
    return type(error).__name__


def _parse_buttons(raw: Any) -> tuple[Button, ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        Button(title=item["title"], payload=item["payload"])
        for item in raw
        if isinstance(item, dict)
        and isinstance(item.get("title"), str)
        and isinstance(item.get("payload"), str)
    )


def parse_bot_messages(data: Any) -> list[BotMessage]:
    """The messages in a REST channel answer, keeping only text and buttons.

    Images, attachments and custom payloads have no place on SMS or voice and
    the web page does not show them yet, so they are skipped (and logged).

    Raises:
        RasaUnavailable: if the answer is not a list of objects.
    """
    if not isinstance(data, list):
        raise RasaUnavailable(f"webhook: expected a list, got {type(data).__name__}")
    messages = []
    for element in data:
        if not isinstance(element, dict):
            raise RasaUnavailable(f"webhook: expected objects, got {type(element).__name__}")
        text = element.get("text")
        buttons = _parse_buttons(element.get("buttons"))
        if not isinstance(text, str) and not buttons:
            log.debug("rasa.element_skipped", keys=sorted(element))
            continue
        messages.append(BotMessage(text=text if isinstance(text, str) else "", buttons=buttons))
    return messages


class RasaClient:
    """Talks to one Rasa server over its REST channel and HTTP API.

    The `aiohttp.ClientSession` is injected (the app owns its lifetime), so
    tests and the health check share one connection pool with production code.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        base_url: str,
        token: SecretStr,
        timeout_seconds: float,
        *,
        metrics: GatewayMetrics | None = None,
        actions: ActionServerProbe | None = None,
    ) -> None:
        self._http = http
        self._base = URL(base_url.rstrip("/"))
        self._token = token
        self._timeout = timeout_seconds
        self._metrics = metrics or GatewayMetrics()
        self._actions = actions

    @classmethod
    def from_settings(
        cls,
        http: aiohttp.ClientSession,
        settings: Settings,
        *,
        metrics: GatewayMetrics | None = None,
    ) -> RasaClient:
        return cls(
            http,
            str(settings.rasa_url),
            settings.rasa_token,
            settings.rasa_timeout_seconds,
            metrics=metrics,
            actions=ActionServerProbe(
                http,
                str(settings.action_server_url),
                timeout_seconds=min(2.0, settings.rasa_timeout_seconds),
            ),
        )

    async def send_message(
        self, sender: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Run one user turn through the REST channel and return the bot's answer.

        Raises:
            RasaError: `ActionServerDown` included, when the answer cannot be trusted.
        """
        await self._check_actions(after_turn=False)
        messages = await self._webhook(sender, text, metadata)
        await self._check_actions(after_turn=True)
        log.debug("rasa.replied", conversation_id=sender, messages=len(messages))
        return messages

    async def undo_turn(self, sender: str, *, restart: bool) -> None:
        """Take back a turn Rasa ran while its action server was down.

        The message will be replayed, so the turn must not stay: `rewind`
        reverts to before the latest user message. A conversation Rasa had
        never answered is `restart`ed instead, so that the replay starts its
        session (and sets its language) again: the failed turn's session
        start set nothing.
        """
        await self.append_events(sender, [{"event": "restart" if restart else "rewind"}])
        log.info("rasa.turn_undone", conversation_id=sender, restart=restart)

    async def action_server_problem(self) -> str | None:
        """Why the action server cannot serve a turn now, or None (also when unchecked)."""
        return None if self._actions is None else await self._actions.problem(fresh=True)

    async def _check_actions(self, *, after_turn: bool) -> None:
        if self._actions is None:
            return
        problem = await self._actions.problem(fresh=after_turn)
        if problem is not None:
            raise ActionServerDown(problem, turn_recorded=after_turn)

    async def _webhook(
        self, sender: str, text: str, metadata: dict[str, Any] | None
    ) -> list[BotMessage]:
        data = await self._request(
            "POST",
            self._base / "webhooks" / "rest" / "webhook",
            what="webhook",
            payload={"sender": sender, "message": text, "metadata": metadata or {}},
        )
        return parse_bot_messages(data)

    async def set_slot(self, sender: str, name: str, value: Any) -> None:
        """Set a slot on the conversation's tracker before the next user turn."""
        await self.append_events(sender, [{"event": "slot", "name": name, "value": value}])
        log.debug("rasa.slot_set", conversation_id=sender, slot=name)

    async def append_events(self, sender: str, events: list[dict[str, Any]]) -> None:
        """Append events to the conversation's tracker (no prediction runs).

        Each event without a timestamp gets the current time.
        """
        now = time.time()
        await self._request(
            "POST",
            self._base / "conversations" / sender / "tracker" / "events",
            what="tracker events",
            payload=[{"timestamp": now, **event} for event in events],
            params={"include_events": "NONE"},
            authenticated=True,
        )

    async def pause(self, sender: str) -> None:
        """Stop the bot from answering: while paused, messages are only logged.

        A person has the conversation (Rasa's own human-handoff mechanism:
        the tracker keeps every message, the policies predict nothing).
        """
        await self.append_events(sender, [{"event": "pause"}])

    async def log_paused(self, sender: str, text: str, metadata: dict[str, Any]) -> None:
        """Add a message to a conversation a person has, so the transcript is whole.

        The tracker is paused again first: an idle session may have expired
        and restarted (which unpauses it), and the bot must not answer.
        """
        await self.pause(sender)
        await self._webhook(sender, text, metadata)  # no actions run while paused

    async def log_agent_message(self, sender: str, text: str, author: str) -> None:
        """Record what a person said to the cardholder as a bot utterance."""
        await self.append_events(
            sender, [{"event": "bot", "text": text, "metadata": {"author": author}}]
        )

    async def resume(self, sender: str, language: str | None = None) -> None:
        """Let the bot answer again (after a person hands the conversation back)."""
        events: list[dict[str, Any]] = [{"event": "resume"}]
        if language is not None:
            events.append({"event": "slot", "name": "language", "value": language})
        await self.append_events(sender, events)

    async def trigger_intent(
        self, sender: str, intent: str, entities: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        """Inject an intent (e.g. the reminder a reply answers) as if the user said it.

        Rasa runs the turn and answers with what the bot said, collected, as
        the REST channel would; an intent the domain does not know is a 4xx.
        Checked against the action server like `send_message`.
        """
        await self._check_actions(after_turn=False)
        data = await self._request(
            "POST",
            self._base / "conversations" / sender / "trigger_intent",
            what="trigger intent",
            payload={"name": intent, "entities": entities or {}},
            params={"include_events": "NONE"},
            authenticated=True,
        )
        if not isinstance(data, dict):
            raise RasaUnavailable(f"trigger intent: expected an object, got {type(data).__name__}")
        messages = parse_bot_messages(data.get("messages", []))
        await self._check_actions(after_turn=True)
        log.debug("rasa.intent_triggered", conversation_id=sender, intent=intent)
        return messages

    async def status(self, timeout_seconds: float | None = None) -> RasaStatus:
        """What the server has loaded (the health check passes a shorter timeout)."""
        data = await self._request(
            "GET",
            self._base / "status",
            what="status",
            authenticated=True,
            timeout_seconds=timeout_seconds,
        )
        if not isinstance(data, dict):
            raise RasaUnavailable(f"status: expected an object, got {type(data).__name__}")
        model_file = data.get("model_file")
        model_id = data.get("model_id")
        jobs = data.get("num_active_training_jobs")
        return RasaStatus(
            model_file=model_file if isinstance(model_file, str) and model_file else None,
            model_id=model_id if isinstance(model_id, str) and model_id else None,
            num_active_training_jobs=jobs if isinstance(jobs, int) else 0,
        )

    async def _request(self, method: str, url: URL, *, what: str, **options: Any) -> Any:
        """`_exchange`, timed and counted per endpoint (`what`) and outcome."""
        started = time.perf_counter()
        ok = False
        try:
            result = await self._exchange(method, url, what=what, **options)
            ok = True
            return result
        finally:
            self._metrics.rasa_request(what, time.perf_counter() - started, ok=ok)

    async def _exchange(
        self,
        method: str,
        url: URL,
        *,
        what: str,
        payload: dict[str, Any] | list[dict[str, Any]] | None = None,
        params: dict[str, str] | None = None,
        authenticated: bool = False,
        timeout_seconds: float | None = None,
    ) -> Any:
        query = dict(params or {})
        token = self._token.get_secret_value()
        if authenticated and token:
            query["token"] = token
        seconds = self._timeout if timeout_seconds is None else timeout_seconds
        started = time.perf_counter()
        try:
            async with self._http.request(
                method,
                url.with_query(query) if query else url,
                json=payload,
                timeout=aiohttp.ClientTimeout(total=seconds),
            ) as response:
                status = response.status
                body = await response.read()
        except asyncio.TimeoutError:
            raise RasaUnavailable(f"{what}: no answer within {seconds:g}s") from None
        except aiohttp.ClientError as error:
            raise RasaUnavailable(f"{what}: {_describe_client_error(error)}") from None
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        if status >= 500:
            raise RasaUnavailable(f"{what}: HTTP {status}")
        if status >= 400:
            log.error("rasa.rejected", endpoint=what, status=status, elapsed_ms=elapsed_ms)
            raise RasaRejected(f"{what}: HTTP {status}", status)
        log.debug("rasa.answered", endpoint=what, status=status, elapsed_ms=elapsed_ms)
        try:
            return json.loads(body)
        except ValueError:
            raise RasaUnavailable(f"{what}: malformed JSON") from None
