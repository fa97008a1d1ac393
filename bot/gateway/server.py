"""`python -m bot gateway`: serve the gateway until SIGINT or SIGTERM."""

from __future__ import annotations

import logging

import structlog
from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.gateway.app import create_app
from bot.gateway.metrics import UNMATCHED_ROUTE, route_label
from bot.logging import configure_logging
from bot.settings import Settings

log = structlog.get_logger(__name__)
access_log = structlog.get_logger("bot.gateway.access")

# Polled constantly (supervisor, load balancer, the page); not worth a line each.
_ROUTINE_PREFIXES = ("/healthz", "/static/", "/api/chat/")


def _loggable_path(request: web.BaseRequest) -> str:
    """The matched route's template, else the path (nothing secret was matched)."""
    if isinstance(request, web.Request):
        route = route_label(request)
        if route != UNMATCHED_ROUTE:
            return route
    return request.path


class QuietAccessLogger(AbstractAccessLogger):
    """One structured line per request: method, path, status, duration.

    Never the query string or headers, and the route template rather than the
    path where one matched (`/pay/{token}`: the token opens an account's page).
    Routine polling is logged at DEBUG.
    """

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        routine = request.path.startswith(_ROUTINE_PREFIXES) and response.status < 400
        (access_log.debug if routine else access_log.info)(
            "http.request",
            method=request.method,
            path=_loggable_path(request),
            status=response.status,
            ms=round(time * 1000, 1),
        )


def serve(settings: Settings) -> None:
    """Configure logging and run the gateway in the foreground."""
    configure_logging(settings)
    log.info("gateway.starting", host=settings.gateway_host, port=settings.gateway_port)
    web.run_app(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        access_log_class=QuietAccessLogger,
        access_log=logging.getLogger("bot.gateway.access"),
        print=None,
        shutdown_timeout=5.0,
    )
    log.info("gateway.stopped")
