"""Collections records: promises, offers, hardship cases, agreements, waivers, reviews.

Every function here writes what the offer engine (`bot.policy.offers`) has
already decided; none of them decides an amount or a term. Each one checks
that the decision it is given lets the bot act (an offer a person approved
carries that person's authority instead), stamps the policy version on what
it writes, and adds an audit entry. The caller owns the transaction
(`async with session.begin()`), so a reply is only sent for what committed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import (
    Account,
    Agreement,
    Conversation,
    Fee,
    HardshipCase,
    Offer,
    Payment,
    PromiseToPay,
)
from bot.db.types import utcnow
from bot.domain.enums import (
    CaseStatus,
    Channel,
    HardshipReason,
    OfferStatus,
    PromiseStatus,
)
from bot.domain.escalation import EscalationCategory
from bot.policy.models import Policy
from bot.policy.offers import (
    AccountSnapshot,
    Decision,
    FeeWaiverTerms,
    PromiseTerms,
)
from bot.policy.snapshot import snapshot_from_rows
from bot.services import audit
from bot.services.accounts import AccountNotFound
from bot.services.conversations import PRIORITY_ELEVATED, get_or_create, request_handoff

BOT = "bot"
# Why a conversation waits for a person after an offer went beyond the bot.
REVIEW_REASON = "offer_review"
BROKEN_PROMISES_REASON = "broken_promises"
# What each escalation category sets on the account (collection contact stops
# while any is set; a person reviews and clears it). A complaint has no flag:
# it travels with the conversation.
ACCOUNT_FLAGS: dict[str, str] = {
    "dispute": "dispute_open",
    EscalationCategory.ATTORNEY.value: "attorney_represented",
    EscalationCategory.BANKRUPTCY.value: "bankruptcy",
    EscalationCategory.DECEASED.value: "deceased",
    EscalationCategory.DISTRESS.value: "vulnerable",
}


class CollectionsError(Exception):
    """Base class for what the collections service refuses to record."""


class NotAuthorised(CollectionsError):
    """The decision does not let the bot agree: nothing was recorded."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"bot may not agree: {', '.join(decision.reasons) or 'handoff'}")
        self.decision = decision


class OfferNotFound(CollectionsError, LookupError):
    """No such offer on this account."""


class OfferNotOpen(CollectionsError):
    """The offer was already refused, escalated or decided."""


# --- reading ----------------------------------------------------------------------


async def _account(session: AsyncSession, account_id: int) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise AccountNotFound(account_id)
    return account


def local_today(account: Account, now: datetime | None = None) -> date:
    """The calendar day at the account's address (promise dates are its days)."""
    return (now or utcnow()).astimezone(ZoneInfo(account.time_zone)).date()


async def lock_account(session: AsyncSession, account_id: int) -> None:
    """Hold the account row's write lock until the caller's transaction ends.

    Every transaction that decides on an account's state and then writes to
    it (a promise, an offer, an agreement, a waiver, a person's approval)
    takes it first, so two channels writing to one account at once run one
    after the other and the second decides on what the first wrote (e.g. a
    second promise sees the first as open). PostgreSQL: `SELECT … FOR
    UPDATE`. SQLite: a no-op UPDATE, which begins the write transaction
    (pysqlite defers BEGIN to the first write, so reads before it would be
    outside any transaction) and serialises writers on the database lock.
    Always account before offer, so two lockers cannot deadlock.
    """
    connection = await session.connection()
    if connection.dialect.name == "sqlite":
        await session.execute(
            text("UPDATE accounts SET id = id WHERE id = :id"), {"id": account_id}
        )
    else:
        await session.execute(select(Account.id).where(Account.id == account_id).with_for_update())


