"""The reminder scheduler end to end: SQL planner, contact policy, real Twilio SDK.

Twilio's REST API is the loopback fake (`tests/twilio_fake.py`); the clock is
the test's, so windows, leases and restarts are exact. Each test seeds its own
database with the personas (CONTRACT.md §4) as of `SEED_DAY`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from bot.channels.outbound import Outbound
from bot.channels.twilio_rest import TwilioRest
from bot.db.engine import make_async_engine, make_async_sessionmaker
from bot.db.models import Account, Cardholder, ContactLog, PromiseToPay, ReminderJob
from bot.demo.seed import seed_demo
from bot.domain.enums import (
    Channel,
    ContactOutcome,
    PromiseStatus,
    ReminderKind,
    ReminderStatus,
)
from bot.policy.loader import load_policy
from bot.reminders.context import mark_context_used, reminder_context
from bot.reminders.messages import Sender
from bot.reminders.scheduler import ReminderScheduler, SchedulerOptions
from bot.reminders.service import plan_report
from bot.settings import PROJECT_ROOT, Settings
from tests.conftest import DatabaseFactory
from tests.gateway_fakes import LoopbackServer
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, PUBLIC_BASE_URL, FakeTwilioApi

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

SEED_DAY = date(2026, 11, 23)
EMILY = "+14155550101"  # P1: due in 10 days, Los Angeles
MICHAEL = "+13125550102"  # P2: 12 DPD, Chicago
DAVID = "+16465550107"  # P7: 20 DPD, opted out of SMS
LIU_YANG = "+19175550108"  # P8: 8 DPD, zh, New York
POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
SENDER = Sender("Harbor Bank", "港湾银行", FROM_NUMBER)
LEASE = timedelta(minutes=5)


def at(day: date, hour: int, minute: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(
        timezone.utc
    )


NOON_CHICAGO = at(SEED_DAY, 12, 0, "America/Chicago")


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    url: str
    sessions: async_sessionmaker[AsyncSession]
    api: FakeTwilioApi
    outbound: Outbound
    clock: Clock
    scheduler: ReminderScheduler

    def another_scheduler(self) -> ReminderScheduler:
        """A second process on the same database (a restart)."""
        return ReminderScheduler(
            self.sessions,
            self.outbound,
            lambda: POLICY,
            SENDER,
            clock=self.clock,
            options=SchedulerOptions(lease=LEASE),
        )

    async def jobs(self, phone: str | None = None) -> list[ReminderJob]:
        async with self.sessions() as session:
            query = select(ReminderJob).order_by(ReminderJob.id)
            if phone is not None:
                query = (
                    query.join(Account, Account.id == ReminderJob.account_id)
                    .join(Cardholder, Cardholder.id == Account.cardholder_id)
                    .where(Cardholder.phone_e164 == phone)
                )
            return list((await session.scalars(query)).all())

    async def set_account(self, phone: str, **values: object) -> None:
        async with self.sessions() as session:
            holder = select(Cardholder.id).where(Cardholder.phone_e164 == phone)
            await session.execute(
                update(Account).where(Account.cardholder_id.in_(holder)).values(**values)
            )
            await session.commit()


@pytest.fixture
async def rig(database_factory: DatabaseFactory) -> AsyncIterator[Rig]:
    url = database_factory.create()
    seed_demo(url, accounts=0, today=SEED_DAY)
    api = FakeTwilioApi()
    server = LoopbackServer(api.make_app)
    await server.start()
    engine = make_async_engine(url, poolclass=NullPool)
    rest = TwilioRest(
        account_sid=ACCOUNT_SID,
        auth_token=AUTH_TOKEN,
        sms_from=FROM_NUMBER,
        voice_from=FROM_NUMBER,
        api_base=server.url,
        public_base_url=PUBLIC_BASE_URL,
        timeout_seconds=2.0,
    )
    try:
        sessions = make_async_sessionmaker(engine)
        clock = Clock(NOON_CHICAGO)
        outbound = Outbound(sessions, rest, clock=clock)
        scheduler = ReminderScheduler(
            sessions,
            outbound,
            lambda: POLICY,
            SENDER,
            clock=clock,
            options=SchedulerOptions(lease=LEASE),
        )
        yield Rig(url, sessions, api, outbound, clock, scheduler)
    finally:
        await rest.close()
        await engine.dispose()
        await server.stop()


# --- who gets what ----------------------------------------------------------------------


async def test_p2_gets_an_overdue_sms_and_p7_gets_nothing(rig: Rig) -> None:
    report = await rig.scheduler.run_once()

    [body] = rig.api.bodies_to(MICHAEL)
    assert body.startswith("Harbor Bank: ")
    assert body.endswith("Reply STOP to opt out.")
    assert "$" not in body and "past due" not in body  # first contact: no debt detail
    [job] = await rig.jobs(MICHAEL)
    assert (job.kind, job.reference, job.status, job.channel) == (
        ReminderKind.OVERDUE,
        "dpd7",
        ReminderStatus.SENT,
        Channel.SMS,
    )
    assert job.provider_sid in {m["Sid"] for m in rig.api.messages if m["To"] == MICHAEL}
    assert job.conversation_id == "sms:13125550102"

    assert rig.api.bodies_to(DAVID) == []
    [opted_out] = await rig.jobs(DAVID)
    assert (opted_out.status, opted_out.reason) == (ReminderStatus.SUPPRESSED, "opted_out")

    [chinese] = rig.api.bodies_to(LIU_YANG)  # P8: 8 DPD, Chinese
    assert chinese.startswith("港湾银行：") and chinese.endswith("回复TD退订。")
    assert rig.api.bodies_to(EMILY) == []  # due in 10 days: nothing yet
    assert len(rig.api.messages) == 2
    assert report.count("sent") == 2
    assert report.plan is not None and report.plan.accounts_screened == 8


async def test_every_send_is_in_the_contact_log_under_the_jobs_key(rig: Rig) -> None:
    await rig.scheduler.run_once()
    [job] = await rig.jobs(MICHAEL)
    async with rig.sessions() as session:
        logged = (
            await session.scalars(select(ContactLog).where(ContactLog.purpose == job.purpose))
        ).all()
    assert [(row.outcome, row.provider_sid) for row in logged] == [
        (ContactOutcome.QUEUED, job.provider_sid)
    ]


async def test_p1_gets_a_due_date_reminder_only_inside_its_los_angeles_window(rig: Rig) -> None:
    three_days_before = SEED_DAY + timedelta(days=7)  # P1 is due on SEED_DAY + 10
    la = "America/Los_Angeles"
    rig.clock.now = at(three_days_before, 7, 59, la)
    await rig.scheduler.run_once()
    assert rig.api.bodies_to(EMILY) == []
    [job] = await rig.jobs(EMILY)
    assert (job.kind, job.status) == (ReminderKind.DUE_SOON, ReminderStatus.PLANNED)
    assert job.not_before == at(three_days_before, 8, 0, la)
    assert job.not_after == at(three_days_before, 21, 0, la)

    rig.clock.now = at(three_days_before, 8, 0, la)
    await rig.scheduler.run_once()
    assert len(rig.api.bodies_to(EMILY)) == 1


async def test_after_the_window_closes_the_reminder_waits_for_the_next_morning(rig: Rig) -> None:
    la = "America/Los_Angeles"
    evening = SEED_DAY + timedelta(days=7)
    rig.clock.now = at(evening, 21, 0, la)
    await rig.scheduler.run_once()
    assert rig.api.bodies_to(EMILY) == []
    [job] = await rig.jobs(EMILY)
    assert job.not_before == at(evening + timedelta(days=1), 8, 0, la)
    rig.clock.now = at(evening + timedelta(days=1), 8, 30, la)
    await rig.scheduler.run_once()
    assert len(rig.api.bodies_to(EMILY)) == 1


# --- idempotency and restarts -------------------------------------------------------------------


async def test_planning_again_adds_nothing_and_sends_nothing_twice(rig: Rig) -> None:
    await rig.scheduler.run_once()
    before = [(j.id, j.status) for j in await rig.jobs()]
    rig.clock.now += timedelta(hours=2)
    report = await rig.scheduler.run_once()
    assert [(j.id, j.status) for j in await rig.jobs()] == before
    assert report.plan is not None and sum(report.plan.planned.values()) == 0
    assert len(rig.api.messages) == 2


async def test_a_job_claimed_but_not_finished_is_retried_after_its_lease(rig: Rig) -> None:
    await rig.scheduler.plan()
    token, claimed = await rig.scheduler.claim()
    assert claimed  # ... and the process dies here
    restarted = rig.another_scheduler()
    await restarted.run_once()
    assert rig.api.messages == []  # the lease still holds

    rig.clock.now += LEASE + timedelta(seconds=1)
    report = await restarted.run_once()
    assert sorted(report.outcomes["sent"]) == sorted(claimed)
    assert len(rig.api.bodies_to(MICHAEL)) == 1
    assert await rig.scheduler.process(claimed[0], token) == "lost_claim"  # old owner is out
    assert len(rig.api.bodies_to(MICHAEL)) == 1


async def test_a_send_twilio_accepted_before_a_crash_is_not_sent_again(rig: Rig) -> None:
    await rig.scheduler.plan()
    [job] = await rig.jobs(MICHAEL)
    token, _claimed = await rig.scheduler.claim()
    prepared = await rig.scheduler._prepare(job.id, token)
    assert not isinstance(prepared, str)
    await rig.outbound.send_sms(  # Twilio accepts ... and the process dies before recording
        prepared.phone, prepared.text, purpose=prepared.purpose, account_id=prepared.account_id
    )
    rig.clock.now += LEASE + timedelta(seconds=1)
    report = await rig.another_scheduler().run_once()

    assert job.id in report.outcomes["sent"]
    assert len(rig.api.bodies_to(MICHAEL)) == 1
    [again] = await rig.jobs(MICHAEL)
    assert again.status is ReminderStatus.SENT
    assert again.reason == "recovered_after_restart"
    assert again.provider_sid == rig.api.messages[0]["Sid"]


async def test_a_failed_send_is_retried_later_then_given_up(rig: Rig) -> None:
    from tests.twilio_fake import Refusal

    rig.api.refusals[MICHAEL] = Refusal(400, 21211, "Invalid 'To' Phone Number")
    await rig.scheduler.run_once()
    [job] = await rig.jobs(MICHAEL)
    assert job.status is ReminderStatus.PLANNED
    assert job.reason is not None and job.reason.startswith("send_failed")
    assert job.not_before > rig.clock.now
    rig.api.refusals.clear()
    rig.clock.now = job.not_before
    await rig.scheduler.run_once()
    assert len(rig.api.bodies_to(MICHAEL)) == 1


# --- caps and suppression at send time ------------------------------------------------------------


async def test_the_daily_cap_defers_a_second_reminder(rig: Rig) -> None:
    await rig.scheduler.run_once()  # P2's overdue SMS
    async with rig.sessions() as session:
        account_id = await session.scalar(
            select(Account.id).join(Cardholder).where(Cardholder.phone_e164 == MICHAEL)
        )
        assert account_id is not None
        session.add(
            PromiseToPay(
                account_id=account_id,
                amount=120,
                promised_date=SEED_DAY + timedelta(days=1),
                status=PromiseStatus.OPEN,
                channel=Channel.SMS,
                policy_version=POLICY.version,
            )
        )
        await session.commit()
    rig.clock.now += timedelta(hours=1)
    await rig.scheduler.run_once()
    assert len(rig.api.bodies_to(MICHAEL)) == 1
    promise = [j for j in await rig.jobs(MICHAEL) if j.kind is ReminderKind.PROMISE_TOMORROW]
    assert [(j.status, j.reason) for j in promise] == [
        (ReminderStatus.PLANNED, "deferred: daily_cap")
    ]


@pytest.mark.parametrize(
    ("flag", "reason"),
    [
        ("dispute_open", "dispute_open"),
        ("attorney_represented", "attorney_represented"),
        ("bankruptcy", "bankruptcy"),
    ],
)
async def test_flags_suppress_at_planning(rig: Rig, flag: str, reason: str) -> None:
    await rig.set_account(MICHAEL, **{flag: True})
    await rig.scheduler.run_once()
    assert rig.api.bodies_to(MICHAEL) == []
    [job] = await rig.jobs(MICHAEL)
    assert (job.status, job.reason) == (ReminderStatus.SUPPRESSED, reason)


async def test_a_flag_set_after_planning_suppresses_at_send_time_and_is_logged(rig: Rig) -> None:
    await rig.scheduler.plan()
    await rig.set_account(MICHAEL, dispute_open=True)
    await rig.scheduler.run_once(plan_first=False)
    assert rig.api.bodies_to(MICHAEL) == []
    [job] = await rig.jobs(MICHAEL)
    assert (job.status, job.reason) == (ReminderStatus.SUPPRESSED, "dispute_open")
    async with rig.sessions() as session:
        [row] = (
            await session.scalars(select(ContactLog).where(ContactLog.purpose == job.purpose))
        ).all()
    assert (row.outcome, row.reason) == (ContactOutcome.SUPPRESSED, "dispute_open")


# --- calls ---------------------------------------------------------------------------------


async def test_a_call_reminder_uses_the_voice_webhook_with_machine_detection(rig: Rig) -> None:
    await rig.set_account(MICHAEL, days_past_due=31, payment_due_date=SEED_DAY - timedelta(days=31))
    await rig.scheduler.run_once()
    [call] = [c for c in rig.api.calls if c["To"] == MICHAEL]
    assert call["Url"] == PUBLIC_BASE_URL + "/twilio/voice"
    assert call["MachineDetection"] == "DetectMessageEnd"
    kinds = {(j.reference, j.status) for j in await rig.jobs(MICHAEL)}
    assert kinds == {("dpd30", ReminderStatus.SENT), ("dpd30:call", ReminderStatus.SENT)}


# --- the reply's context, and the benchmark entry point ------------------------------------


async def test_a_reply_gets_the_reminders_context_once(rig: Rig) -> None:
    await rig.scheduler.run_once()
    async with rig.sessions() as session:
        context = await reminder_context(session, "sms:13125550102", rig.clock.now)
        assert context is not None
        assert context.entities == {
            "reminder_kind": "overdue",
            "reminder_due_on": (SEED_DAY - timedelta(days=12)).isoformat(),
        }
        await mark_context_used(session, context.job_id, rig.clock.now)
        await session.commit()
        assert await reminder_context(session, "sms:13125550102", rig.clock.now) is None
        assert await reminder_context(session, "sms:14155550101", rig.clock.now) is None


async def test_a_dry_run_plans_nothing_and_reports_the_rate(rig: Rig) -> None:
    settings = Settings(_env_file=None, database_url=rig.url)
    report = await plan_report(settings, dry_run=True, now=NOON_CHICAGO)
    assert report.accounts_screened == 8
    assert sum(report.planned.values()) >= 3
    assert report.accounts_per_second > 0
    assert await rig.jobs() == []
    await plan_report(settings, dry_run=False, now=NOON_CHICAGO)
    assert len(await rig.jobs()) >= 3
