"""Structured logging for every gateway-side process.

One pipeline for our own `structlog` loggers and for the standard library's
(aiohttp, SQLAlchemy, asyncio), so an operator gets one format: JSON lines for
machines, or a readable console for a developer. Logs carry ids (conversation,
inbox row, status codes), never what a cardholder wrote or their phone number;
a redacting step drops such fields if a call site passes them by mistake.
"""

from __future__ import annotations

import logging
import sys

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

# Libraries whose INFO chatter drowns what matters.
_QUIET_LOGGERS = ("aiohttp.access", "sqlalchemy.engine", "asyncio")


def redact_sensitive(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Replace the value of any sensitive key with a marker (defence in depth)."""
    for key in SENSITIVE_KEYS.intersection(event_dict):
        event_dict[key] = REDACTED
    return event_dict


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
    if settings.log_format == "json":
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    return [structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())]


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
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
