"""Promise dates and other calendar dates (bot.domain.parsing.dates)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.parsing import parse_date

# A Wednesday. Its calendar week (Monday-first) runs 9-15 March.
TODAY = date(2026, 3, 11)
_WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEKDAY_ABBREVIATIONS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CN_WEEKDAYS = "一二三四五六日"
_ORDINAL_SUFFIX = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}


def _ordinal(day: int) -> str:
    return f"{day}{_ORDINAL_SUFFIX.get(day, 'th')}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("today", "2026-03-11"),
        ("tonight", "2026-03-11"),
        ("tomorrow", "2026-03-12"),
        ("Tomorrow!", "2026-03-12"),
        ("tmrw", "2026-03-12"),
        ("tommorow", "2026-03-12"),
        ("2moro", "2026-03-12"),
        ("day after tomorrow", "2026-03-13"),
        ("the day after tomorrow", "2026-03-13"),
        ("yesterday", "2026-03-10"),
        ("in 3 days", "2026-03-14"),
        ("in three days", "2026-03-14"),
        ("in twenty-one days", "2026-04-01"),
        ("3 days from now", "2026-03-14"),
        ("in a week", "2026-03-18"),
        ("a week from today", "2026-03-18"),
        ("in two weeks", "2026-03-25"),
        ("within 5 days", "2026-03-16"),
        ("next Friday", "2026-03-20"),
        ("next fri", "2026-03-20"),
        ("friday next week", "2026-03-20"),
        ("next week friday", "2026-03-20"),
        ("next wednesday", "2026-03-18"),
        ("next sat", "2026-03-21"),
        ("this friday", "2026-03-13"),
        ("this coming friday", "2026-03-13"),
        ("friday this week", "2026-03-13"),
        ("friday", "2026-03-13"),
        ("Friday.", "2026-03-13"),
        ("fri", "2026-03-13"),
        ("wednesday", "2026-03-11"),
        ("tuesday", "2026-03-17"),
        ("on sat", "2026-03-14"),
        ("sat", "2026-03-14"),
        ("wensday", "2026-03-11"),
        ("on the 15th", "2026-03-15"),
        ("on the 15", "2026-03-15"),
        ("by the 15th", "2026-03-15"),
        ("15th", "2026-03-15"),
        ("the 10th", "2026-04-10"),
        ("the 11th", "2026-03-11"),
        ("the 31st", "2026-03-31"),
        ("on the first", "2026-04-01"),
        ("on the fifteenth", "2026-03-15"),
        ("the thirtieth", "2026-03-30"),
        ("fifteenth", "2026-03-15"),
        ("on the twenty-first", "2026-03-21"),
        ("by monday", "2026-03-16"),
        ("next Tuesday the 17th", "2026-03-17"),
        ("周五之前", "2026-03-13"),
        ("15号之前", "2026-03-15"),
        ("the 5th of next month", "2026-04-05"),
        ("next month on the 5th", "2026-04-05"),
        ("15 of next month", "2026-04-15"),
        ("Dec 1", "2026-12-01"),
        ("dec. 1", "2026-12-01"),
        ("December 1st", "2026-12-01"),
        ("december first", "2026-12-01"),
        ("1 Dec", "2026-12-01"),
        ("1st of December", "2026-12-01"),
        ("the fifteenth of december", "2026-12-15"),
        ("March 1", "2027-03-01"),
        ("Dec 1, 2026", "2026-12-01"),
        ("1st of December 2026", "2026-12-01"),
        ("12/1", "2026-12-01"),
        ("3/11", "2026-03-11"),
        ("12/1/2026", "2026-12-01"),
        ("12/1/26", "2026-12-01"),
        ("2026-12-01", "2026-12-01"),
        ("2026/12/1", "2026-12-01"),
        ("end of the month", "2026-03-31"),
        ("by the end of this month", "2026-03-31"),
        ("end of next month", "2026-04-30"),
        ("Friday the 13th", "2026-03-13"),
        ("friday the 20th", "2026-03-20"),
        ("Friday, March 20", "2026-03-20"),
        ("Thursday, December 3, 2026", "2026-12-03"),
        # Chinese
        ("今天", "2026-03-11"),
        ("明天", "2026-03-12"),
        ("后天", "2026-03-13"),
        ("大后天", "2026-03-14"),
        ("昨天", "2026-03-10"),
        ("前天", "2026-03-09"),
        ("下周五", "2026-03-20"),
        ("下星期五", "2026-03-20"),
        ("下礼拜五", "2026-03-20"),
        ("下个星期五", "2026-03-20"),
        ("下下周五", "2026-03-27"),
        ("这周五", "2026-03-13"),
        ("本周五", "2026-03-13"),
        ("这周一", "2026-03-09"),
        ("上周五", "2026-03-06"),
        ("周五", "2026-03-13"),
        ("星期五", "2026-03-13"),
        ("礼拜五", "2026-03-13"),
        ("周三", "2026-03-11"),
        ("周日", "2026-03-15"),
        ("星期天", "2026-03-15"),
        ("下周日", "2026-03-22"),
        ("15号", "2026-03-15"),
        ("15日", "2026-03-15"),
        ("十五号", "2026-03-15"),
        ("二十一号", "2026-03-21"),
        ("10号", "2026-04-10"),
        ("12月1日", "2026-12-01"),
        ("12月1号", "2026-12-01"),
        ("十二月一号", "2026-12-01"),
        ("2026年12月1日", "2026-12-01"),
        ("二〇二六年十二月一日", "2026-12-01"),
        ("明年3月1号", "2027-03-01"),
        ("月底", "2026-03-31"),
        ("这个月底", "2026-03-31"),
        ("下个月底", "2026-04-30"),
        ("12月底", "2026-12-31"),
        ("下个月5号", "2026-04-05"),
        ("下月5号", "2026-04-05"),
        ("本月15号", "2026-03-15"),
        ("3天后", "2026-03-14"),
        ("三天后", "2026-03-14"),
        ("三天之内", "2026-03-14"),
        ("一周后", "2026-03-18"),
        ("两周后", "2026-03-25"),
        ("过三天", "2026-03-14"),
        ("2026年12月3日（星期四）", "2026-12-03"),
        # Traditional characters
        ("週五", "2026-03-13"),
        ("下週五", "2026-03-20"),
        ("15號", "2026-03-15"),
        ("後天", "2026-03-13"),
        ("下禮拜五", "2026-03-20"),
        # In sentences
        ("ok i can do two hundred on friday", "2026-03-13"),
        ("I'll pay 200 on the 15th", "2026-03-15"),
        ("I can pay $75 by Dec 1", "2026-12-01"),
        ("i already paid yesterday", "2026-03-10"),
        ("I get paid Friday so I'll pay then", "2026-03-13"),
        ("我下周五还两千", "2026-03-20"),
        ("我昨天已经还了", "2026-03-10"),
        ("15号还500", "2026-03-15"),
        ("下个月5号还一千五", "2026-04-05"),
        ("三天后还2000", "2026-03-14"),
    ],
)
def test_dates(text: str, expected: str) -> None:
    assert parse_date(text, TODAY) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "payday",
        "when I get paid",
        "soon",
        "later",
        "next week",
        "this week",
        "this weekend",
        "next month",
        "early next month",
        "end of the week",
        "in a few days",
        "in a couple of days",
        "last friday",  # the most recent Friday, or last week's?
        "every friday",
        "friday after next",
        "after the 15th",  # not a date
        "after friday",
        "15号以后",
        "周五以后",
        "12月1日以后",
        "the first time I paid",  # ordinals that are not days
        "is this the second payment",
        "the 15th or friday",
        "i get paid on the 15th so friday",
        "friday or saturday",
        "today or tomorrow",
        "2026年12月3日（星期五）",  # the 3rd is a Thursday
        "I sat down and thought about it",
        "c'mon",
        "the 15",  # could be an amount
        "15",
        "200 dollars",
        "12 months",
        "分12期",
        "3点",
        "2/30",
        "feb 30",
        "2026-02-30",
        "2026年2月30日",
        "13/1",
        "in 1000 days",
        "下周",
        "下个月",
        "周末",
        "月初",
        "过两天",
        "每月15号",
        "每周五",
        "32号",
        "December 2026",
    ],
)
def test_no_confident_date(text: str) -> None:
    assert parse_date(text, TODAY) is None


@pytest.mark.parametrize(
    ("today", "text", "expected"),
    [
        (date(2026, 4, 5), "the 30th", date(2026, 4, 30)),
        (date(2026, 4, 5), "the 31st", None),  # April has 30 days: ask again
        (date(2026, 4, 5), "31号", None),
        (date(2026, 1, 31), "the 30th", None),  # next month is February
        (date(2026, 1, 31), "end of the month", date(2026, 1, 31)),
        (date(2026, 1, 31), "end of next month", date(2026, 2, 28)),
        (date(2028, 1, 31), "下个月底", date(2028, 2, 29)),
        (date(2026, 12, 20), "the 5th", date(2027, 1, 5)),
        (date(2026, 12, 20), "下个月5号", date(2027, 1, 5)),
        (date(2026, 12, 20), "next month on the 5th", date(2027, 1, 5)),
        (date(2026, 12, 20), "Dec 1", date(2027, 12, 1)),
        (date(2026, 12, 20), "12/25", date(2026, 12, 25)),
        (date(2026, 12, 31), "tomorrow", date(2027, 1, 1)),
        (date(2027, 3, 1), "feb 29", date(2028, 2, 29)),  # the next one that exists
        (date(2027, 3, 1), "2/29", date(2028, 2, 29)),
        (date(2026, 3, 1), "2027-02-29", None),
        (date(9999, 12, 31), "end of next month", None),
        (date(2027, 3, 1), "2028-02-29", date(2028, 2, 29)),
    ],
)
def test_calendar_edges(today: date, text: str, expected: date | None) -> None:
    assert parse_date(text, today) == expected


@pytest.mark.parametrize(
    ("today", "monday_first", "text", "expected"),
    [
        # On a Sunday the two conventions disagree about which week is next.
        (date(2026, 3, 15), True, "next friday", date(2026, 3, 20)),
        (date(2026, 3, 15), False, "next friday", date(2026, 3, 27)),
        (date(2026, 3, 15), True, "下周五", date(2026, 3, 20)),
        (date(2026, 3, 15), False, "下周五", date(2026, 3, 27)),
        (date(2026, 3, 15), True, "next sunday", date(2026, 3, 22)),
        (date(2026, 3, 15), False, "next sunday", date(2026, 3, 22)),
        (date(2026, 3, 14), False, "next sunday", date(2026, 3, 15)),
        (date(2026, 3, 15), True, "friday", date(2026, 3, 20)),
        (date(2026, 3, 15), False, "friday", date(2026, 3, 20)),
    ],
)
def test_week_start(today: date, monday_first: bool, text: str, expected: date) -> None:
    assert parse_date(text, today, week_starts_monday=monday_first) == expected


_any_day = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(
    _any_day,
    _any_day,
    st.sampled_from(
        [
            "{d:%Y-%m-%d}",
            "{d.month}/{d.day}/{d.year}",
            "{d:%m/%d/%Y}",
            "{d.year}年{d.month}月{d.day}日",
            "{d.year}年{d.month}月{d.day}号",
            "{d:%B} {d.day}, {d.year}",
            "{d:%b} {d.day} {d.year}",
            "{d.day} {d:%B} {d.year}",
            "{d:%A}, {d:%B} {d.day}, {d.year}",
            "I'll pay on {d:%B} {ordinal}, {d.year}",
        ]
    ),
)
def test_full_dates_round_trip(day: date, today: date, template: str) -> None:
    text = template.format(d=day, ordinal=_ordinal(day.day))
    assert parse_date(text, today) == day


@given(
    _any_day,
    st.integers(min_value=0, max_value=364),
    st.sampled_from(
        ["{d.month}/{d.day}", "{d.month}月{d.day}日", "{d:%b} {d.day}", "{ordinal} of {d:%B}"]
    ),
)
def test_month_and_day_is_the_next_occurrence(today: date, ahead: int, template: str) -> None:
    day = today + timedelta(days=ahead)
    assert parse_date(template.format(d=day, ordinal=_ordinal(day.day)), today) == day


@given(
    _any_day,
    st.integers(min_value=1, max_value=28),
    st.sampled_from(["the {o}", "{n}号", "on the {n}"]),
)
def test_day_of_month_is_within_a_month(today: date, day: int, template: str) -> None:
    found = parse_date(template.format(o=_ordinal(day), n=day), today)
    assert found is not None
    assert found.day == day
    assert 0 <= (found - today).days < 31


@given(
    _any_day,
    st.integers(min_value=0, max_value=6),
    st.booleans(),
    st.sampled_from(
        ["next {en}", "next {abbr}", "{en} next week", "下周{cn}", "下星期{cn}", "下礼拜{cn}"]
    ),
)
def test_next_weekday_is_one_to_fourteen_days_ahead(
    today: date, weekday: int, monday_first: bool, template: str
) -> None:
    text = template.format(
        en=_WEEKDAY_NAMES[weekday], abbr=_WEEKDAY_ABBREVIATIONS[weekday], cn=_CN_WEEKDAYS[weekday]
    )
    found = parse_date(text, today, week_starts_monday=monday_first)
    assert found is not None
    assert found.weekday() == weekday
    assert 1 <= (found - today).days <= 14


@given(
    _any_day,
    st.integers(min_value=0, max_value=6),
    st.sampled_from(
        ["{en}", "on {abbr}", "this {en}", "{Title}", "周{cn}", "星期{cn}", "礼拜{cn}"]
    ),
)
def test_bare_weekday_is_the_next_one_on_or_after_today(
    today: date, weekday: int, template: str
) -> None:
    name = _WEEKDAY_NAMES[weekday]
    text = template.format(
        en=name, Title=name.title(), abbr=_WEEKDAY_ABBREVIATIONS[weekday], cn=_CN_WEEKDAYS[weekday]
    )
    found = parse_date(text, today)
    assert found is not None
    assert found.weekday() == weekday
    assert 0 <= (found - today).days <= 6


@given(_any_day, st.integers(min_value=0, max_value=366))
def test_days_ahead(today: date, days: int) -> None:
    assert parse_date(f"in {days} days", today) == today + timedelta(days=days)
    assert parse_date(f"{days}天后", today) == today + timedelta(days=days)


@given(st.text(), _any_day, st.booleans())
def test_never_raises(text: str, today: date, monday_first: bool) -> None:
    found = parse_date(text, today, week_starts_monday=monday_first)
    assert found is None or isinstance(found, date)


@given(
    st.dates(),
    st.sampled_from(
        ["yesterday", "tomorrow", "next friday", "上周五", "the 15th", "end of next month"]
    ),
    st.booleans(),
)
def test_never_raises_at_the_ends_of_the_calendar(today: date, text: str, monday: bool) -> None:
    found = parse_date(text, today, week_starts_monday=monday)
    assert found is None or isinstance(found, date)


def test_long_text_is_refused_without_error() -> None:
    assert parse_date("tomorrow " + "x" * 10_000, TODAY) is None
    assert parse_date("9999-12-31", date(9999, 12, 31)) == date(9999, 12, 31)
    assert parse_date("tomorrow", date(9999, 12, 31)) is None
    assert parse_date("yesterday", date.min) is None
    assert parse_date("next friday", date.min, week_starts_monday=False) is None