async def load_snapshot(
    session: AsyncSession,
    account_id: int,
    today: date,
    *,
    complaint: bool = False,
    lock: bool = False,
) -> AccountSnapshot:
    """The engine's view of the account, read fresh inside the caller's transaction.

    Args:
        lock: Take the account's write lock first (`lock_account`): for a
            transaction that will write what it decides on this snapshot.
    """
    if lock:
        await lock_account(session, account_id)
    account = await _account(session, account_id)
    fees = (await session.scalars(select(Fee).where(Fee.account_id == account_id))).all()
    promises = (
        await session.scalars(select(PromiseToPay).where(PromiseToPay.account_id == account_id))
    ).all()
    return snapshot_from_rows(account, fees, promises, today, complaint=complaint)


async def _channel(session: AsyncSession, conversation_id: str | None) -> Channel:
    if conversation_id is None:
        return Channel.WEB
    conversation = await session.get(Conversation, conversation_id)
    return conversation.channel if conversation else Channel.WEB


def _require_bot(decision: Decision) -> None:
    if not decision.bot_may_agree:
        raise NotAuthorised(decision)


# --- promises ---------------------------------------------------------------------


async def record_promise(
    session: AsyncSession,
    *,
    account_id: int,
    decision: Decision,
    conversation_id: str | None,
    actor: str = BOT,
) -> PromiseToPay:
    """Record a promise the engine allowed the bot to accept, with its accepted offer.

    Raises:
        NotAuthorised: unless `decision.bot_may_agree`.
    """
    _require_bot(decision)
    terms = decision.terms
    assert isinstance(terms, PromiseTerms)  # a promise decision carries promise terms
    channel = await _channel(session, conversation_id)
    promise = PromiseToPay(
        account_id=account_id,
        conversation_id=conversation_id,
        amount=terms.amount,
        promised_date=terms.pay_on,
        status=PromiseStatus.OPEN,
        channel=channel,
        policy_version=decision.policy_version,
    )
    session.add(promise)
    offer = await record_offer(
        session,
        account_id=account_id,
        decision=decision,
        status=OfferStatus.ACCEPTED,
        conversation_id=conversation_id,
        made_by=actor,
    )
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="promise_recorded",
        entity_type="promise_to_pay",
        entity_id=promise.id,
        details={
            "account_id": account_id,
            "offer_id": offer.id,
            "conversation_id": conversation_id,
            "channel": channel.value,
            **decision.terms_record(),
        },
        policy_version=decision.policy_version,
    )
    return promise


# --- offers -----------------------------------------------------------------------


async def record_offer(
    session: AsyncSession,
    *,
    account_id: int,
    decision: Decision,
    status: OfferStatus,
    conversation_id: str | None,
    hardship_case_id: int | None = None,
    made_by: str = BOT,
    extra_terms: dict[str, Any] | None = None,
) -> Offer:
    """Record an offer as made (PROPOSED), ACCEPTED, REFUSED or PENDING_APPROVAL.

    The authority recorded is the one the engine says must decide; a request
    nobody may grant is not an offer (it is audited by `record_refusal`).
    """
    if decision.authority is None:
        raise NotAuthorised(decision)
    if status is OfferStatus.ACCEPTED:
        _require_bot(decision)
    decided = status in (OfferStatus.ACCEPTED, OfferStatus.REFUSED)
    offer = Offer(
        account_id=account_id,
        conversation_id=conversation_id,
        hardship_case_id=hardship_case_id,
        kind=decision.kind,
        terms={**decision.terms_record(), **(extra_terms or {}), "reasons": list(decision.reasons)},
        made_by=made_by,
        authority_required=decision.authority,
        status=status,
        policy_version=decision.policy_version,
        decided_at=utcnow() if decided else None,
        decided_by=made_by if decided else None,
    )
    session.add(offer)
    await session.flush()
    audit.record(
        session,
        actor=made_by,
        action=f"offer_{status.value}",
        entity_type="offer",
        entity_id=offer.id,
        details={
            "account_id": account_id,
            "conversation_id": conversation_id,
            "kind": decision.kind.value,
            "authority_required": decision.authority.value,
            "reasons": list(decision.reasons),
            "terms": offer.terms,
        },
        policy_version=decision.policy_version,
    )
    return offer


