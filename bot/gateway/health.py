"""`GET /healthz`: is every part a cardholder's message needs actually working?

The supervisor (`make run`), load balancers and tests read this. "Up" means
useful, not merely listening: Rasa without a loaded model answers nobody, so
it counts as down. The checks run concurrently, each under a short timeout,
so a hung dependency makes the answer "down", never a hung health check.

Operators get more, on two endpoints kept from the public (`operator_request`:
a loopback client, or `Authorization: Bearer <METRICS_TOKEN>`; anyone else
gets 404, as for a path that does not exist):

- `GET /healthz/details`: each dependency's status, latency and detail (Redis
  too when `REDIS_URL` is set; Twilio only as configured or not, never
  called) and the inbox backlog. Same status code as `/healthz`.
- `GET /metrics`: the Prometheus metrics (`bot.gateway.metrics`) with this
  scrape's dependency and backlog readings.
"""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import aiohttp
import redis.asyncio as aioredis
import structlog
from aiohttp import web
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.gateway.keys import SETTINGS
from bot.gateway.metrics import CONTENT_TYPE, METRICS, Backlog, DependencyState, read_backlog
from bot.gateway.rasa import RasaClient, RasaError
from bot.gateway.ratelimit import ABUSE_LIMITS, client_address

log = structlog.get_logger(__name__)

OK = "ok"
DOWN = "down"
# The parts /healthz answers for (CONTRACT.md §2); Redis is optional (fail-open).
CORE = ("database", "rasa", "action_server")
_FORWARDING_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _down(reason: str) -> str:
    return f"down: {reason}"


@dataclass(frozen=True)
class Probe:
    """One dependency's answer: up or not, why not, and how long it took."""

    detail: str  # "ok", or the reason it is down
    latency_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.detail == OK

    @property
    def summary(self) -> str:
        """The contract's form: "ok" or "down: <reason>"."""
        return OK if self.ok else _down(self.detail)

    def as_json(self) -> dict[str, Any]:
        return {
            "status": OK if self.ok else DOWN,
            "latency_ms": self.latency_ms,
            "detail": self.detail,
        }


class HealthChecker:
    """Checks the database, Rasa and the action server (and Redis, when configured)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        http: aiohttp.ClientSession,
        action_server_url: str,
        *,
        timeout_seconds: float,
        redis_url: str | None = None,
        twilio_configured: bool = False,
    ) -> None:
        """Bind the dependencies to probe.

        Args:
            sessions: The database, probed with `SELECT 1`; also the backlog's source.
            rasa: The Rasa server, probed with `GET /status` (a model must be loaded).
            http: Connection pool for the action server's `/health`.
            action_server_url: The action server's base URL.
            timeout_seconds: Bound on each probe.
            redis_url: Redis to `PING` in the detailed view (a client is made
                on first use and closed by `close`); None: not part of the view.
            twilio_configured: Reported as such; Twilio itself is never called.
        """
        self._sessions = sessions
        self._rasa = rasa
        self._http = http
        self._action_server_health = URL(action_server_url.rstrip("/")) / "health"
        self._timeout = timeout_seconds
        self._redis_url = redis_url
        self._redis: aioredis.Redis[bytes] | None = None
        self._twilio_configured = twilio_configured

    async def check(self) -> dict[str, str]:
        """Each core part's state: "ok" or "down: <reason>"."""
        checks = {name: probe.summary for name, probe in (await self._core()).items()}
        for name, result in checks.items():
            if result != OK:
                log.warning("health.down", part=name, reason=result)
        return checks

    async def probe(self) -> dict[str, Probe]:
        """Every dependency's probe: the core parts, and Redis when configured."""
        core, redis = await asyncio.gather(self._core(), self._redis_probe())
        return core if redis is None else {**core, "redis": redis}

    async def backlog(self) -> Backlog | None:
        """The inbox backlog, or None when the database does not answer in time."""
        try:
            return await asyncio.wait_for(read_backlog(self._sessions), self._timeout)
        except (asyncio.TimeoutError, SQLAlchemyError, OSError) as error:
            log.info("health.backlog_unavailable", error_type=type(error).__name__)
            return None

    async def details(self) -> dict[str, Any]:
        """The operators' view: every dependency with latency and detail, and the backlog."""
        probes, backlog = await asyncio.gather(self.probe(), self.backlog())
        checks: dict[str, Any] = {name: probe.as_json() for name, probe in probes.items()}
        checks["twilio"] = {
            "status": "configured" if self._twilio_configured else "not configured",
            "detail": "credentials set (never called by the health check)"
            if self._twilio_configured
            else "TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN not set",
        }
        inbox: dict[str, Any] = (
            {"status": "unknown"}
            if backlog is None
            else {
                "unfinished": backlog.unfinished,
                "oldest_age_seconds": round(backlog.oldest_age_seconds, 1),
                "waiting_for_person": backlog.waiting_for_person,
            }
        )
        healthy = all(probes[name].ok for name in CORE)
        return {"status": OK if healthy else "unavailable", "checks": checks, "inbox": inbox}

    async def close(self) -> None:
        """Close the Redis client, if one was made."""
        if self._redis is not None:
            await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates it

    async def _core(self) -> dict[str, Probe]:
        results = await asyncio.gather(
            self._timed(self._database()),
            self._timed(self._rasa_status()),
            self._timed(self._action_server()),
        )
        return dict(zip(CORE, results, strict=True))

    async def _timed(self, check: Awaitable[str]) -> Probe:
        started = time.perf_counter()
        try:
            detail = await asyncio.wait_for(check, self._timeout)
        except asyncio.TimeoutError:
            detail = f"no answer within {self._timeout:g}s"
        return Probe(detail, round((time.perf_counter() - started) * 1000, 1))

    async def _database(self) -> str:
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            # The class name only: driver messages can name hosts and users.
            log.warning("health.database_error", error_type=type(error).__name__)
            return type(error).__name__
        return OK

    async def _rasa_status(self) -> str:
        try:
            status = await self._rasa.status(timeout_seconds=self._timeout)
        except RasaError as error:
            return str(error)
        return OK if status.model_loaded else "no model loaded"

    async def _action_server(self) -> str:
        try:
            async with self._http.get(
                self._action_server_health, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as response:
                if response.status != 200:
                    return f"HTTP {response.status}"
                body = await response.json(content_type=None)
        except aiohttp.ClientConnectorError as error:
            return f"cannot connect ({error.os_error.strerror or 'error'})"
        except aiohttp.ClientError as error:
            return type(error).__name__
        except ValueError:
            return "malformed JSON"
        if not isinstance(body, dict) or body.get("status") != "ok":
            return "unexpected answer"
        return OK

    async def _redis_probe(self) -> Probe | None:
        if not self._redis_url:
            return None
        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self._redis_url,
                socket_timeout=self._timeout,
                socket_connect_timeout=self._timeout,
            )
        return await self._timed(self._ping(self._redis))

    @staticmethod
    async def _ping(client: aioredis.Redis[bytes]) -> str:
        try:
            await client.ping()
        except (RedisError, OSError) as error:
            return type(error).__name__  # the URL may carry a password
        return OK


