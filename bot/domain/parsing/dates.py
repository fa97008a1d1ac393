"""Calendar dates in what cardholders say: promise dates and the like.

The caller passes `today` in the account's time zone, so "tomorrow" means the
cardholder's tomorrow. The result is always a plain calendar date. Rules
(the bot reads the date back before recording anything):

- A bare weekday ("friday", "fri", `周五`, `星期五`) or "this friday" is the
  next such day on or after today. `这周五`/`本周五` is the Friday of this
  calendar week, even if that has passed.
- "next friday", "friday next week", `下周五`, `下星期五`, `下礼拜五` are the
  Friday of next calendar week (weeks start on Monday unless
  `week_starts_monday=False`); `上周五` is the Friday of last week. Always 1-13
  days from today.
- A bare day of the month ("the 15th", `15号`, `十五日`) is the next such day on
  or after today: this month if not yet past, else next month. If that month
  has no such day (the 31st in April) the answer is None rather than a
  silently moved date.
- A month and day without a year (`Dec 1`, `12/1`, `12月1日`) is the next such
  date on or after today. `12/1` is US month/day.
- "end of the month", `月底` are the last day of this month; "end of next
  month", `下个月底` of next month.
- Vague or open-ended phrases are None, not a guess: "next week", "this
  weekend", "next month", "payday", "in a few days", `下周`, `月初`, as are
  "last friday" (the most recent Friday, or last week's?) and anything
  recurring ("every friday", `每月15号`).
- A message naming two different dates ("the 15th or friday") is None. A
  bare weekday next to an explicit date only has to agree with it: "Friday
  the 20th" is the 20th when the 20th is a Friday, and None when it is not.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.domain.parsing.numbers import (
    CN_DIGITS,
    english_words_value,
    normalize,
    parse_cn_normalized,
    read_digit_string,
    too_long,
)

MONTHS: dict[str, int] = {
    "january": 1,
    "jan": 1,
    "february": 2,
    "feb": 2,
    "march": 3,
    "mar": 3,
    "april": 4,
    "apr": 4,
    "may": 5,
    "june": 6,
    "jun": 6,
    "july": 7,
    "jul": 7,
    "august": 8,
    "aug": 8,
    "september": 9,
    "sept": 9,
    "sep": 9,
    "october": 10,
    "oct": 10,
    "november": 11,
    "nov": 11,
    "december": 12,
    "dec": 12,
}
_ORDINAL_UNITS = (
    "first",
    "second",
    "third",
    "fourth",
    "fifth",
    "sixth",
    "seventh",
    "eighth",
    "ninth",
)
ORDINALS: dict[str, int] = {word: i + 1 for i, word in enumerate(_ORDINAL_UNITS)}
ORDINALS.update(
    {
        "tenth": 10,
        "eleventh": 11,
        "twelfth": 12,
        "thirteenth": 13,
        "fourteenth": 14,
        "fifteenth": 15,
        "sixteenth": 16,
        "seventeenth": 17,
        "eighteenth": 18,
        "nineteenth": 19,
        "twentieth": 20,
        "thirtieth": 30,
        "thirtyfirst": 31,
    }
)
ORDINALS.update({f"twenty{word}": 21 + i for i, word in enumerate(_ORDINAL_UNITS)})
_WEEKDAYS: dict[str, int] = {
    "monday": 0,
    "mon": 0,
    "tuesday": 1,
    "tues": 1,
    "tue": 1,
    "wednesday": 2,
    "wensday": 2,
    "wendsday": 2,
    "wednsday": 2,
    "weds": 2,
    "wed": 2,
    "thursday": 3,
    "thrusday": 3,
    "thurs": 3,
    "thur": 3,
    "thu": 3,
    "friday": 4,
    "firday": 4,
    "fri": 4,
    "saturday": 5,
    "sat": 5,
    "sunday": 6,
    "sun": 6,
}
# Abbreviations that are also ordinary words ("I sat down", "c'mon") count
# only after on/this/next/by... or as the whole message.
_AMBIGUOUS_ABBREVIATIONS = frozenset({"mon", "wed", "sat", "sun"})
_CN_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6, "七": 6}
_CN_WEEKDAYS.update({str(i + 1): i for i in range(7)})


def _alternation(words: list[str]) -> str:
    return "|".join(sorted(words, key=len, reverse=True))


_MON = rf"(?P<mon>{_alternation(list(MONTHS))})"
_WD = rf"(?P<wd>{_alternation(list(_WEEKDAYS))})"
ORDINAL_PATTERN = _alternation(
    [w for w in ORDINALS if not w.startswith(("twenty", "thirty"))]
    + [rf"twenty[\s-]*{w}" for w in _ORDINAL_UNITS]
    + [r"thirty[\s-]*first"]
)
_ORD = rf"(?P<ord>{ORDINAL_PATTERN})"
_DAY = r"(?P<day>[0-9]{1,2})"
_SUFFIX = r"(?:st|nd|rd|th)"
_YEAR = r"(?:\s*,?\s*(?P<year>[0-9]{4})\b)?"
_EN_COUNT = (
    r"(?P<n>[0-9]{1,4}|an?|(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?)"
    r"|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen"
    r"|fifteen|sixteen|seventeen|eighteen|nineteen)"
)
_CN_NUM = r"[0-9]{1,2}|[十一二两三四五六七八九]{1,3}"
_CN_COUNT = r"[0-9]{1,3}|[十一二两三四五六七八九百零]{1,4}"
_CN_YEAR = r"[0-9]{4}|[0-9]{2}|[〇零一二三四五六七八九]{2,4}"
_BY = r"(?:on|by|before|until|till|due)"
# "the first time", "the second payment": ordinals that are not days.
_NOT_A_DAY = (
    r"time|times|one|ones|payment|payments|installment|instalment|thing|step|call|person"
    r"|question|month|week|year|day|plan|option|card|digit|number|place|half|quarter"
)

_MAX_DAYS_AHEAD = 366


class _Poison:
    """A phrase that names a date too vaguely to use."""


_POISON = _Poison()


@dataclass(frozen=True)
class _Weekday:
    """A bare weekday: the next one, unless an explicit date names another
    of the same weekday ("Friday the 20th", `12月3日（星期四）`)."""

    day: date


_SKIP = None  # the match was not a date after all; leave the text alone


@dataclass(frozen=True)
class _Ctx:
    today: date
    monday: bool
    text: str


_Outcome = date | _Weekday | _Poison | None
_Handler = Callable[[re.Match[str], _Ctx], _Outcome]


def parse_date(text: str, today: date, *, week_starts_monday: bool = True) -> date | None:
    """The one calendar date a message names, relative to `today`.

    Args:
        text: What the cardholder wrote or said, in English or Chinese.
        today: Today in the account's time zone.
        week_starts_monday: Where "next week" begins for "next friday" and
            `下周五`; False for Sunday-first calendars.

    Returns:
        The date, or None when no date, several dates or only a vague one is
        named (see the module docstring for the rules).
    """
    if too_long(text):
        return None
    s = normalize(text)
    ctx = _Ctx(today, week_starts_monday, s)
    dates: set[date] = set()
    weekdays: set[date] = set()
    for pattern, handler in _RULES:
        pos = 0
        while (m := pattern.search(s, pos)) is not None:
            try:
                outcome = handler(m, ctx)
            except OverflowError:
                return None  # "tomorrow" on 9999-12-31: no such date exists
            if outcome is _SKIP:
                pos = m.start() + 1
                continue
            if isinstance(outcome, _Poison):
                return None
            if isinstance(outcome, _Weekday):
                weekdays.add(outcome.day)
            else:
                dates.add(outcome)
            s = s[: m.start()] + "\x00" * (m.end() - m.start()) + s[m.end() :]
            pos = m.end()
    return _agree(dates, weekdays)


def _agree(dates: set[date], weekdays: set[date]) -> date | None:
    """The one date named; a bare weekday may confirm it ("Friday the 20th")."""
    if not dates:
        return weekdays.pop() if len(weekdays) == 1 else None
    if len(dates) != 1:
        return None
    day = dates.pop()
    return day if all(w.weekday() == day.weekday() for w in weekdays) else None


# --- calendar helpers ---------------------------------------------------------


def make_date(year: int, month: int, day: int) -> date | None:
    """The date, or None if it does not exist (Feb 30)."""
    if not (1 <= year <= 9999 and 1 <= month <= 12 and 1 <= day <= 31):
        return None
    if day > calendar.monthrange(year, month)[1]:
        return None
    return date(year, month, day)


def _add_months(day: date, months: int) -> tuple[int, int]:
    index = day.year * 12 + day.month - 1 + months
    return index // 12, index % 12 + 1


def _month_end(year: int, month: int) -> _Outcome:
    if not 1 <= year <= 9999:
        return _POISON
    return date(year, month, calendar.monthrange(year, month)[1])


def _on_or_after(today: date, month: int, day: int) -> _Outcome:
    """The next `month`/`day` on or after today (this year or next)."""
    this_year = make_date(today.year, month, day)
    if this_year is not None and this_year >= today:
        return this_year
    return make_date(today.year + 1, month, day) or _POISON


def _day_of_month(today: date, day: int, months_ahead: int | None = None) -> _Outcome:
    """The `day` of this month if not yet past, else of next month.

    With `months_ahead`, of that month exactly (0 = this month, even if past).
    """
    if not 1 <= day <= 31:
        return _POISON
    if months_ahead is None:
        months_ahead = 0 if day >= today.day else 1
    year, month = _add_months(today, months_ahead)
    return make_date(year, month, day) or _POISON


def _week_start(day: date, monday: bool) -> date:
    offset = day.weekday() if monday else (day.weekday() + 1) % 7
    return day - timedelta(days=offset)


def _in_week(ctx: _Ctx, weekday: int, weeks_ahead: int) -> date:
    """`weekday` of the calendar week `weeks_ahead` from this one."""
    offset = weekday if ctx.monday else (weekday + 1) % 7
    return _week_start(ctx.today, ctx.monday) + timedelta(days=7 * weeks_ahead + offset)


def _next_weekday(today: date, weekday: int) -> date:
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _ahead(today: date, days: int) -> _Outcome:
    if not 0 <= days <= _MAX_DAYS_AHEAD:
        return _POISON
    return today + timedelta(days=days)


def _cn_int(text: str) -> int | None:
    value = parse_cn_normalized(text)
    if value is None or value != value.to_integral_value():
        return None
    return int(value)


def _en_count(word: str) -> int | None:
    if word.isdigit():
        return int(word)
    if word in ("a", "an"):
        return 1
    value = english_words_value(word)
    return None if value is None else int(value)


def _day_value(m: re.Match[str]) -> int:
    """The day from a `day` (digits) or `ord` (ordinal word) group."""
    groups = m.groupdict()
    if groups.get("day"):
        return int(groups["day"])
    return ORDINALS[re.sub(r"[\s-]", "", groups["ord"])]


# --- English handlers ---------------------------------------------------------


def _iso(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return make_date(int(m["y"]), int(m["m"]), int(m["d"])) or _POISON


def _us_numeric(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    month, day = int(m["m"]), int(m["d"])
    if m["y"] is None:
        return _on_or_after(ctx.today, month, day)
    year = int(m["y"])
    year = year + 2000 if len(m["y"]) == 2 else year
    return make_date(year, month, day) or _POISON


def _month_name(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    month, day = MONTHS[m["mon"]], _day_value(m)
    if m["year"]:
        return make_date(int(m["year"]), month, day) or _POISON
    return _on_or_after(ctx.today, month, day)


def _relative(offset: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Outcome:
        return ctx.today + timedelta(days=offset)

    return handler


def _poison(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return _POISON


def _count_ahead(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    count = _en_count(re.sub(r"\s+", " ", m["n"]))
    if count is None:
        return _POISON
    unit = 7 if m["u"].startswith("w") else 1
    return _ahead(ctx.today, count * unit)


def _day_in_month(which_group: str) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Outcome:
        ahead = {"next": 1, "this": 0}.get(m[which_group] or "")
        return _day_of_month(ctx.today, _day_value(m), ahead)

    return handler


def _bare_day(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return _day_of_month(ctx.today, _day_value(m))


def _month_end_handler(months_ahead: int) -> _Handler:
    def handler(m: re.Match[str], ctx: _Ctx) -> _Outcome:
        return _month_end(*_add_months(ctx.today, months_ahead))

    return handler


def _weekday_next_week(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return _in_week(ctx, _WEEKDAYS[m["wd"]], 1)


def _weekday_this_week(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return _in_week(ctx, _WEEKDAYS[m["wd"]], 0)


def _weekday(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    modifier = re.sub(r"\s+", " ", m["mod"] or "")
    word = m["wd"]
    if modifier in ("last", "previous", "past", "every", "each"):
        return _POISON
    if modifier == "next":
        return _in_week(ctx, _WEEKDAYS[word], 1)
    if word in _AMBIGUOUS_ABBREVIATIONS and not modifier:
        before = ctx.text[: m.start()]
        whole = re.sub(r"[\W_]+", "", ctx.text) == word
        if not whole and not re.search(r"\b(?:on|by|until|till|before)\s*$", before):
            return _SKIP
    return _Weekday(_next_weekday(ctx.today, _WEEKDAYS[word]))


# --- Chinese handlers ---------------------------------------------------------


def _cn_full_date(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    month, day = _cn_int(m["m"]), _cn_int(m["d"])
    if month is None or day is None:
        return _POISON
    if m["rel"]:
        year: int | None = ctx.today.year + {"今年": 0, "明年": 1, "去年": -1}[m["rel"]]
    elif m["y"]:
        year = _cn_year(m["y"])
    else:
        return _on_or_after(ctx.today, month, day)
    if year is None:
        return _POISON
    return make_date(year, month, day) or _POISON


def _cn_year(text: str) -> int | None:
    digits = read_digit_string(text)
    if digits is None or len(digits) not in (2, 4):
        return None
    return int(digits) + (2000 if len(digits) == 2 else 0)


def _cn_month_end_of(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    month = _cn_int(m["m"])
    if month is None or not 1 <= month <= 12:
        return _POISON
    year = ctx.today.year if month >= ctx.today.month else ctx.today.year + 1
    return _month_end(year, month)


_CN_WHICH_MONTH = {"下下个": 2, "下下": 2, "下个": 1, "下": 1, "本": 0, "这个": 0, "这": 0, "": 0}


def _cn_month_day(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    day = _cn_int(m["d"])
    if day is None:
        return _POISON
    return _day_of_month(ctx.today, day, _CN_WHICH_MONTH[m["which"]])


def _cn_month_end(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    return _month_end(*_add_months(ctx.today, _CN_WHICH_MONTH[m["which"] or ""]))


def _cn_weekday(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    weekday = _CN_WEEKDAYS[m["wd"]]
    modifier = m["mod"] or ""
    if modifier == "每":
        return _POISON
    weeks = {"下下": 2, "下": 1, "这": 0, "本": 0, "上": -1, "上上": -2}.get(modifier)
    if weeks is None:
        return _Weekday(_next_weekday(ctx.today, weekday))
    return _in_week(ctx, weekday, weeks)


def _cn_count_ahead(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    count = _cn_int(m["n"])
    if count is None:
        return _POISON
    unit = 1 if m["u"] in ("天", "日") else 7
    return _ahead(ctx.today, count * unit)


def _cn_bare_day(m: re.Match[str], ctx: _Ctx) -> _Outcome:
    day = _cn_int(m["d"])
    if day is None:
        return _POISON
    return _day_of_month(ctx.today, day)


_CN_CLASS_BEFORE = rf"(?<![0-9{''.join(CN_DIGITS)}十百千万])"

# Order matters: longer phrases are matched (and blanked out) before the
# shorter ones they contain ("day after tomorrow" before "tomorrow").
_RULES: list[tuple[re.Pattern[str], _Handler]] = [
    (
        re.compile(
            r"(?<![0-9])(?P<y>[0-9]{4})[-/.](?P<m>[0-9]{1,2})[-/.](?P<d>[0-9]{1,2})(?![0-9])"
        ),
        _iso,
    ),
    (
        re.compile(
            r"(?<![0-9/.,])(?P<m>[0-9]{1,2})/(?P<d>[0-9]{1,2})(?:/(?P<y>[0-9]{4}|[0-9]{2}))?(?![0-9/])"
        ),
        _us_numeric,
    ),
    # Chinese. "After the 15th" (`15号以后`) is not a date.
    (
        re.compile(
            rf"(?:{_CN_NUM})\s*(?:号|日)\s*(?:以后|之后|后(?!天))"
            r"|(?:周|星期|礼拜)[一二三四五六日天1-7]\s*(?:以后|之后)"
        ),
        _poison,
    ),
    (
        re.compile(
            rf"(?:(?P<rel>今年|明年|去年)|(?P<y>{_CN_YEAR})\s*年)?\s*(?P<m>{_CN_NUM})\s*月\s*"
            rf"(?P<d>{_CN_NUM})\s*(?:日|号)"
        ),
        _cn_full_date,
    ),
    (re.compile(rf"(?P<m>{_CN_NUM})\s*月\s*(?:底|末)"), _cn_month_end_of),
    (re.compile(rf"每个?月的?(?:{_CN_NUM})\s*(?:号|日)|每(?:个|一个)?(?:周|星期|礼拜)"), _poison),
    (
        re.compile(
            rf"(?P<which>下下个|下下|下个|下|本|这个|这)月的?\s*(?P<d>{_CN_NUM})\s*(?:号|日)"
        ),
        _cn_month_day,
    ),
    (re.compile(r"(?P<which>下下个|下下|下个|下|本|这个|这)?月(?:底|末)"), _cn_month_end),
    (
        re.compile(
            r"(?P<mod>下下|下|这|本|上上|上|每)?(?:个|一个)?(?:周|星期|礼拜)(?P<wd>[一二三四五六日天1-7])"
        ),
        _cn_weekday,
    ),
    (
        re.compile(
            r"(?:下下|下|这|本|上)(?:个|一个)?(?:周|星期|礼拜)|周末|(?:下下|下)个?月|(?:月|年)(?:初|中|底)"
            r"|过几天|过两天"
        ),
        _poison,
    ),
    (re.compile(r"大后天"), _relative(3)),
    (re.compile(r"大前天"), _relative(-3)),
    (re.compile(r"后天"), _relative(2)),
    (re.compile(r"前天"), _relative(-2)),
    (re.compile(r"明天|明日|明早|明晚|明儿"), _relative(1)),
    (re.compile(r"今天|今日|今晚|今儿|今早"), _relative(0)),
    (re.compile(r"昨天|昨日|昨晚"), _relative(-1)),
    (
        re.compile(
            rf"(?:过\s*)?(?P<n>{_CN_COUNT})\s*个?\s*(?P<u>天|日|周|星期|礼拜)\s*"
            r"(?:以后|之后|后|以内|之内|内)"
        ),
        _cn_count_ahead,
    ),
    (re.compile(rf"过\s*(?P<n>{_CN_COUNT})\s*个?\s*(?P<u>天|周|星期|礼拜)"), _cn_count_ahead),
    (re.compile(rf"{_CN_CLASS_BEFORE}(?P<d>{_CN_NUM})\s*(?:号(?!码)|日)"), _cn_bare_day),
    # English. "After the 15th" is not a date.
    (
        re.compile(
            rf"\b(?:after|past)\s+(?:the\s+)?(?:[0-9]{{1,2}}{_SUFFIX}?|{_ORD}|{_WD}|{_MON})\b"
        ),
        _poison,
    ),
    (re.compile(r"\bin\s+(?:a\s+)?(?:couple|few)(?:\s+of)?\s+(?:days?|weeks?)\b"), _poison),
    (
        re.compile(
            rf"\b(?:in|within)\s+(?:the\s+next\s+)?{_EN_COUNT}\s+(?P<u>days?|weeks?|wks?)\b"
        ),
        _count_ahead,
    ),
    (
        re.compile(rf"\b{_EN_COUNT}\s+(?P<u>days?|weeks?|wks?)\s+(?:from\s+(?:now|today)|later)\b"),
        _count_ahead,
    ),
    (re.compile(r"\b(?:the\s+)?day\s+after\s+tomorrow\b|\bovermorrow\b"), _relative(2)),
    (re.compile(r"\b(?:the\s+)?day\s+before\s+yesterday\b"), _relative(-2)),
    (
        re.compile(
            r"\b(?:tomorrow|tomorow|tommorow|tommorrow|tomorrw|tmrw|tmrow|tmr|2morrow|2moro|2mrw)\b"
        ),
        _relative(1),
    ),
    (
        re.compile(r"\b(?:today|tonight|tonite|2day|this\s+(?:morning|afternoon|evening))\b"),
        _relative(0),
    ),
    (re.compile(r"\b(?:yesterday|yday)\b"), _relative(-1)),
    (
        re.compile(r"\b(?:the\s+)?(?:end|last\s+day)\s+of\s+next\s+month\b"),
        _month_end_handler(1),
    ),
    (
        re.compile(
            r"\b(?:the\s+)?(?:end|last\s+day)\s+of\s+(?:the\s+|this\s+)?month\b|\bmonth[\s-]?end\b|\beom\b"
        ),
        _month_end_handler(0),
    ),
    (
        re.compile(
            rf"\b(?:the\s+)?(?:{_DAY}{_SUFFIX}?|{_ORD})\s+(?:of\s+)?(?P<which>next|this|the)\s+month\b"
        ),
        _day_in_month("which"),
    ),
    (
        re.compile(
            rf"\b(?P<which>next|this)\s+month\s+(?:on\s+)?(?:the\s+)?(?:{_DAY}{_SUFFIX}?|{_ORD})\b"
        ),
        _day_in_month("which"),
    ),
    (re.compile(rf"\b{_MON}\b\.?\s*(?:the\s+)?{_DAY}{_SUFFIX}?\b{_YEAR}"), _month_name),
    (re.compile(rf"\b{_MON}\b\.?\s*(?:the\s+)?{_ORD}\b{_YEAR}"), _month_name),
    (re.compile(rf"\b(?:the\s+)?{_DAY}{_SUFFIX}?\s*(?:of\s+)?{_MON}\b\.?{_YEAR}"), _month_name),
    (re.compile(rf"\b(?:the\s+)?{_ORD}\s+(?:of\s+)?{_MON}\b\.?{_YEAR}"), _month_name),
    (re.compile(rf"\b{_WD}\s+(?:of\s+)?next\s+week\b"), _weekday_next_week),
    (re.compile(rf"\bnext\s+week(?:'s)?\s+(?:on\s+)?{_WD}\b"), _weekday_next_week),
    (re.compile(rf"\b{_WD}\s+(?:of\s+)?this\s+week\b"), _weekday_this_week),
    (re.compile(rf"\b{_WD}\s+after\s+next\b"), _poison),
    (
        re.compile(
            rf"\b(?:(?P<mod>next|this|coming|the\s+coming|last|previous|past|every|each)\s+)?{_WD}\b"
        ),
        _weekday,
    ),
    (
        re.compile(
            r"\b(?:next|this|later\s+this|end\s+of\s+(?:the\s+|this\s+|next\s+)?)\s*(?:week|weekend)\b"
            r"|\bweekend\b|\b(?:next|this)\s+month\b|\bnext\s+year\b|\bend\s+of\s+(?:the\s+)?year\b"
            r"|\b(?:beginning|start|middle|mid)\s+of\b"
        ),
        _poison,
    ),
    (re.compile(rf"\b{_BY}\s+the\s+{_DAY}{_SUFFIX}?\b(?!\s*(?:%|[.,:][0-9]))"), _bare_day),
    (re.compile(rf"\b{_BY}\s+the\s+{_ORD}\b"), _bare_day),
    (re.compile(rf"\bthe\s+{_ORD}\b(?!\s*(?:{_NOT_A_DAY})\b)"), _bare_day),
    (re.compile(rf"^\W*{_ORD}\W*$"), _bare_day),
    (re.compile(rf"\b(?:the\s+)?{_ORD}\s+of\s+the\s+month\b"), _bare_day),
    (re.compile(rf"\b(?:the\s+)?{_DAY}{_SUFFIX}\b"), _bare_day),
]
