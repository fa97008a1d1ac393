"""Abuse limits on the public endpoints: how often, and how much.

Rates are counted in fixed windows (`RATE_LIMIT_WINDOW_SECONDS`, a minute by
default) by one `RateLimiter` interface with two backends: in the gateway's
memory (the default: the demo, one instance) or in Redis when `REDIS_URL` is
set, so the limits hold across gateway instances. Redis trouble never turns
a cardholder away: the limiter then lets requests through and logs it.

What is counted, and where:

- per client IP, by `rate_limit_middleware`, before anything is read:
  `POST /api/chat`, `GET /api/chat/{id}/messages`, `GET /pay/{token}` and
  `GET /healthz` (never the Twilio webhooks: all of Twilio's traffic comes
  from Twilio's addresses). The client is `request.remote`, or the address
  a trusted proxy put in `X-Forwarded-For` (`TRUSTED_PROXIES`); IPv6 clients
  count per /64, which is what one subscriber usually holds. Addresses in
  `RATE_LIMIT_EXEMPT` (loopback by default: the demo, the tests, the bench)
  have no per-IP limit.
- per conversation id, in `bot.gateway.chat`, once the body is valid;
- per sending number, in `bot.gateway.twilio_sms`, once the signature is
  valid and the text is saved (it is kept, marked `rate_limited`, and the
  dialogue does not run on it);
- per CallSid, in `bot.gateway.twilio_voice`, once the signature is valid.

A web caller over a limit gets 429 with `Retry-After` and a JSON error in
both languages; nothing of the request has been saved.

`size_limit_middleware` refuses a body declared larger than
`MAX_REQUEST_BYTES` with 413 before any handler runs (JSON on `/api/`), and
the application's `client_max_size` bounds bodies read whole (the desk).
"""

from __future__ import annotations

import abc
import asyncio
import ipaddress
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler
from redis.exceptions import RedisError

from bot.gateway.metrics import GatewayMetrics
from bot.settings import Settings

log = structlog.get_logger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Clock = Callable[[], float]

TOO_MANY_REQUESTS = (
    "Too many messages in a short time. Please wait a moment and try again. "
    "/ 消息发送过于频繁,请稍等片刻再试。"
)
IPV6_CLIENT_PREFIX = 64
REDIS_PREFIX = "cardbot:ratelimit:"
REDIS_TIMEOUT_SECONDS = 0.25
# After a Redis failure, requests pass without asking Redis for this long
# (a dead Redis must not add its timeout to every request).
REDIS_PAUSE_SECONDS = 5.0
SWEEP_EVERY_SECONDS = 30.0


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `window_seconds` for one key; 0 or less: no limit."""

    name: str
    count: int
    window_seconds: int

    @property
    def enabled(self) -> bool:
        return self.count > 0


@dataclass(frozen=True)
class Decision:
    """The answer to one hit."""

    allowed: bool
    count: int = 0  # hits in this window, this one included (0: not counted)
    retry_after: int = 0  # seconds until the window ends, when refused


ALLOWED = Decision(allowed=True)


class RateLimiter(abc.ABC):
    """Fixed-window counters; `hit` counts one request and says whether it may pass."""

    def __init__(self, clock: Clock = time.time, metrics: GatewayMetrics | None = None) -> None:
        self._clock = clock
        self._metrics = metrics or GatewayMetrics()

    async def hit(self, limit: Limit, key: str) -> Decision:
        if not limit.enabled:
            return ALLOWED
        now = self._clock()
        window = int(now // limit.window_seconds)
        count = await self._increment(limit, key, window)
        if count is None:  # the backend failed: let it through
            return ALLOWED
        if count <= limit.count:
            return Decision(True, count)
        ends = (window + 1) * limit.window_seconds
        decision = Decision(False, count, max(1, math.ceil(ends - now)))
        self._metrics.rate_limited(limit.name)
        if count == limit.count + 1:
            log.info("ratelimit.exceeded", limit=limit.name, retry_after=decision.retry_after)
        return decision

    @abc.abstractmethod
    async def _increment(self, limit: Limit, key: str, window: int) -> int | None:
        """The key's count in `window` after adding this hit; None if it cannot be known."""

    async def close(self) -> None:  # noqa: B027 - optional for a backend
        """Release connections (nothing to do in memory)."""


