"""`GET /openapi.json`: an OpenAPI 3.0 description of the gateway's public endpoints.

Written by hand from the handlers (CONTRACT.md §2) and kept next to them by
the constants they share; the fuzz tests (tests/integration/
test_fuzz_public_endpoints.py) generate their requests from it, so a
parameter added to a handler but not here goes unfuzzed. The agent desk is
not described: it is for signed-in staff, not the public.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.channels.inbound import MAX_TEXT_CHARS
from bot.gateway.chat import CLIENT_MESSAGE_ID_PATTERN, CONVERSATION_ID_PATTERN, MESSAGES_PAGE_SIZE
from bot.gateway.twilio_voice import MAX_SILENCES, MAX_TURN
from bot.gateway.twilio_webhook import MAX_FORM_FIELDS, PHONE, SID

OPENAPI_PATH = "/openapi.json"

_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {_JSON: {"schema": schema}}, **extra}


def _text(description: str, media_type: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}}}}


_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds until the rate-limit window ends.",
        "schema": {"type": "integer", "minimum": 1},
    }
}
_OPERATORS_ONLY = (
    "Operators only: served to loopback clients and to requests with "
    "`Authorization: Bearer <METRICS_TOKEN>`; anyone else gets 404. Not rate limited."
)
_TOO_MANY = _json(
    _ref("Error"), "Over a rate limit (per client IP or per conversation).", headers=_RETRY_AFTER
)
_TOO_LARGE_JSON = _json(_ref("Error"), "The declared body is larger than the gateway accepts.")
_ACCEPT_LANGUAGE = {
    "name": "Accept-Language",
    "in": "header",
    "required": False,
    "description": "Chooses English or Chinese when nothing else has.",
    "schema": {"type": "string"},
}
_SIGNATURE = {
    "name": "X-Twilio-Signature",
    "in": "header",
    "required": True,
    "description": "Twilio's HMAC-SHA1 of PUBLIC_BASE_URL + path + sorted form parameters.",
    "schema": {"type": "string"},
}


def _twilio_operation(summary: str, form: str, *, parameters: list[Any] | None = None) -> Any:
    return {
        "summary": summary,
        "security": [{"twilioSignature": []}],
        "parameters": [_SIGNATURE, *(parameters or [])],
        "requestBody": {"required": True, "content": {_FORM: {"schema": _ref(form)}}},
        "responses": {
            "200": _text("TwiML.", "text/xml"),
            "400": _text("Signed, but not what Twilio sends (missing SID, bad counter, …)."),
            "403": _text("No signature, a wrong one, or no auth token configured."),
            "413": _text("The declared body is larger than the gateway accepts."),
            "503": _text("The database is unavailable; Twilio retries or logs it."),
        },
    }


def _string(description: str, **extra: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **extra}


_PHONE = _string("E.164 phone number (or a client id Twilio uses).", example="+14155550101")
_SID = _string("A Twilio SID.", pattern=SID.pattern, example="SM" + "0" * 32)

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {"type": "string"}},
    },
    "Button": {
        "type": "object",
        "required": ["title", "payload"],
        "properties": {"title": {"type": "string"}, "payload": {"type": "string"}},
    },
    "ChatRequest": {
        "type": "object",
        "required": ["conversation_id", "text"],
        "properties": {
            "conversation_id": {"type": "string", "pattern": CONVERSATION_ID_PATTERN},
            "text": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_TEXT_CHARS,
                "description": "Control characters are removed; a card number is masked.",
            },
            "language": {"type": "string", "enum": ["en", "zh"]},
            "client_message_id": {
                "type": "string",
                "pattern": CLIENT_MESSAGE_ID_PATTERN,
                "description": (
                    "The client's id for this message: sending it again (after a lost "
                    "answer) returns the first answer instead of starting a second turn."
                ),
            },
        },
    },
    "ChatReply": {
        "type": "object",
        "required": ["conversation_id", "messages", "handed_off"],
        "properties": {
            "conversation_id": {"type": "string"},
            "messages": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["text", "buttons"],
                    "properties": {
                        "text": {"type": "string"},
                        "buttons": {"type": "array", "items": _ref("Button")},
                    },
                },
            },
            "handed_off": {"type": "boolean"},
        },
    },
    "MessagesPage": {
        "type": "object",
        "required": ["messages", "pending"],
        "properties": {
            "messages": {
                "type": "array",
                "maxItems": MESSAGES_PAGE_SIZE,
                "items": {
                    "type": "object",
                    "required": ["id", "text", "buttons", "author"],
                    "properties": {
                        "id": {"type": "integer"},
                        "text": {"type": "string"},
                        "buttons": {"type": "array", "items": _ref("Button")},
                        "author": {"type": "string", "description": "bot, system or agent:…"},
                    },
                },
            },
            "pending": {"type": "boolean", "description": "A reply is still owed."},
            "handed_off": {
                "type": "boolean",
                "description": "A person has the conversation, or it waits for one.",
            },
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "HealthDetails": {
        "type": "object",
        "required": ["status", "checks", "inbox"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "checks": {
                "type": "object",
                "description": (
                    "Per dependency (database, rasa, action_server, redis when configured): "
                    "status ok/down, latency_ms and detail; twilio: configured or not."
                ),
                "additionalProperties": {"type": "object"},
            },
            "inbox": {
                "type": "object",
                "description": "unfinished, oldest_age_seconds, waiting_for_person.",
            },
        },
    },
    "SmsWebhook": {
        "type": "object",
        "description": f"Twilio's Messaging webhook (at most {MAX_FORM_FIELDS} fields).",
        "required": ["MessageSid", "From"],
        "properties": {
            "MessageSid": _SID,
            "SmsSid": _SID,
            "AccountSid": _SID,
            "MessagingServiceSid": _SID,
            "From": {**_PHONE, "pattern": PHONE.pattern},
            "To": _PHONE,
            "Body": _string("The text (2,000 characters are read)."),
            "NumMedia": _string("Count of attached media.", pattern="^[0-9]+$"),
            "OptOutType": _string("Set when Twilio's Advanced Opt-Out matched a keyword."),
        },
    },
    "VoiceWebhook": {
        "type": "object",
        "required": ["CallSid"],
        "properties": {
            "CallSid": _SID,
            "AccountSid": _SID,
            "From": _PHONE,
            "To": _PHONE,
            "CallStatus": _string("ringing, in-progress, …"),
            "Direction": _string("inbound, outbound-api, …"),
            "AnsweredBy": _string("On calls we placed: human, machine_start, fax, …"),
        },
    },
    "GatherWebhook": {
        "type": "object",
        "required": ["CallSid"],
        "properties": {
            "CallSid": _SID,
            "AccountSid": _SID,
            "From": _PHONE,
            "To": _PHONE,
            "CallStatus": _string("in-progress, …"),
            "Direction": _string("inbound, outbound-api, …"),
            "SpeechResult": _string("What the caller said, as recognised."),
            "Confidence": _string("Recognition confidence, 0-1."),
            "Digits": _string("Keys pressed ('*' switches language)."),
        },
    },
    "StatusCallback": {
        "description": "A message's status, or a call's.",
        "oneOf": [_ref("MessageStatusCallback"), _ref("CallStatusCallback")],
    },
    "MessageStatusCallback": {
        "type": "object",
        "required": ["MessageSid", "MessageStatus"],
        "properties": {
            "MessageSid": _SID,
            "SmsSid": _SID,
            "MessageStatus": _string(
                "queued, sent, delivered, undelivered, failed, …",
                enum=["queued", "sending", "sent", "delivered", "undelivered", "failed"],
            ),
            "SmsStatus": _string("The older name of MessageStatus."),
            "ErrorCode": _string("Twilio's error code, when it failed.", pattern="^[0-9]{0,6}$"),
            "AccountSid": _SID,
        },
    },
    "CallStatusCallback": {
        "type": "object",
        "required": ["CallSid", "CallStatus"],
        "properties": {
            "CallSid": _SID,
            "CallStatus": _string(
                "completed, busy, no-answer, failed, …",
                enum=[
                    "queued",
                    "ringing",
                    "in-progress",
                    "completed",
                    "busy",
                    "no-answer",
                    "failed",
                    "canceled",
                ],
            ),
            "AnsweredBy": _string("human, machine_start, fax, …"),
            "ErrorCode": _string("Twilio's error code, when it failed.", pattern="^[0-9]{0,6}$"),
            "AccountSid": _SID,
        },
    },
}


def describe() -> dict[str, Any]:
    """The OpenAPI document (a new dict each call)."""
    conversation_id = {
        "name": "conversation_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": CONVERSATION_ID_PATTERN},
    }
    paths: dict[str, Any] = {
        "/api/chat": {
            "post": {
                "summary": "Send one web chat message; the bot's answer comes back.",
                "parameters": [_ACCEPT_LANGUAGE],
                "requestBody": {
                    "required": True,
                    "content": {_JSON: {"schema": _ref("ChatRequest")}},
                },
                "responses": {
                    "200": _json(
                        _ref("ChatReply"), "The bot's answer (or a saved-for-later note)."
                    ),
                    "400": _json(_ref("Error"), "Bad input: what is wrong, in words."),
                    "409": _json(_ref("Error"), "The id belongs to an SMS or voice conversation."),
                    "413": _TOO_LARGE_JSON,
                    "429": _TOO_MANY,
                    "503": _json(_ref("Error"), "The database is down; nothing was saved."),
                },
            }
        },
        "/api/chat/{conversation_id}/messages": {
            "get": {
                "summary": "Messages after a cursor, and whether a reply is still owed.",
                "parameters": [
                    conversation_id,
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "description": "The last message id seen (default 0).",
                        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
                    },
                ],
                "responses": {
                    "200": _json(_ref("MessagesPage"), "Up to 200 messages."),
                    "400": _json(_ref("Error"), "A malformed id or cursor."),
                    "404": _json(_ref("Error"), "Not a web conversation."),
                    "429": _TOO_MANY,
                    "503": _json(_ref("Error"), "The database is down."),
                },
            }
        },
        "/healthz": {
            "get": {
                "summary": "200 only when the database, Rasa and the action server answer.",
                "responses": {
                    "200": _json(_ref("Health"), "Every part is up."),
                    "429": _json(_ref("Error"), "Over the per-IP limit.", headers=_RETRY_AFTER),
                    "503": _json(_ref("Health"), "Which part is down."),
                },
            }
        },
        "/healthz/details": {
            "get": {
                "summary": "Each dependency's status, latency and detail, and the inbox backlog.",
                "description": _OPERATORS_ONLY,
                "security": [{}, {"metricsToken": []}],
                "responses": {
                    "200": _json(_ref("HealthDetails"), "Every core part is up."),
                    "404": _text("Not a loopback client and no valid token."),
                    "503": _json(_ref("HealthDetails"), "A core part is down."),
                },
            }
        },
        "/metrics": {
            "get": {
                "summary": "Prometheus metrics (text exposition format 0.0.4).",
                "description": _OPERATORS_ONLY,
                "security": [{}, {"metricsToken": []}],
                "responses": {
                    "200": _text("The metrics."),
                    "404": _text("Not a loopback client and no valid token."),
                },
            }
        },
        "/pay/{token}": {
            "get": {
                "summary": "The page a signed payment link opens (30 minutes, one account).",
                "parameters": [
                    {"name": "token", "in": "path", "required": True, "schema": {"type": "string"}},
                    {
                        "name": "lang",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": ["en", "zh"]},
                    },
                    _ACCEPT_LANGUAGE,
                ],
                "responses": {
                    "200": _text("What is due (never asks for a card number).", "text/html"),
                    "410": _text("An expired or forged link.", "text/html"),
                    "429": {**_text("Over the per-IP limit."), "headers": _RETRY_AFTER},
                },
            }
        },
        "/twilio/sms": {
            "post": _twilio_operation("Twilio Messaging webhook: a text came in.", "SmsWebhook")
        },
        "/twilio/voice": {
            "post": _twilio_operation("Twilio Voice webhook: a call connected.", "VoiceWebhook")
        },
        "/twilio/voice/gather": {
            "post": _twilio_operation(
                "The caller's answer to turn `turn` (a <Gather> action).",
                "GatherWebhook",
                parameters=[
                    {
                        "name": "turn",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_TURN},
                    },
                    {
                        "name": "silence",
                        "in": "query",
                        "required": False,
                        "description": "Silences in a row so far.",
                        "schema": {"type": "integer", "minimum": 0, "maximum": MAX_SILENCES},
                    },
                ],
            )
        },
        "/twilio/status": {
            "post": _twilio_operation(
                "Twilio status callback (messages and calls).", "StatusCallback"
            )
        },
        OPENAPI_PATH: {
            "get": {
                "summary": "This description.",
                "responses": {"200": {"description": "OpenAPI 3.0", "content": {_JSON: {}}}},
            }
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Cardbot gateway",
            "version": "1",
            "description": (
                "The public endpoints of the card assistant's gateway: the web chat API, "
                "Twilio's webhooks (signed), the payment link page and the health check; "
                "for operators, the detailed health view and Prometheus metrics. "
                "Web endpoints are rate limited per client IP and per conversation (429 with "
                "Retry-After); request bodies are limited in size (413)."
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "metricsToken": {"type": "http", "scheme": "bearer"},
                "twilioSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Twilio-Signature",
                },
            },
        },
    }


async def get_openapi(_request: web.Request) -> web.Response:
    """`GET /openapi.json`."""
    return web.json_response(describe(), headers={"Cache-Control": "no-cache"})


def add_routes(app: web.Application) -> None:
    app.router.add_get(OPENAPI_PATH, get_openapi)
