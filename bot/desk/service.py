"""What agents and supervisors do at the desk: take, reply, decide, hand back, close.

Ownership is the conversation row's (`bot` / `waiting` / `agent` /
`closed`); the gateway routes each inbound message by it. Each change holds
the conversation's lock (the one inbound messages take), so a cardholder's
message and an agent's action never interleave, and each is written in one
transaction with its audit entry before anyone is told.

Rasa keeps the whole transcript: taking a conversation pauses its tracker
(messages are logged, nothing is predicted), agents' replies are appended as
bot utterances with the agent's name, and handing back resumes it and
triggers `EXTERNAL_handback`, so the bot carries on from where the person
left it (e.g. asks the cardholder to confirm the plan the person approved).
Rasa being down never blocks a person: the transcript in our database is
the record, and the hand-back then says so in a plain notice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.inbound import MAX_TEXT_CHARS, clean_text, mask_sensitive
from bot.db.models import (
    Account,
    Agent,
    Card,
    Cardholder,
    Conversation,
    Handoff,
    InboxMessage,
    InstallmentPlan,
    InstallmentScheduleItem,
    Offer,
    OutboxMessage,
    PromiseToPay,
)
from bot.db.types import utcnow
from bot.desk import texts
from bot.desk.auth import DeskUser
from bot.desk.events import DeskEvents
from bot.domain.enums import (
    Authority,
    Channel,
    ConversationOwner,
    HandoffOutcome,
    Language,
    OfferStatus,
)
from bot.domain.offer_text import describe_offer
from bot.gateway.inbox import BOT_AUTHOR, SYSTEM_AUTHOR
from bot.gateway.locks import ConversationLocks
from bot.gateway.rasa import RasaClient, RasaError
from bot.policy.loader import get_policy
from bot.services import audit
from bot.services.collections import lock_account
from bot.services.conversations import open_handoff
from bot.settings import Settings

log = structlog.get_logger(__name__)

HANDBACK_INTENT = "EXTERNAL_handback"
TRANSCRIPT_LIMIT = 500
PREVIEW_CHARS = 120
_PEOPLE = (ConversationOwner.WAITING, ConversationOwner.AGENT)
_FLAGS = ("dispute_open", "attorney_represented", "bankruptcy", "deceased", "vulnerable")
# Flags under which no offer may be approved at the desk (RULES.md: stop collecting).
_NO_OFFERS = ("attorney_represented", "bankruptcy", "deceased")
_AUTHORITY_RANK = {Authority.BOT: 0, Authority.AGENT: 1, Authority.SUPERVISOR: 2}

# Sends replies to the cardholder's phone (the SMS channel's push).
SmsPush = Callable[[Conversation, list[OutboxMessage]], Awaitable[None]]


class DeskError(Exception):
    """A request the desk refuses; `status` is the HTTP status to answer with."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DeskError):
    status = 404


class Forbidden(DeskError):
    status = 403


class Conflict(DeskError):
    status = 409


class Unprocessable(DeskError):
    status = 422


def mask_phone(phone: str | None) -> str | None:
    """+12065550103 → +1206•••0103: enough to recognise, not to dial."""
    if not phone:
        return None
    if len(phone) <= 8:
        return "•••" + phone[-2:]
    return phone[:5] + "•••" + phone[-4:]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


@dataclass(frozen=True)
class Delivered:
    """An agent's message as stored, and how it reached the cardholder."""

    message: OutboxMessage
    delivery: str  # web | sms | sms_failed | voice