class MemoryRateLimiter(RateLimiter):
    """Counters in this process: the demo, or a single gateway."""

    def __init__(self, clock: Clock = time.time, metrics: GatewayMetrics | None = None) -> None:
        super().__init__(clock, metrics)
        self._counts: dict[tuple[str, str], tuple[int, int, float]] = {}
        self._next_sweep = 0.0

    async def _increment(self, limit: Limit, key: str, window: int) -> int:
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        slot = (limit.name, key)
        seen_window, count, _ = self._counts.get(slot, (window, 0, 0.0))
        count = count + 1 if seen_window == window else 1
        self._counts[slot] = (window, count, (window + 1) * limit.window_seconds)
        return count

    def _sweep(self, now: float) -> None:
        """Forget windows that have ended, so the map does not grow forever."""
        self._counts = {k: v for k, v in self._counts.items() if v[2] > now}
        self._next_sweep = now + SWEEP_EVERY_SECONDS

    def __len__(self) -> int:
        return len(self._counts)


class RedisRateLimiter(RateLimiter):
    """Counters in Redis, shared by every gateway instance (INCR + EXPIRE per window)."""

    def __init__(
        self,
        client: aioredis.Redis[bytes],
        *,
        prefix: str = REDIS_PREFIX,
        pause_seconds: float = REDIS_PAUSE_SECONDS,
        clock: Clock = time.time,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        super().__init__(clock, metrics)
        self._redis = client
        self._prefix = prefix
        self._pause_seconds = pause_seconds
        self._paused_until = 0.0
        self._failing = False

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisRateLimiter:
        client = aioredis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        return cls(client, **kwargs)

    async def _increment(self, limit: Limit, key: str, window: int) -> int | None:
        if time.monotonic() < self._paused_until:
            return None
        name = f"{self._prefix}{limit.name}:{window}:{key}"
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(name)
                pipe.expire(name, limit.window_seconds + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError, asyncio.TimeoutError) as error:
            # Fail open: a cardholder is never refused because Redis is down.
            self._paused_until = time.monotonic() + self._pause_seconds
            if not self._failing:
                log.warning(
                    "ratelimit.redis_unavailable",
                    error=f"{type(error).__name__}: {error}",
                    limit=limit.name,
                    pause_seconds=self._pause_seconds,
                )
            self._failing = True
            return None
        if self._failing:
            log.info("ratelimit.redis_recovered")
            self._failing = False
        return int(count)

    async def close(self) -> None:
        await self._redis.aclose()  # type: ignore[attr-defined]  # types-redis predates it


# --- client addresses -------------------------------------------------------------


def _address(text: str | None) -> Address | None:
    text = (text or "").strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:51234"
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: Address, networks: Iterable[Network]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def client_address(request: web.Request, trusted_proxies: Iterable[Network]) -> Address | None:
    """The address of the client, as far as the gateway can trust it.

    The peer, unless the peer is a trusted proxy: then `X-Forwarded-For` is
    read from the right (each proxy appends the address it saw), skipping
    trusted proxies, and the first address that is not one is the client.
    Hops further left were written by the client itself and are never used.
    """
    trusted = tuple(trusted_proxies)
    peer = _address(request.remote)
    if peer is None or not trusted or not _within(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for header in request.headers.getall("X-Forwarded-For", [])
        for hop in header.split(",")
        if hop.strip()
    ]
    client = peer
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break  # written by the client: stop at the last address a proxy gave
        client = address
        if not _within(address, trusted):
            break
    return client


def client_key(address: Address) -> str:
    """What an address is counted as: itself (IPv4), its /64 (IPv6)."""
    if isinstance(address, ipaddress.IPv6Address):
        network = ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False)
        return str(network)
    return str(address)


# --- the limits the gateway applies ----------------------------------------------------


