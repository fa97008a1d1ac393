"""The reminder planner: a few INSERT … SELECTs, never a loop over accounts.

Accounts are grouped by (jurisdiction, time zone), a handful of groups: for
each the planning day (the local day whose contact window is open now or
opens next) and that window in UTC are computed in Python, and every rule
becomes one statement that joins the accounts to that small table of windows.
Each planned job is unique on (account, kind, due_on, reference), so running
the planner again adds nothing; a job still waiting is moved to the new day's
window instead (so a reminder that missed yesterday's window goes today).

After planning, a few set-based UPDATEs apply the contact policy's final
suppressions (flags, opt-outs, an agreement being kept), so the decision and
its reason are on the job row, and jobs whose window passed unsent are closed.
Caps and the exact window are checked again at send time (`scheduler`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Date,
    Insert,
    Select,
    String,
    Subquery,
    and_,
    cast,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.db.models import (
    Account,
    Agreement,
    Cardholder,
    Consent,
    InstallmentPlan,
    InstallmentScheduleItem,
    PromiseToPay,
    ReminderJob,
)
from bot.db.types import UTCDateTime
from bot.domain.enums import (
    AgreementStatus,
    Channel,
    ConsentStatus,
    Jurisdiction,
    PlanSource,
    PlanStatus,
    PromiseStatus,
    ReminderKind,
    ReminderStatus,
)
from bot.policy.models import Policy
from bot.reminders.contact_policy import COLLECTION_KINDS, Reason, planning_day, window_bounds

Source = Literal["due_date", "overdue", "promise", "instalment"]
EXPIRED = "expired"
# Overdue notices at these days past due; each is sent until the next one is due.
OVERDUE_MILESTONES: tuple[tuple[int, int, Channel], ...] = (
    (1, 7, Channel.SMS),
    (7, 15, Channel.SMS),
    (15, 30, Channel.SMS),
    (30, 38, Channel.SMS),
    (30, 38, Channel.VOICE),
)


@dataclass(frozen=True)
class Rule:
    """One reminder rule: the date column in [day + lo, day + hi] makes a job.

    Attributes:
        reference: the job's reference, or its prefix for per-object rules
            (the promise's or the plan's id is appended).
    """

    kind: ReminderKind
    source: Source
    lo: int
    hi: int
    reference: str
    channel: Channel = Channel.SMS


def default_rules() -> tuple[Rule, ...]:
    rules = [
        Rule(ReminderKind.DUE_SOON, "due_date", 1, 3, "d-3"),
        Rule(ReminderKind.DUE_TODAY, "due_date", 0, 0, "d0"),
        Rule(ReminderKind.PROMISE_TOMORROW, "promise", 1, 1, "promise:"),
        # Three days after the promised date, or up to two days later if missed.
        Rule(ReminderKind.PROMISE_BROKEN, "promise", -5, -3, "promise:"),
        Rule(ReminderKind.INSTALMENT_DUE, "instalment", 1, 3, "plan:"),
    ]
    for first, until, channel in OVERDUE_MILESTONES:
        suffix = ":call" if channel is Channel.VOICE else ""
        rules.append(
            Rule(
                ReminderKind.OVERDUE,
                "overdue",
                -(until - 1),
                -first,
                f"dpd{first}{suffix}",
                channel,
            )
        )
    return tuple(rules)


@dataclass(frozen=True)
class Zone:
    """Accounts sharing a jurisdiction and a time zone, and their window today."""

    jurisdiction: Jurisdiction
    time_zone: str
    accounts: int
    day: date
    not_before: datetime
    not_after: datetime


@dataclass
class PlanReport:
    accounts_screened: int = 0
    zones: int = 0
    planned: dict[str, int] = field(default_factory=dict)  # rows inserted or moved, by rule
    suppressed: dict[str, int] = field(default_factory=dict)  # by reason
    expired: int = 0
    elapsed_seconds: float = 0.0

    @property
    def accounts_per_second(self) -> float:
        return self.accounts_screened / self.elapsed_seconds if self.elapsed_seconds else 0.0

    def __str__(self) -> str:
        planned = ", ".join(f"{k} {v}" for k, v in self.planned.items() if v) or "none"
        suppressed = ", ".join(f"{k} {v}" for k, v in self.suppressed.items() if v) or "none"
        return "\n".join(
            (
                f"screened {self.accounts_screened:,} accounts in {self.zones} time zones "
                f"in {self.elapsed_seconds:.3f} s: {self.accounts_per_second:,.0f} accounts/s",
                f"  planned or moved: {planned}",
                f"  suppressed:       {suppressed}",
                f"  expired:          {self.expired}",
            )
        )


async def zones(conn: AsyncConnection, policy: Policy, now: datetime) -> list[Zone]:
    """Every (jurisdiction, time zone) with accounts, with its planning day and window."""
    rows = await conn.execute(
        select(Account.jurisdiction, Account.time_zone, func.count()).group_by(
            Account.jurisdiction, Account.time_zone
        )
    )
    found = []
    for jurisdiction, time_zone, count in rows:
        window = policy.contact[jurisdiction].window
        day = planning_day(now, window, time_zone)
        start, end = window_bounds(day, window, time_zone)
        found.append(Zone(jurisdiction, time_zone, count, day, start, end))
    return found


def _windows(rule: Rule, zones: Sequence[Zone]) -> Subquery:
    """The rule's date range and send window per zone, as a small derived table."""
    rows = [
        select(
            literal(zone.jurisdiction.value, String).label("jurisdiction"),
            literal(zone.time_zone, String).label("time_zone"),
            literal(zone.day + timedelta(days=rule.lo), Date).label("lo"),
            literal(zone.day + timedelta(days=rule.hi), Date).label("hi"),
            literal(zone.not_before, UTCDateTime()).label("not_before"),
            literal(zone.not_after, UTCDateTime()).label("not_after"),
        )
        for zone in zones
    ]
    query = rows[0] if len(rows) == 1 else union_all(*rows)
    return query.subquery("windows")