def record_refusal(
    session: AsyncSession,
    *,
    account_id: int,
    decision: Decision,
    conversation_id: str | None,
    actor: str = BOT,
) -> None:
    """Audit a request the policy lets nobody grant (or that a flag sent to a person)."""
    audit.record(
        session,
        actor=actor,
        action="offer_request_declined",
        entity_type="account",
        entity_id=account_id,
        details={
            "conversation_id": conversation_id,
            "kind": decision.kind.value,
            "authority": decision.authority.value if decision.authority else None,
            "reasons": list(decision.reasons),
            "handoff_required": decision.handoff_required,
            "terms": decision.terms_record(),
        },
        policy_version=decision.policy_version,
    )


async def _offer(session: AsyncSession, account_id: int, offer_id: int) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None or offer.account_id != account_id:
        raise OfferNotFound(offer_id)
    return offer


async def refuse_offer(
    session: AsyncSession, *, account_id: int, offer_id: int, actor: str = BOT
) -> Offer:
    """The cardholder turned a proposed offer down (or countered it), or one a person approved.

    An approved offer keeps who approved it and when (`decided_by`,
    `decided_at`); the audit entry records the refusal and the approver.
    Offers in any other state are left as they are.
    """
    offer = await _offer(session, account_id, offer_id)
    if offer.status is OfferStatus.PROPOSED:
        offer.status = OfferStatus.REFUSED
        offer.decided_at = utcnow()
        offer.decided_by = actor
        audit.record(
            session,
            actor=actor,
            action="offer_refused",
            entity_type="offer",
            entity_id=offer.id,
            details={"account_id": account_id, "kind": offer.kind.value},
            policy_version=offer.policy_version,
        )
    elif offer.status is OfferStatus.APPROVED:
        offer.status = OfferStatus.REFUSED
        audit.record(
            session,
            actor=actor,
            action="offer_refused",
            entity_type="offer",
            entity_id=offer.id,
            details={"account_id": account_id, "kind": offer.kind.value, **_approval(offer)},
            policy_version=offer.policy_version,
        )
    return offer


def _approval(offer: Offer) -> dict[str, Any]:
    """Who approved an offer a person decided, and when, for the audit trail."""
    return {
        "approved_by": offer.decided_by,
        "approved_at": offer.decided_at.isoformat() if offer.decided_at else None,
        "authority_required": offer.authority_required.value,
    }


async def approved_awaiting_consent(session: AsyncSession, conversation_id: str) -> Offer | None:
    """The latest offer a person approved in this conversation that has no agreement yet."""
    agreed = select(Agreement.id).where(Agreement.offer_id == Offer.id).exists()
    offer: Offer | None = await session.scalar(
        select(Offer)
        .where(
            Offer.conversation_id == conversation_id,
            Offer.status == OfferStatus.APPROVED,
            ~agreed,
        )
        .order_by(func.coalesce(Offer.decided_at, Offer.created_at).desc(), Offer.id.desc())
        .limit(1)
    )
    return offer


@dataclass(frozen=True)
class RecordedAgreement:
    agreement: Agreement
    created: bool  # False when an earlier consent to the same offer was found