HEALTH_CHECKER = web.AppKey("health_checker", HealthChecker)


def operator_request(request: web.Request) -> bool:
    """Whether the request may see internals (/metrics, /healthz/details).

    Yes with `Authorization: Bearer <METRICS_TOKEN>` (when one is set), or from
    a loopback client. A request that came through a proxy the gateway does
    not trust is never taken for a local one: behind nginx on loopback, every
    visitor's peer address is 127.0.0.1.
    """
    token = request.app[SETTINGS].metrics_token
    if token is not None and token.get_secret_value():
        sent = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(sent, f"Bearer {token.get_secret_value()}".encode()):
            return True
    trusted = request.app[ABUSE_LIMITS].trusted_proxies
    peer = client_address(request, ())
    if peer is None or not peer.is_loopback:
        return False
    if any(header in request.headers for header in _FORWARDING_HEADERS):
        peer_trusted = any(peer.version == net.version and peer in net for net in trusted)
        client = client_address(request, trusted)
        return peer_trusted and client is not None and client.is_loopback
    return True


def _operators_only(request: web.Request) -> None:
    if not operator_request(request):
        raise web.HTTPNotFound()


async def get_healthz(request: web.Request) -> web.Response:
    """200 only when every part is up; otherwise 503 naming what is down."""
    checks = await request.app[HEALTH_CHECKER].check()
    healthy = all(result == OK for result in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


async def get_healthz_details(request: web.Request) -> web.Response:
    """`GET /healthz/details`: per dependency status, latency and detail; the backlog."""
    _operators_only(request)
    details = await request.app[HEALTH_CHECKER].details()
    return web.json_response(
        details,
        status=200 if details["status"] == OK else 503,
        headers={"Cache-Control": "no-store"},
    )


async def get_metrics(request: web.Request) -> web.Response:
    """`GET /metrics`: Prometheus text format, with this scrape's readings."""
    _operators_only(request)
    checker = request.app[HEALTH_CHECKER]
    probes, backlog = await asyncio.gather(checker.probe(), checker.backlog())
    states = [
        DependencyState(
            name,
            probe.ok,
            None if probe.latency_ms is None else probe.latency_ms / 1000,
        )
        for name, probe in probes.items()
    ]
    body = request.app[METRICS].render(backlog, states)
    response = web.Response(body=body, headers={"Cache-Control": "no-store"})
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", get_healthz)
    app.router.add_get("/healthz/details", get_healthz_details)
    app.router.add_get("/metrics", get_metrics)
