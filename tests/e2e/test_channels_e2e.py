"""SMS and voice through the running stack, signed as Twilio signs them.

The trained model answers; Twilio itself is never reached. Transcripts are
written to var/test-results/transcripts/.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from urllib.parse import urljoin

import pytest
from sqlalchemy import insert, select

from bot.channels.inbound import sms_conversation_id
from bot.db.engine import make_engine
from bot.db.models import Account, Cardholder, PromiseToPay, ReminderJob
from bot.domain.enums import Channel, Language, ReminderKind, ReminderStatus
from bot.reminders.messages import Sender, sms_text
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER

pytestmark = pytest.mark.e2e

TRANSCRIPTS = PROJECT_ROOT / "var" / "test-results" / "transcripts"
_sids = itertools.count(1)
RETRY_SID = "SM" + "e" * 32


class Texter:
    """A cardholder texting the bank's number."""

    def __init__(self, stack: Stack, number: str) -> None:
        self.stack = stack
        self.number = number
        self.lines: list[str] = []

    def text(self, body: str, sid: str | None = None) -> list[str]:
        params = {
            "From": self.number, "To": FROM_NUMBER, "Body": body,
            "MessageSid": sid or f"SM{next(_sids):032d}", "AccountSid": ACCOUNT_SID,
        }  # fmt: skip
        status, xml = self.stack.twilio("/twilio/sms", params)
        assert status == 200, xml
        replies = [m.text or "" for m in ET.fromstring(xml).iter("Message")]
        self.lines.append(f"**sms in:** {body}")
        self.lines += [f"**sms out:** {reply}" for reply in replies]
        return replies

    def save(self, name: str) -> None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / f"{name}.md").write_text("\n\n".join(self.lines) + "\n", encoding="utf-8")


class Caller:
    """A cardholder on the phone, following each `<Gather action>` as Twilio does."""

    def __init__(self, stack: Stack, number: str) -> None:
        self.stack = stack
        self.number = number
        self.sid = f"CA{next(_sids):032d}"
        self.action = "/twilio/voice"
        self.lines: list[str] = []
        self.twiml: list[str] = []  # every request and TwiML answer, as Twilio sees them

    def _post(self, path: str, extra: dict[str, str]) -> ET.Element:
        params = {
            "CallSid": self.sid, "From": self.number, "To": FROM_NUMBER,
            "AccountSid": ACCOUNT_SID, "CallStatus": "in-progress", **extra,
        }  # fmt: skip
        status, xml = self.stack.twilio(path, params)
        assert status == 200, xml
        self.twiml += [f"POST {path} {params}", xml]
        root = ET.fromstring(xml)
        gather = root.find("Gather")
        if gather is not None:
            self.action = urljoin(path, gather.attrib["action"])
        said = " ".join((say.text or "") for say in root.iter("Say"))
        self.lines.append(f"**bot (voice):** {said}")
        return root

    def dial_in(self) -> ET.Element:
        return self._post("/twilio/voice", {})

    def say(self, speech: str) -> ET.Element:
        self.lines.append(f"**caller says:** {speech}")
        return self._post(self.action, {"SpeechResult": speech, "Confidence": "0.91"})

    def key(self, digits: str) -> ET.Element:
        self.lines.append(f"**caller keys:** {digits}")
        return self._post(self.action, {"Digits": digits})

    def save(self, name: str) -> None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / f"{name}.md").write_text("\n\n".join(self.lines) + "\n", encoding="utf-8")
        (TRANSCRIPTS / f"{name}_twiml.txt").write_text(
            "\n\n".join(self.twiml) + "\n", encoding="utf-8"
        )


def spoken(root: ET.Element) -> str:
    return " ".join((say.text or "") for say in root.iter("Say"))


def test_p8_texts_in_chinese_from_a_us_number(stack: Stack) -> None:
    liu = Texter(stack, "+19175550108")
    first = " ".join(liu.text("我还欠多少钱"))
    assert "出生日期" in first  # the caller's number is known: no phone number asked
    assert "2,050" not in first
    assert "后四位" in " ".join(liu.text("1995年3月8日"))
    answer = " ".join(liu.text("2268"))
    assert "刘洋" in answer and "2,050.00美元" in answer
    # A Twilio retry of the same message is answered again, not run twice.
    retry = liu.text("2268", sid=RETRY_SID)
    assert liu.text("2268", sid=RETRY_SID) == retry
    liu.save("p8_sms_zh_balance")


