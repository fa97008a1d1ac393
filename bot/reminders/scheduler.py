"""The reminder scheduler: plan, claim under a lease, check, send, record.

Delivery is at least once, made idempotent:
- a job is claimed with a token and a lease (`claimed_until`); a scheduler
  that dies mid-job leaves a claim that expires, and the job is retried;
- before calling Twilio the job records `send_started_at`, and the send
  carries the job's `purpose` (`reminder:<kind>:<id>`) into the contact log
  with Twilio's SID; a retry of a job whose send had started first looks for
  that row and, if Twilio accepted the message, marks the job sent instead
  of sending again. The one window left is between Twilio accepting and the
  contact log row being committed (milliseconds; Twilio's Messages API has
  no idempotency key to close it);
- every state change is conditional on the claim token, so a scheduler that
  lost its lease cannot overwrite the job.

Every decision (sent, deferred, suppressed, failed, and why) is on the job
row and in the structured log; suppressions and sends are in the contact log.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import String, and_, case, cast, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.inbound import sms_conversation_id
from bot.channels.outbound import Delivery, Outbound, Outcome
from bot.channels.twilio_rest import SendFailed
from bot.db.models import (
    Account,
    Agreement,
    Cardholder,
    ContactLog,
    Conversation,
    ReminderJob,
)
from bot.db.types import utcnow
from bot.domain.enums import (
    AgreementStatus,
    Channel,
    ContactDirection,
    ContactOutcome,
    ReminderStatus,
)
from bot.policy.models import Policy
from bot.reminders.contact_policy import (
    WEEK,
    AccountFlags,
    Action,
    ContactFacts,
    Decision,
    decide,
)
from bot.reminders.messages import Sender, sms_text
from bot.reminders.planner import EXPIRED, PlanReport, plan
from bot.services.consent import is_opted_out

log = structlog.get_logger(__name__)

REASON_LENGTH = 200
# Outbound rows that answer the person rather than contact them: not capped.
REPLY_PURPOSES = ("reply", "secure_link")
REMINDER_PURPOSE_PREFIX = "reminder:"
_NOT_ATTEMPTS = (ContactOutcome.FAILED, ContactOutcome.SUPPRESSED)


@dataclass(frozen=True)
class SchedulerOptions:
    """Tuning; tests shorten the intervals."""

    lease: timedelta = timedelta(minutes=5)
    batch_size: int = 50
    poll_interval_seconds: float = 30.0
    plan_interval_seconds: float = 600.0
    max_attempts: int = 5
    retry_after: timedelta = timedelta(minutes=15)


@dataclass
class RunReport:
    """What one pass did: job ids by what became of them."""

    plan: PlanReport | None = None
    outcomes: dict[str, list[int]] = field(default_factory=dict)

    def add(self, outcome: str, job_id: int) -> None:
        self.outcomes.setdefault(outcome, []).append(job_id)

    def count(self, outcome: str) -> int:
        return len(self.outcomes.get(outcome, []))


@dataclass(frozen=True)
class _Prepared:
    """A job cleared to go: where, what, and the token it is claimed under."""

    job_id: int
    token: str
    channel: Channel
    phone: str
    text: str
    purpose: str
    account_id: int
    # When an earlier attempt's send started and its outcome is not known
    # (Twilio's answer was lost, or the process died): Twilio is asked first.
    earlier_send: datetime | None = None


class ReminderScheduler:
    """Plans and sends reminders; several may run at once against one database."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        outbound: Outbound,
        policy: Callable[[], Policy],
        sender: Sender,
        *,
        clock: Callable[[], datetime] = utcnow,
        options: SchedulerOptions | None = None,
        send_enabled: bool = True,
    ) -> None:
        self._sessions = sessions
        self._outbound = outbound
        self._policy = policy
        self._sender = sender
        self._clock = clock
        self.options = options or SchedulerOptions()
        self.send_enabled = send_enabled

    # --- planning ---------------------------------------------------------------------

    async def plan(self) -> PlanReport:
        async with self._sessions() as session:
            report = await plan(await session.connection(), self._policy(), self._clock())
            await session.commit()
        log.info(
            "reminders.planned",
            accounts=report.accounts_screened,
            planned=sum(report.planned.values()),
            suppressed=sum(report.suppressed.values()),
            expired=report.expired,
            seconds=round(report.elapsed_seconds, 3),
        )
        return report

    # --- claiming -----------------------------------------------------------------------

    async def claim(self) -> tuple[str, list[int]]:
        """Claim up to a batch of due jobs (and jobs whose claim expired)."""
        now = self._clock()
        claimable = or_(
            and_(
                ReminderJob.status == ReminderStatus.PLANNED,
                ReminderJob.not_before <= now,
                ReminderJob.not_after >= now,
            ),
            and_(ReminderJob.status == ReminderStatus.CLAIMED, ReminderJob.claimed_until < now),
        )
        token = str(uuid.uuid4())
        async with self._sessions() as session:
            candidates = (
                await session.scalars(
                    select(ReminderJob.id)
                    .where(claimable)
                    .order_by(ReminderJob.not_before, ReminderJob.id)
                    .limit(self.options.batch_size)
                )
            ).all()
            if not candidates:
                return token, []
            # Re-checked row by row: a concurrent claimer takes each job once.
            await session.execute(
                update(ReminderJob)
                .where(ReminderJob.id.in_(candidates), claimable)
                .values(
                    status=ReminderStatus.CLAIMED,
                    claim_token=token,
                    claimed_until=now + self.options.lease,
                    attempts=ReminderJob.attempts + 1,
                    updated_at=now,
                )
            )
            await session.commit()
            claimed = (
                await session.scalars(
                    select(ReminderJob.id)
                    .where(ReminderJob.claim_token == token)
                    .order_by(ReminderJob.id)
                )
            ).all()
        return token, list(claimed)

    # --- one job ---------------------------------------------------------------------------

    async def process(self, job_id: int, token: str) -> str:
        """Check and send one claimed job; what became of it."""
        prepared = await self._prepare(job_id, token)
        if isinstance(prepared, str):
            return prepared
        if prepared.earlier_send is not None and prepared.channel is Channel.SMS:
            found = await self._sent_earlier(prepared, prepared.earlier_send)
            if found is not None:
                return await self._record(prepared, found)
        if prepared.channel is Channel.VOICE:
            outcome = await self._outbound.place_call(
                prepared.phone, purpose=prepared.purpose, account_id=prepared.account_id
            )
        else:
            outcome = await self._outbound.send_sms(
                prepared.phone,
                prepared.text,
                purpose=prepared.purpose,
                account_id=prepared.account_id,
            )
        return await self._record(prepared, outcome)

    async def _prepare(self, job_id: int, token: str) -> _Prepared | str:
        async with self._sessions() as session:
            job = await session.get(ReminderJob, job_id)
            if job is None or job.status is not ReminderStatus.CLAIMED or job.claim_token != token:
                return "lost_claim"
            now = self._clock()
            earlier_send = job.send_started_at
            if job.send_started_at is not None:
                sid = await self._accepted_sid(session, job)
                if sid is not None:
                    self._finish(job, ReminderStatus.SENT, "recovered_after_restart", now)
                    job.provider_sid, job.sent_at = sid, job.send_started_at
                    await session.commit()
                    log.info("reminders.recovered", job_id=job.id, kind=job.kind.value)
                    return "sent"
            if now > job.not_after:
                self._finish(job, ReminderStatus.FAILED, EXPIRED, now)
                await session.commit()
                return "expired"
            if job.attempts > self.options.max_attempts:
                self._finish(job, ReminderStatus.FAILED, "too_many_attempts", now)
                await session.commit()
                return "failed"
            account = await session.get(Account, job.account_id)
            assert account is not None  # foreign key
            holder = await session.get(Cardholder, account.cardholder_id)
            assert holder is not None
            facts = await self._facts(session, job, account, holder, now)
            decision = decide(
                self._policy().contact[account.jurisdiction], job.kind, job.channel, facts, now
            )
            if decision.action is not Action.SEND:
                outcome = self._hold(session, job, decision, now)
                await session.commit()
                return outcome
            verified = await session.scalar(
                select(
                    exists().where(
                        Conversation.address == holder.phone_e164,
                        Conversation.verified_at.is_not(None),
                    )
                )
            )
            text = sms_text(
                job.kind,
                holder.preferred_language,
                self._sender,
                about=job.due_on,
                verified=bool(verified),
            )
            job.send_started_at = earlier_send or now  # the earliest attempt Twilio may have
            job.claimed_until = now + self.options.lease
            if job.channel is Channel.SMS:
                job.conversation_id = sms_conversation_id(holder.phone_e164)
            job.updated_at = now
            await session.commit()
            return _Prepared(
                job.id,
                token,
                job.channel,
                holder.phone_e164,
                text,
                job.purpose,
                account.id,
                earlier_send,
            )

    async def _sent_earlier(self, prepared: _Prepared, since: datetime) -> Outcome | None:
        """What Twilio says of an earlier attempt whose answer never came back.

        Its SID if Twilio has the message (recorded as sent, not sent again);
        an unconfirmed failure if Twilio cannot be asked now (tried later);
        None when Twilio has no such message, so it is safe to send.
        """
        try:
            sid = await self._outbound.find_sms(prepared.phone, prepared.text, since)
        except SendFailed as error:
            return Outcome(Delivery.FAILED, reason=f"unconfirmed: {error}", unconfirmed=True)
        if sid is None:
            return None
        async with self._sessions() as session:  # the contact log gets the SID it missed
            session.add(
                ContactLog(
                    account_id=prepared.account_id,
                    channel=Channel.SMS,
                    direction=ContactDirection.OUTBOUND,
                    purpose=prepared.purpose,
                    outcome=ContactOutcome.QUEUED,
                    reason="found at Twilio after its answer was lost",
                    provider_sid=sid,
                    at=self._clock(),
                )
            )
            await session.commit()
        log.info("reminders.recovered_from_twilio", job_id=prepared.job_id, sid=sid)
        return Outcome(Delivery.SENT, (sid,))

    async def _record(self, prepared: _Prepared, outcome: Outcome) -> str:
        now = self._clock()
        values: dict[str, object]
        if outcome.delivery is Delivery.SENT or outcome.sids:
            result, values = (
                "sent",
                {
                    "status": ReminderStatus.SENT,
                    "sent_at": now,
                    "provider_sid": outcome.sids[0] if outcome.sids else None,
                    "reason": None,
                },
            )
        elif outcome.delivery is Delivery.SUPPRESSED:
            result, values = (
                "suppressed",
                {"status": ReminderStatus.SUPPRESSED, "reason": outcome.reason},
            )
        else:
            async with self._sessions() as session:
                attempts = await session.scalar(
                    select(ReminderJob.attempts).where(ReminderJob.id == prepared.job_id)
                )
            reason = f"send_failed: {outcome.reason}"[:REASON_LENGTH]
            if (attempts or 0) >= self.options.max_attempts:
                result, values = "failed", {"status": ReminderStatus.FAILED, "reason": reason}
            else:
                result, values = (
                    "retry",
                    {
                        "status": ReminderStatus.PLANNED,
                        "reason": reason,
                        "not_before": now + self.options.retry_after,
                        # Kept when Twilio may have sent it: the retry asks Twilio first.
                        **({} if outcome.unconfirmed else {"send_started_at": None}),
                    },
                )
        async with self._sessions() as session:
            await session.execute(
                update(ReminderJob)
                .where(ReminderJob.id == prepared.job_id, ReminderJob.claim_token == prepared.token)
                .values(claim_token=None, claimed_until=None, updated_at=now, **values)
            )
            await session.commit()
        log.info(
            "reminders.decided",
            job_id=prepared.job_id,
            purpose=prepared.purpose,
            channel=prepared.channel.value,
            outcome=result,
            reason=values.get("reason"),
        )
        return result

    @staticmethod
    def _finish(job: ReminderJob, status: ReminderStatus, reason: str, now: datetime) -> None:
        job.status, job.reason = status, reason
        job.claim_token = job.claimed_until = None
        job.updated_at = now

    def _hold(
        self, session: AsyncSession, job: ReminderJob, decision: Decision, now: datetime
    ) -> str:
        """Suppress (final, in the contact log) or defer (planned again, later)."""
        reason = decision.reason.value if decision.reason else "unknown"
        if decision.action is Action.SUPPRESS:
            self._finish(job, ReminderStatus.SUPPRESSED, reason, now)
            session.add(
                ContactLog(
                    account_id=job.account_id,
                    channel=job.channel,
                    direction=ContactDirection.OUTBOUND,
                    purpose=job.purpose,
                    outcome=ContactOutcome.SUPPRESSED,
                    reason=reason,
                    at=now,
                )
            )
            outcome = "suppressed"
        else:
            self._finish(job, ReminderStatus.PLANNED, f"deferred: {reason}", now)
            job.not_before = decision.not_before or now + self.options.retry_after
            outcome = "deferred"
        log.info(
            "reminders.decided",
            job_id=job.id,
            purpose=job.purpose,
            channel=job.channel.value,
            outcome=outcome,
            reason=reason,
            not_before=job.not_before.isoformat() if outcome == "deferred" else None,
        )
        return outcome

    async def _accepted_sid(self, session: AsyncSession, job: ReminderJob) -> str | None:
        """Twilio's SID if an earlier attempt's send was accepted (idempotency)."""
        sid: str | None = await session.scalar(
            select(ContactLog.provider_sid)
            .where(
                ContactLog.account_id == job.account_id,
                ContactLog.purpose == job.purpose,
                ContactLog.provider_sid.is_not(None),
            )
            .order_by(ContactLog.id)
            .limit(1)
        )
        return sid

    async def _facts(
        self,
        session: AsyncSession,
        job: ReminderJob,
        account: Account,
        holder: Cardholder,
        now: datetime,
    ) -> ContactFacts:
        agreement = await session.scalar(
            select(
                exists().where(
                    Agreement.account_id == account.id,
                    Agreement.status == AgreementStatus.ACTIVE,
                )
            )
        )
        # One contact per reminder however many SMS parts it had; others per row.
        contact = case(
            (ContactLog.purpose.startswith(REMINDER_PURPOSE_PREFIX), ContactLog.purpose),
            else_=cast(ContactLog.id, String),
        )
        recent = (
            await session.scalars(
                select(func.min(ContactLog.at))
                .where(
                    ContactLog.account_id == account.id,
                    ContactLog.channel == job.channel,
                    ContactLog.direction == ContactDirection.OUTBOUND,
                    ContactLog.outcome.not_in(_NOT_ATTEMPTS),
                    ContactLog.purpose.not_in(REPLY_PURPOSES),
                    ContactLog.at > now - WEEK,
                )
                .group_by(contact)
            )
        ).all()
        conversation = await session.scalar(
            select(func.max(ContactLog.at)).where(
                ContactLog.account_id == account.id,
                ContactLog.channel == Channel.VOICE,
                ContactLog.outcome == ContactOutcome.ANSWERED,
            )
        )
        return ContactFacts(
            time_zone=account.time_zone,
            flags=AccountFlags(
                deceased=account.deceased,
                bankruptcy=account.bankruptcy,
                attorney_represented=account.attorney_represented,
                dispute_open=account.dispute_open,
                agreement_active=bool(agreement),
            ),
            opted_out=await is_opted_out(session, holder.id, job.channel),
            has_address=bool(holder.phone_e164),
            recent=tuple(recent),
            last_conversation_at=conversation,
        )

    # --- loops -------------------------------------------------------------------------------

    async def run_once(self, *, plan_first: bool = True) -> RunReport:
        """Plan (optionally), then claim and process batches until none is due."""
        report = RunReport()
        if plan_first:
            report.plan = await self.plan()
        if not self.send_enabled:
            return report
        while True:
            token, claimed = await self.claim()
            if not claimed:
                return report
            for job_id in claimed:
                report.add(await self.process(job_id, token), job_id)

    async def run_forever(self, stop: asyncio.Event) -> None:
        """Until `stop` is set: plan every plan interval, send every poll interval."""
        loop = asyncio.get_running_loop()
        next_plan = loop.time()
        while not stop.is_set():
            plan_now = loop.time() >= next_plan
            if plan_now:
                next_plan = loop.time() + self.options.plan_interval_seconds
            try:
                await self.run_once(plan_first=plan_now)
            except Exception:
                # A database hiccup must not end the scheduler; the next pass retries.
                log.exception("reminders.pass_failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.options.poll_interval_seconds)
            except asyncio.TimeoutError:
                continue
