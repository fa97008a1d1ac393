"""Structured logging for every gateway-side process.

One pipeline for our own `structlog` loggers and for the standard library's
(aiohttp, SQLAlchemy, asyncio), so an operator gets one format: JSON lines for
machines, or a readable console for a developer. Logs carry ids (conversation,
inbox row, status codes), never what a cardholder wrote or their phone number;
a redacting step drops such fields if a call site passes them by mistake.

An SMS conversation's id is made of the sender's number (`sms:14155550101`),
and numbers turn up inside other strings too (a path, a driver's error), so
the last step before rendering replaces every phone-number-like run of digits
in any value with a keyed pseudonym (`tel#5e0c9a41b7`): the same number gets
the same pseudonym across lines and processes sharing `SESSION_SECRET`, so a
conversation can still be followed, and the number cannot be read back.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import sys
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from bot.settings import Settings

# Keys whose values must never reach a log line, whatever the call site does.
SENSITIVE_KEYS = frozenset(
    {
        "text",
        "message_text",
        "body",
        "phone",
        "phone_number",
        "from_number",
        "to_number",
        "address",
        "token",
        "password",
        "secret",
        "authorization",
        "date_of_birth",
    }
)
REDACTED = "[redacted]"
# E.164 numbers with or without "+", standing alone (not part of a SID or a word).
PHONE_PATTERN = re.compile(r"(?<![0-9A-Za-z])\+?[0-9]{10,15}(?![0-9A-Za-z])")
PSEUDONYM_PREFIX = "tel#"

# Libraries whose INFO chatter drowns what matters (the Twilio SDK logs every
# request), or whose DEBUG lines quote SQL parameters (aiosqlite, psycopg).
QUIET_LOGGERS = (
    "aiohttp.access",
    "sqlalchemy.engine",
    "asyncio",
    "aiosqlite",
    "psycopg",
    "twilio",
)


def redact_sensitive(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any sensitive key with a marker (defence in depth)."""
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


class PhonePseudonymiser:
    """Replaces phone numbers in every logged string with a keyed digest."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    @classmethod
    def from_settings(cls, settings: Settings) -> PhonePseudonymiser:
        """Keyed by `SESSION_SECRET` (a random per-process key when it is unset)."""
        secret = settings.session_secret.get_secret_value().encode() or secrets.token_bytes(32)
        return cls(hmac.new(secret, b"cardbot log pseudonyms", hashlib.sha256).digest())

    def pseudonym(self, number: str) -> str:
        """The stable stand-in for a number ("+1415…" and "1415…" alike)."""
        digits = number.lstrip("+").encode()
        return PSEUDONYM_PREFIX + hashlib.blake2b(digits, key=self._key, digest_size=5).hexdigest()

    def __call__(self, _logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
        for key, value in event_dict.items():
            event_dict[key] = self._scrub(value)
        return event_dict

    def _scrub(self, value: Any) -> Any:
        if isinstance(value, str):
            return PHONE_PATTERN.sub(lambda match: self.pseudonym(match.group()), value)
        if isinstance(value, dict):
            return {key: self._scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self._scrub(item) for item in value]  # rendered as a list anyway
        return value


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        redact_sensitive,
    ]


def _renderer(settings: Settings) -> list[Processor]:
    # Pseudonymised last, after tracebacks are text: they can quote numbers too.
    pseudonymise = PhonePseudonymiser.from_settings(settings)
    if settings.log_format == "json":
        return [
            structlog.processors.format_exc_info,
            pseudonymise,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    return [pseudonymise, structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging through one renderer at one level.

    Safe to call more than once (tests, a re-exec'd server): it replaces the
    root handlers instead of adding to them.
    """
    level = logging.getLevelName(settings.log_level)
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(settings),
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
