"""Outbound SMS and calls: consent first, then Twilio, and every attempt logged.

Whatever starts a contact (a reply the retry worker produced late, a payment
link promised on a call, the reminder scheduler) comes through here, so no
path can text a number that has opted out, and the contact log (RULES.md:
every contact recorded) sees each attempt, suppressed ones included. Status
callbacks later move each row on by its Twilio SID.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import structlog
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels import consent
from bot.channels.sms_format import split_sms
from bot.channels.twilio_rest import Accepted, SendFailed, TwilioRest
from bot.db.models import ContactLog
from bot.db.types import utcnow
from bot.domain.enums import Channel, ConsentStatus, ContactDirection, ContactOutcome
from bot.gateway.metrics import GatewayMetrics

log = structlog.get_logger(__name__)

REASON_LENGTH = 200  # ContactLog.reason
PURPOSE_LENGTH = 48  # ContactLog.purpose
# Twilio: "Attempt to send to unsubscribed recipient" (they replied STOP to
# Twilio's own keyword handling); we record it as theirs.
TWILIO_UNSUBSCRIBED = 21610
_STATUS_OUTCOMES = {"sent": ContactOutcome.SENT, "delivered": ContactOutcome.DELIVERED}


class Delivery(str, enum.Enum):
    SENT = "sent"
    SUPPRESSED = "suppressed"
    FAILED = "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one outbound contact."""

    delivery: Delivery
    sids: tuple[str, ...] = ()
    reason: str | None = None
    # FAILED, but Twilio may have sent it (its answer was lost): not to be resent blindly.
    unconfirmed: bool = False

    @property
    def sent(self) -> bool:
        return self.delivery is Delivery.SENT


