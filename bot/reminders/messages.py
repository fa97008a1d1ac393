"""What reminders say, in English and Chinese.

Before a person has verified who they are, a message may only name the bank
and ask them to get in touch (RULES.md): that is `FIRST_CONTACT`, used for
every reminder to someone who has never verified, and for voicemail. After
verification a reminder may say what it is about and when, but never an
amount or a balance (an SMS can be read by anyone holding the phone). Every
SMS ends with the opt-out line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from bot.domain.enums import Language, ReminderKind
from bot.domain.formatting import format_date
from bot.settings import Settings

Texts = dict[Language, str]

FIRST_CONTACT: Final[Texts] = {
    Language.EN: "{bank}: we have an important message about your card account. "
    "Please reply to this text to talk with us.",
    Language.ZH: "{bank}：我们有一条关于您信用卡账户的重要信息，请回复本短信与我们联系。",
}

BY_KIND: Final[dict[ReminderKind, Texts]] = {
    ReminderKind.DUE_SOON: {
        Language.EN: "{bank}: a friendly reminder that your card payment is due on {date}. "
        "Reply to this text to check the amount or to pay.",
        Language.ZH: "{bank}：温馨提示，您的信用卡还款日为{date}。回复本短信可查询金额或还款。",
    },
    ReminderKind.DUE_TODAY: {
        Language.EN: "{bank}: your card payment is due today, {date}. "
        "Reply to this text to check the amount or to pay.",
        Language.ZH: "{bank}：今天（{date}）是您的信用卡还款日。回复本短信可查询金额或还款。",
    },
    ReminderKind.OVERDUE: {
        Language.EN: "{bank}: we have not received your card payment that was due on {date}. "
        "Reply to this text and we will help you find a way to pay.",
        Language.ZH: "{bank}：我们尚未收到您{date}到期的信用卡还款。"
        "回复本短信，我们会协助您安排还款。",
    },
    ReminderKind.PROMISE_TOMORROW: {
        Language.EN: "{bank}: a reminder of the card payment you arranged for {date}. "
        "Reply to this text if anything has changed.",
        Language.ZH: "{bank}：提醒您，您约定于{date}还款。如有变化，请回复本短信。",
    },
    ReminderKind.PROMISE_BROKEN: {
        Language.EN: "{bank}: we have not seen the card payment you arranged for {date}. "
        "If something has changed, reply to this text and we will work it out together.",
        Language.ZH: "{bank}：我们尚未收到您约定于{date}的还款。"
        "如情况有变，请回复本短信，我们一起想办法。",
    },
    ReminderKind.INSTALMENT_DUE: {
        Language.EN: "{bank}: your next repayment plan instalment is due on {date}. "
        "Reply to this text with any questions.",
        Language.ZH: "{bank}：您的还款计划下一期将于{date}到期。如有疑问，请回复本短信。",
    },
}

CALL_US: Final[Texts] = {
    Language.EN: " Or call us at {phone}.",
    Language.ZH: "也可致电{phone}。",
}

OPT_OUT_LINE: Final[Texts] = {
    Language.EN: " Reply STOP to opt out.",
    Language.ZH: "回复TD退订。",
}

VOICEMAIL: Final[Texts] = {
    Language.EN: "Hello, this is a message from {bank}. Please call us back at {phone}. Thank you.",
    Language.ZH: "您好，这里是{bank}，请您回电{phone}。谢谢。",
}
VOICEMAIL_NO_NUMBER: Final[Texts] = {
    Language.EN: "Hello, this is a message from {bank}. Please call the number on the back "
    "of your card. Thank you.",
    Language.ZH: "您好，这里是{bank}，请拨打您卡片背面的客服电话与我们联系。谢谢。",
}


@dataclass(frozen=True)
class Sender:
    """How the bank presents itself: its name per language and a number to call."""

    bank_en: str
    bank_zh: str
    phone: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> Sender:
        """The configured bank names; the number calls come from (it reaches the IVR)."""
        phone = settings.twilio_voice_from or settings.twilio_from_number
        return cls(settings.bank_name_en, settings.bank_name_zh, phone)

    def bank(self, language: Language) -> str:
        return self.bank_zh if language is Language.ZH else self.bank_en


def sms_text(
    kind: ReminderKind,
    language: Language,
    sender: Sender,
    *,
    about: date,
    verified: bool,
) -> str:
    """The reminder SMS: limited content unless the person has verified before."""
    template = BY_KIND[kind][language] if verified else FIRST_CONTACT[language]
    text = template.format(bank=sender.bank(language), date=format_date(about, language))
    if sender.phone:
        text += CALL_US[language].format(phone=sender.phone)
    return text + OPT_OUT_LINE[language]


def voicemail_text(language: Language, sender: Sender) -> str:
    """A limited-content message for an answering machine: bank name, call back."""
    if sender.phone:
        return VOICEMAIL[language].format(bank=sender.bank(language), phone=sender.phone)
    return VOICEMAIL_NO_NUMBER[language].format(bank=sender.bank(language))
