"""The contact policy (CONTRACT.md §6) as pure functions: windows, caps, suppressions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.domain.enums import Channel, Jurisdiction, ReminderKind
from bot.policy.loader import load_policy
from bot.policy.models import ContactPolicy, ContactWindow
from bot.reminders.contact_policy import (
    AccountFlags,
    Action,
    ContactFacts,
    Reason,
    at_local,
    decide,
    in_window,
    next_window_start,
    planning_day,
    window_bounds,
)
from bot.settings import PROJECT_ROOT

LA = "America/Los_Angeles"
SHANGHAI = "Asia/Shanghai"
NEW_YORK = "America/New_York"
WINDOW = ContactWindow(start=time(8), end=time(21))
POLICY = load_policy(PROJECT_ROOT / "policy" / "default.yml")
US = POLICY.contact[Jurisdiction.US]
CN = POLICY.contact[Jurisdiction.CN]
OVERDUE = ReminderKind.OVERDUE


def local(year: int, month: int, day: int, hour: int, minute: int, zone: str) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)


def send(
    policy: ContactPolicy,
    facts: ContactFacts,
    now: datetime,
    channel: Channel = Channel.SMS,
    kind: ReminderKind = OVERDUE,
) -> tuple[Action, Reason | None, datetime | None]:
    decision = decide(policy, kind, channel, facts, now)
    return decision.action, decision.reason, decision.not_before


# --- windows across time zones and DST -----------------------------------------------


@pytest.mark.parametrize(
    ("hour", "minute", "inside"),
    [(7, 59, False), (8, 0, True), (12, 0, True), (20, 59, True), (21, 0, False), (23, 30, False)],
)
def test_the_window_is_local_time(hour: int, minute: int, inside: bool) -> None:
    assert in_window(local(2026, 11, 23, hour, minute, LA), WINDOW, LA) is inside
    assert in_window(local(2026, 11, 23, hour, minute, SHANGHAI), WINDOW, SHANGHAI) is inside


def test_one_moment_is_inside_for_one_zone_and_outside_for_another() -> None:
    moment = datetime(2026, 11, 23, 15, 0, tzinfo=timezone.utc)  # 07:00 LA, 23:00 Shanghai
    assert not in_window(moment, WINDOW, LA)
    assert not in_window(moment, WINDOW, SHANGHAI)
    assert in_window(moment, WINDOW, NEW_YORK)  # 10:00


def test_before_the_window_waits_until_it_opens_the_same_day() -> None:
    early = local(2026, 11, 23, 6, 30, LA)
    assert next_window_start(early, WINDOW, LA) == local(2026, 11, 23, 8, 0, LA)
    assert planning_day(early, WINDOW, LA) == date(2026, 11, 23)


def test_after_the_window_waits_until_the_next_morning() -> None:
    late = local(2026, 11, 23, 21, 0, LA)
    assert next_window_start(late, WINDOW, LA) == local(2026, 11, 24, 8, 0, LA)
    assert planning_day(late, WINDOW, LA) == date(2026, 11, 24)


def test_dst_spring_forward_keeps_eight_to_nine_local() -> None:
    # 2026-03-08: Los Angeles jumps from 02:00 PST to 03:00 PDT.
    start, end = window_bounds(date(2026, 3, 8), WINDOW, LA)
    assert start == datetime(2026, 3, 8, 15, 0, tzinfo=timezone.utc)  # 08:00 PDT
    assert end == datetime(2026, 3, 9, 4, 0, tzinfo=timezone.utc)  # 21:00 PDT
    before = window_bounds(date(2026, 3, 7), WINDOW, LA)[0]
    assert before == datetime(2026, 3, 7, 16, 0, tzinfo=timezone.utc)  # 08:00 PST
    # From the evening before, the wait crosses the jump: 10 hours, not 11.
    evening = local(2026, 3, 7, 21, 0, LA)
    assert next_window_start(evening, WINDOW, LA) - evening == timedelta(hours=10)


def test_dst_fall_back_keeps_eight_to_nine_local() -> None:
    # 2026-11-01: Los Angeles falls back from 02:00 PDT to 01:00 PST.
    start, end = window_bounds(date(2026, 11, 1), WINDOW, LA)
    assert start == datetime(2026, 11, 1, 16, 0, tzinfo=timezone.utc)  # 08:00 PST
    assert end - start == timedelta(hours=13)
    evening = local(2026, 10, 31, 21, 0, LA)
    assert next_window_start(evening, WINDOW, LA) - evening == timedelta(hours=12)


def test_a_skipped_wall_time_resolves_forward() -> None:
    assert at_local(date(2026, 3, 8), time(2, 30), LA) == local(2026, 3, 8, 3, 30, LA)


def test_a_repeated_wall_time_is_its_first_occurrence() -> None:
    moment = at_local(date(2026, 11, 1), time(1, 30), LA)
    assert moment == datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc)  # 01:30 PDT


def test_outside_the_window_defers_to_its_start() -> None:
    facts = ContactFacts(time_zone=LA)
    assert send(US, facts, local(2026, 11, 23, 7, 0, LA)) == (
        Action.DEFER,
        Reason.OUTSIDE_WINDOW,
        local(2026, 11, 23, 8, 0, LA),
    )
    assert send(US, facts, local(2026, 11, 23, 8, 0, LA))[0] is Action.SEND


# --- caps over rolling windows ------------------------------------------------------------


def test_one_sms_per_rolling_day() -> None:
    now = local(2026, 11, 23, 12, 0, NEW_YORK)
    sent = now - timedelta(hours=23)
    decision = send(US, ContactFacts(time_zone=NEW_YORK, recent=(sent,)), now)
    assert decision == (Action.DEFER, Reason.DAILY_CAP, sent + timedelta(days=1))
    later = now - timedelta(hours=24, minutes=1)
    assert send(US, ContactFacts(time_zone=NEW_YORK, recent=(later,)), now)[0] is Action.SEND


def test_a_cap_that_frees_at_night_waits_for_the_morning() -> None:
    now = local(2026, 11, 23, 12, 0, NEW_YORK)
    sent = local(2026, 11, 22, 20, 30, NEW_YORK)  # frees 20:30 today: still inside
    assert send(US, ContactFacts(time_zone=NEW_YORK, recent=(sent,)), now)[2] == local(
        2026, 11, 23, 20, 30, NEW_YORK
    )
    sent = local(2026, 11, 22, 21, 30, NEW_YORK)  # impossible by the window, but frees at night
    assert send(US, ContactFacts(time_zone=NEW_YORK, recent=(sent,)), now)[2] == local(
        2026, 11, 24, 8, 0, NEW_YORK
    )


def test_three_sms_per_rolling_seven_days() -> None:
    now = local(2026, 11, 23, 12, 0, NEW_YORK)
    three = tuple(now - timedelta(days=d) for d in (2, 4, 6))
    action, reason, until = send(US, ContactFacts(time_zone=NEW_YORK, recent=three), now)
    assert (action, reason) == (Action.DEFER, Reason.WEEKLY_CAP)
    assert until == now + timedelta(days=1)  # the 6-day-old one leaves the window
    older = tuple(now - timedelta(days=d) for d in (2, 4, 7, 8))
    assert send(US, ContactFacts(time_zone=NEW_YORK, recent=older), now)[0] is Action.SEND


def test_us_calls_seven_in_seven_days() -> None:
    now = local(2026, 11, 23, 12, 0, NEW_YORK)
    six = tuple(now - timedelta(hours=20 * n + 1) for n in range(1, 7))
    facts = ContactFacts(time_zone=NEW_YORK, recent=six)
    assert send(US, facts, now, Channel.VOICE)[0] is Action.SEND  # no daily call cap (US)
    seven = (*six, now - timedelta(minutes=30))
    facts = ContactFacts(time_zone=NEW_YORK, recent=seven)
    assert send(US, facts, now, Channel.VOICE)[:2] == (Action.DEFER, Reason.WEEKLY_CAP)


def test_cn_calls_three_a_day() -> None:
    now = local(2026, 11, 23, 15, 0, SHANGHAI)
    two = (now - timedelta(hours=3), now - timedelta(hours=1))
    assert send(CN, ContactFacts(time_zone=SHANGHAI, recent=two), now, Channel.VOICE)[0] is (
        Action.SEND
    )
    three = (*two, now - timedelta(minutes=5))
    action, reason, until = send(
        CN, ContactFacts(time_zone=SHANGHAI, recent=three), now, Channel.VOICE
    )
    assert (action, reason) == (Action.DEFER, Reason.DAILY_CAP)
    assert until == local(2026, 11, 24, 12, 0, SHANGHAI)  # the oldest of the three + 24 h


def test_no_call_within_seven_days_after_a_conversation_us() -> None:
    now = local(2026, 11, 23, 12, 0, NEW_YORK)
    talked = now - timedelta(days=3)
    facts = ContactFacts(time_zone=NEW_YORK, last_conversation_at=talked)
    assert send(US, facts, now, Channel.VOICE) == (
        Action.DEFER,
        Reason.QUIET_AFTER_CONVERSATION,
        talked + timedelta(days=7),
    )
    assert send(US, facts, now, Channel.SMS)[0] is Action.SEND  # the rule is about calls
    assert (
        send(
            CN,
            ContactFacts(time_zone=SHANGHAI, last_conversation_at=talked),
            local(2026, 11, 23, 12, 0, SHANGHAI),
            Channel.VOICE,
        )[0]
        is Action.SEND
    )  # not a CN rule


# --- suppression ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flags", "reason"),
    [
        (AccountFlags(deceased=True), Reason.DECEASED),
        (AccountFlags(bankruptcy=True), Reason.BANKRUPTCY),
        (AccountFlags(attorney_represented=True), Reason.ATTORNEY),
        (AccountFlags(dispute_open=True), Reason.DISPUTE),
        (AccountFlags(agreement_active=True), Reason.AGREEMENT),
        (AccountFlags(dispute_open=True, bankruptcy=True), Reason.BANKRUPTCY),
    ],
)
def test_flags_suppress_for_good(flags: AccountFlags, reason: Reason) -> None:
    now = local(2026, 11, 23, 12, 0, LA)
    assert send(US, ContactFacts(time_zone=LA, flags=flags), now) == (
        Action.SUPPRESS,
        reason,
        None,
    )


def test_an_agreement_being_kept_still_gets_its_instalment_reminders() -> None:
    now = local(2026, 11, 23, 12, 0, LA)
    facts = ContactFacts(time_zone=LA, flags=AccountFlags(agreement_active=True))
    assert send(US, facts, now, kind=ReminderKind.INSTALMENT_DUE)[0] is Action.SEND
    assert send(US, facts, now, kind=ReminderKind.PROMISE_BROKEN)[0] is Action.SUPPRESS


def test_an_opt_out_suppresses_even_outside_the_window() -> None:
    night = local(2026, 11, 23, 23, 0, LA)
    assert send(US, ContactFacts(time_zone=LA, opted_out=True), night)[:2] == (
        Action.SUPPRESS,
        Reason.OPTED_OUT,
    )


def test_a_suppression_wins_over_every_wait() -> None:
    now = local(2026, 11, 23, 23, 0, LA)
    facts = ContactFacts(
        time_zone=LA, flags=AccountFlags(dispute_open=True), recent=(now - timedelta(hours=1),)
    )
    assert send(US, facts, now)[:2] == (Action.SUPPRESS, Reason.DISPUTE)