class DeskService:
    """The desk's operations; HTTP lives in `bot.desk.web`."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rasa: RasaClient,
        locks: ConversationLocks,
        events: DeskEvents,
        sms_push: SmsPush,
        settings: Settings,
    ) -> None:
        self._settings = settings
        self._sessions = sessions
        self._rasa = rasa
        self._locks = locks
        self._events = events
        self._sms_push = sms_push

    def _version(self) -> str:
        return get_policy(self._settings).version

    # --- reading ------------------------------------------------------------------

    async def queue(self, user: DeskUser) -> dict[str, Any]:
        """Conversations with people: waiting (priority, then age), mine, others'."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(select(Conversation).where(Conversation.owner.in_(_PEOPLE)))
            ).all()
            summaries = await _summaries(session, list(rows))
        waiting = sorted(
            (s for s in summaries if s["owner"] == ConversationOwner.WAITING.value),
            key=lambda s: (-s["priority"], s["waiting_since"] or ""),
        )
        mine = [s for s in summaries if s["agent_id"] == user.agent_id and s["owner"] == "agent"]
        others = [s for s in summaries if s["agent_id"] != user.agent_id and s["owner"] == "agent"]
        for group in (mine, others):
            group.sort(key=lambda s: (-s["priority"], s["waiting_since"] or ""))
        return {"waiting": waiting, "mine": mine, "others": others}

    async def conversation(self, user: DeskUser, conversation_id: str) -> dict[str, Any]:
        """Everything the desk shows about one conversation.

        Raises:
            NotFound: no such conversation.
        """
        async with self._sessions() as session:
            conversation = await _conversation(session, conversation_id)
            summary = (await _summaries(session, [conversation]))[0]
            transcript = await _transcript(session, conversation_id)
            account = None
            pending: list[dict[str, Any]] = []
            if conversation.verified_at is not None and conversation.account_id is not None:
                account = await _account_panel(session, user, conversation, self._version())
                pending = [o for o in account["offers"] if o["status"] == "pending_approval"]
            else:
                offers = await session.scalars(
                    select(Offer).where(
                        Offer.conversation_id == conversation_id,
                        Offer.status == OfferStatus.PENDING_APPROVAL,
                    )
                )
                currency = await _currency(session, conversation.account_id)
                version = self._version()
                pending = [_offer_json(user, conversation, o, currency, version) for o in offers]
        can_reply, note = _can_reply(user, conversation)
        return {
            "conversation": summary,
            "can_reply": can_reply,
            "reply_note": note,
            "transcript": transcript,
            "account": account,
            "offers_pending": pending,
        }

    # --- taking, replying, deciding ----------------------------------------------------

    async def take(self, user: DeskUser, conversation_id: str) -> dict[str, Any]:
        """Take a waiting conversation: it is this person's until handed back or closed.

        Raises:
            NotFound, Conflict: not waiting for a person (or someone else took it).
        """
        async with self._locks.hold(conversation_id):
            async with self._sessions() as session:
                conversation = await _conversation(session, conversation_id)
                if (
                    conversation.owner is ConversationOwner.AGENT
                    and conversation.assigned_agent_id == user.agent_id
                ):
                    return (await _summaries(session, [conversation]))[0]
                if conversation.owner is not ConversationOwner.WAITING:
                    taker = await _agent_name(session, conversation.assigned_agent_id)
                    raise Conflict(
                        f"Already taken by {taker}. / 已由{taker}接手。"
                        if taker
                        else "This conversation is not waiting for a person. "
                        "/ 该对话不在等待队列中。"
                    )
                now = utcnow()
                conversation.owner = ConversationOwner.AGENT
                conversation.assigned_agent_id = user.agent_id
                handoff = await open_handoff(session, conversation_id)
                if handoff is None:  # queued before handoffs were recorded
                    handoff = Handoff(
                        conversation_id=conversation_id,
                        reason=conversation.handoff_reason or "unknown",
                        priority=conversation.priority,
                        requested_by="unknown",
                        requested_at=now,
                    )
                    session.add(handoff)
                handoff.agent_id = user.agent_id
                handoff.taken_at = now
                audit.record(
                    session,
                    actor=user.actor,
                    action="handoff_taken",
                    entity_type="conversation",
                    entity_id=conversation_id,
                    details={"reason": handoff.reason, "priority": handoff.priority},
                )
                joined = None
                if conversation.channel is not Channel.VOICE:
                    joined = self._notice(
                        conversation, user.actor, texts.AGENT_JOINED, name=user.display_name
                    )
                    session.add(joined)
                await session.commit()
                summary = (await _summaries(session, [conversation]))[0]
            await self._best_effort("pause", self._rasa.pause(conversation_id))
            if joined is not None:
                await self._push(conversation, [joined])
        log.info("desk.taken", conversation_id=conversation_id, agent_id=user.agent_id)
        self._events.conversation(conversation_id)
        return summary

    async def reply(self, user: DeskUser, conversation_id: str, text: str) -> Delivered:
        """Send the cardholder a message on their own channel.

        Raises:
            NotFound, Conflict (not this person's conversation), Unprocessable
            (empty, too long, or a phone call, which was transferred).
        """
        text = mask_sensitive(clean_text(text))
        if not text:
            raise Unprocessable("The reply is empty. / 回复内容为空。")
        if len(text) > MAX_TEXT_CHARS:
            raise Unprocessable(
                f"A reply is at most {MAX_TEXT_CHARS:,} characters. / 回复最多{MAX_TEXT_CHARS}字。"
            )
        async with self._locks.hold(conversation_id):
            async with self._sessions() as session:
                conversation = await _conversation(session, conversation_id)
                _require_owner(user, conversation)
                if conversation.channel is Channel.VOICE:
                    raise Unprocessable(
                        "The caller was transferred by phone; answer on the call. "
                        "/ 来电已转接人工电话,请在电话中答复。"
                    )
                message = OutboxMessage(
                    conversation_id=conversation_id, author=user.actor, text=text, buttons=[]
                )
                session.add(message)
                conversation.last_activity_at = utcnow()
                await session.commit()
            delivery = await self._push(conversation, [message])
            await self._best_effort(
                "log_agent_message",
                self._rasa.log_agent_message(conversation_id, text, user.actor),
            )
        log.info("desk.replied", conversation_id=conversation_id, agent_id=user.agent_id)
        self._events.conversation(conversation_id)
        return Delivered(message, delivery)

    async def decide(
        self, user: DeskUser, offer_id: int, *, approve: bool, note: str | None = None
    ) -> dict[str, Any]:
        """Approve or refuse an offer request within the person's authority.

        The authority needed is the one recorded with the request under its
        policy version; if the policy has changed since, a supervisor decides.
        The decision and the note are audited, and the cardholder is told.

        Raises:
            NotFound, Forbidden (above this role's authority, or another
            agent's conversation), Conflict (already decided, or a flag on
            the account now forbids offers).
        """
        note = clean_text(note or "")[:500] or None
        async with self._sessions() as session:
            offer = await session.get(Offer, offer_id)
            if offer is None:
                raise NotFound(f"No offer {offer_id}. / 没有编号为{offer_id}的方案。")
            conversation_id, account_id = offer.conversation_id, offer.account_id
        if conversation_id is None:
            raise Conflict("This offer has no conversation. / 该方案没有关联对话。")
        async with self._locks.hold(conversation_id), self._sessions() as session:
            # The account first (as every collections write takes it), then the
            # offer: a promise or a flag written at once by another channel is
            # either before this decision or after it, never half-seen.
            await lock_account(session, account_id)
            offer = await session.get(Offer, offer_id, with_for_update=True)
            conversation = await _conversation(session, conversation_id)
            assert offer is not None
            if offer.status is not OfferStatus.PENDING_APPROVAL:
                raise Conflict(
                    f"This offer is already {offer.status.value.replace('_', ' ')}. "
                    "/ 该方案已处理。"
                )
            required = required_authority(offer, self._version())
            if not user.may_grant(required):
                raise Forbidden(
                    f"This offer needs {required.value} authority. / 此方案需要"
                    + ("主管" if required is Authority.SUPERVISOR else "坐席")
                    + "权限审批。"
                )
            if not user.is_supervisor and conversation.assigned_agent_id != user.agent_id:
                raise Forbidden("Take the conversation first. / 请先接手该对话。")
            account = await session.get(Account, offer.account_id)
            blocking = [f for f in _NO_OFFERS if account is not None and getattr(account, f)]
            if approve and blocking:
                raise Conflict(
                    "The account is flagged ("
                    + ", ".join(blocking)
                    + "): no offer can be approved. / 该账户已被标记,不能批准任何方案。"
                )
            now = utcnow()
            offer.status = OfferStatus.APPROVED if approve else OfferStatus.REJECTED
            offer.decided_at = now
            offer.decided_by = user.actor
            audit.record(
                session,
                actor=user.actor,
                action="offer_approved" if approve else "offer_rejected",
                entity_type="offer",
                entity_id=offer.id,
                details={
                    "account_id": offer.account_id,
                    "conversation_id": conversation_id,
                    "kind": offer.kind.value,
                    "role": user.role.value,
                    "authority_required": required.value,
                    "note": note,
                    "terms": offer.terms,
                },
                policy_version=offer.policy_version,
            )
            currency = account.currency if account is not None else ""
            summary = describe_offer(offer.kind, offer.terms, currency, conversation.language)
            notice = None
            if conversation.channel is not Channel.VOICE:
                notice = self._notice(
                    conversation,
                    user.actor,
                    texts.OFFER_APPROVED if approve else texts.OFFER_REFUSED,
                    summary=summary,
                )
                session.add(notice)
            await session.commit()
            decided = _offer_json(user, conversation, offer, currency, self._version())
            if notice is not None:
                await self._push(conversation, [notice])
                await self._best_effort(
                    "log_agent_message",
                    self._rasa.log_agent_message(conversation_id, notice.text, user.actor),
                )
        log.info(
            "desk.offer_decided",
            offer_id=offer_id,
            approved=approve,
            agent_id=user.agent_id,
            authority_required=required.value,
        )
        self._events.conversation(conversation_id)
        return decided

    # --- ending a person's turn ----------------------------------------------------------

    async def hand_back(self, user: DeskUser, conversation_id: str) -> dict[str, Any]:
        """Give the conversation back to the bot, which carries on with its context.

        Raises:
            NotFound, Conflict (not with this person).
        """
        async with self._locks.hold(conversation_id):
            async with self._sessions() as session:
                conversation = await self._end(
                    session, user, conversation_id, HandoffOutcome.HANDED_BACK
                )
                await session.commit()
            if conversation.channel is not Channel.VOICE:
                replies = await self._resume_bot(conversation)
                await self._push(conversation, replies)
            async with self._sessions() as session:
                summary = (await _summaries(session, [conversation]))[0]
        log.info("desk.handed_back", conversation_id=conversation_id, agent_id=user.agent_id)
        self._events.conversation(conversation_id)
        return summary

    async def close(self, user: DeskUser, conversation_id: str) -> dict[str, Any]:
        """Close the conversation; the cardholder's next message reopens it with the bot.

        Raises:
            NotFound, Conflict (not with this person).
        """
        async with self._locks.hold(conversation_id):
            async with self._sessions() as session:
                conversation = await self._end(
                    session, user, conversation_id, HandoffOutcome.CLOSED
                )
                notice = None
                if conversation.channel is not Channel.VOICE:
                    notice = self._notice(conversation, SYSTEM_AUTHOR, texts.CLOSED)
                    session.add(notice)
                await session.commit()
                summary = (await _summaries(session, [conversation]))[0]
            if notice is not None:
                await self._push(conversation, [notice])
            # The next message starts with the bot, which must not be paused then.
            await self._best_effort("resume", self._rasa.resume(conversation_id))
        log.info("desk.closed", conversation_id=conversation_id, agent_id=user.agent_id)
        self._events.conversation(conversation_id)
        return summary

    async def _end(
        self,
        session: AsyncSession,
        user: DeskUser,
        conversation_id: str,
        outcome: HandoffOutcome,
    ) -> Conversation:
        conversation = await _conversation(session, conversation_id)
        if conversation.owner is not ConversationOwner.AGENT:
            raise Conflict("Take the conversation first. / 请先接手该对话。")
        if conversation.assigned_agent_id != user.agent_id and not user.is_supervisor:
            raise Conflict("Another agent has this conversation. / 该对话由其他坐席处理中。")
        now = utcnow()
        handed_back = outcome is HandoffOutcome.HANDED_BACK
        conversation.owner = ConversationOwner.BOT if handed_back else ConversationOwner.CLOSED
        conversation.assigned_agent_id = None
        conversation.last_activity_at = now
        handoff = await open_handoff(session, conversation_id)
        if handoff is not None:
            handoff.ended_at = now
            handoff.ended_by = user.actor
            handoff.outcome = outcome
        audit.record(
            session,
            actor=user.actor,
            action="handed_back" if handed_back else "conversation_closed",
            entity_type="conversation",
            entity_id=conversation_id,
        )
        return conversation

    async def _resume_bot(self, conversation: Conversation) -> list[OutboxMessage]:
        """Resume Rasa and let it speak first; a plain notice if it cannot."""
        cid = conversation.id
        try:
            await self._rasa.resume(cid, conversation.language.value)
            said = await self._rasa.trigger_intent(cid, HANDBACK_INTENT)
            rows = [
                OutboxMessage(
                    conversation_id=cid,
                    author=BOT_AUTHOR,
                    text=message.text,
                    buttons=[{"title": b.title, "payload": b.payload} for b in message.buttons],
                )
                for message in said
            ]
        except RasaError as error:
            log.warning("desk.handback_rasa_failed", conversation_id=cid, error=str(error))
            rows = []
        if not rows:
            rows = [self._notice(conversation, SYSTEM_AUTHOR, texts.BACK_WITH_BOT)]
        async with self._sessions() as session:
            session.add_all(rows)
            await session.commit()
        return rows

    # --- delivery ------------------------------------------------------------------------

    @staticmethod
    def _notice(
        conversation: Conversation, author: str, text: texts.Texts, **values: str
    ) -> OutboxMessage:
        return OutboxMessage(
            conversation_id=conversation.id,
            author=author,
            text=text[conversation.language].format(**values),
            buttons=[],
        )

    async def _push(self, conversation: Conversation, messages: list[OutboxMessage]) -> str:
        """Deliver stored messages: the web page fetches them; phones get an SMS."""
        if conversation.channel is Channel.WEB:
            return "web"
        if conversation.channel is Channel.VOICE:
            return "voice"
        try:
            await self._sms_push(conversation, messages)
        except Exception:  # the message is stored; the desk shows it was not sent
            log.exception("desk.sms_push_failed", conversation_id=conversation.id)
            return "sms_failed"
        return "sms"

    @staticmethod
    async def _best_effort(what: str, call: Awaitable[None]) -> None:
        try:
            await call
        except RasaError as error:
            log.warning("desk.rasa_call_failed", call=what, error=str(error))


