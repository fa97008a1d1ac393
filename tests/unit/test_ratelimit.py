"""The rate limiter in memory, client addresses behind proxies, limits from settings."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from multidict import CIMultiDict
from pydantic import ValidationError

from bot.gateway.ratelimit import (
    AbuseLimits,
    Limit,
    MemoryRateLimiter,
    client_address,
    client_key,
)
from bot.settings import Settings


class Clock:
    def __init__(self, now: float = 1_000_020.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


PER_MINUTE_3 = Limit("test", 3, 60)


async def test_a_key_gets_its_count_per_window_then_429_until_the_window_ends() -> None:
    clock = Clock(1_000_020.0)  # 1_000_020 = 16667 * 60: a window starts at 1_000_020
    limiter = MemoryRateLimiter(clock)
    decisions = [await limiter.hit(PER_MINUTE_3, "a") for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.count for d in decisions] == [1, 2, 3, 4]
    assert decisions[-1].retry_after == 60
    clock.now += 45.5
    refused = await limiter.hit(PER_MINUTE_3, "a")
    assert not refused.allowed and refused.retry_after == 15  # rounded up
    assert (await limiter.hit(PER_MINUTE_3, "b")).allowed  # other keys are separate
    assert (await limiter.hit(Limit("other", 3, 60), "a")).allowed  # and other limits
    clock.now += 15
    assert (await limiter.hit(PER_MINUTE_3, "a")).allowed  # a new window


async def test_a_limit_of_zero_is_off() -> None:
    limiter = MemoryRateLimiter(Clock())
    off = Limit("off", 0, 60)
    assert all([(await limiter.hit(off, "a")).allowed for _ in range(100)])
    assert len(limiter) == 0


async def test_ended_windows_are_forgotten() -> None:
    clock = Clock()
    limiter = MemoryRateLimiter(clock)
    for key in range(50):
        await limiter.hit(PER_MINUTE_3, str(key))
    assert len(limiter) == 50
    clock.now += 120
    await limiter.hit(PER_MINUTE_3, "new")
    assert len(limiter) == 1


# --- client addresses ---------------------------------------------------------------

PROXY = [ipaddress.ip_network("10.0.0.0/8")]


def _request(peer: str | None, forwarded: list[str] | None = None) -> web.Request:
    headers = CIMultiDict[str]()
    for value in forwarded or []:
        headers.add("X-Forwarded-For", value)
    request = make_mocked_request("GET", "/api/chat", headers=headers)
    return request.clone(remote=peer) if peer is not None else request


@pytest.mark.parametrize(
    ("peer", "forwarded", "trusted", "expected"),
    [
        # No trusted proxy: the header is ignored, whatever it says.
        ("203.0.113.9", ["198.51.100.1"], [], "203.0.113.9"),
        # A peer that is not a trusted proxy: ignored too.
        ("203.0.113.9", ["198.51.100.1"], PROXY, "203.0.113.9"),
        # A trusted proxy: the address it appended.
        ("10.0.0.2", ["198.51.100.1"], PROXY, "198.51.100.1"),
        # A client's forged first hop is not believed: the proxy's hop is.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1"], PROXY, "198.51.100.1"),
        # Two proxies: skipped from the right until the first untrusted hop.
        ("10.0.0.2", ["1.2.3.4, 198.51.100.1, 10.0.0.7"], PROXY, "198.51.100.1"),
        # Several headers are one list.
        ("10.0.0.2", ["1.2.3.4", "198.51.100.1"], PROXY, "198.51.100.1"),
        # Garbage written by the client stops the walk at the last proxy hop.
        ("10.0.0.2", ["not-an-ip, 10.0.0.7"], PROXY, "10.0.0.7"),
        # No header from a proxy: the proxy itself.
        ("10.0.0.2", [], PROXY, "10.0.0.2"),
        # Ports and brackets are tolerated; IPv4-mapped IPv6 is IPv4.
        ("10.0.0.2", ["198.51.100.1:5555"], PROXY, "198.51.100.1"),
        ("10.0.0.2", ["[2001:db8::1]:443"], PROXY, "2001:db8::1"),
        ("::ffff:203.0.113.9", [], [], "203.0.113.9"),
    ],
)
def test_client_address(
    peer: str, forwarded: list[str], trusted: list[ipaddress.IPv4Network], expected: str
) -> None:
    request = _request(peer, forwarded)
    assert str(client_address(request, trusted)) == expected


def test_no_peer_is_no_address() -> None:
    assert client_address(_request(None), PROXY) is None


def test_ipv6_clients_count_per_64() -> None:
    one = ipaddress.ip_address("2001:db8:1:2:aaaa::1")
    other = ipaddress.ip_address("2001:db8:1:2:bbbb::9")
    assert client_key(one) == client_key(other) == "2001:db8:1:2::/64"
    assert client_key(ipaddress.ip_address("192.0.2.4")) == "192.0.2.4"


# --- settings -------------------------------------------------------------------------


def test_defaults_and_routes() -> None:
    limits = AbuseLimits.from_settings(Settings(_env_file=None))
    assert (limits.chat_per_ip.count, limits.chat_per_conversation.count) == (30, 20)
    assert limits.sms_per_number.count == 20
    assert limits.voice_per_call.count == 60
    assert limits.chat_per_ip.window_seconds == 60
    assert limits.trusted_proxies == ()
    assert {str(n) for n in limits.exempt} == {"127.0.0.0/8", "::1/128"}
    assert limits.max_request_bytes == 128 * 1024
    assert set(limits.per_ip_routes) == {
        ("POST", "/api/chat"),
        ("GET", "/api/chat/{conversation_id}/messages"),
        ("GET", "/pay/{token}"),
        ("GET", "/healthz"),
    }  # never a Twilio webhook: Twilio's addresses send every one


def test_networks_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7")
    monkeypatch.setenv("RATE_LIMIT_EXEMPT", "[]")
    settings = Settings(_env_file=None)
    assert [str(n) for n in settings.trusted_proxies] == ["10.0.0.0/8", "192.168.1.7/32"]
    assert settings.rate_limit_exempt == []
    monkeypatch.setenv("TRUSTED_PROXIES", "not a network")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)
