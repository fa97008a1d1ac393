"""`POST /twilio/status`: Twilio's status callbacks move the contact log on.

Callbacks can arrive out of order ("sent" after "delivered") and more than
once, so an outcome only ever moves forward: a row that is delivered stays
delivered. A SID the log does not know (a callback configured elsewhere in
the Twilio console) is acknowledged and ignored.
"""

from __future__ import annotations

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.outbound import REASON_LENGTH
from bot.db.models import ContactLog
from bot.domain.enums import ContactOutcome
from bot.gateway.twilio_webhook import (
    EMPTY_TWIML,
    BadWebhook,
    bad_request,
    read_signed_form,
    sid,
    twiml,
    unavailable,
)
from bot.settings import Settings

log = structlog.get_logger(__name__)

MESSAGE_OUTCOMES = {
    "accepted": ContactOutcome.QUEUED,
    "scheduled": ContactOutcome.QUEUED,
    "queued": ContactOutcome.QUEUED,
    "sending": ContactOutcome.SENT,
    "sent": ContactOutcome.SENT,
    "delivered": ContactOutcome.DELIVERED,
    "read": ContactOutcome.DELIVERED,
    "undelivered": ContactOutcome.FAILED,
    "failed": ContactOutcome.FAILED,
    "canceled": ContactOutcome.FAILED,
}
CALL_OUTCOMES = {
    "queued": ContactOutcome.QUEUED,
    "initiated": ContactOutcome.QUEUED,
    "ringing": ContactOutcome.QUEUED,
    "in-progress": ContactOutcome.ANSWERED,
    "answered": ContactOutcome.ANSWERED,
    "completed": ContactOutcome.ANSWERED,
    "busy": ContactOutcome.NO_ANSWER,
    "no-answer": ContactOutcome.NO_ANSWER,
    "canceled": ContactOutcome.NO_ANSWER,
    "failed": ContactOutcome.FAILED,
}
# How far along an outcome is; a callback never moves a row backwards.
_PROGRESS = {
    ContactOutcome.QUEUED: 0,
    ContactOutcome.SENT: 1,
    ContactOutcome.DELIVERED: 2,
    ContactOutcome.ANSWERED: 2,
    ContactOutcome.NO_ANSWER: 2,
    ContactOutcome.FAILED: 2,
    ContactOutcome.VOICEMAIL: 3,
    ContactOutcome.SUPPRESSED: 9,
}


def outcome_of(params: MultiDictProxy[str]) -> tuple[str, ContactOutcome | None, str | None]:
    """The SID, the outcome the callback reports (None: nothing to record), a reason.

    Raises:
        BadWebhook: no SID, or no status.
    """
    if params.get("CallSid") and not params.get("MessageSid"):
        provider_sid = sid(params, "CallSid")
        status = params.get("CallStatus", "").strip().lower()
        outcome = CALL_OUTCOMES.get(status)
        answered_by = params.get("AnsweredBy", "")
        if outcome is ContactOutcome.ANSWERED and answered_by.startswith(("machine", "fax")):
            outcome = ContactOutcome.VOICEMAIL
    else:
        provider_sid = sid(params, "MessageSid", "SmsSid")
        status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
        outcome = MESSAGE_OUTCOMES.get(status)
    if not status:
        raise BadWebhook("a status is required")
    code = params.get("ErrorCode", "").strip()
    reason = f"twilio {status}" + (f" (error {code})" if code else "")
    return provider_sid, outcome, reason if outcome is ContactOutcome.FAILED else None


class StatusCallbacks:
    """Applies status callbacks to the contact log."""

    def __init__(self, settings: Settings, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self._sessions = sessions

    async def apply(self, params: MultiDictProxy[str]) -> int:
        """Record the callback; returns how many contact log rows moved on."""
        provider_sid, outcome, reason = outcome_of(params)
        if outcome is None:
            log.info("twilio_status.ignored", sid=provider_sid)
            return 0
        moved = 0
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(ContactLog).where(ContactLog.provider_sid == provider_sid)
                )
            ).all()
            for row in rows:
                if _PROGRESS[outcome] >= _PROGRESS[row.outcome] and row.outcome != outcome:
                    row.outcome = outcome
                    if reason:
                        row.reason = reason[:REASON_LENGTH]
                    moved += 1
            await session.commit()
        log.info(
            "twilio_status.applied",
            sid=provider_sid,
            outcome=outcome.value,
            known=bool(rows),
            moved=moved,
        )
        return moved


STATUS_CALLBACKS = web.AppKey("status_callbacks", StatusCallbacks)


async def post_status(request: web.Request) -> web.Response:
    """`POST /twilio/status`: a message's or a call's status changed."""
    callbacks = request.app[STATUS_CALLBACKS]
    try:
        params = await read_signed_form(request, callbacks.settings)
        await callbacks.apply(params)
    except BadWebhook as error:
        return bad_request(error)
    except web.HTTPException:
        raise
    except SQLAlchemyError:
        log.exception("twilio_status.database_error")
        return unavailable()
    except Exception:
        log.exception("twilio_status.unhandled_error")
        return unavailable()
    return twiml(EMPTY_TWIML)


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/status", post_status)
