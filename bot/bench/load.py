"""The async load driver: scripted multi-turn conversations at a fixed concurrency.

A *script* is a list of turns; each worker runs whole conversations (one
fresh conversation id each) one after another until the total is reached, so
`concurrency` conversations are always in flight. Every turn is timed from
request sent to body read. Percentiles and throughput are computed here too
(pure functions, unit-tested).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

REQUEST_TIMEOUT_SECONDS = 60.0


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        return math.nan
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100: {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class TurnSample:
    """One request: how long it took and whether it was answered."""

    seconds: float
    ok: bool


@dataclass
class LoadResult:
    """Everything one load level produced."""

    target: str
    concurrency: int
    conversations: int
    wall_seconds: float
    samples: list[TurnSample] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return summarize(
            self.target, self.concurrency, self.conversations, self.wall_seconds, self.samples
        )


def summarize(
    target: str,
    concurrency: int,
    conversations: int,
    wall_seconds: float,
    samples: Sequence[TurnSample],
) -> dict[str, Any]:
    """Latency percentiles (ms, answered turns only), throughput and error count."""
    answered = [s.seconds * 1000 for s in samples if s.ok]
    return {
        "target": target,
        "concurrency": concurrency,
        "conversations": conversations,
        "turns": len(samples),
        "errors": sum(not s.ok for s in samples),
        "wall_seconds": round(wall_seconds, 3),
        "throughput_per_s": len(answered) / wall_seconds if wall_seconds > 0 else 0.0,
        "p50_ms": percentile(answered, 50),
        "p95_ms": percentile(answered, 95),
        "p99_ms": percentile(answered, 99),
        "mean_ms": sum(answered) / len(answered) if answered else math.nan,
    }


# A turn sender: (session, conversation id, turn index, turn text) -> answered?
Sender = Callable[[aiohttp.ClientSession, str, int, str], Awaitable[bool]]


async def run_load(
    target: str,
    send: Sender,
    scripts: Sequence[Sequence[str]],
    *,
    concurrency: int,
    conversations: int,
    id_prefix: str = "bench",
) -> LoadResult:
    """Run `conversations` scripted conversations, `concurrency` at a time.

    Scripts are dealt out in turn (conversation i follows scripts[i % len]),
    so English and Chinese alternate.
    """
    if concurrency < 1 or conversations < 1:
        raise ValueError("concurrency and conversations must be at least 1")
    counter = itertools.count()
    run_id = uuid.uuid4().hex[:8]
    samples: list[TurnSample] = []
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)

    async def worker(session: aiohttp.ClientSession) -> None:
        while (index := next(counter)) < conversations:
            conversation_id = f"{id_prefix}-{run_id}-{index}"
            for turn, text in enumerate(scripts[index % len(scripts)]):
                started = time.perf_counter()
                try:
                    ok = await send(session, conversation_id, turn, text)
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    ok = False
                samples.append(TurnSample(time.perf_counter() - started, ok))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(min(concurrency, conversations))))
        wall = time.perf_counter() - started
    return LoadResult(target, concurrency, conversations, wall, samples)


# --- what is sent -------------------------------------------------------------------

# Our bot: identity check for a demo persona, the balance, then the due date.
CHAT_SCRIPTS: tuple[tuple[str, ...], ...] = (
    (
        "hi",
        "how much do I owe right now?",
        "415-555-0101",
        "April 12, 1988",
        "4821",
        "when is my payment due?",
    ),
    ("你好", "我现在还欠多少钱", "13800138004", "1985年2月14日", "6230", "还款日是哪天"),
    (
        "hello",
        "what's my balance?",
        "312 555 0102",
        "11/03/1979",
        "1937",
        "when is my next payment due?",
    ),
    ("您好", "我的账单余额是多少", "13900139005", "1990年9月30日", "7712", "我的还款日是哪天"),
)

# The stock `rasa init` bot: greet, mood_great, goodbye (twice, to match six turns).
FLOOR_SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("hello", "I am feeling great", "bye", "hi there", "very good", "goodbye"),
)


def gateway_notices() -> frozenset[str]:
    """What the gateway says itself when Rasa did not answer in time (or a person owns the chat).

    A turn answered with one of these was not served: it is counted as unanswered.
    """
    from bot.domain.enums import Language
    from bot.gateway.dialogue import SAVED_NOTICE, WAITING_NOTICE
    from bot.gateway.inbox import failed_notice

    failed = {failed_notice("bench", language).text for language in Language}
    return frozenset({*SAVED_NOTICE.values(), *WAITING_NOTICE.values(), *failed})


def chat_sender(base_url: str) -> Sender:
    """`POST /api/chat` on the gateway; answered = 200 with a message from the bot itself."""
    url = base_url.rstrip("/") + "/api/chat"
    notices = gateway_notices()

    async def send(session: aiohttp.ClientSession, conversation_id: str, _: int, text: str) -> bool:
        body = {"conversation_id": conversation_id, "text": text}
        async with session.post(url, json=body) as response:
            payload = await response.json(content_type=None)
        if response.status != 200 or not payload.get("messages"):
            return False
        return not any(m.get("text") in notices for m in payload["messages"])

    return send


def rest_sender(rasa_url: str) -> Sender:
    """Rasa's REST channel, as the floor is driven; answered = 200 with a reply."""
    url = rasa_url.rstrip("/") + "/webhooks/rest/webhook"

    async def send(session: aiohttp.ClientSession, conversation_id: str, _: int, text: str) -> bool:
        async with session.post(url, json={"sender": conversation_id, "message": text}) as response:
            payload = await response.json(content_type=None)
            return response.status == 200 and bool(payload)

    return send


