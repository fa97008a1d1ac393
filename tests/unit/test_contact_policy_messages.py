"""Reminder texts: both languages, no debt detail before verification, an opt-out line."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.channels.sms_format import segment_count
from bot.domain.enums import Language, ReminderKind
from bot.reminders.messages import (
    BY_KIND,
    FIRST_CONTACT,
    OPT_OUT_LINE,
    VOICEMAIL,
    Sender,
    sms_text,
    voicemail_text,
)

SENDER = Sender("Harbor Bank", "港湾银行", "+15005550006")
ABOUT = date(2026, 11, 27)


def test_every_text_exists_in_both_languages() -> None:
    for texts in (FIRST_CONTACT, OPT_OUT_LINE, VOICEMAIL, *BY_KIND.values()):
        assert set(texts) == set(Language)
    assert set(BY_KIND) == set(ReminderKind)


@pytest.mark.parametrize("kind", list(ReminderKind))
@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("verified", [False, True])
def test_every_sms_names_the_bank_and_ends_with_the_opt_out_line(
    kind: ReminderKind, language: Language, verified: bool
) -> None:
    text = sms_text(kind, language, SENDER, about=ABOUT, verified=verified)
    assert SENDER.bank(language) in text
    assert text.endswith(OPT_OUT_LINE[language])
    assert SENDER.phone in text
    assert not re.search(r"[$¥]|元|USD|CNY|\d+\.\d\d", text)  # never an amount
    assert segment_count(text) <= 3


@pytest.mark.parametrize("kind", list(ReminderKind))
def test_before_verification_only_the_bank_and_an_invitation(kind: ReminderKind) -> None:
    for language in Language:
        text = sms_text(kind, language, SENDER, about=ABOUT, verified=False)
        assert "2026" not in text  # not even what it is about
    en = sms_text(kind, Language.EN, SENDER, about=ABOUT, verified=False)
    assert "reply" in en.lower() and "call us" in en.lower()


def test_after_verification_the_reminder_says_what_and_when() -> None:
    en = sms_text(ReminderKind.DUE_SOON, Language.EN, SENDER, about=ABOUT, verified=True)
    assert "Friday, November 27, 2026" in en
    zh = sms_text(ReminderKind.OVERDUE, Language.ZH, SENDER, about=ABOUT, verified=True)
    assert "2026年11月27日" in zh and zh.endswith("回复TD退订。")


def test_without_a_number_there_is_no_call_us() -> None:
    sender = Sender("Harbor Bank", "港湾银行")
    assert "call us" not in sms_text(
        ReminderKind.DUE_TODAY, Language.EN, sender, about=ABOUT, verified=True
    )


def test_voicemail_is_limited_content() -> None:
    for language in Language:
        text = voicemail_text(language, SENDER)
        assert SENDER.bank(language) in text and SENDER.phone in text
        assert "2026" not in text
    assert "back of your card" in voicemail_text(Language.EN, Sender("B", "行"))
