"""The gateway's aiohttp application, built by `create_app` (polls-demo style).

Dependencies live under `web.AppKey`s. Tests inject a test database's session
factory or a Rasa client; anything not injected is built from `Settings` when
the app starts (never at import), and closed when it stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.outbound import OUTBOUND, Outbound
from bot.channels.twilio_rest import TwilioRest
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.desk import web as desk_web
from bot.desk.events import DeskEvents
from bot.desk.service import DeskService
from bot.gateway import chat, health, openapi, pay, twilio_sms, twilio_status, twilio_voice
from bot.gateway.chat import CHAT_SERVICE, ChatService
from bot.gateway.dialogue import DIALOGUE, DialogueService
from bot.gateway.health import HEALTH_CHECKER, HealthChecker
from bot.gateway.housekeeping import Housekeeping
from bot.gateway.inbox import RetryWorker
from bot.gateway.keys import SESSIONS, SETTINGS
from bot.gateway.locks import ConversationLocks
from bot.gateway.metrics import METRICS, GatewayMetrics, metrics_middleware
from bot.gateway.rasa import RasaClient
from bot.gateway.ratelimit import (
    ABUSE_LIMITS,
    RATE_LIMITER,
    AbuseLimits,
    RateLimiter,
    make_limiter,
    rate_limit_middleware,
    size_limit_middleware,
)
from bot.gateway.spool import SpoolReplayer
from bot.settings import Settings

log = structlog.get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
# Paths a cardholder's browser calls: never a 500 there (CONTRACT.md §2).
USER_API_PREFIX = "/api/chat"
_USER_API_ERROR = (
    "Sorry, something went wrong on our side. Please try again in a moment. "
    "/ 抱歉,系统出了点问题,请稍后再试。"
)
# The page loads nothing from anywhere else; say so to the browser.
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class GatewayOptions:
    """Tuning that tests shorten (production uses the defaults)."""

    retry_interval_seconds: float = 5.0
    max_attempts: int = 20
    health_timeout_seconds: float = 2.0
    housekeeping_interval_seconds: float = 900.0
    spool_replay_seconds: float = 5.0
    desk_poll_seconds: float = 1.0


OPTIONS = web.AppKey("options", GatewayOptions)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
RETRY_WORKER = web.AppKey("retry_worker", RetryWorker)
TWILIO_REST = web.AppKey("twilio_rest", TwilioRest)
INDEX_HTML = web.AppKey("index_html", str)
HOUSEKEEPING = web.AppKey("housekeeping", Housekeeping)
SPOOL_REPLAYER = web.AppKey("spool_replayer", SpoolReplayer)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn failures into JSON for API callers; never a 500 on the chat API."""
    user_api = request.path.startswith(USER_API_PREFIX)
    try:
        return await handler(request)
    except web.HTTPException as error:
        if error.status < 400 or not request.path.startswith("/api/"):
            raise
        status = 503 if user_api and error.status >= 500 else error.status
        response = web.json_response({"error": error.reason}, status=status)
        if "Allow" in error.headers:
            response.headers["Allow"] = error.headers["Allow"]
        return response
    except Exception:
        # Logged with its traceback; the caller gets no internals.
        log.exception("gateway.unhandled_error", method=request.method, path=request.path)
        request.app[METRICS].error("gateway")
        if user_api:
            return web.json_response({"error": _USER_API_ERROR}, status=503)
        return web.json_response({"error": "internal server error"}, status=500)


async def _nosniff(_request: web.Request, response: web.StreamResponse) -> None:
    response.headers.setdefault("X-Content-Type-Options", "nosniff")


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    if SESSIONS in app:  # injected (tests); its owner disposes of it
        yield
        return
    engine = make_async_engine(app[SETTINGS].database_url)
    app[SESSIONS] = make_async_sessionmaker(engine)
    yield
    await engine.dispose()


async def _http_ctx(app: web.Application) -> AsyncIterator[None]:
    async with aiohttp.ClientSession() as http:
        app[HTTP] = http
        if RASA not in app:
            app[RASA] = RasaClient.from_settings(http, app[SETTINGS], metrics=app[METRICS])
        yield


async def _twilio_ctx(app: web.Application) -> AsyncIterator[None]:
    if TWILIO_REST in app:  # injected; its owner closes it
        yield
        return
    rest = TwilioRest.from_settings(app[SETTINGS])  # needs the running loop
    app[TWILIO_REST] = rest
    yield
    await rest.close()


async def _ratelimit_ctx(app: web.Application) -> AsyncIterator[None]:
    if RATE_LIMITER in app:  # injected (tests); its owner closes it
        yield
        return
    limiter = make_limiter(app[SETTINGS], app[METRICS])
    app[RATE_LIMITER] = limiter
    log.info("gateway.rate_limiter", backend=type(limiter).__name__)
    yield
    await limiter.close()


