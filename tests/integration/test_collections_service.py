"""The collections service on a real database: broken promises, agreements exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Account, Agreement, AuditLog, Conversation, Payment, PromiseToPay
from bot.domain.enums import Channel, ConversationOwner, OfferStatus, PromiseStatus
from bot.policy import load_policy
from bot.policy.offers import SettlementRequest, evaluate
from bot.services.collections import (
    NotAuthorised,
    OfferNotFound,
    OfferNotOpen,
    accept_offer,
    approved_awaiting_consent,
    load_snapshot,
    local_today,
    mark_broken_promises,
    record_offer,
    request_agent_review,
)
from bot.settings import PROJECT_ROOT
from tests.support import account_id_of, add_conversation

POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
Maker = async_sessionmaker[AsyncSession]


async def _promise(
    maker: Maker, account_id: int, days_ago: int, amount: str, conversation_id: str | None
) -> int:
    now = datetime.now(timezone.utc)
    async with maker() as session, session.begin():
        account = await session.get(Account, account_id)
        assert account is not None
        # Days before the cardholder's own today: a promise is broken by their calendar,
        # which at 01:00 UTC is still yesterday's in Chicago.
        promise = PromiseToPay(
            account_id=account_id,
            conversation_id=conversation_id,
            amount=Decimal(amount),
            promised_date=local_today(account, now) - timedelta(days=days_ago),
            status=PromiseStatus.OPEN,
            channel=Channel.WEB,
            policy_version=POLICY.version,
            created_at=now - timedelta(days=days_ago + 5),
        )
        session.add(promise)
        await session.flush()
        return promise.id


async def test_second_broken_promise_routes_the_account_to_an_agent(
    own_sessions: Maker,
) -> None:
    p2 = await account_id_of(own_sessions, "P2")
    p3 = await account_id_of(own_sessions, "P3")
    await add_conversation(own_sessions, "broken-p2")
    first = await _promise(own_sessions, p2, 10, "120.00", "broken-p2")
    kept = await _promise(own_sessions, p3, 3, "400.00", None)
    future = await _promise(own_sessions, p2, -3, "50.00", None)
    async with own_sessions() as session, session.begin():
        session.add(
            Payment(account_id=p3, amount=Decimal("400.00"), method="ach",
                    received_at=datetime.now(timezone.utc) - timedelta(days=4))
        )  # fmt: skip

    async with own_sessions() as session, session.begin():
        result = await mark_broken_promises(session, POLICY)
    assert result.promise_ids == (first,)
    assert result.routed_account_ids == ()  # one broken promise: not yet a person's

    second = await _promise(own_sessions, p2, 1, "120.00", "broken-p2")
    async with own_sessions() as session, session.begin():
        result = await mark_broken_promises(session, POLICY)
    assert result.promise_ids == (second,)
    assert result.routed_account_ids == (p2,)

    async with own_sessions() as session:
        rows = await session.execute(select(PromiseToPay.id, PromiseToPay.status))
        statuses: dict[int, PromiseStatus] = {row[0]: row[1] for row in rows.all()}
        assert statuses[first] is PromiseStatus.BROKEN
        assert statuses[second] is PromiseStatus.BROKEN
        assert statuses[kept] is PromiseStatus.OPEN  # paid in full since it was made
        assert statuses[future] is PromiseStatus.OPEN  # not due yet
        conversation = await session.get(Conversation, "broken-p2")
        assert conversation is not None
        assert conversation.owner is ConversationOwner.WAITING
        assert conversation.handoff_reason == "broken_promises"

    # Broken promises now need an agent for any new arrangement.
    async with own_sessions() as session:
        snapshot = await load_snapshot(session, p2, datetime.now(timezone.utc).date())
    assert snapshot.broken_promises == 2


async def test_agreement_is_recorded_exactly_once_per_offer(own_sessions: Maker) -> None:
    p6 = await account_id_of(own_sessions, "P6")
    await add_conversation(own_sessions, "settle-p6")
    async with own_sessions() as session, session.begin():
        account = await session.get(Account, p6)
        assert account is not None
        today = local_today(account)
        snapshot = await load_snapshot(session, p6, today)
        request = SettlementRequest(pay_by=today + timedelta(days=10), pct=Decimal(70))
        decision = evaluate(POLICY, snapshot, request, today)
        offer = await record_offer(
            session, account_id=p6, decision=decision, status=OfferStatus.PROPOSED,
            conversation_id="settle-p6",
        )  # fmt: skip
        first = await accept_offer(
            session, account_id=p6, offer_id=offer.id, decision=decision,
            consent_text="terms\n> 同意", conversation_id="settle-p6",
        )  # fmt: skip
        again = await accept_offer(
            session, account_id=p6, offer_id=offer.id, decision=decision,
            consent_text="terms\n> 同意", conversation_id="settle-p6",
        )  # fmt: skip
        assert first.created and not again.created
        assert first.agreement.id == again.agreement.id
        assert offer.status is OfferStatus.ACCEPTED
    async with own_sessions() as session:
        rows = (await session.scalars(select(Agreement).where(Agreement.account_id == p6))).all()
        assert len(rows) == 1
        assert rows[0].policy_version == POLICY.version
        assert rows[0].channel is Channel.WEB


async def test_nothing_is_recorded_beyond_the_bots_authority(own_sessions: Maker) -> None:
    p6 = await account_id_of(own_sessions, "P6")
    async with own_sessions() as session, session.begin():
        account = await session.get(Account, p6)
        assert account is not None
        today = local_today(account)
        snapshot = await load_snapshot(session, p6, today)
        decision = evaluate(
            POLICY, snapshot, SettlementRequest(pay_by=today, pct=Decimal(55)), today
        )
        try:
            await record_offer(
                session, account_id=p6, decision=decision, status=OfferStatus.ACCEPTED,
                conversation_id=None,
            )  # fmt: skip
        except NotAuthorised:
            pass
        else:  # pragma: no cover - the assertion below explains
            raise AssertionError("an agent-only settlement was accepted by the bot")


async def test_an_offer_a_person_approved_is_agreed_exactly_once_for_its_account(
    own_sessions: Maker,
) -> None:
    p6 = await account_id_of(own_sessions, "P6")
    p5 = await account_id_of(own_sessions, "P5")
    await add_conversation(own_sessions, "approved-p6")
    async with own_sessions() as session, session.begin():
        account = await session.get(Account, p6)
        assert account is not None
        today = local_today(account)
        snapshot = await load_snapshot(session, p6, today)
        request = SettlementRequest(pay_by=today + timedelta(days=10), pct=Decimal(55))
        decision = evaluate(POLICY, snapshot, request, today)
        assert not decision.bot_may_agree  # an agent's to approve
        offer = await request_agent_review(
            session, account_id=p6, conversation_id="approved-p6", decision=decision,
            summary="settlement at 55%",
        )  # fmt: skip
        assert await approved_awaiting_consent(session, "approved-p6") is None  # still pending
        with pytest.raises(OfferNotOpen):
            await accept_offer(
                session, account_id=p6, offer_id=offer.id, decision=None,
                consent_text="terms\n> 同意", conversation_id="approved-p6",
            )  # fmt: skip
        offer.status = OfferStatus.APPROVED  # the agent desk
        offer.decided_by = "agent:bob"
        offer.decided_at = datetime.now(timezone.utc)
        assert await approved_awaiting_consent(session, "approved-p6") is offer
        assert await approved_awaiting_consent(session, "another-conversation") is None
        with pytest.raises(OfferNotFound):  # not the verified account's offer
            await accept_offer(
                session, account_id=p5, offer_id=offer.id, decision=None,
                consent_text="terms\n> 同意", conversation_id="approved-p6",
            )  # fmt: skip
        first = await accept_offer(
            session, account_id=p6, offer_id=offer.id, decision=decision,
            consent_text="terms\n> 同意", conversation_id="approved-p6",
        )  # fmt: skip
        again = await accept_offer(
            session, account_id=p6, offer_id=offer.id, decision=None,
            consent_text="terms\n> 同意", conversation_id="approved-p6",
        )  # fmt: skip
        assert first.created and not again.created
        assert first.agreement.id == again.agreement.id
        assert offer.status is OfferStatus.ACCEPTED
        assert offer.decided_by == "agent:bob"
        assert await approved_awaiting_consent(session, "approved-p6") is None
    async with own_sessions() as session:
        entry = await session.scalar(
            select(AuditLog).where(AuditLog.action == "agreement_recorded")
        )
        assert entry is not None
        assert entry.details["approved_by"] == "agent:bob"
        assert entry.details["approved_at"]
        assert entry.details["authority_required"] == "agent"


async def test_a_proposed_offer_still_needs_the_engines_decision(own_sessions: Maker) -> None:
    p6 = await account_id_of(own_sessions, "P6")
    async with own_sessions() as session, session.begin():
        account = await session.get(Account, p6)
        assert account is not None
        today = local_today(account)
        snapshot = await load_snapshot(session, p6, today)
        decision = evaluate(
            POLICY, snapshot, SettlementRequest(pay_by=today, pct=Decimal(70)), today
        )
        offer = await record_offer(
            session, account_id=p6, decision=decision, status=OfferStatus.PROPOSED,
            conversation_id=None,
        )  # fmt: skip
        with pytest.raises(ValueError, match="decision"):
            await accept_offer(
                session, account_id=p6, offer_id=offer.id, decision=None,
                consent_text="terms\n> 同意", conversation_id=None,
            )  # fmt: skip
        assert offer.status is OfferStatus.PROPOSED