async def accept_offer(
    session: AsyncSession,
    *,
    account_id: int,
    offer_id: int,
    decision: Decision | None,
    consent_text: str,
    conversation_id: str | None,
    actor: str = BOT,
) -> RecordedAgreement:
    """Turn a proposed or approved offer into an agreement, exactly once per offer.

    For an offer the bot proposed, `decision` is the engine's verdict on its
    terms re-evaluated now (so a policy change or a new flag between the
    proposal and the "I agree" is honoured), and it must let the bot agree.
    An offer a person APPROVED carries that person's authority: no decision
    is needed (None), its terms are the ones approved, it keeps who approved
    it and when (`decided_by`, `decided_at`), and the audit entry names the
    approver. Either way the offer must belong to `account_id`, and a
    repeated consent returns the first agreement.

    Raises:
        OfferNotFound, OfferNotOpen, NotAuthorised.
        ValueError: a proposed offer without a decision (a programming error).
    """
    # First, before any read: one writer per account, and on SQLite the write
    # transaction begins here. Otherwise pysqlite (which defers BEGIN to the
    # first write) would let the savepoint below start the transaction and its
    # RELEASE commit the agreement alone, before the offer and audit rows.
    await lock_account(session, account_id)
    existing = await session.scalar(select(Agreement).where(Agreement.offer_id == offer_id))
    if existing is not None:
        if existing.account_id != account_id:
            raise OfferNotFound(offer_id)
        return RecordedAgreement(existing, created=False)
    offer = await _offer(session, account_id, offer_id)
    approved = offer.status is OfferStatus.APPROVED
    if offer.status is not OfferStatus.PROPOSED and not approved:
        raise OfferNotOpen(offer_id)
    if not approved:
        if decision is None:
            raise ValueError("a proposed offer is accepted on the engine's decision")
        _require_bot(decision)
    channel = await _channel(session, conversation_id)
    now = utcnow()
    agreement = Agreement(
        account_id=account_id,
        offer_id=offer_id,
        terms=offer.terms,
        consent_text=consent_text,
        consented_at=now,
        channel=channel,
        policy_version=offer.policy_version,
    )
    try:
        async with session.begin_nested():
            session.add(agreement)
    except IntegrityError:
        # A concurrent consent to the same offer won the unique offer_id.
        again = await session.scalar(select(Agreement).where(Agreement.offer_id == offer_id))
        if again is None:
            raise
        return RecordedAgreement(again, created=False)
    offer.status = OfferStatus.ACCEPTED
    if not approved:  # an approved offer keeps its approver's decision
        offer.decided_at = now
        offer.decided_by = actor
    if offer.hardship_case_id is not None:
        case = await session.get(HardshipCase, offer.hardship_case_id)
        if case is not None:
            case.status = CaseStatus.AGREED
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="agreement_recorded",
        entity_type="agreement",
        entity_id=agreement.id,
        details={
            "account_id": account_id,
            "offer_id": offer_id,
            "conversation_id": conversation_id,
            "channel": channel.value,
            "consent_text": consent_text,
            "terms": offer.terms,
            **(_approval(offer) if approved else {}),
        },
        policy_version=offer.policy_version,
    )
    return RecordedAgreement(agreement, created=True)


# --- hardship ---------------------------------------------------------------------


async def open_hardship_case(
    session: AsyncSession,
    *,
    account_id: int,
    conversation_id: str | None,
    reason: HardshipReason,
    monthly_affordable: Decimal | None,
    evidence_description: str | None = None,
    actor: str = BOT,
) -> HardshipCase:
    """The cardholder's hardship, as told: the reason, what they can pay, their evidence."""
    case = HardshipCase(
        account_id=account_id,
        conversation_id=conversation_id,
        reason=reason,
        monthly_affordable=monthly_affordable,
        evidence_description=evidence_description,
        status=CaseStatus.OPEN,
    )
    session.add(case)
    await session.flush()
    audit.record(
        session,
        actor=actor,
        action="hardship_case_opened",
        entity_type="hardship_case",
        entity_id=case.id,
        details={
            "account_id": account_id,
            "conversation_id": conversation_id,
            "reason": reason.value,
            "monthly_affordable": str(monthly_affordable) if monthly_affordable else None,
            "evidence_description": evidence_description,
        },
    )
    return case


# --- fee waivers ------------------------------------------------------------------


