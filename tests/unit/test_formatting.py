from datetime import date
from decimal import Decimal

import pytest

from bot.domain.enums import Language
from bot.domain.formatting import format_date, format_money


@pytest.mark.parametrize(
    ("amount", "currency", "language", "expected"),
    [
        (Decimal("2480"), "USD", Language.EN, "$2,480.00"),
        (Decimal("18600.5"), "CNY", Language.ZH, "18,600.50元"),
        (Decimal("2050"), "USD", Language.ZH, "2,050.00美元"),
        (Decimal("75.005"), "USD", Language.EN, "$75.00"),
        (Decimal("-29"), "USD", Language.EN, "-$29.00"),
        (Decimal("1000"), "CNY", Language.EN, "¥1,000.00"),
        (Decimal("5"), "EUR", Language.EN, "5.00 EUR"),
    ],
)
def test_money(amount: Decimal, currency: str, language: Language, expected: str) -> None:
    assert format_money(amount, currency, language) == expected


def test_dates_in_both_languages() -> None:
    day = date(2026, 12, 3)
    assert format_date(day, Language.EN) == "Thursday, December 3, 2026"
    assert format_date(day, Language.ZH) == "2026年12月3日（星期四）"
