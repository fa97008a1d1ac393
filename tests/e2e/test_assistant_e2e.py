"""Personas talk to the running stack through `POST /api/chat`.

Transcripts are written to var/test-results/transcripts/ for review.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.db.engine import make_engine
from bot.db.models import Agreement, Offer
from bot.settings import PROJECT_ROOT
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e

TRANSCRIPTS = PROJECT_ROOT / "var" / "test-results" / "transcripts"


class Conversation:
    """A scripted user; keeps the transcript."""

    def __init__(self, stack: Stack, conversation_id: str, language: str) -> None:
        self.stack = stack
        self.id = conversation_id
        self.language = language
        self.lines: list[str] = []

    def say(self, text: str) -> str:
        reply: dict[str, Any] = self.stack.chat(self.id, text, language=self.language)
        answer = "\n".join(m["text"] for m in reply["messages"] if m.get("text"))
        self.lines.append(f"**user:** {text}")
        self.lines += [f"**bot:** {line}" for line in answer.splitlines()]
        return answer

    def save(self, name: str) -> None:
        TRANSCRIPTS.mkdir(parents=True, exist_ok=True)
        (TRANSCRIPTS / f"{name}.md").write_text("\n\n".join(self.lines) + "\n", encoding="utf-8")

    def agreements(self) -> list[dict[str, Any]]:
        """The agreements this conversation created, as stored (appended to the transcript)."""
        engine = make_engine(self.stack.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Agreement.id, Agreement.terms, Agreement.consent_text,
                           Agreement.channel, Agreement.policy_version, Agreement.status)
                    .join(Offer, Offer.id == Agreement.offer_id)
                    .where(Offer.conversation_id == self.id)
                ).mappings().all()  # fmt: skip
        finally:
            engine.dispose()
        found = [dict(row) for row in rows]
        self.lines.append("**agreement rows:**\n\n```\n" + "\n".join(map(str, found)) + "\n```")
        return found


def test_p1_verifies_then_hears_balance_and_due_date_in_english(stack: Stack) -> None:
    emily = Conversation(stack, "e2e-p1-emily", "en")
    emily.say("hi")
    asked = emily.say("how much do I owe right now?")
    assert "2,480" not in asked  # nothing about the debt before the identity check
    assert "mobile number" in asked
    assert "date of birth" in emily.say("415-555-0101")
    assert "last 4" in emily.say("April 12, 1988")
    verified = emily.say("4821")
    assert "Emily" in verified
    assert "$2,480.00" in verified  # the question asked before verification is answered
    due = emily.say("when is my payment due?")
    expected = date.today() + timedelta(days=10)
    assert f"{expected:%B} {expected.day}" in due
    assert "$75.00" in due
    emily.save("p1_en_balance_due_date")


def test_p4_verifies_then_hears_balance_and_due_date_in_chinese(stack: Stack) -> None:
    wei = Conversation(stack, "e2e-p4-zhangwei", "zh")
    wei.say("你好")
    asked = wei.say("我现在还欠多少钱")
    assert "18,600" not in asked
    assert "手机号码" in asked
    assert "出生日期" in wei.say("13800138004")
    assert "后四位" in wei.say("1985年2月14日")
    verified = wei.say("6230")
    assert "张伟" in verified
    assert "18,600.00元" in verified
    due = wei.say("还款日是哪天")
    expected = date.today() + timedelta(days=10)
    assert f"{expected.month}月{expected.day}日" in due
    assert "最低还款额" in due
    wei.save("p4_zh_balance_due_date")


def test_wrong_answers_three_times_hand_the_conversation_to_a_person(stack: Stack) -> None:
    stranger = Conversation(stack, "e2e-wrong-identity", "en")
    stranger.say("what's my balance")
    stranger.say("415 555 0101")
    for attempt in range(3):
        stranger.say("January 1 1970")
        last = stranger.say("1234")
        if attempt < 2:
            assert "don't match" in last
            stranger.say("415 555 0101")
    assert "colleague" in last
    status, body = stack.request(
        "POST", "/api/chat", {"conversation_id": "e2e-wrong-identity", "text": "hello?"}
    )
    assert status == 200 and body["handed_off"] is True
    stranger.save("identity_locked_en")


def test_p1_converts_the_1200_purchase_to_six_months_in_english(stack: Stack) -> None:
    emily = Conversation(stack, "e2e-p1-installment", "en")
    asked = emily.say("Can I split my $1,200 purchase into 6 months?")
    assert "APR" not in asked and "mobile number" in asked  # identity first
    emily.say("415 555 0101")
    emily.say("04/12/1988")
    quote = emily.say("4821")
    assert "Emily" in quote
    assert "$1,200.00 over 6 months" in quote
    assert "APR" in quote and "Shall I set this up?" in quote
    assert quote.index("Annualised rate") < quote.index("Monthly payment")  # the rate first
    done = emily.say("yes")
    assert "your plan is set up" in done
    again = emily.say("yes")
    assert "set up" not in again.lower() or "already" in again.lower()
    status = emily.say("how many payments are left on my plans?")
    assert "3 of 6 payments left" in status  # the plan she already had
    assert "6 of 6 payments left" in status  # and the new one, made once
    emily.save("p1_en_installment_6_months")


def test_p4_converts_the_statement_over_12_periods_in_chinese(stack: Stack) -> None:
    wei = Conversation(stack, "e2e-p4-installment", "zh")
    asked = wei.say("这期账单能分期吗")
    assert "手机号码" in asked and "年化" not in asked
    wei.say("138 0013 8004")
    wei.say("1985-02-14")
    tenors = wei.say("6230")
    assert "张伟" in tenors
    assert "18,600.00元想分几期" in tenors
    quote = wei.say("分12期")
    assert "年化利率：15.58%" in quote
    assert "确认办理吗" in quote
    done = wei.say("确认")
    assert "已为您办理分期" in done
    status = wei.say("我的分期还剩几期")
    assert "共12期，还剩12期" in status
    wei.save("p4_zh_installment_12_periods")


def test_p3_who_lost_her_job_is_offered_a_plan_within_the_bots_limits(stack: Stack) -> None:
    sarah = Conversation(stack, "e2e-p3-hardship", "en")
    asked = sarah.say("I lost my job and I can't pay")
    assert "6,800" not in asked
    sarah.say("206 555 0103")
    sarah.say("July 21 1992")
    after = sarah.say("5504")
    assert "Sarah" in after
    offer = sarah.say("maybe $600 a month")
    assert "11 monthly payments" in offer  # mid bucket: the bot may agree up to 12 months
    agreed = sarah.say("I agree")
    assert "your plan is agreed" in agreed and "policy" in agreed
    (row,) = sarah.agreements()
    assert row["terms"]["months"] == 11 and row["policy_version"] and row["consent_text"]
    sarah.save("p3_en_hardship_agreed")


def test_p5_asks_for_a_personalised_plan_in_chinese_and_is_escalated(stack: Stack) -> None:
    li = Conversation(stack, "e2e-p5-hardship", "zh")
    asked = li.say("我生病住院了，还不上钱")
    assert "42,000" not in asked
    li.say("13900139005")
    li.say("1990年9月30日")
    after = li.say("7712")
    assert "李娜" in after and "个性化分期" in after
    assert "分多少期" in li.say("每个月大概能还六百")
    assert "证明材料" in li.say("48期")
    submitted = li.say("有住院记录和诊断证明")
    assert "同事" in submitted  # beyond the bot's authority: a person approves
    li.save("p5_zh_personalised_installment")


def _verified_wang(conversation_id: str, stack: Stack, first: str) -> tuple[Conversation, str]:
    wang = Conversation(stack, conversation_id, "zh")
    asked = wang.say(first)
    assert "65,000" not in asked  # nothing about the debt before the identity check
    wang.say("13700137006")
    wang.say("1982年12月5日")
    after = wang.say("8845")
    assert "王芳" in after
    return wang, after


def test_p6_asking_to_settle_for_30_percent_is_not_agreed_in_chinese(stack: Stack) -> None:
    wang, after = _verified_wang("e2e-p6-settle-30", stack, "我只能一次性还三成，能结清吗")
    reply = wang.say("下周五") if "哪天" in after else after
    assert "结清协议已达成" not in reply
    assert "70" in reply or "同事" in reply  # the limit explained, or passed to a person
    assert wang.agreements() == []
    wang.save("p6_zh_settlement_30_percent")


def test_p6_settles_at_70_percent_in_chinese(stack: Stack) -> None:
    wang, after = _verified_wang("e2e-p6-settle-70", stack, "我能不能一次性还七成结清")
    assert "哪天" in after
    offer = wang.say("下周五")
    assert "结清方案" in offer and "70%" in offer
    agreed = wang.say("同意")
    assert "结清协议已达成" in agreed and "政策版本" in agreed
    (row,) = wang.agreements()
    assert row["policy_version"] and row["consent_text"]
    wang.save("p6_zh_settlement_70_percent")