async def apply_fee_waiver(
    session: AsyncSession,
    *,
    account_id: int,
    decision: Decision,
    reason: str,
    conversation_id: str | None,
    actor: str = BOT,
) -> Offer:
    """Waive the fees the engine allowed: mark them, credit the balance, record the offer.

    The fee rows are updated only while still unwaived (a guarded UPDATE), so
    a replayed request cannot waive or credit twice.

    Raises:
        NotAuthorised: unless the bot may agree.
        OfferNotOpen: if a fee was waived meanwhile (nothing is changed).
    """
    _require_bot(decision)
    terms = decision.terms
    assert isinstance(terms, FeeWaiverTerms)  # a fee-waiver decision carries its terms
    now = utcnow()
    changed = await session.execute(
        update(Fee)
        .where(
            Fee.id.in_(terms.fee_ids),
            Fee.account_id == account_id,
            Fee.waived_at.is_(None),
        )
        .values(waived_at=now, waived_by=actor, waiver_reason=reason[:200])
        .returning(Fee.id)
    )
    if len(changed.all()) != len(terms.fee_ids):
        raise OfferNotOpen("fee already waived")
    account = await _account(session, account_id)
    account.current_balance = account.current_balance - terms.amount_waived
    offer = await record_offer(
        session,
        account_id=account_id,
        decision=decision,
        status=OfferStatus.ACCEPTED,
        conversation_id=conversation_id,
        made_by=actor,
        extra_terms={"reason": reason},
    )
    audit.record(
        session,
        actor=actor,
        action="fee_waived",
        entity_type="account",
        entity_id=account_id,
        details={
            "offer_id": offer.id,
            "fee_ids": list(terms.fee_ids),
            "amount_waived": str(terms.amount_waived),
            "reason": reason,
            "conversation_id": conversation_id,
        },
        policy_version=decision.policy_version,
    )
    return offer


# --- a person decides ---------------------------------------------------------------


async def request_agent_review(
    session: AsyncSession,
    *,
    account_id: int,
    conversation_id: str,
    decision: Decision,
    summary: str,
    hardship_case_id: int | None = None,
    priority: int = PRIORITY_ELEVATED,
    actor: str = BOT,
) -> Offer:
    """An offer request for a person: the offer waits for approval, the chat for an agent.

    Records the offer as PENDING_APPROVAL with the authority the engine
    named, hands the conversation over with a case summary, marks the
    hardship case as awaiting approval and the account as under review.

    Raises:
        NotAuthorised: when nobody may grant the request (refuse it instead).
    """
    offer = await record_offer(
        session,
        account_id=account_id,
        decision=decision,
        status=OfferStatus.PENDING_APPROVAL,
        conversation_id=conversation_id,
        hardship_case_id=hardship_case_id,
        made_by=actor,
        extra_terms={"case_summary": summary},
    )
    if hardship_case_id is not None:
        case = await session.get(HardshipCase, hardship_case_id)
        if case is not None:
            case.status = CaseStatus.AWAITING_APPROVAL
    conversation = await get_or_create(session, conversation_id)
    if conversation.account_id is None:
        conversation.account_id = account_id
    authority = decision.authority.value if decision.authority else "agent"
    await request_handoff(
        session,
        conversation_id,
        reason=f"{REVIEW_REASON}:{decision.kind.value}:{authority}"[:64],
        priority=priority,
        actor=actor,
    )
    audit.record(
        session,
        actor=actor,
        action="offer_review_requested",
        entity_type="conversation",
        entity_id=conversation_id,
        details={
            "account_id": account_id,
            "offer_id": offer.id,
            "authority_required": authority,
            "summary": summary,
            "hardship_case_id": hardship_case_id,
        },
        policy_version=decision.policy_version,
    )
    return offer


async def flag_account(
    session: AsyncSession,
    *,
    account_id: int,
    category: str,
    conversation_id: str | None,
    actor: str = BOT,
) -> str | None:
    """Set the account flag `category` calls for (collection pauses); the flag's name."""
    flag = ACCOUNT_FLAGS.get(category)
    if flag is None:
        return None
    account = await _account(session, account_id)
    if not getattr(account, flag):
        setattr(account, flag, True)
        audit.record(
            session,
            actor=actor,
            action="account_flag_set",
            entity_type="account",
            entity_id=account_id,
            details={"flag": flag, "category": category, "conversation_id": conversation_id},
        )
    return flag


# --- broken promises ----------------------------------------------------------------


@dataclass(frozen=True)
class BrokenPromises:
    """What one `mark_broken_promises` run changed."""

    promise_ids: tuple[int, ...]
    routed_account_ids: tuple[int, ...]  # accounts sent to a person by this run


