"""How amounts and dates are written to a cardholder, per language.

Responses never format numbers themselves: a stressed reader on a small
screen should see `$2,480.00` / `18,600.00元` the same way every time.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from bot.domain.enums import Language

_SYMBOLS_EN = {"USD": "$", "CNY": "¥"}
_UNITS_ZH = {"USD": "美元", "CNY": "元"}
_WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def format_money(amount: Decimal, currency: str, language: Language) -> str:
    """`$2,480.00` (en) or `2,480.00美元` (zh); negative amounts keep their sign."""
    sign = "-" if amount < 0 else ""
    digits = f"{abs(amount).quantize(Decimal('0.01')):,}"
    if language is Language.ZH:
        return f"{sign}{digits}{_UNITS_ZH.get(currency, ' ' + currency)}"
    symbol = _SYMBOLS_EN.get(currency)
    return f"{sign}{symbol}{digits}" if symbol else f"{sign}{digits} {currency}"


def format_date(day: date, language: Language) -> str:
    """`Thursday, December 3, 2026` (en) or `2026年12月3日（星期四）` (zh)."""
    if language is Language.ZH:
        return f"{day.year}年{day.month}月{day.day}日（{_WEEKDAYS_ZH[day.weekday()]}）"
    return f"{day:%A}, {day:%B} {day.day}, {day.year}"