# Voice: each turn is "dial:<caller number>", "say:<speech>" or "key:<digits>".
VOICE_SCRIPTS: tuple[tuple[str, ...], ...] = (
    (
        "dial:+14155550101",
        "say:what's my balance",
        "key:04121988",
        "key:4821",
        "say:when is my payment due",
    ),
    ("dial:+8613800138004", "say:我的还款日是哪天", "key:19850214", "key:6230", "say:我还欠多少钱"),
)

VOICE_ACCOUNT_SID = "AC" + "1" * 32
VOICE_TO_NUMBER = "+15005550006"


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """`X-Twilio-Signature` as Twilio computes it for a form POST to `url`."""
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(token).compute_signature(url, params))


def voice_sender(base_url: str, auth_token: str) -> Sender:
    """Signed POSTs to `/twilio/voice`, then to each `<Gather action>`, as Twilio makes them.

    Answered = 200 with TwiML that says something and does not hand the call to a
    person (the gateway transfers a call when Rasa does not answer in time).
    """
    import xml.etree.ElementTree as ET
    from urllib.parse import urljoin

    base = base_url.rstrip("/")
    calls: dict[str, tuple[str, str]] = {}  # conversation id -> (caller, next path)

    async def send(session: aiohttp.ClientSession, conversation_id: str, _: int, turn: str) -> bool:
        kind, _sep, value = turn.partition(":")
        if kind == "dial":
            calls[conversation_id] = (value, "/twilio/voice")
        caller, path = calls[conversation_id]
        params = {
            "CallSid": "CA" + uuid.uuid5(uuid.NAMESPACE_URL, conversation_id).hex,
            "From": caller,
            "To": VOICE_TO_NUMBER,
            "AccountSid": VOICE_ACCOUNT_SID,
            "CallStatus": "in-progress",
        }
        if kind == "say":
            params.update(SpeechResult=value, Confidence="0.91")
        elif kind == "key":
            params["Digits"] = value
        url = base + path
        headers = {"X-Twilio-Signature": twilio_signature(url, params, auth_token)}
        async with session.post(url, data=params, headers=headers) as response:
            xml = await response.text()
        if response.status != 200:
            return False
        root = ET.fromstring(xml)
        gather = root.find("Gather")
        if gather is not None and "action" in gather.attrib:
            calls[conversation_id] = (caller, urljoin(path, gather.attrib["action"]))
        transferred = root.find("Enqueue") is not None or root.find("Dial") is not None
        return any(True for _ in root.iter("Say")) and not transferred

    return send
