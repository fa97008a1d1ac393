"""Prometheus metrics of one gateway: what happened (counters) and how long it took.

Each application gets its own `CollectorRegistry` (under the `METRICS` key),
never the process-wide default: tests build many apps in one process, and a
second gateway in the same process must not double-count the first's turns.
Services receive the `GatewayMetrics` object through their constructors and
call one small method where they already log the event.

Labels are bounded, and never personal: channel, language, outcome, reason
codes and route templates (`/api/chat/{conversation_id}/messages`, not the
path a client sent). No phone number, text or conversation id reaches a label.

Some values are read when Prometheus scrapes rather than counted: the inbox
backlog and the conversations waiting for a person (from the database, under
a short timeout) and whether each dependency answers. The `/metrics` handler
(`bot.gateway.health`) reads them and hands them to `render`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol

from aiohttp import web
from aiohttp.typedefs import Handler
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Conversation, InboxMessage
from bot.domain.enums import ConversationOwner, InboxStatus

CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
UNMATCHED_ROUTE = "unmatched"
OTHER = "other"
# Reason codes are identifiers ("identity_check_failed", "offer_review:…"); anything
# else (free text by mistake) is counted as "other" so it cannot leak or explode.
_LABEL_CODE = re.compile(r"[a-z][a-z0-9_]{0,47}")
_UNFINISHED = (InboxStatus.RECEIVED, InboxStatus.PENDING_RETRY)
# A turn's latency as the person sees it: Rasa answers in 50 ms to a few seconds.
TURN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def label_code(value: str | None) -> str:
    """A reason as a bounded label: its first `:`-separated part if it is an identifier."""
    head = (value or "").split(":", 1)[0].strip().lower()
    return head if _LABEL_CODE.fullmatch(head) else OTHER


@dataclass(frozen=True)
class Backlog:
    """Work the gateway owes: unfinished inbox rows and conversations waiting for people."""

    unfinished: int
    oldest_age_seconds: float
    waiting_for_person: int


@dataclass(frozen=True)
class DependencyState:
    """Whether a dependency answered the last probe, and how fast."""

    name: str
    up: bool
    latency_seconds: float | None = None


async def read_backlog(
    sessions: async_sessionmaker[AsyncSession], now: datetime | None = None
) -> Backlog:
    """Count the inbox backlog and the people queue (two indexed aggregate queries).

    Raises:
        SQLAlchemyError: if the database fails (callers bound the wait themselves).
    """
    now = now or datetime.now(timezone.utc)
    async with sessions() as session:
        count, oldest = (
            await session.execute(
                select(func.count(InboxMessage.id), func.min(InboxMessage.received_at)).where(
                    InboxMessage.status.in_(_UNFINISHED)
                )
            )
        ).one()
        waiting = await session.scalar(
            select(func.count(Conversation.id)).where(
                Conversation.owner == ConversationOwner.WAITING
            )
        )
    age = 0.0
    if oldest is not None:
        oldest = oldest if oldest.tzinfo else oldest.replace(tzinfo=timezone.utc)  # SQLite
        age = max(0.0, (now - oldest).total_seconds())
    return Backlog(
        unfinished=int(count or 0), oldest_age_seconds=age, waiting_for_person=waiting or 0
    )


class _ScrapeState:
    """A collector for the values read at scrape time (set just before rendering).

    Nothing is reported until a scrape has read them, and a backlog that could
    not be read is left out rather than shown stale.
    """

    def __init__(self) -> None:
        self.backlog: Backlog | None = None
        self.dependencies: tuple[DependencyState, ...] = ()

    def describe(self) -> Iterable[Metric]:
        return ()  # the families depend on the scrape; never collected at registration

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "cardbot_dependency_up",
            "1 when the dependency answered the probe.",
            labels=["dependency"],
        )
        latency = GaugeMetricFamily(
            "cardbot_dependency_latency_seconds",
            "How long the dependency took to answer the probe.",
            labels=["dependency"],
        )
        for state in self.dependencies:
            up.add_metric([state.name], 1.0 if state.up else 0.0)
            if state.latency_seconds is not None:
                latency.add_metric([state.name], state.latency_seconds)
        yield up
        yield latency
        if self.backlog is None:
            return
        yield GaugeMetricFamily(
            "cardbot_inbox_unfinished",
            "Inbound messages saved but not yet answered (received or waiting for a retry).",
            value=self.backlog.unfinished,
        )
        yield GaugeMetricFamily(
            "cardbot_inbox_oldest_unfinished_age_seconds",
            "Age of the oldest unanswered inbound message (0 when there is none).",
            value=self.backlog.oldest_age_seconds,
        )
        yield GaugeMetricFamily(
            "cardbot_conversations_waiting_for_person",
            "Conversations queued for an agent and not yet taken.",
            value=self.backlog.waiting_for_person,
        )


class TurnRecorder(Protocol):
    """Called once a turn has produced its answer."""

    def __call__(self, language: str, outcome: str) -> None: ...


class GatewayMetrics:
    """The gateway's metrics in a registry of their own, and one method per event."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self._turns = Counter(
            "cardbot_turns",
            "Inbound messages handled, by how they ended.",
            ["channel", "language", "outcome"],
            registry=registry,
        )
        self._turn_seconds = Histogram(
            "cardbot_turn_seconds",
            "A whole turn as the person sees it: saved, screened, answered.",
            ["channel"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self._rasa_seconds = Histogram(
            "cardbot_rasa_request_seconds",
            "Requests to the Rasa server, by endpoint and whether they succeeded.",
            ["endpoint", "outcome"],
            buckets=TURN_BUCKETS,
            registry=registry,
        )
        self._handoffs = Counter(
            "cardbot_handoffs",
            "Conversations the gateway saw pass from the bot to people, by reason.",
            ["reason"],
            registry=registry,
        )
        self._outbound = Counter(
            "cardbot_outbound",
            "Outbound texts and calls: sent, suppressed (consent) or failed.",
            ["channel", "delivery"],
            registry=registry,
        )
        self._rate_limited = Counter(
            "cardbot_rate_limited",
            "Requests refused by an abuse limit, by limit.",
            ["scope"],
            registry=registry,
        )
        self._errors = Counter(
            "cardbot_errors",
            "Failures: unhandled gateway errors, Rasa requests, Twilio sends.",
            ["where"],
            registry=registry,
        )
        self._http_requests = Counter(
            "cardbot_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self._http_seconds = Histogram(
            "cardbot_http_request_seconds",
            "HTTP request duration, by route template and method.",
            ["route", "method"],
            buckets=HTTP_BUCKETS,
            registry=registry,
        )
        self._scrape = _ScrapeState()
        registry.register(self._scrape)

    @contextmanager
    def turn(self, channel: str) -> Iterator[TurnRecorder]:
        """Time one turn; the block calls the recorder with how it ended.

        A block that raises (or never calls the recorder) counts as an error.
        """
        started = time.perf_counter()
        ended: list[tuple[str, str]] = []

        def record(language: str, outcome: str) -> None:
            ended.append((language, outcome))

        try:
            yield record
        finally:
            language, outcome = ended[-1] if ended else ("unknown", "error")
            self._turns.labels(channel, language, outcome).inc()
            self._turn_seconds.labels(channel).observe(time.perf_counter() - started)

    def rasa_request(self, endpoint: str, seconds: float, *, ok: bool) -> None:
        """One request to Rasa; a failed one is also an error."""
        name = endpoint.replace(" ", "_")
        self._rasa_seconds.labels(name, "ok" if ok else "error").observe(seconds)
        if not ok:
            self.error("rasa")

    def handoff(self, reason: str | None) -> None:
        """A conversation went from the bot to people."""
        self._handoffs.labels(label_code(reason)).inc()

    def outbound(self, channel: str, delivery: str) -> None:
        """One outbound contact's fate; a failed one is also a Twilio error."""
        self._outbound.labels(channel, delivery).inc()
        if delivery == "failed":
            self.error("twilio")

    def rate_limited(self, scope: str) -> None:
        """One request over the limit named `scope`."""
        self._rate_limited.labels(label_code(scope)).inc()

    def error(self, where: str) -> None:
        """One failure at `where` (gateway, rasa, twilio, …)."""
        self._errors.labels(where).inc()

    def http_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """One HTTP request answered."""
        self._http_requests.labels(route, method, str(status)).inc()
        self._http_seconds.labels(route, method).observe(seconds)

    def render(self, backlog: Backlog | None, dependencies: Iterable[DependencyState]) -> bytes:
        """The registry in Prometheus text format, with this scrape's readings."""
        self._scrape.backlog = backlog
        self._scrape.dependencies = tuple(dependencies)
        return generate_latest(self.registry)


METRICS = web.AppKey("metrics", GatewayMetrics)

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_label(request: web.Request) -> str:
    """The route template that matched (bounded), or "unmatched"."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else UNMATCHED_ROUTE


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count and time every request by route template, method and status."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        method = request.method if request.method in _METHODS else OTHER
        request.app[METRICS].http_request(
            route_label(request), method, status, time.perf_counter() - started
        )
