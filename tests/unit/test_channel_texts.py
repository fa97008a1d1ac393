"""Every sentence the SMS and voice channels say exists in both languages."""

import re
import string

import pytest

from bot.channels import texts
from bot.domain.enums import Language

ALL = {
    name: value for name, value in vars(texts).items() if name.isupper() and isinstance(value, dict)
}


def test_there_are_texts() -> None:
    assert len(ALL) >= 10


@pytest.mark.parametrize("name", sorted(ALL))
def test_both_languages_with_the_same_placeholders(name: str) -> None:
    value = ALL[name]
    assert set(value) == {Language.EN, Language.ZH}
    fields = {
        language: {f for _, f, _, _ in string.Formatter().parse(text) if f}
        for language, text in value.items()
    }
    assert fields[Language.EN] == fields[Language.ZH], name
    assert re.search("[\u4e00-\u9fff]", value[Language.ZH]), f"{name} zh is not Chinese"
    assert not re.search("[\u4e00-\u9fff]", value[Language.EN]), f"{name} en has Chinese"


def test_say_fills_in_the_bank() -> None:
    assert texts.say(texts.SMS_STOPPED, Language.ZH, bank="港湾银行").startswith("港湾银行：")


def test_every_escalation_category_has_a_reply() -> None:
    from bot.domain.escalation import EscalationCategory

    for category in EscalationCategory:
        assert set(texts.escalated(category.value)) == {Language.EN, Language.ZH}
