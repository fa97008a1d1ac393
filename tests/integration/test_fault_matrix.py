"""The fault matrix, in process: the database, Twilio, and half-written records.

Each test is named after its fault and checks what the person saw (in both
languages where a person sees something), that nothing was lost or sent
twice, and that the system recovered by itself. `docs/faults.md` lists them.
Process kills against the real stack are tested elsewhere (tests/e2e).
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import time
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

from actions.common import response_text
from actions.installments import ActionInstallmentStart, ActionInstallmentSubmit
from actions.promise import ActionPromiseSubmit
from bot.channels import texts
from bot.channels.inbound import sms_conversation_id
from bot.db.engine import make_async_engine, sync_url
from bot.db.models import (
    Account,
    Agent,
    Agreement,
    AuditLog,
    ContactLog,
    Conversation,
    HardshipCase,
    InboxMessage,
    InstallmentPlan,
    InstallmentScheduleItem,
    Offer,
    OutboxMessage,
    PromiseToPay,
    Transaction,
)
from bot.desk import web as desk_web
from bot.desk.auth import DeskUser
from bot.domain.enums import (
    AgentRole,
    Authority,
    CaseStatus,
    ContactOutcome,
    ConversationOwner,
    HardshipReason,
    Language,
    OfferKind,
    OfferStatus,
    ReminderStatus,
)
from bot.gateway.app import RETRY_WORKER, SPOOL_REPLAYER
from bot.gateway.chat import _UNAVAILABLE_ERROR
from bot.policy.loader import load_policy
from bot.services.collections import accept_offer
from bot.settings import PROJECT_ROOT
from tests.gateway_fakes import eventually
from tests.integration.test_reminders import MICHAEL, Rig, rig
from tests.integration.twilio_support import (
    EMILY,
    ZHANG_WEI,
    ClientFactory,
    Harness,
    rows,
    running_harness,
    said,
)
from tests.support import load_domain, make_tracker, mark_verified, responses
from tests.twilio_fake import Refusal

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

__all__ = ["rig"]  # the reminder rig fixture, shared with test_reminders

DOMAIN = load_domain()
POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
DEADLINE = 3.0  # seconds a webhook may take here (production: 12; Twilio waits 15)
Maker = async_sessionmaker[AsyncSession]


def _is_postgres(url: str) -> bool:
    return url.startswith("postgres")


def _admin_engine(url: str) -> Engine:
    server = make_url(sync_url(url)).set(database="postgres")
    return create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def database_down(url: str) -> Iterator[None]:
    """The database stops answering: no connection to it succeeds until the block ends.

    PostgreSQL: connections refused (`ALLOW_CONNECTIONS false`) and every open
    one killed (`pg_terminate_backend`). SQLite: the file is gone (a connect
    finds an empty database without tables).
    """
    if _is_postgres(url):
        name = make_url(url).database
        admin = _admin_engine(url)
        try:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": name},
                )
            yield
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            admin.dispose()
        return
    path = Path(str(make_url(url).database))
    hidden = path.parent / f"down-{uuid.uuid4().hex[:6]}"
    hidden.mkdir()
    names = [path.name, path.name + "-wal", path.name + "-shm"]
    for name in names:
        if (path.parent / name).exists():
            shutil.move(path.parent / name, hidden / name)
    try:
        yield
    finally:
        for name in names:  # what connects made meanwhile: empty databases
            (path.parent / name).unlink(missing_ok=True)
            if (hidden / name).exists():
                shutil.move(hidden / name, path.parent / name)
        hidden.rmdir()


@contextmanager
def inbox_locked(url: str) -> Iterator[None]:
    """Another transaction holds the inbox: PostgreSQL `ACCESS EXCLUSIVE`, SQLite the write lock."""
    if _is_postgres(url):
        engine = create_engine(sync_url(url), poolclass=NullPool)
        try:
            with engine.connect() as conn:
                conn.execute(text("LOCK TABLE inbox_messages IN ACCESS EXCLUSIVE MODE"))
                yield
                conn.rollback()
        finally:
            engine.dispose()
        return
    raw = sqlite3.connect(str(make_url(url).database), isolation_level=None)
    try:
        raw.execute("BEGIN IMMEDIATE")
        yield
        raw.execute("ROLLBACK")
    finally:
        raw.close()


@asynccontextmanager
async def harness(
    aiohttp_client: ClientFactory, url: str, spool: Path, **overrides: Any
) -> AsyncIterator[Harness]:
    """The gateway with short deadlines, its spool in `spool`, replayed every 0.2 s."""
    values: dict[str, Any] = {
        "spool_dir": spool,
        "webhook_deadline_seconds": DEADLINE,
        "chat_deadline_seconds": DEADLINE,
        "spool_replay_seconds": 0.2,
        **overrides,
    }
    async with running_harness(aiohttp_client, url, **values) as h:
        yield h


def sms_params(body: str, sender: str, sid: str) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": "+15005550006",
        "Body": body,
        "NumMedia": "0",
    }


def call_params(call_sid: str, caller: str = EMILY) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": "AC" + "1" * 32,
        "From": caller,
        "To": "+15005550006",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


async def post_sms(h: Harness, body: str, sender: str, sid: str) -> tuple[list[str], float]:
    """Text the gateway; its `<Message>` bodies and how long the webhook took."""
    started = time.monotonic()
    response = await h.post("/twilio/sms", sms_params(body, sender, sid))
    elapsed = time.monotonic() - started
    assert response.status == 200, await response.text()
    root = ET.fromstring(await response.text())
    return [m.text or "" for m in root.iter("Message")], elapsed


async def inbox_count(h: Harness, sid: str) -> int:
    async with h.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(InboxMessage)
            .where(InboxMessage.provider_message_id == sid)
        )
        return int(count or 0)


def saved_for_later(language: Language) -> str:
    bank = "港湾银行" if language is Language.ZH else "Harbor Bank"
    return texts.say(texts.SMS_SAVED_FOR_LATER, language, bank=bank)


# --- database down ------------------------------------------------------------------------------


async def test_database_down_web_chat_gets_503_in_both_languages_then_recovers(
    aiohttp_client: ClientFactory, clean_db: str, tmp_path: Path
) -> None:
    async with harness(aiohttp_client, clean_db, tmp_path / "spool") as h:
        body = {"conversation_id": "web-db-down", "text": "hello", "language": "zh"}
        with database_down(clean_db):
            response = await h.client.post("/api/chat", json=body)
            assert response.status == 503
            error = (await response.json())["error"]
            assert error == _UNAVAILABLE_ERROR
            assert "try again" in error and "请稍后再试" in error
        response = await h.client.post("/api/chat", json=body)  # the page sends it again
        assert response.status == 200
        assert (await response.json())["messages"][0]["text"] == "收到:hello"


@pytest.mark.parametrize(
    ("sender", "body", "language", "reply"),
    [
        (EMILY, "what do I owe", Language.EN, "You said: what do I owe"),
        (ZHANG_WEI, "我还欠多少钱", Language.ZH, "收到:我还欠多少钱"),
    ],
)
async def test_database_down_sms_is_spooled_answered_politely_and_replayed_once(
    aiohttp_client: ClientFactory,
    clean_db: str,
    tmp_path: Path,
    sender: str,
    body: str,
    language: Language,
    reply: str,
) -> None:
    sid = "SM" + uuid.uuid4().hex
    async with harness(aiohttp_client, clean_db, tmp_path / "spool") as h:
        with database_down(clean_db):
            said_now, _ = await post_sms(h, body, sender, sid)
            assert said_now == [saved_for_later(language)]
            assert h.client.app[SPOOL_REPLAYER]._spool.pending() == 1
            await asyncio.sleep(0.5)  # replay passes fail meanwhile, the text stays spooled
            assert h.client.app[SPOOL_REPLAYER]._spool.pending() == 1
        # The database is back: the background replay answers by text, once.
        await eventually(lambda: _sent_to(h, sender), timeout=10)
        [pushed] = h.api.bodies_to(sender)
        assert pushed.startswith(reply)
        assert h.rasa.messages(sms_conversation_id(sender)) == [body]
        assert await inbox_count(h, sid) == 1
        await eventually(lambda: _spool_empty(h), timeout=10)
        # Twilio retrying the webhook after all, or a second pass, changes nothing.
        again, _ = await post_sms(h, body, sender, sid)
        assert again == [pushed]
        assert await h.client.app[SPOOL_REPLAYER].run_once() == 0
        assert h.api.bodies_to(sender) == [pushed]
        assert h.rasa.messages(sms_conversation_id(sender)) == [body]


async def _spool_empty(h: Harness) -> bool | None:
    return True if h.client.app[SPOOL_REPLAYER]._spool.pending() == 0 else None


async def _sent_to(h: Harness, number: str) -> bool | None:
    return True if h.api.bodies_to(number) else None


async def test_database_down_voice_caller_hears_an_apology_in_both_languages(
    aiohttp_client: ClientFactory, clean_db: str, tmp_path: Path
) -> None:
    async with harness(aiohttp_client, clean_db, tmp_path / "spool") as h:
        with database_down(clean_db):
            root = await h.call("CA" + uuid.uuid4().hex)
        spoken = said(root)
        assert texts.VOICE_FAILURE[Language.EN] in spoken
        assert texts.VOICE_FAILURE[Language.ZH] in spoken
        assert root.find("Hangup") is not None
        # The next call is served normally.
        root = await h.call("CA" + uuid.uuid4().hex)
        assert root.find("Gather") is not None


async def test_database_pool_connections_killed_are_replaced(clean_db: str, tmp_path: Path) -> None:
    if not _is_postgres(clean_db):
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    engine = make_async_engine(clean_db)  # pooled, as the gateway's
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
        admin = _admin_engine(clean_db)
        with admin.connect() as conn:
            killed = conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :name AND pid <> pg_backend_pid()"
                ),
                {"name": make_url(clean_db).database},
            )
            # pg_terminate_backend only signals; wait until the backends have gone.
            for _ in range(100):
                left = conn.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": make_url(clean_db).database},
                )
                if not left:
                    break
                await asyncio.sleep(0.05)
        admin.dispose()
        assert killed and killed >= 1
        # The checkout sees the server's goodbye on the idle socket and reconnects.
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 1")) == 1
        # Every pooled connection is checked, not just the first one handed out.
        async with engine.connect() as first, engine.connect() as second:
            assert await first.scalar(text("SELECT 1")) == await second.scalar(text("SELECT 1"))
    finally:
        await engine.dispose()


async def test_a_connection_idle_for_long_is_pinged_before_it_is_handed_out(
    clean_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not _is_postgres(clean_db):
        pytest.skip("the SQLite engine has no socket to check")
    from bot.db import engine as engines

    def last_query() -> str:
        with admin.connect() as conn:
            return str(
                conn.scalar(
                    text(
                        "SELECT query FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": make_url(clean_db).database},
                )
            )

    engine = make_async_engine(clean_db)
    admin = _admin_engine(clean_db)
    try:
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT 'first'")) == "first"
        async with engine.connect():  # busy pool: handed out without a round trip
            assert last_query() == "ROLLBACK"  # the reset when it was given back
        monkeypatch.setattr(engines, "IDLE_PING_SECONDS", -1.0)  # as if idle for long
        async with engine.connect() as conn:
            assert last_query() == "SELECT 1"  # pinged before we got it
            assert await conn.scalar(text("SELECT 'second'")) == "second"
    finally:
        admin.dispose()
        await engine.dispose()


# --- database locked or hanging: bounded in time --------------------------------------------------


async def test_database_locked_sms_answers_within_the_deadline_and_is_replayed_once(
    aiohttp_client: ClientFactory, clean_db: str, tmp_path: Path
) -> None:
    sid = "SM" + uuid.uuid4().hex
    async with harness(aiohttp_client, clean_db, tmp_path / "spool") as h:
        with inbox_locked(clean_db):
            said_now, elapsed = await post_sms(h, "我还欠多少钱", ZHANG_WEI, sid)
            assert said_now == [saved_for_later(Language.ZH)]
            assert elapsed < DEADLINE + 1.5
        await eventually(lambda: _sent_to(h, ZHANG_WEI), timeout=15)
        [pushed] = h.api.bodies_to(ZHANG_WEI)
        assert pushed.startswith("收到:我还欠多少钱")
        assert await inbox_count(h, sid) == 1


async def test_database_locked_chat_and_voice_answer_within_the_deadline(
    aiohttp_client: ClientFactory, clean_db: str, tmp_path: Path
) -> None:
    async with harness(aiohttp_client, clean_db, tmp_path / "spool") as h:
        with inbox_locked(clean_db):
            started = time.monotonic()
            response = await h.client.post(
                "/api/chat", json={"conversation_id": "web-locked", "text": "hi"}
            )
            assert response.status == 503
            assert (await response.json())["error"] == _UNAVAILABLE_ERROR
            root = await h.call("CA" + uuid.uuid4().hex)
            assert time.monotonic() - started < 2 * DEADLINE + 2
        assert texts.VOICE_FAILURE[Language.EN] in said(root)
        assert texts.VOICE_FAILURE[Language.ZH] in said(root)


@asynccontextmanager
async def hanging_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        for writer in held:
            writer.close()
        server.close()


async def test_database_hanging_sms_voice_and_chat_answer_within_the_deadline(
    aiohttp_client: ClientFactory, tmp_path: Path
) -> None:
    async with hanging_server() as port:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/cardbot"
        async with harness(aiohttp_client, url, tmp_path / "spool") as h:
            said_now, elapsed = await post_sms(h, "hello", EMILY, "SM" + uuid.uuid4().hex)
            assert said_now == [saved_for_later(Language.EN)]
            assert elapsed < DEADLINE + 1.5
            assert h.client.app[SPOOL_REPLAYER]._spool.pending() == 1
            started = time.monotonic()
            root = await h.call("CA" + uuid.uuid4().hex)
            assert texts.VOICE_FAILURE[Language.ZH] in said(root)
            response = await h.client.post(
                "/api/chat", json={"conversation_id": "web-hang", "text": "hi"}
            )
            assert response.status == 503
            assert time.monotonic() - started < 2 * DEADLINE + 2


# --- Twilio failing or slow -----------------------------------------------------------------------


async def _late_reply(h: Harness, body: str) -> str:
    """A text answered late: Rasa is down when it arrives, then back for the retry worker."""
    h.rasa.mode = "error"
    await h.sms(body)
    h.rasa.mode = "ok"
    await h.client.app[RETRY_WORKER].run_once()
    return sms_conversation_id(EMILY)


async def _contacts(h: Harness, purpose: str) -> list[ContactLog]:
    return [row for row in await rows(h.sessions, ContactLog) if row.purpose == purpose]


async def test_twilio_500_on_a_late_sms_reply_is_logged_and_never_sent_twice(bot: Harness) -> None:
    bot.api.refuse_next = [Refusal(500, 20500, "Internal Server Error")]
    cid = await _late_reply(bot, "balance please")
    assert bot.api.messages == [] and bot.api.attempts == 1
    [failed] = await _contacts(bot, "reply")
    assert failed.outcome is ContactOutcome.FAILED
    assert failed.reason is not None and "refused" in failed.reason
    async with bot.sessions() as session:  # the answer is kept (the desk and transcript show it)
        stored = await session.scalar(
            select(OutboxMessage.text).where(
                OutboxMessage.conversation_id == cid, OutboxMessage.author == "bot"
            )
        )
    assert stored == "You said: balance please"
    assert await bot.client.app[RETRY_WORKER].run_once() == 0  # no replay, no resend
    assert bot.api.attempts == 1


async def test_twilio_accepting_but_answering_too_late_sends_the_reply_once(bot: Harness) -> None:
    bot.api.answer_delay = bot.settings.twilio_timeout_seconds + 0.5
    await _late_reply(bot, "balance please")
    [sent] = bot.api.bodies_to(EMILY)  # accepted once
    assert sent.startswith("You said: balance please")
    assert bot.api.lookups == 1  # Twilio's answer was lost; its records were asked
    [row] = await _contacts(bot, "reply")
    assert row.outcome is ContactOutcome.QUEUED
    assert row.provider_sid == bot.api.messages[0]["Sid"]  # status callbacks will match it
    assert await bot.client.app[RETRY_WORKER].run_once() == 0
    assert bot.api.attempts == 1


async def _agent(h: Harness) -> DeskUser:
    name = f"agent{uuid.uuid4().hex[:6]}"
    async with h.sessions() as session:
        agent = Agent(username=name, display_name="Ann", role=AgentRole.AGENT, password_hash="x")
        session.add(agent)
        await session.commit()
        return DeskUser(agent.id, name, "Ann", AgentRole.AGENT, "session", "csrf")


async def _taken_by(h: Harness, cid: str, user: DeskUser) -> None:
    async with h.sessions() as session:
        row = await session.get(Conversation, cid)
        assert row is not None
        row.owner, row.assigned_agent_id = ConversationOwner.AGENT, user.agent_id
        await session.commit()


async def test_twilio_429_on_a_desk_reply_tells_the_agent_and_sends_nothing(
    bot: Harness,
) -> None:
    await bot.sms("I need a person")
    cid = sms_conversation_id(EMILY)
    user = await _agent(bot)
    await _taken_by(bot, cid, user)
    desk = bot.client.app[desk_web.DESK]
    bot.api.refuse_next = [Refusal(429, 20429, "Too Many Requests")]
    delivered = await desk.reply(user, cid, "Hello, this is Ann.")
    assert delivered.delivery == "sms_failed"  # the desk shows it was not delivered
    assert bot.api.messages == []
    [failed] = await _contacts(bot, "reply")
    assert failed.outcome is ContactOutcome.FAILED and "Too Many Requests" in (failed.reason or "")
    delivered = await desk.reply(user, cid, "Hello again.")  # Twilio is back
    assert delivered.delivery == "sms"
    assert bot.api.bodies_to(EMILY) == ["Hello again."]


async def test_twilio_timeout_on_a_reminder_asks_twilio_before_any_retry(rig: Rig) -> None:
    rig.api.clock = rig.clock
    rig.api.answer_delay = 2.5  # the rig's client waits 2 s: accepted, answer lost
    rig.api.lookup_fails = True  # and Twilio cannot be asked just then either
    await rig.scheduler.run_once()
    [job] = await rig.jobs(MICHAEL)
    assert job.status is ReminderStatus.PLANNED
    assert job.reason is not None and "unconfirmed" in job.reason
    assert job.send_started_at is not None  # kept: the retry asks Twilio first
    assert len(rig.api.bodies_to(MICHAEL)) == 1
    async with rig.sessions() as session:
        [logged] = (
            await session.scalars(select(ContactLog).where(ContactLog.purpose == job.purpose))
        ).all()
    assert logged.outcome is ContactOutcome.FAILED and "unconfirmed" in (logged.reason or "")

    rig.api.answer_delay, rig.api.lookup_fails = 0.0, False
    rig.clock.now = job.not_before
    report = await rig.scheduler.run_once()
    assert job.id in report.outcomes["sent"]
    assert len(rig.api.bodies_to(MICHAEL)) == 1  # never twice
    [done] = await rig.jobs(MICHAEL)
    assert done.status is ReminderStatus.SENT
    assert done.provider_sid == rig.api.messages[0]["Sid"]
    async with rig.sessions() as session:
        sids = (await session.scalars(select(ContactLog.provider_sid))).all()
    assert rig.api.messages[0]["Sid"] in sids


async def test_twilio_500_on_a_reminder_is_retried_later_and_sent_once(rig: Rig) -> None:
    rig.api.refusals[MICHAEL] = Refusal(500, 20500, "Internal Server Error")
    await rig.scheduler.run_once()
    [job] = await rig.jobs(MICHAEL)
    assert job.status is ReminderStatus.PLANNED and job.send_started_at is None
    assert rig.api.bodies_to(MICHAEL) == []
    rig.api.refusals.clear()
    rig.clock.now = job.not_before
    await rig.scheduler.run_once()
    assert len(rig.api.bodies_to(MICHAEL)) == 1
    async with rig.sessions() as session:
        outcomes = (
            await session.scalars(
                select(ContactLog.outcome)
                .where(ContactLog.purpose == job.purpose)
                .order_by(ContactLog.id)
            )
        ).all()
    assert list(outcomes) == [ContactOutcome.FAILED, ContactOutcome.QUEUED]


# --- transactions: nothing half-written --------------------------------------------------


@contextmanager
def failing_flush(model: type[Any], **match: Any) -> Iterator[list[str]]:
    """Make the flush that inserts a matching `model` row fail, as a full disk would."""
    failures: list[str] = []

    def before_flush(session: Session, _context: Any, _instances: Any) -> None:
        for obj in session.new:
            if isinstance(obj, model) and all(getattr(obj, k) == v for k, v in match.items()):
                failures.append(model.__name__)
                raise OperationalError("INSERT", {}, Exception("injected: disk full"))

    event.listen(Session, "before_flush", before_flush)
    try:
        yield failures
    finally:
        event.remove(Session, "before_flush", before_flush)


async def _run(action: Any, sender: str, **tracker: Any) -> tuple[Any, Any]:
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, make_tracker(sender, **tracker), DOMAIN)
    return dispatcher, events


async def _count(maker: Maker, model: Any, *where: Any) -> int:
    async with maker() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _both_languages(name: str) -> tuple[str, str]:
    return response_text(DOMAIN, name, Language.EN), response_text(DOMAIN, name, Language.ZH)


async def test_transaction_plan_schedule_write_fails_leaves_no_plan(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P1")
    _, events = await _run(
        ActionInstallmentStart(), conversation_id, intent="installment_enquiry",
        text="can i split my $1,200 purchase into 6 months",
        slots={"verified": True, "account_id": account_id},
    )  # fmt: skip
    slots = {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
    item = slots["inst_item"]
    confirmed = {"inst_item": item, "inst_tenor": "6", "inst_confirm": True}
    plans_before = await _count(own_sessions, InstallmentPlan)
    with failing_flush(InstallmentScheduleItem) as failures:  # the plan's second INSERT
        dispatcher, _ = await _run(ActionInstallmentSubmit(), conversation_id, slots=confirmed)
    assert failures
    assert responses(dispatcher) == ["utter_inst_failed"]
    en, zh = _both_languages("utter_inst_failed")
    assert "nothing has been charged" in en and "未产生任何费用" in zh
    assert await _count(own_sessions, InstallmentPlan) == plans_before
    assert await _count(own_sessions, Offer, Offer.account_id == account_id) == 0
    assert await _count(own_sessions, AuditLog, AuditLog.action == "installment_plan_created") == 0
    async with own_sessions() as session:
        purchase = await session.get(Transaction, int(item.split(":")[1]))
        assert purchase is not None and purchase.installment_plan_id is None
    # Recovery needs nothing: the same "yes" again sets the plan up, once.
    dispatcher, _ = await _run(ActionInstallmentSubmit(), conversation_id, slots=confirmed)
    assert responses(dispatcher) == ["utter_inst_created"]
    assert await _count(own_sessions, InstallmentPlan) == plans_before + 1


async def _today(maker: Maker, account_id: int) -> date:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    async with maker() as session:
        account = await session.get(Account, account_id)
        assert account is not None
        return datetime.now(ZoneInfo(account.time_zone)).date()


async def test_transaction_promise_audit_write_fails_records_nothing_and_says_so(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P2")
    pay_on = await _today(own_sessions, account_id) + timedelta(days=3)
    slots = {"ptp_amount": "200", "ptp_date": pay_on.isoformat(), "ptp_confirm": "yes"}
    with failing_flush(AuditLog, action="promise_recorded") as failures:
        dispatcher, _ = await _run(ActionPromiseSubmit(), conversation_id, slots=slots)
    assert failures
    # Only the failure is said: never "recorded" for what was rolled back.
    assert responses(dispatcher) == ["utter_col_failed"]
    en, zh = _both_languages("utter_col_failed")
    assert "nothing was changed" in en and "没有任何变更" in zh
    assert await _count(own_sessions, PromiseToPay, PromiseToPay.account_id == account_id) == 0
    assert await _count(own_sessions, Offer, Offer.account_id == account_id) == 0
    dispatcher, _ = await _run(ActionPromiseSubmit(), conversation_id, slots=slots)
    assert responses(dispatcher) == ["utter_ptp_recorded"]
    assert await _count(own_sessions, PromiseToPay, PromiseToPay.account_id == account_id) == 1


async def test_transaction_agreement_audit_write_fails_leaves_the_offer_open(
    own_sessions: Maker, conversation_id: str
) -> None:
    account_id = await mark_verified(own_sessions, conversation_id, "P3")
    async with own_sessions() as session, session.begin():
        balance_before = (await session.get(Account, account_id)).current_balance  # type: ignore[union-attr]
        case = HardshipCase(
            account_id=account_id,
            conversation_id=conversation_id,
            reason=HardshipReason.JOB_LOSS,
            monthly_affordable=Decimal("300.00"),
            status=CaseStatus.AWAITING_APPROVAL,
        )
        session.add(case)
        await session.flush()
        offer = Offer(
            account_id=account_id,
            conversation_id=conversation_id,
            hardship_case_id=case.id,
            kind=OfferKind.HARDSHIP_PLAN,
            terms={"months": 18, "instalments": "380.00"},
            made_by="bot",
            authority_required=Authority.AGENT,
            status=OfferStatus.APPROVED,
            policy_version=POLICY.version,
            decided_by="agent:ann",
        )
        session.add(offer)
        await session.flush()
        offer_id, case_id = offer.id, case.id

    async def consent() -> None:
        async with own_sessions() as session, session.begin():
            await accept_offer(
                session,
                account_id=account_id,
                offer_id=offer_id,
                decision=None,
                consent_text="I agree",
                conversation_id=conversation_id,
            )

    with (
        failing_flush(AuditLog, action="agreement_recorded") as failures,
        pytest.raises(OperationalError),
    ):
        await consent()
    assert failures
    async with own_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 0
        offer_now = await session.get(Offer, offer_id)
        case_now = await session.get(HardshipCase, case_id)
        account = await session.get(Account, account_id)
        assert offer_now is not None and offer_now.status is OfferStatus.APPROVED
        assert case_now is not None and case_now.status is CaseStatus.AWAITING_APPROVAL
        assert account is not None and account.current_balance == balance_before
    await consent()  # the cardholder says yes again: one agreement, the offer accepted
    async with own_sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Agreement)) == 1
        offer_now = await session.get(Offer, offer_id)
        assert offer_now is not None and offer_now.status is OfferStatus.ACCEPTED


def test_fault_matrix_tests_are_listed_in_docs() -> None:
    doc = (PROJECT_ROOT / "docs" / "faults.md").read_text(encoding="utf-8")
    names = [n for n in globals() if n.startswith("test_") and "listed_in_docs" not in n]
    missing = [n for n in names if n not in doc]
    assert not missing, missing
