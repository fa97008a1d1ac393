"""The scale-out run: two gateways and two Rasa servers behind nginx, one of each killed.

`make scaleout` (`python -m bot.bench.scaleout`) starts, on loopback:

    nginx ──► gateway ×2 ──► nginx ──► Rasa ×2 ──► action server
                 │                        │
                 └──── PostgreSQL ◄───────┘  (app database and tracker store)
                 └──── Redis ◄────────────┘  (conversation locks, Rasa's lock store)

then keeps `--conversations` web-chat conversations going at once, each a
cardholder who reads every answer and thinks before typing (the scripts of
`make bench`, English and Chinese). In the middle it kills one Rasa server
(SIGKILL), later one gateway, and never restarts them: the survivors must
carry everything.

The client behaves like the web chat page (`bot/gateway/static/chat.js`): a
message whose answer was lost (connection reset, 5xx) is sent again with the
same `client_message_id`, and a reply owed later is fetched from the
messages endpoint. What the cardholder would have seen is then counted:

- answered: a real answer from the assistant;
- delayed: the gateway's "saved, I'll reply shortly" notice first, the real
  answer later (a turn caught by a kill);
- errors: a message the page would show as not sent, a "couldn't process"
  notice, or no answer within `ANSWER_TIMEOUT_SECONDS`.

Afterwards the database is checked: every message sent is in the inbox
exactly once, processed, with an answer (zero lost, zero doubled). Writes
`var/scaleout/report.md` and `report.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import create_engine, func, select

from bot.bench import load, measures
from bot.bench.nginx import nginx_command, write_config
from bot.bench.stack import Group, Process, _python, _rasa_env, free_port
from bot.db.engine import sync_url
from bot.db.models import InboxMessage, OutboxMessage
from bot.domain.enums import InboxStatus
from bot.gateway.dialogue import SAVED_NOTICE
from bot.gateway.inbox import BOT_AUTHOR, failed_notice
from bot.runner.model import model_path, rasa_command
from bot.settings import PROJECT_ROOT, Settings

DATABASE = "cardbot_scaleout"
ANSWER_TIMEOUT_SECONDS = 180.0
POLL_SECONDS = 2.0
RETRY_DELAYS_SECONDS = (1.0, 2.0, 4.0, 8.0)  # chat.js's RETRY_DELAYS_MS
REQUEST_TIMEOUT_SECONDS = 25.0  # chat.js's REQUEST_TIMEOUT_MS
ID_PREFIX = "scaleout"


# --- what one turn came to ------------------------------------------------------------------


@dataclass
class Turn:
    """One message a simulated cardholder sent, and what they saw."""

    conversation_id: str
    text: str
    sent_at: float  # seconds since the run started
    seconds: float = 0.0  # until the real answer (or giving up)
    outcome: str = "error"  # answered | delayed | error
    retries: int = 0
    detail: str = ""


@dataclass
class Timeline:
    """When the faults were injected (seconds since the run started)."""

    rasa_killed_at: float | None = None
    gateway_killed_at: float | None = None


def _json_object(body: str) -> dict[str, Any]:
    """The body as a JSON object; {} for anything else (e.g. a proxy's HTML error page)."""
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass
class Client:
    """The web chat page's behaviour, for many conversations at once."""

    base_url: str
    session: aiohttp.ClientSession
    started: float
    notices: frozenset[str]
    holding: frozenset[str]
    turns: list[Turn] = field(default_factory=list)

    async def _post(self, body: dict[str, Any], turn: Turn) -> tuple[int, dict[str, Any]]:
        """POST with the page's retries (same client_message_id); last status and body."""
        status, payload = 0, dict[str, Any]()
        for attempt in range(len(RETRY_DELAYS_SECONDS) + 1):
            try:
                async with self.session.post(self.base_url + "/api/chat", json=body) as response:
                    status = response.status
                    payload = _json_object(await response.text())
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                status, payload = 0, {"error": type(error).__name__}
            if 0 < status < 500:
                return status, payload
            if attempt < len(RETRY_DELAYS_SECONDS):
                turn.retries += 1
                await asyncio.sleep(RETRY_DELAYS_SECONDS[attempt])
        return status, payload

    async def _page(self, conversation_id: str, after: int) -> dict[str, Any] | None:
        url = f"{self.base_url}/api/chat/{conversation_id}/messages?after={after}"
        try:
            async with self.session.get(url) as response:
                if response.status != 200:
                    return None
                page: dict[str, Any] = await response.json()
                return page
        except (aiohttp.ClientError, asyncio.TimeoutError):
            return None

    async def say(self, conversation_id: str, text: str, cursor: int) -> int:
        """Send one message and wait for its answer as the page would; the new cursor."""
        turn = Turn(conversation_id, text, time.monotonic() - self.started)
        self.turns.append(turn)
        began = time.monotonic()
        body = {
            "conversation_id": conversation_id,
            "text": text,
            "client_message_id": uuid.uuid4().hex[:24],
        }
        status, _ = await self._post(body, turn)
        if status != 200:
            turn.detail = f"not sent: HTTP {status or 'connection error'}"
            turn.seconds = time.monotonic() - began
            return cursor
        held = False
        while time.monotonic() - began < ANSWER_TIMEOUT_SECONDS:
            page = await self._page(conversation_id, cursor)
            if page is not None:
                for message in page["messages"]:
                    cursor = max(cursor, int(message["id"]))
                    if message["text"] in self.holding:
                        held = True
                    elif message["text"] in self.notices:
                        turn.detail = "failure notice"
                        turn.seconds = time.monotonic() - began
                        return cursor
                    elif message.get("author") == BOT_AUTHOR:
                        turn.outcome = "delayed" if held else "answered"
                        turn.seconds = time.monotonic() - began
                        if not page["pending"]:
                            return cursor
                if not page["pending"] and turn.outcome != "error":
                    return cursor
            await asyncio.sleep(POLL_SECONDS)
        turn.detail = turn.detail or "no answer in time"
        turn.seconds = time.monotonic() - began
        return cursor


async def cardholder(
    client: Client,
    index: int,
    scripts: Sequence[Sequence[str]],
    stop_at: float,
    think: tuple[float, float],
    run_id: str,
) -> None:
    """One seat: whole conversations, one after another, until `stop_at`."""
    rng = random.Random(index)
    await asyncio.sleep(rng.uniform(0, think[1]))  # arrivals spread out
    number = 0
    while time.monotonic() < stop_at:
        conversation_id = f"{ID_PREFIX}-{run_id}-{index}-{number}"
        script = scripts[(index + number) % len(scripts)]
        cursor = 0
        for text in script:
            if time.monotonic() >= stop_at:
                return
            cursor = await client.say(conversation_id, text, cursor)
            await asyncio.sleep(rng.uniform(*think))
        number += 1


# --- the topology ---------------------------------------------------------------------------


@dataclass
class Topology(Group):
    """Every process of the run, by role."""

    front_url: str = ""
    rasa: list[Process] = field(default_factory=list)
    gateways: list[Process] = field(default_factory=list)


def start_topology(
    model: Path, database_url: str, logs: Path, *, rasa_servers: int, gateways: int
) -> Topology:
    """Redis, the action server, Rasa ×n, gateways ×n and nginx; returns when all answer."""
    ports = {name: free_port() for name in ("redis", "actions", "front", "rasa_lb")}
    rasa_ports = [free_port() for _ in range(rasa_servers)]
    gateway_ports = [free_port() for _ in range(gateways)]
    redis_url = f"redis://127.0.0.1:{ports['redis']}/0"
    front = f"http://127.0.0.1:{ports['front']}"
    token = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "RASA_URL": f"http://127.0.0.1:{ports['rasa_lb']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}",
        "RASA_TOKEN": token,
        "LOG_LEVEL": "INFO",
        "LOG_FORMAT": "json",
        "PUBLIC_BASE_URL": front,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": "scaleout-twilio-auth-token",
        "TWILIO_FROM_NUMBER": "+15005550006",
        "TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",  # Twilio is never reached
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    settings = Settings(
        database_url=database_url, redis_url=redis_url, action_server_url=env["ACTION_SERVER_URL"]
    )
    topology = Topology(front_url=front)
    topology.processes.append(
        Process(
            "redis",
            ["redis-server", "--port", str(ports["redis"]), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(logs)],
            env,
            logs / "redis.log",
        )
    )  # fmt: skip
    topology.processes.append(
        Process(
            "actions",
            [_python(), "-m", "rasa_sdk", "--actions", "actions", "--port", str(ports["actions"])],
            {**env, "SANIC_HOST": "127.0.0.1"},
            logs / "actions.log",
        )
    )
    for index, port in enumerate(rasa_ports, start=1):
        command = [
            *rasa_command(), "run", "--model", str(model), "--enable-api",
            f"--auth-token={token}", "--interface", "127.0.0.1", "--port", str(port),
            "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
        ]  # fmt: skip
        process = Process(
            f"rasa-{index}", command, {**env, **_rasa_env(settings)}, logs / f"rasa-{index}.log"
        )
        topology.rasa.append(process)
        topology.processes.append(process)
    for index, port in enumerate(gateway_ports, start=1):
        process = Process(
            f"gateway-{index}",
            [_python(), "-m", "bot", "gateway"],
            {**env, "GATEWAY_PORT": str(port)},
            logs / f"gateway-{index}.log",
        )
        topology.gateways.append(process)
        topology.processes.append(process)
    config = write_config(
        logs / "nginx", ports["front"], gateway_ports, ports["rasa_lb"], rasa_ports
    )
    subprocess.run([*nginx_command(config), "-t"], check=True, capture_output=True)
    topology.processes.append(Process("nginx", nginx_command(config), env, logs / "nginx.log"))
    try:
        topology.start()
        for port in rasa_ports:
            topology.wait_until(f"http://127.0.0.1:{port}/", f"Rasa on port {port}")
        for port in gateway_ports:
            topology.wait_until(f"http://127.0.0.1:{port}/healthz", f"gateway on port {port}")
        topology.wait_until(front + "/healthz", "nginx")
    except BaseException:
        topology.stop()
        raise
    return topology


def kill(process: Process) -> None:
    """SIGKILL, as a crashed node: no cleanup, no goodbye."""
    if process.popen is not None and process.popen.poll() is None:
        os.killpg(process.popen.pid, signal.SIGKILL)
        process.popen.wait()


# --- the run ---------------------------------------------------------------------------------


async def drive(
    topology: Topology,
    *,
    conversations: int,
    duration: float,
    kill_rasa_at: float | None,
    kill_gateway_at: float | None,
    think: tuple[float, float],
) -> tuple[list[Turn], Timeline, float]:
    """The load and the faults; every turn, when the faults happened, wall seconds."""
    timeline = Timeline()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    notices = load.gateway_notices()
    holding = frozenset(SAVED_NOTICE.values())
    failures = frozenset(failed_notice("x", language).text for language in SAVED_NOTICE)
    run_id = uuid.uuid4().hex[:6]
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        started = time.monotonic()
        client = Client(
            topology.front_url, session, started, failures | (notices - holding), holding
        )

        async def faults() -> None:
            if kill_rasa_at is not None:
                await asyncio.sleep(max(0.0, started + kill_rasa_at - time.monotonic()))
                kill(topology.rasa[0])
                timeline.rasa_killed_at = time.monotonic() - started
                print(f"==> {timeline.rasa_killed_at:.0f} s: killed rasa-1", flush=True)
            if kill_gateway_at is not None:
                await asyncio.sleep(max(0.0, started + kill_gateway_at - time.monotonic()))
                kill(topology.gateways[0])
                timeline.gateway_killed_at = time.monotonic() - started
                print(f"==> {timeline.gateway_killed_at:.0f} s: killed gateway-1", flush=True)

        async def progress() -> None:
            while True:
                await asyncio.sleep(30)
                done = [t for t in client.turns if t.seconds]
                errors = sum(t.outcome == "error" for t in done)
                print(
                    f"==> {time.monotonic() - started:.0f} s: {len(done)} turns, {errors} errors",
                    flush=True,
                )

        reporter = asyncio.create_task(progress())
        seats = [
            cardholder(client, i, load.CHAT_SCRIPTS, started + duration, think, run_id)
            for i in range(conversations)
        ]
        await asyncio.gather(faults(), *seats)
        reporter.cancel()
        wall = time.monotonic() - started
    return client.turns, timeline, wall


def audit(database_url: str, turns: Sequence[Turn]) -> dict[str, Any]:
    """What the database says: each message once, processed, answered."""
    engine = create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(InboxMessage.id, InboxMessage.status).where(
                    InboxMessage.conversation_id.startswith(ID_PREFIX + "-")
                )
            ).all()
            answered_ids = set(
                conn.scalars(
                    select(OutboxMessage.inbox_message_id)
                    .where(OutboxMessage.author == BOT_AUTHOR)
                    .group_by(OutboxMessage.inbox_message_id)
                    .having(func.count() > 0)
                ).all()
            )
            # The same answer stored twice for one message: a turn run twice.
            doubled = conn.scalar(
                select(func.count()).select_from(
                    select(OutboxMessage.inbox_message_id)
                    .join(InboxMessage, InboxMessage.id == OutboxMessage.inbox_message_id)
                    .where(
                        InboxMessage.conversation_id.startswith(ID_PREFIX + "-"),
                        OutboxMessage.author == BOT_AUTHOR,
                    )
                    .group_by(OutboxMessage.inbox_message_id, OutboxMessage.text)
                    .having(func.count() > 1)
                    .subquery()
                )
            )
    finally:
        engine.dispose()
    sent = sum(not t.detail.startswith("not sent") for t in turns)
    statuses: dict[str, int] = {}
    for _, status in rows:
        statuses[status.value] = statuses.get(status.value, 0) + 1
    unanswered = [row_id for row_id, status in rows if row_id not in answered_ids]
    return {
        "messages_sent": sent,
        "inbox_rows": len(rows),
        "inbox_statuses": statuses,
        "unanswered_rows": len(unanswered),
        "doubled_rows": int(doubled or 0),
        "lost": max(0, sent - len(rows))
        + len(unanswered)
        + sum(status is not InboxStatus.PROCESSED for _, status in rows),
    }


