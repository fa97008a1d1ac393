"""What every Twilio webhook shares: a bounded form body, a valid signature.

Twilio signs each request with the account's auth token over the exact URL
it called plus the sorted form parameters. Behind a proxy the gateway cannot
see that URL, so it is rebuilt from `PUBLIC_BASE_URL` and the raw path and
query. A request without a valid signature gets 403 before anything in it is
looked at beyond what the check itself needs; so does every request while no
auth token is configured (an empty key would make signatures forgeable).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import structlog
from aiohttp import web
from multidict import MultiDict, MultiDictProxy
from twilio.request_validator import (
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    RequestValidator,
    get_signature_algorithm,
)

from bot.settings import Settings

log = structlog.get_logger(__name__)

MAX_FORM_BYTES = 256 * 1024  # Twilio's own are a few KB; room for odd bodies, no more
MAX_FORM_FIELDS = 200
FORM_TYPE = "application/x-www-form-urlencoded"
TWIML_TYPE = "text/xml"
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response />'
PHONE = re.compile(r"^\+?[0-9]{3,20}$")
SID = re.compile(r"^[A-Za-z0-9]{2,64}$")


class BadWebhook(Exception):
    """A signed request that is still not what Twilio sends (400)."""


def signed_url(request: web.Request, settings: Settings) -> str:
    """The URL Twilio signed: the public base plus the path and query as sent."""
    if settings.public_base_url is not None:
        return str(settings.public_base_url).rstrip("/") + request.raw_path
    return f"{request.scheme}://{request.host}{request.raw_path}"


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(
            max_size=MAX_FORM_BYTES, actual_size=request.content_length
        )
    body = bytearray()
    while chunk := await request.content.read(MAX_FORM_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise web.HTTPRequestEntityTooLarge(max_size=MAX_FORM_BYTES, actual_size=len(body))
    return bytes(body)


def _parse_form(request: web.Request, body: bytes) -> MultiDict[str]:
    if request.content_type != FORM_TYPE:
        raise BadWebhook(f"Content-Type must be {FORM_TYPE}")
    try:
        pairs = parse_qsl(
            body.decode("utf-8", errors="replace"),
            keep_blank_values=True,
            errors="replace",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError as error:
        raise BadWebhook("malformed form body") from error
    return MultiDict(pairs)


async def read_signed_form(request: web.Request, settings: Settings) -> MultiDictProxy[str]:
    """The webhook's form parameters, once the signature has been checked.

    Raises:
        web.HTTPForbidden: no token configured, no signature, or a wrong one.
        web.HTTPRequestEntityTooLarge: a body over `MAX_FORM_BYTES`.
        BadWebhook: a body that is not a form (after the signature matched
            an empty parameter set, which Twilio never sends).
    """
    token = settings.twilio_auth_token.get_secret_value()
    signature = request.headers.get(SIGNATURE_HEADER)
    if not token:
        log.warning("twilio.webhook_refused", path=request.path, reason="no auth token configured")
        raise web.HTTPForbidden(text="forbidden")
    if not signature:
        log.warning("twilio.webhook_refused", path=request.path, reason="no signature")
        raise web.HTTPForbidden(text="forbidden")
    body = await _read_body(request)
    try:
        form = _parse_form(request, body)
    except BadWebhook:
        form = MultiDict()
        malformed = True
    else:
        malformed = False
    algorithm = get_signature_algorithm(request.headers.get(SIGNATURE_SETTINGS_HEADER))
    url = signed_url(request, settings)
    if not RequestValidator(token).validate(url, form, signature, algorithm=algorithm):
        log.warning("twilio.webhook_refused", path=request.path, reason="bad signature")
        raise web.HTTPForbidden(text="forbidden")
    if malformed:
        raise BadWebhook(f"request body must be {FORM_TYPE} with at most {MAX_FORM_FIELDS} fields")
    return MultiDictProxy(form)


def twiml(xml: str, status: int = 200) -> web.Response:
    return web.Response(text=xml, status=status, content_type=TWIML_TYPE, charset="utf-8")


def unavailable() -> web.Response:
    """503: Twilio logs the failure; nothing internal is said."""
    return web.Response(text="temporarily unavailable", status=503, content_type="text/plain")


def bad_request(error: BadWebhook) -> web.Response:
    log.info("twilio.bad_request", reason=str(error))
    return web.Response(text=str(error), status=400, content_type="text/plain")


def phone_or_none(value: str | None) -> str | None:
    """A caller id that is a phone number (not "anonymous", "client:…")."""
    value = (value or "").strip()
    return value if PHONE.fullmatch(value) else None


def sid(params: MultiDictProxy[str], *names: str) -> str:
    """The first of the named SID parameters present.

    Raises:
        BadWebhook: if none is present or it does not look like a SID.
    """
    for name in names:
        value = params.get(name, "").strip()
        if value:
            if not SID.fullmatch(value):
                raise BadWebhook(f"{name} is not a Twilio SID")
            return value
    raise BadWebhook(f"{names[0]} is required")