def required_authority(offer: Offer, policy_version: str) -> Authority:
    """Who must decide: as recorded, or a supervisor if the policy changed since.

    The recorded authority is the policy's answer under the version the
    request was made with; under another version it may differ, and only
    the highest authority is sure to hold it.
    """
    if offer.policy_version != policy_version:
        return Authority.SUPERVISOR
    return offer.authority_required


def _require_owner(user: DeskUser, conversation: Conversation) -> None:
    if (
        conversation.owner is not ConversationOwner.AGENT
        or conversation.assigned_agent_id != user.agent_id
    ):
        raise Conflict("Take the conversation first. / 请先接手该对话。")


def _can_reply(user: DeskUser, conversation: Conversation) -> tuple[bool, str | None]:
    if conversation.channel is Channel.VOICE:
        return False, "The caller was transferred by phone. / 来电已转接人工电话。"
    if (
        conversation.owner is not ConversationOwner.AGENT
        or conversation.assigned_agent_id != user.agent_id
    ):
        return False, "Take the conversation to reply. / 接手后才能回复。"
    return True, None


async def _conversation(session: AsyncSession, conversation_id: str) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("No such conversation. / 没有该对话。")
    return conversation


async def _agent_name(session: AsyncSession, agent_id: int | None) -> str | None:
    if agent_id is None:
        return None
    agent = await session.get(Agent, agent_id)
    return agent.username if agent is not None else None


