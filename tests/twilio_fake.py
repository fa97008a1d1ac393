"""A stand-in for Twilio: its REST API on loopback, and signed webhook requests.

`FakeTwilioApi` implements the two endpoints the gateway calls,
`POST /2010-04-01/Accounts/{sid}/Messages.json` and `…/Calls.json`, with
Twilio's Basic auth, form bodies and JSON answers, and records what it was
sent, so tests run the real Twilio SDK (pointed here by `TWILIO_API_BASE`).
`sign` produces `X-Twilio-Signature` the way Twilio does.
"""

from __future__ import annotations

import base64
import itertools
from dataclasses import dataclass, field
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
    unauthorised: int = 0
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def make_app(self) -> web.Application:
        app = web.Application()
        base = "/2010-04-01/Accounts/{account_sid}"
        app.router.add_post(base + "/Messages.json", self._messages)
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
        if refusal is not None:
            return form, self._error(refusal.status, refusal.code, refusal.message)
        form["Sid"] = f"{prefix}{next(self._ids):032x}"
        store.append(form)
        return form, None

    def _resource(self, form: dict[str, str], kind: str) -> dict[str, Any]:
        return {
            "account_sid": self.account_sid,
            "sid": form["Sid"],
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "date_created": "Mon, 23 Nov 2026 10:00:00 +0000",
            "api_version": "2010-04-01",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}/{kind}/{form['Sid']}.json",
        }

    async def _messages(self, request: web.Request) -> web.Response:
        form, failure = await self._create(request, "SM", self.messages)
        if failure is not None:
            return failure
        resource = self._resource(form, "Messages")
        resource.update(body=form.get("Body"), num_segments="1", direction="outbound-api")
        return web.json_response(resource, status=201)

    async def _calls(self, request: web.Request) -> web.Response:
        form, failure = await self._create(request, "CA", self.calls)
        if failure is not None:
            return failure
        resource = self._resource(form, "Calls")
        resource.update(direction="outbound-api")
        return web.json_response(resource, status=201)