async def _services_ctx(app: web.Application) -> AsyncIterator[None]:
    settings, options = app[SETTINGS], app[OPTIONS]
    sessions, rasa = app[SESSIONS], app[RASA]
    # Shared through Redis when several gateway instances serve the same conversations.
    locks = ConversationLocks.from_url(settings.redis_url)
    log.info("gateway.conversation_locks", shared=locks.shared)
    events = DeskEvents(sessions, poll_seconds=options.desk_poll_seconds)
    dialogue = DialogueService(
        sessions,
        rasa,
        locks,
        max_attempts=options.max_attempts,
        on_people_change=events.conversation,
        metrics=app[METRICS],
    )
    app[DIALOGUE] = dialogue
    app[CHAT_SERVICE] = ChatService(dialogue, sessions)
    outbound = Outbound(sessions, app[TWILIO_REST], metrics=app[METRICS])
    app[OUTBOUND] = outbound
    sms = twilio_sms.SmsChannel(
        settings,
        sessions,
        dialogue,
        outbound,
        limiter=app[RATE_LIMITER],
        per_number=app[ABUSE_LIMITS].sms_per_number,
    )
    app[twilio_sms.SMS_CHANNEL] = sms
    app[twilio_voice.VOICE_CHANNEL] = twilio_voice.VoiceChannel(
        settings, sessions, dialogue, outbound
    )
    app[twilio_status.STATUS_CALLBACKS] = twilio_status.StatusCallbacks(settings, sessions)
    app[HEALTH_CHECKER] = HealthChecker(
        sessions,
        rasa,
        app[HTTP],
        str(settings.action_server_url),
        timeout_seconds=options.health_timeout_seconds,
        redis_url=settings.redis_url,
        twilio_configured=bool(
            settings.twilio_account_sid and settings.twilio_auth_token.get_secret_value()
        ),
    )
    worker = RetryWorker(
        sessions,
        rasa,
        locks,
        interval_seconds=options.retry_interval_seconds,
        max_attempts=options.max_attempts,
        # Longer than any live delivery (slot + message, each under the timeout).
        stale_after=timedelta(seconds=max(60.0, 3 * settings.rasa_timeout_seconds)),
        on_replies=sms.push,  # texts answered late still reach the phone
    )
    app[RETRY_WORKER] = worker
    app[pay.PAYMENT_PAGE] = pay.PaymentPage(settings, sessions)
    app[desk_web.DESK_EVENTS] = events
    app[desk_web.DESK] = DeskService(sessions, rasa, locks, events, sms.push, settings)
    housekeeping = Housekeeping(
        settings, sessions, interval_seconds=options.housekeeping_interval_seconds
    )
    app[HOUSEKEEPING] = housekeeping
    # Texts spooled while the database was down are replayed once it answers.
    replayer = SpoolReplayer(sms.spool, sms.replay, interval_seconds=options.spool_replay_seconds)
    app[SPOOL_REPLAYER] = replayer
    tasks = [
        asyncio.create_task(worker.run_forever(), name="inbox-retry-worker"),
        asyncio.create_task(housekeeping.run_forever(), name="housekeeping"),
        asyncio.create_task(replayer.run_forever(), name="sms-spool-replayer"),
    ]
    yield
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await events.close()
    await locks.close()
    await app[HEALTH_CHECKER].close()


def render_index(settings: Settings) -> str:
    """The chat page with the configured bank names filled in."""
    template = (STATIC_DIR / "index.html").read_text(encoding="utf-8")
    return template.replace("{{BANK_NAME_EN}}", html.escape(settings.bank_name_en)).replace(
        "{{BANK_NAME_ZH}}", html.escape(settings.bank_name_zh)
    )


async def get_index(request: web.Request) -> web.Response:
    """`GET /`: the web chat page."""
    return web.Response(
        text=request.app[INDEX_HTML], content_type="text/html", headers=_PAGE_HEADERS
    )


def create_app(
    settings: Settings,
    *,
    session_factory: async_sessionmaker[AsyncSession] | None = None,
    rasa: RasaClient | None = None,
    options: GatewayOptions | None = None,
    rate_limiter: RateLimiter | None = None,
) -> web.Application:
    """Build the gateway application.

    Args:
        settings: configuration; also the source of every default dependency.
        session_factory: database sessions to use instead of an engine built
            from `settings.database_url`; like `make_async_sessionmaker`'s, it
            must not expire objects on commit (rows are read after commits).
        rasa: a Rasa client to use instead of one built from `settings`.
        options: retry and health-check tuning.
        rate_limiter: the abuse limits' counters instead of the ones
            `settings` selects (memory, or Redis when `redis_url` is set).
    """
    app = web.Application(
        middlewares=[
            metrics_middleware,
            error_middleware,
            size_limit_middleware,
            rate_limit_middleware,
        ],
        client_max_size=settings.max_request_bytes,
    )
    app[SETTINGS] = settings
    app[METRICS] = GatewayMetrics()  # this app's own registry (never the global one)
    app[ABUSE_LIMITS] = AbuseLimits.from_settings(settings)
    app[OPTIONS] = options or GatewayOptions()
    app[INDEX_HTML] = render_index(settings)
    if session_factory is not None:
        app[SESSIONS] = session_factory
    if rasa is not None:
        app[RASA] = rasa
    if rate_limiter is not None:
        app[RATE_LIMITER] = rate_limiter
    app.cleanup_ctx.extend([_database_ctx, _http_ctx, _twilio_ctx, _ratelimit_ctx, _services_ctx])
    app.on_response_prepare.append(_nosniff)
    app.router.add_get("/", get_index)
    app.router.add_static("/static/", STATIC_DIR, name="static")
    chat.add_routes(app)
    health.add_routes(app)
    pay.add_routes(app)
    twilio_sms.add_routes(app)
    twilio_voice.add_routes(app)
    twilio_status.add_routes(app)
    openapi.add_routes(app)
    desk_web.add_routes(app)
    return app