@dataclass(frozen=True)
class AbuseLimits:
    """Every limit the gateway applies, from `Settings`."""

    chat_per_ip: Limit
    chat_per_conversation: Limit
    poll_per_ip: Limit
    pay_per_ip: Limit
    health_per_ip: Limit
    sms_per_number: Limit
    voice_per_call: Limit
    trusted_proxies: tuple[Network, ...] = ()
    exempt: tuple[Network, ...] = ()
    max_request_bytes: int = 128 * 1024
    # (method, route) -> the per-IP limit of that route; GET covers HEAD.
    per_ip_routes: Mapping[tuple[str, str], Limit] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> AbuseLimits:
        window = settings.rate_limit_window_seconds

        def limit(name: str, count: int) -> Limit:
            return Limit(name, count, window)

        chat_ip = limit("chat_ip", settings.rate_limit_chat_per_ip)
        poll_ip = limit("chat_poll_ip", settings.rate_limit_chat_poll_per_ip)
        pay_ip = limit("pay_ip", settings.rate_limit_pay_per_ip)
        health_ip = limit("health_ip", settings.rate_limit_health_per_ip)
        return cls(
            chat_per_ip=chat_ip,
            chat_per_conversation=limit(
                "chat_conversation", settings.rate_limit_chat_per_conversation
            ),
            poll_per_ip=poll_ip,
            pay_per_ip=pay_ip,
            health_per_ip=health_ip,
            sms_per_number=limit("sms_number", settings.rate_limit_sms_per_number),
            voice_per_call=limit("voice_call", settings.rate_limit_voice_per_call),
            trusted_proxies=tuple(settings.trusted_proxies),
            exempt=tuple(settings.rate_limit_exempt),
            max_request_bytes=settings.max_request_bytes,
            per_ip_routes={
                ("POST", "/api/chat"): chat_ip,
                ("GET", "/api/chat/{conversation_id}/messages"): poll_ip,
                ("GET", "/pay/{token}"): pay_ip,
                ("GET", "/healthz"): health_ip,
            },
        )


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
ABUSE_LIMITS = web.AppKey("abuse_limits", AbuseLimits)


def make_limiter(settings: Settings, metrics: GatewayMetrics | None = None) -> RateLimiter:
    """Redis when `REDIS_URL` is set, else memory; refusals are counted in `metrics`."""
    if settings.redis_url:
        return RedisRateLimiter.from_url(settings.redis_url, metrics=metrics)
    return MemoryRateLimiter(metrics=metrics)


def too_many(decision: Decision, *, as_json: bool = True) -> web.Response:
    """429 with `Retry-After`: JSON `{"error": …}` for API callers, else plain text."""
    headers = {"Retry-After": str(max(1, decision.retry_after))}
    if as_json:
        return web.json_response({"error": TOO_MANY_REQUESTS}, status=429, headers=headers)
    return web.Response(
        text=TOO_MANY_REQUESTS, status=429, content_type="text/plain", headers=headers
    )


def _route(request: web.Request) -> tuple[str, str] | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return method, resource.canonical


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Per-IP limits on the routes `AbuseLimits.per_ip_routes` names."""
    limits = request.app[ABUSE_LIMITS]
    route = _route(request)
    limit = limits.per_ip_routes.get(route) if route is not None else None
    if limit is None or not limit.enabled:
        return await handler(request)
    address = client_address(request, limits.trusted_proxies)
    if address is None or _within(address, limits.exempt):
        return await handler(request)
    decision = await request.app[RATE_LIMITER].hit(limit, client_key(address))
    if not decision.allowed:
        return too_many(decision, as_json=not request.path.startswith("/pay/"))
    return await handler(request)


@web.middleware
async def size_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """413 for a body declared larger than `MAX_REQUEST_BYTES`, before any handler reads it.

    Bodies sent without a length are bounded where they are read: the chat
    API and the Twilio webhooks stop at their own caps, everything read whole
    at the application's `client_max_size` (the same number).
    """
    most = request.app[ABUSE_LIMITS].max_request_bytes
    length = request.content_length
    if length is None or length <= most:
        return await handler(request)
    log.info("gateway.body_too_large", path=request.path, declared=length)
    message = f"request body must be at most {most:,} bytes"
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=413)
    return web.Response(text=message, status=413, content_type="text/plain")