async def _currency(session: AsyncSession, account_id: int | None) -> str:
    if account_id is None:
        return ""
    account = await session.get(Account, account_id)
    return account.currency if account is not None else ""


async def _summaries(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[dict[str, Any]]:
    """Queue entries: a handful of queries for the whole list, not per row."""
    if not conversations:
        return []
    ids = [c.id for c in conversations]
    handoffs = {
        h.conversation_id: h
        for h in await session.scalars(
            select(Handoff)
            .where(Handoff.conversation_id.in_(ids), Handoff.ended_at.is_(None))
            .order_by(Handoff.id)
        )
    }
    agent_ids = {c.assigned_agent_id for c in conversations if c.assigned_agent_id is not None}
    agents = (
        {
            a.id: a.username
            for a in await session.scalars(select(Agent).where(Agent.id.in_(agent_ids)))
        }
        if agent_ids
        else {}
    )
    verified = {c.account_id for c in conversations if c.verified_at and c.account_id}
    holders: dict[int, tuple[str, str | None, str]] = {}
    if verified:
        for account_id, name, bucket in (
            await session.execute(
                select(Account.id, Cardholder.full_name, Account.bucket)
                .join(Cardholder, Cardholder.id == Account.cardholder_id)
                .where(Account.id.in_(verified))
            )
        ).all():
            holders[account_id] = (name, None, bucket.value)
        for account_id, last4 in (
            await session.execute(
                select(Card.account_id, Card.last4).where(
                    Card.account_id.in_(verified), Card.is_primary.is_(True)
                )
            )
        ).all():
            name, _, bucket = holders[account_id]
            holders[account_id] = (name, last4, bucket)
    latest_ids = (
        select(func.max(InboxMessage.id))
        .where(InboxMessage.conversation_id.in_(ids))
        .group_by(InboxMessage.conversation_id)
    )
    previews = {
        row.conversation_id: row.text
        for row in await session.scalars(
            select(InboxMessage).where(InboxMessage.id.in_(latest_ids))
        )
    }
    pending_rows = await session.execute(
        select(Offer.conversation_id, func.count(Offer.id))
        .where(Offer.conversation_id.in_(ids), Offer.status == OfferStatus.PENDING_APPROVAL)
        .group_by(Offer.conversation_id)
    )
    pending = {cid: int(count) for cid, count in pending_rows.all()}
    out = []
    for c in conversations:
        handoff = handoffs.get(c.id)
        holder = holders.get(c.account_id or -1) if c.verified_at else None
        preview = previews.get(c.id)
        if preview is not None:
            preview = mask_sensitive(preview)[:PREVIEW_CHARS]
        out.append(
            {
                "id": c.id,
                "channel": c.channel.value,
                "language": c.language.value,
                "owner": c.owner.value,
                "reason": (handoff.reason if handoff else c.handoff_reason) or None,
                "priority": handoff.priority if handoff else c.priority,
                "waiting_since": _iso(handoff.requested_at if handoff else None),
                "taken_at": _iso(handoff.taken_at if handoff else None),
                "agent": agents.get(c.assigned_agent_id or -1),
                "agent_id": c.assigned_agent_id,
                "cardholder": holder[0] if holder else None,
                "card_last4": holder[1] if holder else None,
                "bucket": holder[2] if holder else None,
                "last_message": preview,
                "pending_offers": int(pending.get(c.id, 0)),
            }
        )
    return out


async def _transcript(session: AsyncSession, conversation_id: str) -> list[dict[str, Any]]:
    """The cardholder's messages and every answer, in order, card numbers masked."""
    inbox = (
        await session.scalars(
            select(InboxMessage)
            .where(InboxMessage.conversation_id == conversation_id)
            .order_by(InboxMessage.id.desc())
            .limit(TRANSCRIPT_LIMIT)
        )
    ).all()
    outbox = (
        await session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.conversation_id == conversation_id)
            .order_by(OutboxMessage.id.desc())
            .limit(TRANSCRIPT_LIMIT)
        )
    ).all()
    items: list[tuple[datetime, int, int, dict[str, Any]]] = []
    for row in inbox:
        items.append(
            (
                row.received_at,
                0,
                row.id,
                {
                    "id": f"in-{row.id}",
                    "at": _iso(row.received_at),
                    "author": "cardholder",
                    "text": mask_sensitive(row.text),
                    "buttons": [],
                },
            )
        )
    for message in outbox:
        items.append((message.created_at, 1, message.id, transcript_item(message)))
    items.sort(key=lambda item: (item[0], item[1], item[2]))
    return [item[3] for item in items[-TRANSCRIPT_LIMIT:]]