async def mark_broken_promises(
    session: AsyncSession, policy: Policy, now: datetime | None = None
) -> BrokenPromises:
    """Mark OPEN promises past their date and not paid as BROKEN; route repeat breakers.

    A promise is kept by payments since it was made adding up to its amount;
    it is broken once its date has passed in the account's own time zone. One
    UPDATE per time zone in use (a handful, not one per account). An account
    whose broken promises reach `broken_promises_to_agent` in this run is
    handed to a person (CONTRACT.md §5: two broken promises → agent).
    """
    moment = now or utcnow()
    zones = (
        await session.scalars(
            select(Account.time_zone)
            .join(PromiseToPay, PromiseToPay.account_id == Account.id)
            .where(PromiseToPay.status == PromiseStatus.OPEN)
            .distinct()
        )
    ).all()
    paid = (
        select(func.coalesce(func.sum(Payment.amount), 0))
        .where(
            Payment.account_id == PromiseToPay.account_id,
            Payment.received_at >= PromiseToPay.created_at,
        )
        .scalar_subquery()
    )
    broken: list[tuple[int, int]] = []
    for zone in zones:
        today = moment.astimezone(ZoneInfo(zone)).date()
        result = await session.execute(
            update(PromiseToPay)
            .where(
                PromiseToPay.status == PromiseStatus.OPEN,
                PromiseToPay.promised_date < today,
                PromiseToPay.account_id.in_(select(Account.id).where(Account.time_zone == zone)),
                paid < PromiseToPay.amount,
            )
            .values(status=PromiseStatus.BROKEN, resolved_at=moment)
            .returning(PromiseToPay.id, PromiseToPay.account_id)
            .execution_options(synchronize_session=False)
        )
        broken += [(int(row[0]), int(row[1])) for row in result.all()]
    accounts = sorted({account_id for _, account_id in broken})
    routed = await _route_repeat_breakers(session, policy, accounts) if accounts else []
    if broken:
        audit.record(
            session,
            actor="system",
            action="promises_broken",
            entity_type="promise_to_pay",
            entity_id="batch",
            details={"promise_ids": [pid for pid, _ in broken], "routed_accounts": routed},
            policy_version=policy.version,
        )
    return BrokenPromises(tuple(pid for pid, _ in broken), tuple(routed))


async def _route_repeat_breakers(
    session: AsyncSession, policy: Policy, account_ids: Sequence[int]
) -> list[int]:
    threshold = policy.collections.broken_promises_to_agent
    counts = await session.execute(
        select(PromiseToPay.account_id, func.count())
        .where(
            PromiseToPay.account_id.in_(account_ids),
            PromiseToPay.status == PromiseStatus.BROKEN,
        )
        .group_by(PromiseToPay.account_id)
        .having(func.count() >= threshold)
    )
    routed = [int(account_id) for account_id, _ in counts.all()]
    for account_id in routed:
        conversation_id = await _latest_conversation(session, account_id)
        await request_handoff(
            session, conversation_id, reason=BROKEN_PROMISES_REASON, priority=PRIORITY_ELEVATED,
            actor="system",
        )  # fmt: skip
    return routed


async def _latest_conversation(session: AsyncSession, account_id: int) -> str:
    """The account's most recent conversation, or a new one for the desk to pick up."""
    latest = await session.scalar(
        select(Conversation.id)
        .where(Conversation.account_id == account_id)
        .order_by(Conversation.last_activity_at.desc())
        .limit(1)
    )
    if latest is not None:
        return str(latest)
    from_promise = await session.scalar(
        select(PromiseToPay.conversation_id)
        .where(PromiseToPay.account_id == account_id, PromiseToPay.conversation_id.is_not(None))
        .order_by(PromiseToPay.created_at.desc())
        .limit(1)
    )
    if from_promise is not None:
        return str(from_promise)
    conversation = await get_or_create(session, f"collections:account:{account_id}")
    conversation.account_id = account_id
    return conversation.id