class Outbound:
    """Texts and calls cardholders (or any number) through Twilio."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        rest: TwilioRest,
        *,
        clock: Callable[[], datetime] = utcnow,
        metrics: GatewayMetrics | None = None,
    ) -> None:
        """Bind the database and the Twilio client.

        Args:
            sessions: Where consent is read and every attempt is logged.
            rest: The Twilio REST client.
            clock: Stamps the contact log; the caps read these times back, so
                a scheduler with its own clock must share it.
            metrics: Counts each contact by channel and delivery.
        """
        self._sessions = sessions
        self._rest = rest
        self._clock = clock
        self._metrics = metrics or GatewayMetrics()

    async def send_sms(
        self,
        to: str,
        text: str,
        *,
        purpose: str,
        conversation_id: str | None = None,
        account_id: int | None = None,
    ) -> Outcome:
        """Text `to`, split into a few messages if long; never to an opted-out number.

        No database transaction is held while Twilio is called.
        """
        outcome = await self._send_sms(
            to, text, purpose=purpose, conversation_id=conversation_id, account_id=account_id
        )
        self._metrics.outbound(Channel.SMS.value, outcome.delivery.value)
        return outcome

    async def _send_sms(
        self,
        to: str,
        text: str,
        *,
        purpose: str,
        conversation_id: str | None,
        account_id: int | None,
    ) -> Outcome:
        async with self._sessions() as session:
            owner = await consent.find_owner(session, to)
            account_id = account_id or (owner.account_id if owner else None)
            if await consent.opted_out(session, to, Channel.SMS, owner):
                session.add(
                    self._row(
                        Channel.SMS,
                        purpose,
                        account_id,
                        conversation_id,
                        ContactOutcome.SUPPRESSED,
                        reason="opted_out",
                    )
                )
                await session.commit()
                log.info(
                    "outbound.sms_suppressed", conversation_id=conversation_id, purpose=purpose
                )
                return Outcome(Delivery.SUPPRESSED, reason="opted_out")
        sids: list[str] = []
        rows: list[ContactLog] = []
        failure: SendFailed | None = None
        for part in split_sms(text):
            try:
                accepted = await self._rest.send_sms(to, part)
            except SendFailed as error:
                failure = error
                break
            sids.append(accepted.sid)
            rows.append(self._accepted(Channel.SMS, purpose, account_id, conversation_id, accepted))
        async with self._sessions() as session:
            session.add_all(rows)
            if failure is not None:
                session.add(
                    self._row(
                        Channel.SMS,
                        purpose,
                        account_id,
                        conversation_id,
                        ContactOutcome.FAILED,
                        reason=str(failure),
                    )
                )
                if failure.code == TWILIO_UNSUBSCRIBED:
                    await consent.record_choice(
                        session,
                        to,
                        Channel.SMS,
                        ConsentStatus.OPTED_OUT,
                        owner,
                        source="twilio_unsubscribed",
                        keyword=None,
                    )
            await session.commit()
        if failure is not None:
            log.warning(
                "outbound.sms_failed",
                conversation_id=conversation_id,
                purpose=purpose,
                sent_parts=len(sids),
                code=failure.code,
            )
            return Outcome(
                Delivery.FAILED, tuple(sids), reason=str(failure), unconfirmed=failure.unconfirmed
            )
        log.info(
            "outbound.sms_sent", conversation_id=conversation_id, purpose=purpose, parts=len(sids)
        )
        return Outcome(Delivery.SENT, tuple(sids))

    async def find_sms(self, to: str, text: str, since: datetime) -> str | None:
        """Twilio's SID of the text (its first part) sent to `to` since `since`, if any.

        Raises:
            SendFailed: Twilio could not be asked.
        """
        accepted = await self._rest.find_sms(to, split_sms(text)[0], since)
        return accepted.sid if accepted is not None else None

    async def place_call(
        self,
        to: str,
        *,
        purpose: str,
        account_id: int | None = None,
    ) -> Outcome:
        """Call `to`; the call's TwiML comes from `/twilio/voice` like an inbound call's."""
        outcome = await self._place_call(to, purpose=purpose, account_id=account_id)
        self._metrics.outbound(Channel.VOICE.value, outcome.delivery.value)
        return outcome

    async def _place_call(self, to: str, *, purpose: str, account_id: int | None) -> Outcome:
        async with self._sessions() as session:
            owner = await consent.find_owner(session, to)
            account_id = account_id or (owner.account_id if owner else None)
            if await consent.opted_out(session, to, Channel.VOICE, owner):
                session.add(
                    self._row(
                        Channel.VOICE,
                        purpose,
                        account_id,
                        None,
                        ContactOutcome.SUPPRESSED,
                        reason="opted_out",
                    )
                )
                await session.commit()
                return Outcome(Delivery.SUPPRESSED, reason="opted_out")
        try:
            accepted = await self._rest.place_call(to)
        except SendFailed as error:
            row = self._row(
                Channel.VOICE, purpose, account_id, None, ContactOutcome.FAILED, reason=str(error)
            )
            outcome = Outcome(Delivery.FAILED, reason=str(error))
        else:
            row = self._accepted(Channel.VOICE, purpose, account_id, None, accepted)
            outcome = Outcome(Delivery.SENT, (accepted.sid,))
        async with self._sessions() as session:
            session.add(row)
            await session.commit()
        log.info("outbound.call", purpose=purpose, delivery=outcome.delivery.value)
        return outcome

    def _accepted(
        self,
        channel: Channel,
        purpose: str,
        account_id: int | None,
        conversation_id: str | None,
        accepted: Accepted,
    ) -> ContactLog:
        row = self._row(
            channel,
            purpose,
            account_id,
            conversation_id,
            _STATUS_OUTCOMES.get(accepted.status, ContactOutcome.QUEUED),
        )
        row.provider_sid = accepted.sid
        return row

    def _row(
        self,
        channel: Channel,
        purpose: str,
        account_id: int | None,
        conversation_id: str | None,
        outcome: ContactOutcome,
        *,
        reason: str | None = None,
    ) -> ContactLog:
        return ContactLog(
            account_id=account_id,
            conversation_id=conversation_id,
            channel=channel,
            direction=ContactDirection.OUTBOUND,
            purpose=purpose[:PURPOSE_LENGTH],
            outcome=outcome,
            reason=reason[:REASON_LENGTH] if reason else None,
            at=self._clock(),
        )


OUTBOUND = web.AppKey("outbound", Outbound)
