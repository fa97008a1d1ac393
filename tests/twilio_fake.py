"""A stand-in for Twilio: its REST API on loopback, and signed webhook requests.

`FakeTwilioApi` implements the two endpoints the gateway calls,
`POST /2010-04-01/Accounts/{sid}/Messages.json` and `…/Calls.json`, with
Twilio's Basic auth, form bodies and JSON answers, and records what it was
sent, so tests run the real Twilio SDK (pointed here by `TWILIO_API_BASE`).
`sign` produces `X-Twilio-Signature` the way Twilio does.

Faults: `refusals` refuse by recipient, `refuse_next` refuses the next
requests whatever their recipient (a 500 or a 429, then recovery), and
`answer_delay` accepts a message (it is stored, so it is sent) but answers
only after that many seconds, like a Twilio whose answer is lost to a client
timeout. `GET …/Messages.json` lists what was accepted, filtered by `To`
and `From` as Twilio does, so a client can look a message up.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "fake-twilio-auth-token"
FROM_NUMBER = "+15005550006"
PUBLIC_BASE_URL = "https://bot.example.com"


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    """`X-Twilio-Signature` for a form POST to `url` (the full public URL)."""
    return str(RequestValidator(token).compute_signature(url, params))


@dataclass
class Refusal:
    """How the fake refuses a send: Twilio's HTTP status, error code and message."""

    status: int
    code: int
    message: str


@dataclass
class FakeTwilioApi:
    account_sid: str = ACCOUNT_SID
    auth_token: str = AUTH_TOKEN
    messages: list[dict[str, str]] = field(default_factory=list)
    calls: list[dict[str, str]] = field(default_factory=list)
    refusals: dict[str, Refusal] = field(default_factory=dict)  # by recipient number
    refuse_next: list[Refusal] = field(default_factory=list)  # the next requests, in order
    answer_delay: float = 0.0  # seconds between accepting a message and answering
    lookup_fails: bool = False  # GET Messages.json answers 503
    attempts: int = 0  # POSTs to Messages.json, refused ones included
    lookups: int = 0
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))
    unauthorised: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _created: dict[str, str] = field(default_factory=dict)  # date_created by SID

    def make_app(self) -> web.Application:
        app = web.Application()
        base = "/2010-04-01/Accounts/{account_sid}"
        app.router.add_post(base + "/Messages.json", self._messages)
        app.router.add_get(base + "/Messages.json", self._list_messages)
        app.router.add_post(base + "/Calls.json", self._calls)
        return app

    def bodies_to(self, number: str) -> list[str]:
        return [m["Body"] for m in self.messages if m["To"] == number]

    def _authorised(self, request: web.Request) -> bool:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        ok = request.headers.get("Authorization") == f"Basic {expected}"
        ok = ok and request.match_info["account_sid"] == self.account_sid
        if not ok:
            self.unauthorised += 1
        return ok

    @staticmethod
    def _error(status: int, code: int, message: str) -> web.Response:
        return web.json_response(
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": status,
            },
            status=status,
        )

    async def _create(
        self, request: web.Request, prefix: str, store: list[dict[str, str]]
    ) -> tuple[dict[str, str], web.Response | None]:
        if not self._authorised(request):
            return {}, self._error(401, 20003, "Authenticate")
        form = {
            key: value for key, value in (await request.post()).items() if isinstance(value, str)
        }
        refusal = self.refusals.get(form.get("To", ""))
        if refusal is None and self.refuse_next:
            refusal = self.refuse_next.pop(0)
        if refusal is not None:
            return form, self._error(refusal.status, refusal.code, refusal.message)
        form["Sid"] = f"{prefix}{next(self._ids):032x}"
        self._created[form["Sid"]] = format_datetime(self.clock(), usegmt=True)
        store.append(form)
        return form, None

    def _resource(self, form: dict[str, str], kind: str) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "sid": form["Sid"],
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "date_created": self._created.get(form["Sid"]),
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{form['Sid']}.json",
        }

    async def _messages(self, request: web.Request) -> web.Response:
        self.attempts += 1
        form, failure = await self._create(request, "SM", self.messages)
        if failure is not None:
            return failure
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)  # accepted: the answer is what is late
        return web.json_response(self._message(form), status=201)

    def _message(self, form: dict[str, str]) -> dict[str, Any]:
        resource = self._resource(form, "Messages")
        resource.update(body=form.get("Body"), num_segments="1", direction="outbound-api")
        return resource

    async def _list_messages(self, request: web.Request) -> web.Response:
        self.lookups += 1
        if not self._authorised(request):
            return self._error(401, 20003, "Authenticate")
        if self.lookup_fails:
            return self._error(503, 20500, "Service unavailable")
        wanted = {key: request.query[key] for key in ("To", "From") if key in request.query}
        found = [
            self._message(m)
            for m in reversed(self.messages)  # newest first, as Twilio lists them
            if all(m.get(key) == value for key, value in wanted.items())
        ]
        uri = request.path_qs
        return web.json_response(
            {
                "messages": found,
                "end": max(len(found) - 1, 0),
                "first_page_uri": uri,
                "next_page_uri": None,
                "page": 0,
                "page_size": 50,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    async def _calls(self, request: web.Request) -> web.Response:
        form, failure = await self._create(request, "CA", self.calls)
        if failure is not None:
            return failure
        resource = self._resource(form, "Calls")
        resource.update(direction="outbound-api")
        return web.json_response(resource, status=201)