def test_p7_who_opted_out_gets_nothing_by_sms(stack: Stack) -> None:
    david = Texter(stack, "+16465550107")
    assert david.text("what's my balance?") == []


def test_stop_opts_out_with_one_confirmation_then_silence(stack: Stack) -> None:
    emily = Texter(stack, "+14155550101")
    confirmation = emily.text("STOP")
    assert len(confirmation) == 1
    assert emily.text("hello?") == []
    assert len(emily.text("START")) == 1  # back in
    assert emily.text("hi")  # answered again


def test_p1_calls_verifies_by_keypad_and_is_transferred_to_a_person(stack: Stack) -> None:
    emily = Caller(stack, "+14155550101")
    greeting = emily.dial_in()
    gather = greeting.find("Gather")
    assert gather is not None and gather.attrib["language"] == "en-US"
    asked = spoken(emily.say("what's my balance"))
    assert "date of birth" in asked and "2,480" not in asked
    assert "last 4" in spoken(emily.key("04121988"))
    balance = spoken(emily.key("4821"))
    assert "Emily" in balance and "2,480.00" in balance
    assert "http" not in balance
    transfer = emily.say("I want to talk to a real person")
    assert transfer.find("Enqueue") is not None or transfer.find("Dial") is not None
    emily.save("p1_voice_balance_then_person")


def test_a_chinese_call_is_gathered_in_mandarin(stack: Stack) -> None:
    wei = Caller(stack, "+8613800138004")
    greeting = wei.dial_in()
    gather = greeting.find("Gather")
    assert gather is not None and gather.attrib["language"] == "zh-CN"
    asked = spoken(wei.say("我的还款日是哪天"))
    assert "出生日期" in asked
    assert "后四位" in spoken(wei.key("19850214"))
    due = spoken(wei.key("6230"))
    assert "张伟" in due and "还款日" in due
    wei.save("p4_voice_zh_due_date")


def _reminder_sent(stack: Stack, phone: str) -> str:
    """Record an overdue SMS as the scheduler sends it (Twilio is not reached here)."""
    now = datetime.now(timezone.utc)
    engine = make_engine(stack.database_url)
    try:
        with engine.begin() as conn:
            account_id = conn.execute(
                select(Account.id).join(Cardholder).where(Cardholder.phone_e164 == phone)
            ).scalar_one()
            conn.execute(
                insert(ReminderJob).values(
                    account_id=account_id, kind=ReminderKind.OVERDUE, channel=Channel.SMS,
                    due_on=now.date(), reference="e2e", not_before=now - timedelta(hours=1),
                    not_after=now + timedelta(hours=8), status=ReminderStatus.SENT,
                    attempts=1, sent_at=now, conversation_id=sms_conversation_id(phone),
                )
            )  # fmt: skip
    finally:
        engine.dispose()
    sender = Sender("Harbor Bank", "港湾银行", FROM_NUMBER)
    return sms_text(ReminderKind.OVERDUE, Language.EN, sender, about=now.date(), verified=False)


def test_p2_answers_an_overdue_reminder_with_a_promise_by_sms(stack: Stack) -> None:
    michael = Texter(stack, "+13125550102")
    reminder = _reminder_sent(stack, michael.number)
    assert "Harbor Bank" in reminder and "120" not in reminder  # no debt detail yet
    michael.lines.append(f"**sms out (reminder):** {reminder}")
    asked = " ".join(michael.text("I can pay $200 on Friday"))
    assert "date of birth" in asked and "120" not in asked  # identity first
    assert "last 4" in " ".join(michael.text("11/03/1979"))
    summary = " ".join(michael.text("1937"))
    assert "Michael" in summary and "$200.00" in summary
    done = " ".join(michael.text("yes"))
    assert "$200.00" in done
    engine = make_engine(stack.database_url)
    try:
        with engine.connect() as conn:
            promises = conn.execute(
                select(PromiseToPay.amount, PromiseToPay.promised_date, PromiseToPay.channel)
                .where(PromiseToPay.conversation_id == sms_conversation_id(michael.number))
            ).all()  # fmt: skip
            used = conn.execute(
                select(ReminderJob.context_used_at).where(ReminderJob.reference == "e2e")
            ).scalar_one()
    finally:
        engine.dispose()
    assert [(str(amount), channel) for amount, _, channel in promises] == [("200.00", Channel.SMS)]
    assert used is not None  # the reply went to the assistant with the reminder's context
    michael.lines.append(f"**promise rows:** {promises}")
    michael.save("p2_sms_reminder_to_promise")