def transcript_item(message: OutboxMessage) -> dict[str, Any]:
    """One outbox row as the desk shows it."""
    return {
        "id": f"out-{message.id}",
        "at": _iso(message.created_at),
        "author": message.author,
        "text": mask_sensitive(message.text),
        "buttons": list(message.buttons or []),
    }


def _offer_json(
    user: DeskUser,
    conversation: Conversation | None,
    offer: Offer,
    currency: str,
    policy_version: str,
) -> dict[str, Any]:
    required = required_authority(offer, policy_version)
    mine = conversation is not None and conversation.assigned_agent_id == user.agent_id
    return {
        "id": offer.id,
        "kind": offer.kind.value,
        "status": offer.status.value,
        "summary": {
            language.value: describe_offer(offer.kind, offer.terms, currency, language)
            for language in Language
        },
        "terms": offer.terms,
        "authority_required": required.value,
        "made_by": offer.made_by,
        "decided_by": offer.decided_by,
        "decided_at": _iso(offer.decided_at),
        "created_at": _iso(offer.created_at),
        "policy_version": offer.policy_version,
        "case_summary": offer.terms.get("case_summary"),
        "can_decide": offer.status is OfferStatus.PENDING_APPROVAL
        and user.may_grant(required)
        and (user.is_supervisor or mine),
    }


