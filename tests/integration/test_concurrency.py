"""Two channels writing to one account at once leave a state some serial order explains.

Each round, at the same moment: a promise to pay arrives by SMS (the promise
action, as the action server runs it for the SMS conversation), a second
promise arrives by web chat, and an agent approves a hardship plan offer at
the desk. The domain rules (CONTRACT.md §5, `bot.policy.offers`): the bot may
note one open promise; a second while one is open goes to a person
(`promise_already_open`). An approved plan offer and an open promise may
coexist. So in every serial order exactly one promise is recorded (with its
accepted offer and audit entry), the other request waits for a person as a
pending offer, and the plan offer is approved with its audit entry and the
cardholder's notice; never two open promises, never anything half-written.
Run against PostgreSQL (`DATABASE_URL`) for real concurrency; SQLite
serialises writers and must give the same answers.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import delete, func, select

from actions import deps
from actions.promise import ActionPromiseSubmit
from bot.db.models import (
    Account,
    Agent,
    AuditLog,
    Conversation,
    Handoff,
    Offer,
    OutboxMessage,
    PromiseToPay,
)
from bot.desk import web as desk_web
from bot.desk.auth import DeskUser
from bot.domain.enums import (
    AgentRole,
    Authority,
    Channel,
    ConversationOwner,
    Language,
    OfferKind,
    OfferStatus,
    PromiseStatus,
)
from bot.policy.loader import load_policy
from bot.settings import PROJECT_ROOT
from tests.integration.twilio_support import ClientFactory, Harness, running_harness
from tests.support import SECRET, load_domain, make_tracker, mark_verified

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

ROUNDS = 20
DOMAIN = load_domain()
POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")


@pytest.fixture
async def gateway(aiohttp_client: ClientFactory, fresh_seeded_url: str) -> AsyncIterator[Harness]:
    """The gateway (its desk) and the actions on one database of the test's own."""
    async with running_harness(aiohttp_client, fresh_seeded_url) as h:
        deps.override(
            deps.Dependencies(
                h.settings.model_copy(update={"session_secret": SecretStr(SECRET)}), h.sessions
            )
        )
        try:
            yield h
        finally:
            deps.override(None)


async def _agent(h: Harness) -> DeskUser:
    async with h.sessions() as session:
        agent = Agent(username="ann", display_name="Ann", role=AgentRole.AGENT, password_hash="x")
        session.add(agent)
        await session.commit()
        return DeskUser(agent.id, "ann", "Ann", AgentRole.AGENT, "session", "csrf")


async def _pending_plan(h: Harness, account_id: int, user: DeskUser, cid: str) -> int:
    """A hardship plan offer waiting for the agent, in a conversation the agent has."""
    async with h.sessions() as session, session.begin():
        session.add(
            Conversation(
                id=cid,
                channel=Channel.WEB,
                language=Language.EN,
                account_id=account_id,
                owner=ConversationOwner.AGENT,
                assigned_agent_id=user.agent_id,
            )
        )
        await session.flush()
        offer = Offer(
            account_id=account_id,
            conversation_id=cid,
            kind=OfferKind.HARDSHIP_PLAN,
            terms={"months": 6, "instalments": "200.00"},
            made_by="bot",
            authority_required=Authority.AGENT,
            status=OfferStatus.PENDING_APPROVAL,
            policy_version=POLICY.version,
        )
        session.add(offer)
        await session.flush()
        return offer.id


async def _promise(cid: str, amount: str, pay_on: str, barrier: asyncio.Event) -> list[str]:
    await barrier.wait()
    dispatcher = CollectingDispatcher()
    slots = {"ptp_amount": amount, "ptp_date": pay_on, "ptp_confirm": "yes"}
    await ActionPromiseSubmit().run(dispatcher, make_tracker(cid, slots=slots), DOMAIN)
    return [m.get("response") or "" for m in dispatcher.messages]


