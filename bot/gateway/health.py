"""`GET /healthz`: is every part a cardholder's message needs actually working?

The supervisor (`make run`), load balancers and tests read this. "Up" means
useful, not merely listening: Rasa without a loaded model answers nobody, so
it counts as down. The checks run concurrently, each under a short timeout,
so a hung dependency makes the answer "down", never a hung health check.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

import aiohttp
import structlog
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from yarl import URL

from bot.gateway.rasa import RasaClient, RasaError

log = structlog.get_logger(__name__)

OK = "ok"


def _down(reason: str) -> str:
    return f"down: {reason}"


class HealthChecker:
    """Checks the database, Rasa and the action server."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        http: aiohttp.ClientSession,
        action_server_url: str,
        *,
        timeout_seconds: float,
    ) -> None:
        self._sessions = sessions
        self._rasa = rasa
        self._http = http
        self._action_server_health = URL(action_server_url.rstrip("/")) / "health"
        self._timeout = timeout_seconds

    async def check(self) -> dict[str, str]:
        """Each part's state: "ok" or "down: <reason>"."""
        names = ("database", "rasa", "action_server")
        results = await asyncio.gather(
            self._bounded(self._database()),
            self._bounded(self._rasa_status()),
            self._bounded(self._action_server()),
        )
        checks = dict(zip(names, results, strict=True))
        for name, result in checks.items():
            if result != OK:
                log.warning("health.down", part=name, reason=result)
        return checks

    async def _bounded(self, check: Awaitable[str]) -> str:
        try:
            return await asyncio.wait_for(check, self._timeout)
        except asyncio.TimeoutError:
            return _down(f"no answer within {self._timeout:g}s")

    async def _database(self) -> str:
        try:
            async with self._sessions() as session:
                await session.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as error:
            # The class name only: driver messages can name hosts and users.
            log.warning("health.database_error", error_type=type(error).__name__)
            return _down(type(error).__name__)
        return OK

    async def _rasa_status(self) -> str:
        try:
            status = await self._rasa.status(timeout_seconds=self._timeout)
        except RasaError as error:
            return _down(str(error))
        return OK if status.model_loaded else _down("no model loaded")

    async def _action_server(self) -> str:
        try:
            async with self._http.get(
                self._action_server_health, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as response:
                if response.status != 200:
                    return _down(f"HTTP {response.status}")
                body = await response.json(content_type=None)
        except aiohttp.ClientConnectorError as error:
            return _down(f"cannot connect ({error.os_error.strerror or 'error'})")
        except aiohttp.ClientError as error:
            return _down(type(error).__name__)
        except ValueError:
            return _down("malformed JSON")
        if not isinstance(body, dict) or body.get("status") != "ok":
            return _down("unexpected answer")
        return OK


HEALTH_CHECKER = web.AppKey("health_checker", HealthChecker)


async def get_healthz(request: web.Request) -> web.Response:
    """200 only when every part is up; otherwise 503 naming what is down."""
    checks = await request.app[HEALTH_CHECKER].check()
    healthy = all(result == OK for result in checks.values())
    return web.json_response(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
        headers={"Cache-Control": "no-store"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/healthz", get_healthz)
