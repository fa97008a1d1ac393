"""Twilio's REST API through its own SDK, asynchronously.

The SDK's `AsyncTwilioHttpClient` (aiohttp underneath) keeps sends off the
event loop's critical path; Rasa's own Twilio connectors block it. The API's
base URL is configurable so tests run the real SDK against a loopback fake
(`TWILIO_API_BASE`); production leaves it at `https://api.twilio.com`.
Every way a send can fail becomes `SendFailed`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiohttp
import structlog
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from bot.settings import Settings

log = structlog.get_logger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"
STATUS_PATH = "/twilio/status"
VOICE_PATH = "/twilio/voice"
CALL_STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]
# Answering machines are detected and the voice webhook called after the
# beep (`AnsweredBy=machine_end_…`), so a voicemail gets the limited message.
MACHINE_DETECTION = "DetectMessageEnd"
_UNSET = "unconfigured"
# Looking a message up after a lost answer: how far back, and how many to read.
LOOKUP_SLACK = timedelta(minutes=2)
LOOKUP_LIMIT = 50


class SendFailed(Exception):
    """Twilio did not accept the message or call; `code` is Twilio's error code if any.

    `unconfirmed` means the request may have reached Twilio but no answer came
    back (a timeout, a dropped connection): it may have been sent, so it must
    not simply be sent again (see `find_sms`).
    """

    def __init__(self, message: str, code: int | None = None, *, unconfirmed: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.unconfirmed = unconfirmed


@dataclass(frozen=True)
class Accepted:
    """Twilio queued it: its SID (for status callbacks) and initial status."""

    sid: str
    status: str


class TwilioRest:
    """Sends SMS and places calls from the configured number.

    Build it inside a running event loop (the aiohttp session needs one) and
    `close` it when done; the app factory does both.
    """

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sms_from: str,
        voice_from: str,
        api_base: str = DEFAULT_API_BASE,
        public_base_url: str | None = None,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._sms_from = sms_from
        self._voice_from = voice_from
        self._public = public_base_url.rstrip("/") if public_base_url else None
        self._timeout = timeout_seconds
        self._http = AsyncTwilioHttpClient(timeout=timeout_seconds)
        # Credentials come from Settings only: the SDK falls back to the
        # process's TWILIO_* variables for empty ones, so those get a
        # placeholder (nothing is sent unless `configured`).
        self._client = Client(account_sid or _UNSET, auth_token or _UNSET, http_client=self._http)
        # The `api` domain (2010-04-01 Messages and Calls) is created once and
        # cached by the client, so its base URL can be pointed elsewhere.
        self._client.api.base_url = api_base.rstrip("/")
        self.configured = bool(account_sid and auth_token)

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioRest:
        public = str(settings.public_base_url) if settings.public_base_url else None
        api_base = str(settings.twilio_api_base) if settings.twilio_api_base else DEFAULT_API_BASE
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token.get_secret_value(),
            sms_from=settings.twilio_sms_from or settings.twilio_from_number,
            voice_from=settings.twilio_voice_from or settings.twilio_from_number,
            api_base=api_base,
            public_base_url=public,
            timeout_seconds=settings.twilio_timeout_seconds,
        )

    def public_url(self, path: str) -> str | None:
        """An absolute URL on the gateway for Twilio to call, if it is public."""
        return f"{self._public}{path}" if self._public else None

    async def send_sms(self, to: str, body: str) -> Accepted:
        """Queue one text message.

        When Twilio's answer is lost (timeout, dropped connection) the message
        may exist anyway: Twilio's own list of messages is asked once, and a
        match is taken as the answer, so the caller neither sends it again
        nor records a failure for a text the cardholder got.

        Raises:
            SendFailed: not configured, refused by Twilio, or Twilio unreachable
                (`unconfirmed` when it may have been sent after all).
        """
        if not (self.configured and self._sms_from):
            raise SendFailed("Twilio SMS is not configured")
        since = datetime.now(timezone.utc)
        try:
            message = await self._call(
                "sms",
                self._client.api.v2010.account.messages.create_async(
                    to=to,
                    from_=self._sms_from,
                    body=body,
                    status_callback=self.public_url(STATUS_PATH),
                ),
            )
        except SendFailed as error:
            if not error.unconfirmed:
                raise
            try:
                found = await self.find_sms(to, body, since)
            except SendFailed:
                raise error from None
            if found is None:
                raise
            log.warning("twilio.answer_lost_but_sent", what="sms", sid=found.sid)
            return found
        return Accepted(str(message.sid), str(message.status))

    async def find_sms(self, to: str, body: str, since: datetime) -> Accepted | None:
        """A message with this body sent to `to` since `since`, per Twilio's records.

        Raises:
            SendFailed: the lookup itself failed (nothing can be said either way).
        """
        if not (self.configured and self._sms_from):
            return None
        after = since - LOOKUP_SLACK
        messages = await self._call(
            "sms lookup",
            self._client.api.v2010.account.messages.list_async(
                to=to, from_=self._sms_from, date_sent_after=after, limit=LOOKUP_LIMIT
            ),
        )
        for message in messages:
            created = message.date_created
            if message.body == body and (created is None or created >= after):
                return Accepted(str(message.sid), str(message.status))
        return None

    async def place_call(self, to: str) -> Accepted:
        """Start an outbound call whose TwiML comes from the gateway's voice webhook.

        Raises:
            SendFailed: not configured (no public URL either), refused, unreachable.
        """
        url = self.public_url(VOICE_PATH)
        if not (self.configured and self._voice_from and url):
            raise SendFailed("Twilio voice is not configured")
        status_callback = self.public_url(STATUS_PATH)
        call = await self._call(
            "call",
            self._client.api.v2010.account.calls.create_async(
                to=to,
                from_=self._voice_from,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_event=CALL_STATUS_EVENTS if status_callback else None,
                status_callback_method="POST",
                machine_detection=MACHINE_DETECTION,
            ),
        )
        return Accepted(str(call.sid), str(call.status))

    async def _call(self, what: str, request: Awaitable[Any]) -> Any:
        try:
            return await asyncio.wait_for(request, timeout=self._timeout)
        except TwilioRestException as error:
            # Twilio answered with an error: nothing was created (429, 5xx included).
            log.warning("twilio.refused", what=what, status=error.status, code=error.code)
            raise SendFailed(f"Twilio refused the {what}: {error.msg}", error.code) from None
        except aiohttp.ConnectionTimeoutError as error:
            # No connection within the time: the request never reached Twilio.
            log.warning("twilio.unreachable", what=what, error=type(error).__name__)
            raise SendFailed(f"Twilio unreachable ({type(error).__name__})") from None
        except asyncio.TimeoutError:
            log.warning("twilio.timeout", what=what, seconds=self._timeout)
            raise SendFailed(
                f"unconfirmed: Twilio did not answer within {self._timeout:g}s", unconfirmed=True
            ) from None
        except aiohttp.ClientConnectorError as error:
            # No connection was made: the request never reached Twilio.
            log.warning("twilio.unreachable", what=what, error=type(error).__name__)
            raise SendFailed(f"Twilio unreachable ({type(error).__name__})") from None
        except (aiohttp.ClientError, TwilioException, ValueError) as error:
            # Sent, but the answer broke off or is not the JSON resource the SDK
            # expects (ValueError): Twilio may have acted on it.
            log.warning("twilio.answer_lost", what=what, error=type(error).__name__)
            raise SendFailed(
                f"unconfirmed: no usable answer from Twilio ({type(error).__name__})",
                unconfirmed=True,
            ) from None

    async def close(self) -> None:
        await self._http.close()