def phase_summary(turns: Sequence[Turn], start: float, end: float) -> dict[str, Any]:
    """Outcomes and latency of the turns sent in [start, end)."""
    chosen = [t for t in turns if start <= t.sent_at < end]
    answered = [t.seconds * 1000 for t in chosen if t.outcome != "error"]
    return {
        "turns": len(chosen),
        "answered": sum(t.outcome == "answered" for t in chosen),
        "delayed": sum(t.outcome == "delayed" for t in chosen),
        "errors": sum(t.outcome == "error" for t in chosen),
        "retried": sum(t.retries > 0 for t in chosen),
        "p50_ms": load.percentile(answered, 50),
        "p95_ms": load.percentile(answered, 95),
        "max_ms": max(answered, default=float("nan")),
    }


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} s"


def write_report(out: Path, result: dict[str, Any]) -> Path:
    """report.json and report.md; the Markdown's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    lines = [
        "# Scale-out run",
        "",
        f"{result['conversations']} concurrent web-chat conversations for "
        f"{result['duration_s']:.0f} s through nginx → {result['gateways']} gateways → nginx → "
        f"{result['rasa_servers']} Rasa servers (PostgreSQL tracker store, Redis lock store), "
        "one action server.",
        "",
        f"- rasa-1 killed (SIGKILL) at {_seconds(result['timeline']['rasa_killed_at'])}; "
        f"gateway-1 killed at {_seconds(result['timeline']['gateway_killed_at'])}; "
        "neither restarted.",
        f"- Wall time {result['wall_s']:.0f} s (the last turns finish after the load stops).",
        "",
        "| phase | turns | answered | delayed | errors | retried | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, phase in result["phases"].items():
        lines.append(
            f"| {name} | {phase['turns']} | {phase['answered']} | {phase['delayed']} | "
            f"{phase['errors']} | {phase['retried']} | {phase['p50_ms']:.0f} | "
            f"{phase['p95_ms']:.0f} | {phase['max_ms']:.0f} |"
        )
    audit_ = result["audit"]
    lines += [
        "",
        "Database audit (every message the clients sent):",
        "",
        f"- messages sent {audit_['messages_sent']}, inbox rows {audit_['inbox_rows']} "
        f"({audit_['inbox_statuses']}), unanswered {audit_['unanswered_rows']}, "
        f"doubled {audit_['doubled_rows']}, **lost {audit_['lost']}**.",
        "",
        '*delayed*: the cardholder saw "your message is saved, I\'ll reply shortly" and then the '
        "answer (a turn caught by a kill). *errors*: not sent after the page's retries, a failure "
        "notice, or no answer within "
        f"{ANSWER_TIMEOUT_SECONDS:.0f} s. *retried*: the page sent the message again after a lost "
        "answer (same client_message_id, one turn).",
    ]
    errors = [t for t in result["turns"] if t["outcome"] == "error"][:20]
    if errors:
        lines += ["", "First errors:", ""]
        lines += [f"- {t['sent_at']:.1f} s `{t['conversation_id']}`: {t['detail']}" for t in errors]
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot.bench.scaleout", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--conversations", type=int, default=100)
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--kill-rasa-at", type=float, default=90.0)
    parser.add_argument("--kill-gateway-at", type=float, default=165.0)
    parser.add_argument("--think", type=float, nargs=2, default=(6.0, 10.0), metavar=("MIN", "MAX"))
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "scaleout")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run it; exit 1 if anything was lost, doubled or seen as an error."""
    args = parse_args(argv)
    model = model_path()
    if not model.exists():
        print("error: no trained model; run `make model` first", file=sys.stderr)
        return 2
    logs = args.out / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with measures.postgres_database(DATABASE) as database:
        measures.seed(database, 20)
        print("==> starting redis, actions, 2 rasa, 2 gateways, nginx", flush=True)
        started = time.monotonic()
        topology = start_topology(model, database, logs, rasa_servers=2, gateways=2)
        print(
            f"==> ready in {time.monotonic() - started:.0f} s; "
            f"driving {args.conversations} conversations",
            flush=True,
        )
        try:
            turns, timeline, wall = asyncio.run(
                drive(
                    topology,
                    conversations=args.conversations,
                    duration=args.duration,
                    kill_rasa_at=args.kill_rasa_at,
                    kill_gateway_at=args.kill_gateway_at,
                    think=(args.think[0], args.think[1]),
                )
            )
        finally:
            topology.stop()
        audited = audit(database, turns)
    marks = [0.0, timeline.rasa_killed_at, timeline.gateway_killed_at, float("inf")]
    names = ["before the kills", "after rasa-1 died", "after gateway-1 died"]
    bounds = [m for m in marks if m is not None]
    phases = {
        name: phase_summary(turns, low, high)
        for name, low, high in zip(names[: len(bounds) - 1], bounds, bounds[1:], strict=False)
    }
    phases["whole run"] = phase_summary(turns, 0.0, float("inf"))
    result = {
        "conversations": args.conversations,
        "duration_s": args.duration,
        "gateways": 2,
        "rasa_servers": 2,
        "wall_s": wall,
        "timeline": asdict(timeline),
        "phases": phases,
        "audit": audited,
        "turns": [asdict(t) for t in turns],
    }
    report = write_report(args.out, result)
    print(report.read_text(encoding="utf-8"))
    whole = phases["whole run"]
    failed = whole["errors"] or audited["lost"] or audited["doubled_rows"]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