def _source(rule: Rule, w: Subquery) -> tuple[Select[Any], ColumnElement[Any], ColumnElement[Any]]:
    """The accounts (and objects) the rule matches, the day it is about, its reference."""
    in_zone = and_(
        Account.jurisdiction == w.c.jurisdiction,
        Account.time_zone == w.c.time_zone,
    )
    base = select(Account.id).join(w, in_zone)
    reference: ColumnElement[Any] = literal(rule.reference, String)
    if rule.source == "due_date":
        day: ColumnElement[Any] = Account.payment_due_date.expression
        query = base.where(
            Account.days_past_due == 0,
            Account.minimum_due > 0,
            Account.payment_due_date.between(w.c.lo, w.c.hi),
        )
    elif rule.source == "overdue":
        day = Account.payment_due_date.expression
        query = base.where(
            Account.days_past_due > 0, Account.payment_due_date.between(w.c.lo, w.c.hi)
        )
    elif rule.source == "promise":
        day = PromiseToPay.promised_date.expression
        wanted = PromiseStatus.OPEN if rule.lo > 0 else PromiseStatus.BROKEN
        reference = reference + cast(PromiseToPay.id, String)
        query = base.join(PromiseToPay, PromiseToPay.account_id == Account.id).where(
            PromiseToPay.status == wanted, PromiseToPay.promised_date.between(w.c.lo, w.c.hi)
        )
    else:
        day = InstallmentScheduleItem.due_date.expression
        reference = (
            reference
            + cast(InstallmentPlan.id, String)
            + literal(":", String)
            + cast(InstallmentScheduleItem.sequence, String)
        )
        query = (
            base.join(InstallmentPlan, InstallmentPlan.account_id == Account.id)
            .join(InstallmentScheduleItem, InstallmentScheduleItem.plan_id == InstallmentPlan.id)
            .where(
                InstallmentPlan.source == PlanSource.HARDSHIP,
                InstallmentPlan.status == PlanStatus.ACTIVE,
                InstallmentScheduleItem.paid_at.is_(None),
                InstallmentScheduleItem.due_date.between(w.c.lo, w.c.hi),
            )
        )
    return query, day, reference


_COLUMNS = (
    "account_id",
    "kind",
    "channel",
    "due_on",
    "reference",
    "not_before",
    "not_after",
    "status",
    "attempts",
    "created_at",
    "updated_at",
)


