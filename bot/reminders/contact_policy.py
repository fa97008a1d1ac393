"""The contact policy of CONTRACT.md §6 as pure functions.

Everything here takes the policy file's `ContactPolicy` and facts the caller
read from the database (flags, consent, recent contacts), and returns a
`Decision`: send now, wait until a given moment (a window or a cap frees up)
or never (suppressed), always with a reason code that ends up in the job row
and the contact log. Nothing reads a clock or a database, so every edge (DST,
rolling windows) is a plain unit test.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.domain.enums import Channel, ReminderKind
from bot.policy.models import ContactPolicy, ContactWindow

DAY = timedelta(days=1)
WEEK = timedelta(days=7)

# Collection contacts stop while an agreement is being kept; the agreement's
# own instalment reminders and the reminder of a promise just made do not.
COLLECTION_KINDS = frozenset(
    {
        ReminderKind.DUE_SOON,
        ReminderKind.DUE_TODAY,
        ReminderKind.OVERDUE,
        ReminderKind.PROMISE_BROKEN,
    }
)


class Action(str, enum.Enum):
    SEND = "send"
    DEFER = "defer"
    SUPPRESS = "suppress"


class Reason(str, enum.Enum):
    """Why a contact was held back; stored as the job's and contact log's reason."""

    DECEASED = "deceased"
    BANKRUPTCY = "bankruptcy"
    ATTORNEY = "attorney_represented"
    DISPUTE = "dispute_open"
    AGREEMENT = "agreement_being_kept"
    OPTED_OUT = "opted_out"
    NO_ADDRESS = "no_phone_number"
    QUIET_AFTER_CONVERSATION = "quiet_days_after_conversation"
    OUTSIDE_WINDOW = "outside_contact_window"
    DAILY_CAP = "daily_cap"
    WEEKLY_CAP = "7_day_cap"


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason | None = None
    not_before: datetime | None = None  # DEFER: the earliest moment to try again

    @property
    def send(self) -> bool:
        return self.action is Action.SEND


SEND = Decision(Action.SEND)


@dataclass(frozen=True)
class AccountFlags:
    """Account facts that stop contact outright (RULES.md: escalate at once)."""

    deceased: bool = False
    bankruptcy: bool = False
    attorney_represented: bool = False
    dispute_open: bool = False
    agreement_active: bool = False


@dataclass(frozen=True)
class ContactFacts:
    """What the database says about one account and channel, right now.

    Attributes:
        recent: when outbound contacts on `channel` were attempted in the last
            7 days (one per contact, however many SMS parts it had).
        last_conversation_at: the last telephone conversation with the person.
    """

    time_zone: str
    flags: AccountFlags = AccountFlags()
    opted_out: bool = False
    has_address: bool = True
    recent: tuple[datetime, ...] = field(default_factory=tuple)
    last_conversation_at: datetime | None = None


# --- local-time windows -------------------------------------------------------------


def local_now(now: datetime, time_zone: str) -> datetime:
    return now.astimezone(ZoneInfo(time_zone))


def at_local(day: date, moment: time, time_zone: str) -> datetime:
    """`moment` on `day` in `time_zone`, in UTC.

    A wall time that does not exist (skipped by a DST jump) resolves forward,
    as clocks do; an ambiguous one (repeated hour) takes its first occurrence.
    """
    # fold=0: a skipped wall time is read with the offset before the jump,
    # which lands after it (02:30 on a spring-forward night is 03:30).
    return datetime.combine(day, moment, tzinfo=ZoneInfo(time_zone)).astimezone(timezone.utc)


def in_window(now: datetime, window: ContactWindow, time_zone: str) -> bool:
    local = local_now(now, time_zone).time()
    return window.start <= local < window.end


def window_bounds(day: date, window: ContactWindow, time_zone: str) -> tuple[datetime, datetime]:
    """The window on local `day`, as UTC [start, end)."""
    return at_local(day, window.start, time_zone), at_local(day, window.end, time_zone)


def planning_day(now: datetime, window: ContactWindow, time_zone: str) -> date:
    """The local day whose window is open now or opens next."""
    local = local_now(now, time_zone)
    if local.time() >= window.end:
        return local.date() + DAY
    return local.date()


def next_window_start(moment: datetime, window: ContactWindow, time_zone: str) -> datetime:
    """`moment` itself if inside the window, else when the window next opens (UTC)."""
    if in_window(moment, window, time_zone):
        return moment
    day = planning_day(moment, window, time_zone)
    return at_local(day, window.start, time_zone)


# --- caps over rolling windows -----------------------------------------------------------


def _frees_at(
    times: Sequence[datetime], now: datetime, span: timedelta, cap: int
) -> datetime | None:
    """None if fewer than `cap` contacts fall in (now - span, now]; else when one drops out."""
    inside = sorted(t for t in times if now - span < t <= now)
    if len(inside) < cap:
        return None
    # After the (len - cap + 1) oldest have left the window, one more is allowed.
    return inside[len(inside) - cap] + span


def _caps(
    policy: ContactPolicy, channel: Channel
) -> Iterable[tuple[int | None, timedelta, Reason]]:
    caps = policy.sms if channel is Channel.SMS else policy.calls
    yield caps.max_per_day, DAY, Reason.DAILY_CAP
    yield caps.max_per_7_days, WEEK, Reason.WEEKLY_CAP


# --- the decision ----------------------------------------------------------------------


def suppression(kind: ReminderKind, facts: ContactFacts) -> Reason | None:
    """A reason that forbids this contact however long we wait, or None."""
    flags = facts.flags
    if flags.deceased:
        return Reason.DECEASED
    if flags.bankruptcy:
        return Reason.BANKRUPTCY
    if flags.attorney_represented:
        return Reason.ATTORNEY
    if flags.dispute_open:
        return Reason.DISPUTE
    if flags.agreement_active and kind in COLLECTION_KINDS:
        return Reason.AGREEMENT
    if facts.opted_out:
        return Reason.OPTED_OUT
    if not facts.has_address:
        return Reason.NO_ADDRESS
    return None


def decide(
    policy: ContactPolicy,
    kind: ReminderKind,
    channel: Channel,
    facts: ContactFacts,
    now: datetime,
) -> Decision:
    """May this reminder go out on `channel` at `now`?

    Suppressions first (they are final), then the waits, each pushed to the
    next open window: the quiet days after a conversation (calls), the
    local-time window, and every cap over its rolling window.
    """
    reason = suppression(kind, facts)
    if reason is not None:
        return Decision(Action.SUPPRESS, reason)
    waits: list[tuple[datetime, Reason]] = []
    quiet = policy.calls.quiet_days_after_conversation
    if channel is Channel.VOICE and quiet and facts.last_conversation_at is not None:
        until = facts.last_conversation_at + timedelta(days=quiet)
        if until > now:
            waits.append((until, Reason.QUIET_AFTER_CONVERSATION))
    for cap, span, cap_reason in _caps(policy, channel):
        if cap is None:
            continue
        frees = _frees_at(facts.recent, now, span, cap)
        if frees is not None:
            waits.append((frees, cap_reason))
    if not in_window(now, policy.window, facts.time_zone):
        waits.append(
            (next_window_start(now, policy.window, facts.time_zone), Reason.OUTSIDE_WINDOW)
        )
    if not waits:
        return SEND
    until, why = max(waits, key=lambda wait: wait[0])
    return Decision(Action.DEFER, why, next_window_start(until, policy.window, facts.time_zone))
