"""Process faults against the real stack: kill a part, the cardholder barely notices.

A stack of its own (this module kills its processes), with outbound SMS sent
to a fake Twilio REST API on loopback so every send is counted. For each
fault: the cardholder gets a polite answer in their language, no inbound
message is lost (the gateway's inbox replays it), no reply goes out twice,
and the supervisor brings the dead process back without anyone's help.
docs/faults.md is the matrix these tests back.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import threading
import time
import urllib.error
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.channels.inbound import sms_conversation_id
from bot.db.engine import make_engine
from bot.db.models import InboxMessage
from bot.domain.enums import InboxStatus, Language
from bot.gateway.dialogue import SAVED_NOTICE
from bot.settings import PROJECT_ROOT
from tests.conftest import DatabaseFactory
from tests.e2e.conftest import Stack, running_stack
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER, FakeTwilioApi

pytestmark = pytest.mark.e2e

RECOVERY_TIMEOUT = 240.0  # Rasa reloads its model in tens of seconds; more on a busy machine
RETRY_INTERVAL = 5.0  # the gateway's retry worker (GatewayOptions default)
EMILY = "+14155550101"  # P1, English
ZHANG_WEI = "+8613800138004"  # P4, Chinese
BALANCE = {Language.EN: "how much do I owe", Language.ZH: "我还欠多少钱"}
BANK = {Language.EN: "Harbor Bank", Language.ZH: "港湾银行"}
_PID_LINE = re.compile(r"^==> (\w+) (?:started|restarted \(\d+ in window\)): pid (\d+)$", re.M)
_sids = itertools.count(1)


# --- the fake Twilio REST API, served from a thread --------------------------------------


class TwilioApiThread:
    """`FakeTwilioApi` on a loopback port, in its own thread and event loop."""

    def __init__(self) -> None:
        self.api = FakeTwilioApi()
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(self.api.make_app())
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> TwilioApiThread:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    def __exit__(self, *_exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


# --- the stack under test ----------------------------------------------------------------


@dataclass
class FaultStack:
    stack: Stack
    twilio: FakeTwilioApi
    engine: Engine

    def pid(self, name: str) -> int:
        """The running pid of a child, as the supervisor last reported it."""
        with open(self.stack.log_path, encoding="utf-8", errors="replace") as log:
            pids = [int(pid) for child, pid in _PID_LINE.findall(log.read()) if child == name]
        assert pids, f"no pid reported for {name}"
        return pids[-1]

    def log(self) -> str:
        with open(self.stack.log_path, encoding="utf-8", errors="replace") as log:
            return log.read()

    def inbox(self, conversation_id: str) -> list[InboxMessage]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(InboxMessage)
                .where(InboxMessage.conversation_id == conversation_id)
                .order_by(InboxMessage.id)
            )
            return list(rows.all())

    def statuses(self, conversation_id: str) -> list[InboxStatus]:
        return [row.status for row in self.inbox(conversation_id)]

    def replies(self, conversation_id: str) -> list[dict[str, Any]]:
        """Everything the web page would show, as its poll fetches it."""
        status, body = self.stack.request("GET", f"/api/chat/{conversation_id}/messages?after=0")
        assert status == 200, body
        messages: list[dict[str, Any]] = body["messages"]
        return messages

    def text(self, number: str, body: str) -> list[str]:
        """Text the bank as Twilio would; the `<Message>` bodies it answers."""
        params = {
            "From": number, "To": FROM_NUMBER, "Body": body,
            "MessageSid": f"SM{next(_sids):032x}", "AccountSid": ACCOUNT_SID,
        }  # fmt: skip
        status, xml = self.stack.twilio("/twilio/sms", params)
        assert status == 200, xml
        return [m.text or "" for m in ET.fromstring(xml).iter("Message")]

    def kill(self, name: str, signum: signal.Signals = signal.SIGKILL) -> int:
        pid = self.pid(name)
        os.kill(pid, signum)
        return pid

    def wait_restarted(self, name: str, old_pid: int) -> int:
        wait_for(lambda: self.pid(name) != old_pid, 60, f"{name} restarted")
        return self.pid(name)

    def wait_healthy(self) -> None:
        wait_for(lambda: self._health() == 200, RECOVERY_TIMEOUT, "the stack healthy again")

    def _health(self) -> int:
        try:
            return self.stack.request("GET", "/healthz")[0]
        except (urllib.error.URLError, OSError):
            return 0


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until true; fail naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def answered(faults: FaultStack, *conversation_ids: str) -> Callable[[], bool]:
    def check() -> bool:
        return all(
            faults.statuses(cid) and set(faults.statuses(cid)) == {InboxStatus.PROCESSED}
            for cid in conversation_ids
        )

    return check


def bot_texts(messages: list[dict[str, Any]]) -> list[str]:
    return [m["text"] for m in messages if m["author"] == "bot"]


@pytest.fixture(scope="module")
def faults(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultStack]:
    with TwilioApiThread() as twilio:
        database_url = database_factory.create()
        with running_stack(
            database_url, tmp_path_factory.mktemp("fault-stack"), TWILIO_API_BASE=twilio.url
        ) as stack:
            engine = make_engine(database_url)
            try:
                yield FaultStack(stack, twilio.api, engine)
            finally:
                engine.dispose()


# --- the action server killed --------------------------------------------------------------


def test_action_server_killed_polite_reply_then_answer_after_restart(faults: FaultStack) -> None:
    # A turn first, so the gateway has seen its action server answer.
    assert faults.stack.chat("fault-warmup", "hello", language="en")["messages"]
    old = faults.kill("actions")

    polite = {
        language: faults.stack.chat(
            f"fault-actions-{language.value}", BALANCE[language], language.value
        )
        for language in Language
    }

    for language, reply in polite.items():
        assert [m["text"] for m in reply["messages"]] == [SAVED_NOTICE[language]]
        assert faults.statuses(f"fault-actions-{language.value}") == [InboxStatus.PENDING_RETRY]
    # The supervisor notices the death on its own poll, which may come after the replies.
    death = f"actions (pid {old}) killed by SIGKILL; restarting in"
    wait_for(lambda: death in faults.log(), 30, "the supervisor to report the death")
    faults.wait_restarted("actions", old)
    ids = [f"fault-actions-{language.value}" for language in Language]
    wait_for(answered(faults, *ids), 60, "the kept messages answered")
    for language in Language:
        later = bot_texts(faults.replies(f"fault-actions-{language.value}"))
        # The identity check's first question, in the conversation's language:
        # the replayed turn started the session again (language, bank name).
        assert len(later) == 1 and BANK[language] in later[0], later


# --- Rasa and the gateway killed mid-turn, then messages while Rasa reloads ---------------


@dataclass
class Outage:
    """What one outage did; the tests below each check a part of it."""

    killed: dict[str, int] = field(default_factory=dict)
    restarted: dict[str, int] = field(default_factory=dict)
    # Answers given while Rasa was down (the gateway back up).
    web_polite: dict[Language, list[str]] = field(default_factory=dict)
    sms_polite: list[str] = field(default_factory=list)
    in_flight_errors: list[str] = field(default_factory=list)


IN_FLIGHT_WEB = "fault-inflight-web"
RASA_DOWN_WEB = {language: f"fault-rasa-{language.value}" for language in Language}


def _swallow(call: Callable[[], object]) -> Callable[[], str]:
    """Run a request whose connection will be cut; what went wrong, as text."""

    def run() -> str:
        try:
            call()
        except (urllib.error.URLError, OSError, AssertionError) as error:
            return type(error).__name__
        return "answered"

    return run


def _in_flight(faults: FaultStack, pool: ThreadPoolExecutor) -> list[Future[str]]:
    """A web message and a text, each saved and waiting on a frozen Rasa."""
    stack = faults.stack
    futures = [
        pool.submit(_swallow(lambda: stack.chat(IN_FLIGHT_WEB, BALANCE[Language.EN], "en"))),
        pool.submit(_swallow(lambda: faults.text(EMILY, BALANCE[Language.EN]))),
    ]
    sms = sms_conversation_id(EMILY)

    def both_with_rasa() -> bool:
        rows = faults.inbox(IN_FLIGHT_WEB) + faults.inbox(sms)
        return (
            len(rows) == 2
            and all(r.status is InboxStatus.RECEIVED for r in rows)
            and all(r.attempts == 1 for r in rows)
        )

    wait_for(both_with_rasa, 30, "both messages to be sent to Rasa")
    return futures


@pytest.fixture(scope="module")
def outage(faults: FaultStack) -> Outage:
    """Freeze Rasa mid-turn, kill the gateway and then Rasa, write while Rasa reloads.

    Returns once every message has been answered (or fails).
    """
    faults.wait_healthy()
    result = Outage()
    rasa_pid = faults.pid("rasa")
    os.kill(rasa_pid, signal.SIGSTOP)  # every turn now hangs inside Rasa
    with ThreadPoolExecutor(2) as pool:
        futures = _in_flight(faults, pool)
        result.killed["gateway"] = faults.kill("gateway")
        result.killed["rasa"] = faults.kill("rasa")  # a stopped process dies too
        result.in_flight_errors = [future.result(timeout=60) for future in futures]
    result.restarted["gateway"] = faults.wait_restarted("gateway", result.killed["gateway"])
    wait_for(lambda: faults._health() in (200, 503), 60, "the gateway to answer again")
    for language in Language:
        reply = faults.stack.chat(RASA_DOWN_WEB[language], BALANCE[language], language.value)
        result.web_polite[language] = [m["text"] for m in reply["messages"]]
    result.sms_polite = faults.text(ZHANG_WEI, BALANCE[Language.ZH])
    result.restarted["rasa"] = faults.wait_restarted("rasa", result.killed["rasa"])
    conversations = [IN_FLIGHT_WEB, *RASA_DOWN_WEB.values()]
    conversations += [sms_conversation_id(EMILY), sms_conversation_id(ZHANG_WEI)]
    wait_for(answered(faults, *conversations), RECOVERY_TIMEOUT, "every kept message answered")
    time.sleep(RETRY_INTERVAL + 1)  # one more retry pass: nothing may be sent again
    return result


def test_rasa_killed_polite_reply_in_each_language_then_the_answer(
    faults: FaultStack, outage: Outage
) -> None:
    for language in Language:
        assert outage.web_polite[language] == [SAVED_NOTICE[language]]
        shown = faults.replies(RASA_DOWN_WEB[language])
        assert shown[0]["text"] == SAVED_NOTICE[language]
        later = bot_texts(shown)
        assert len(later) == 1 and BANK[language] in later[0], later
        assert [r.attempts for r in faults.inbox(RASA_DOWN_WEB[language])] == [2]


def test_rasa_killed_sms_gets_a_polite_text_then_the_answer_once(
    faults: FaultStack, outage: Outage
) -> None:
    assert len(outage.sms_polite) == 1 and SAVED_NOTICE[Language.ZH] in outage.sms_polite[0]
    sent = faults.twilio.bodies_to(ZHANG_WEI)
    assert len(sent) == 1, sent  # the answer, pushed through the REST API once
    assert any("\u4e00" <= ch <= "\u9fff" for ch in sent[0])


def test_gateway_killed_mid_turn_web_message_is_answered_after_restart(
    faults: FaultStack, outage: Outage
) -> None:
    assert outage.in_flight_errors[0] != "answered"  # the page saw the connection drop
    rows = faults.inbox(IN_FLIGHT_WEB)
    assert [r.status for r in rows] == [InboxStatus.PROCESSED]
    later = bot_texts(faults.replies(IN_FLIGHT_WEB))
    assert len(later) == 1 and BANK[Language.EN] in later[0], later


def test_gateway_killed_mid_turn_sms_is_answered_once_through_the_rest_api(
    faults: FaultStack, outage: Outage
) -> None:
    assert outage.in_flight_errors[1] != "answered"  # Twilio's webhook request failed
    assert faults.statuses(sms_conversation_id(EMILY)) == [InboxStatus.PROCESSED]
    sent = faults.twilio.bodies_to(EMILY)
    assert len(sent) == 1, sent


def test_supervisor_restarted_every_killed_child(faults: FaultStack, outage: Outage) -> None:
    log = faults.log()
    for name, pid in outage.killed.items():
        assert f"{name} (pid {pid}) killed by SIGKILL; restarting in" in log
        assert outage.restarted[name] != pid
    assert faults.stack.process.poll() is None  # the stack itself never stopped
    faults.wait_healthy()


def test_every_fault_test_is_in_the_matrix() -> None:
    doc = (PROJECT_ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    names = [n for n in globals() if n.startswith("test_") and "in_the_matrix" not in n]
    assert [n for n in names if n not in doc] == []