def plan_statement(rule: Rule, zones: Sequence[Zone], now: datetime, dialect: str) -> Insert:
    """INSERT … SELECT of the rule's jobs; a waiting job moves to the new window."""
    w = _windows(rule, zones)
    query, day, reference = _source(rule, w)
    stamp = literal(now, UTCDateTime())
    chosen = query.with_only_columns(
        Account.id,
        literal(rule.kind.value, String),
        literal(rule.channel.value, String),
        day,
        reference,
        w.c.not_before,
        w.c.not_after,
        literal(ReminderStatus.PLANNED.value, String),
        literal(0),
        stamp,
        stamp,
    )
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ReminderJob)
    statement = insert.from_select(_COLUMNS, chosen)
    return statement.on_conflict_do_update(
        index_elements=["account_id", "kind", "due_on", "reference"],
        set_={
            "not_before": statement.excluded.not_before,
            "not_after": statement.excluded.not_after,
            "updated_at": statement.excluded.updated_at,
        },
        where=and_(
            ReminderJob.status == ReminderStatus.PLANNED,
            ReminderJob.not_after != statement.excluded.not_after,
        ),
    )


def _account_flag_suppressions() -> Iterator[tuple[Reason, Any]]:
    yield Reason.DECEASED, select(Account.id).where(Account.deceased.is_(True))
    yield Reason.BANKRUPTCY, select(Account.id).where(Account.bankruptcy.is_(True))
    yield Reason.ATTORNEY, select(Account.id).where(Account.attorney_represented.is_(True))
    yield Reason.DISPUTE, select(Account.id).where(Account.dispute_open.is_(True))


def suppression_statements(now: datetime) -> Iterator[tuple[Reason, Any]]:
    """UPDATEs marking planned jobs the policy forbids outright, most serious first."""
    planned = ReminderJob.status == ReminderStatus.PLANNED

    def suppress(reason: Reason, *where: ColumnElement[bool]) -> Any:
        return (
            update(ReminderJob)
            .where(planned, *where)
            .values(status=ReminderStatus.SUPPRESSED, reason=reason.value, updated_at=now)
        )

    for reason, accounts in _account_flag_suppressions():
        yield reason, suppress(reason, ReminderJob.account_id.in_(accounts))
    kept = select(Agreement.account_id).where(Agreement.status == AgreementStatus.ACTIVE)
    yield (
        Reason.AGREEMENT,
        suppress(
            Reason.AGREEMENT,
            ReminderJob.kind.in_(sorted(COLLECTION_KINDS)),
            ReminderJob.account_id.in_(kept),
        ),
    )
    for channel in (Channel.SMS, Channel.VOICE):
        opted_out = (
            select(Account.id)
            .join(Cardholder, Cardholder.id == Account.cardholder_id)
            .join(Consent, Consent.cardholder_id == Cardholder.id)
            .where(Consent.channel == channel, Consent.status == ConsentStatus.OPTED_OUT)
        )
        yield (
            Reason.OPTED_OUT,
            suppress(
                Reason.OPTED_OUT,
                ReminderJob.channel == channel,
                ReminderJob.account_id.in_(opted_out),
            ),
        )


def expiry_statement(now: datetime) -> Any:
    """Close jobs whose last window passed unsent (their reason no longer held)."""
    return (
        update(ReminderJob)
        .where(ReminderJob.status == ReminderStatus.PLANNED, ReminderJob.not_after < now)
        .values(status=ReminderStatus.FAILED, reason=EXPIRED, updated_at=now)
    )


async def plan(
    conn: AsyncConnection,
    policy: Policy,
    now: datetime,
    rules: Sequence[Rule] | None = None,
) -> PlanReport:
    """Plan every rule's jobs for the planning day (the caller commits or rolls back)."""
    started = time.perf_counter()
    report = PlanReport()
    found = await zones(conn, policy, now)
    report.zones = len(found)
    report.accounts_screened = sum(zone.accounts for zone in found)
    dialect = conn.dialect.name
    if found:
        for rule in rules or default_rules():
            # RETURNING counts on every driver (psycopg reports -1 for INSERT … SELECT).
            statement = plan_statement(rule, found, now, dialect).returning(ReminderJob.id)
            count = len((await conn.execute(statement)).all())
            key = f"{rule.kind.value}/{rule.reference}"
            report.planned[key] = report.planned.get(key, 0) + count
    for reason, statement in suppression_statements(now):
        result = await conn.execute(statement)
        report.suppressed[reason.value] = report.suppressed.get(reason.value, 0) + max(
            result.rowcount, 0
        )
    report.expired = max((await conn.execute(expiry_statement(now))).rowcount, 0)
    report.elapsed_seconds = time.perf_counter() - started
    return report