async def _approve(h: Harness, user: DeskUser, offer_id: int, barrier: asyncio.Event) -> str:
    await barrier.wait()
    decided = await h.client.app[desk_web.DESK].decide(user, offer_id, approve=True)
    return str(decided["status"])


async def _count(h: Harness, model: Any, *where: Any) -> int:
    async with h.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def _reset(h: Harness, account_id: int) -> None:
    async with h.sessions() as session, session.begin():
        await session.execute(delete(PromiseToPay).where(PromiseToPay.account_id == account_id))
        await session.execute(delete(OutboxMessage))
        await session.execute(delete(AuditLog))
        await session.execute(delete(Handoff))
        await session.execute(delete(Offer).where(Offer.account_id == account_id))


async def test_concurrent_sms_promise_web_promise_and_desk_approval_stay_consistent(
    gateway: Harness,
) -> None:
    h = gateway
    user = await _agent(h)
    account_id = 0
    for round_no in range(ROUNDS):
        tag = uuid.uuid4().hex[:6]
        sms_cid, web_cid, desk_cid = f"sms:+1312{tag}", f"web-{tag}", f"desk-{tag}"
        account_id = await mark_verified(h.sessions, sms_cid, "P2", channel=Channel.SMS)
        await mark_verified(h.sessions, web_cid, "P2")
        offer_id = await _pending_plan(h, account_id, user, desk_cid)
        async with h.sessions() as session:
            account = await session.get(Account, account_id)
            assert account is not None
            balance = account.current_balance
            today = datetime.now(ZoneInfo(account.time_zone)).date()
        pay_on = (today + timedelta(days=3)).isoformat()

        barrier = asyncio.Event()
        work = asyncio.gather(
            _promise(sms_cid, "150", pay_on, barrier),
            _promise(web_cid, "160", pay_on, barrier),
            _approve(h, user, offer_id, barrier),
        )
        await asyncio.sleep(0)
        barrier.set()
        sms_said, web_said, approved = await work

        # One promise noted by the bot, the other passed to a person: a serial outcome.
        said = sorted([sms_said, web_said])
        assert said == [["utter_col_review_requested"], ["utter_ptp_recorded"]], (round_no, said)
        async with h.sessions() as session:
            promises = (
                await session.scalars(
                    select(PromiseToPay).where(PromiseToPay.account_id == account_id)
                )
            ).all()
            offers = (
                await session.scalars(select(Offer).where(Offer.account_id == account_id))
            ).all()
            account = await session.get(Account, account_id)
        assert [p.status for p in promises] == [PromiseStatus.OPEN], round_no
        [promise] = promises
        recorded_by = sms_cid if sms_said == ["utter_ptp_recorded"] else web_cid
        waiting = web_cid if recorded_by == sms_cid else sms_cid
        assert promise.conversation_id == recorded_by
        by_kind = sorted((o.kind.value, o.status.value, o.conversation_id) for o in offers)
        assert by_kind == sorted(
            [
                ("hardship_plan", "approved", desk_cid),
                ("promise", "accepted", recorded_by),
                ("promise", "pending_approval", waiting),
            ]
        ), round_no
        pending = next(o for o in offers if o.status is OfferStatus.PENDING_APPROVAL)
        assert "promise_already_open" in pending.terms["reasons"]
        assert approved == "approved"
        # Everything each write owes came with it.
        assert await _count(h, AuditLog, AuditLog.action == "promise_recorded",
                            AuditLog.entity_id == str(promise.id)) == 1  # fmt: skip
        assert await _count(h, AuditLog, AuditLog.action == "offer_approved",
                            AuditLog.entity_id == str(offer_id)) == 1  # fmt: skip
        assert await _count(h, OutboxMessage, OutboxMessage.conversation_id == desk_cid) == 1
        async with h.sessions() as session:
            conv = await session.get(Conversation, waiting)
            assert conv is not None and conv.owner is ConversationOwner.WAITING
        assert account is not None and account.current_balance == balance  # nothing moved money
        await _reset(h, account_id)