async def _account_panel(
    session: AsyncSession, user: DeskUser, conversation: Conversation, policy_version: str
) -> dict[str, Any]:
    """The verified account: standing, flags, promises, plans and offers (who made them)."""
    assert conversation.account_id is not None
    account = await session.get(Account, conversation.account_id)
    if account is None:
        raise NotFound("The conversation's account is gone. / 该对话的账户不存在。")
    holder = await session.get(Cardholder, account.cardholder_id)
    last4 = await session.scalar(
        select(Card.last4)
        .where(Card.account_id == account.id)
        .order_by(Card.is_primary.desc(), Card.id)
        .limit(1)
    )
    promises = (
        await session.scalars(
            select(PromiseToPay)
            .where(PromiseToPay.account_id == account.id)
            .order_by(PromiseToPay.id.desc())
            .limit(20)
        )
    ).all()
    plans = (
        await session.scalars(
            select(InstallmentPlan)
            .where(InstallmentPlan.account_id == account.id)
            .order_by(InstallmentPlan.id.desc())
            .limit(20)
        )
    ).all()
    remaining_rows = await session.execute(
        select(InstallmentScheduleItem.plan_id, func.count(InstallmentScheduleItem.id))
        .where(
            InstallmentScheduleItem.plan_id.in_([p.id for p in plans] or [-1]),
            InstallmentScheduleItem.paid_at.is_(None),
        )
        .group_by(InstallmentScheduleItem.plan_id)
    )
    remaining = {plan_id: int(count) for plan_id, count in remaining_rows.all()}
    offers = (
        await session.scalars(
            select(Offer).where(Offer.account_id == account.id).order_by(Offer.id.desc()).limit(30)
        )
    ).all()
    return {
        "account_id": account.id,
        "cardholder": holder.full_name if holder else "",
        "card_last4": last4,
        "phone": mask_phone(holder.phone_e164 if holder else None),
        "currency": account.currency,
        "jurisdiction": account.jurisdiction.value,
        "bucket": account.bucket.value,
        "days_past_due": account.days_past_due,
        "balance": str(account.current_balance),
        "past_due": str(account.past_due_amount),
        "minimum_due": str(account.minimum_due),
        "due_date": account.payment_due_date.isoformat() if account.payment_due_date else None,
        "flags": [flag for flag in _FLAGS if getattr(account, flag)],
        "promises": [
            {
                "id": p.id,
                "amount": str(p.amount),
                "pay_on": p.promised_date.isoformat(),
                "status": p.status.value,
                "channel": p.channel.value,
                "made_by": "bot" if p.conversation_id else "system",
                "created_at": _iso(p.created_at),
            }
            for p in promises
        ],
        "plans": [
            {
                "id": p.id,
                "source": p.source.value,
                "principal": str(p.principal),
                "months": p.tenor_months,
                "remaining": int(remaining.get(p.id, 0)),
                "status": p.status.value,
                "created_by": p.created_by,
            }
            for p in plans
        ],
        "offers": [
            _offer_json(user, conversation, o, account.currency, policy_version) for o in offers
        ],
    }
