"""Two-stage fallback: confirm an unsure guess in words people understand.

Rasa's default asks "Did you mean 'ask_minimum_payment'?"; a cardholder
should see "Did you mean: the minimum payment?" in their own language.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import language_of
from bot.domain.enums import Language

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "greet": ("saying hello", "打招呼"),
    "goodbye": ("ending the conversation", "结束对话"),
    "affirm": ("yes", "是的"),
    "deny": ("no", "不是"),
    "thank": ("saying thanks", "表示感谢"),
    "bot_challenge": ("whether you're talking to a bot", "您是否在和机器人对话"),
    "request_human": ("talking to a person", "转人工客服"),
    "opt_out": ("stopping our messages", "退订我们的消息"),
    "ask_balance": ("how much you owe", "您还欠多少钱"),
    "ask_due_date": ("when your payment is due", "还款日是哪天"),
    "ask_minimum_payment": ("the minimum payment", "最低还款额"),
    "make_payment": ("how to make a payment", "如何还款"),
    "promise_to_pay": ("arranging a date to pay", "约定还款时间"),
    "already_paid": ("a payment you've already made", "您已经还过的款"),
    "installment_enquiry": ("splitting a bill into installments", "办理分期"),
    "ask_installment_fees": ("the cost of an installment plan", "分期的手续费"),
    "ask_installment_status": ("an installment plan you already have", "已有分期的情况"),
    "report_hardship": ("difficulty paying right now", "目前还款有困难"),
    "request_settlement": ("settling the balance for less", "协商一次性结清"),
    "request_fee_waiver": ("waiving a fee", "减免费用"),
    "dispute": ("a charge you don't recognise", "对某笔交易有异议"),
    "inform": ("answering my question", "回答我的问题"),
    "out_of_scope": ("something I can't help with", "我无法处理的问题"),
}


def describe(intent: str, language: Language) -> str | None:
    described = DESCRIPTIONS.get(intent)
    if described is None:
        return None
    return described[1] if language is Language.ZH else described[0]


class ActionDefaultAskAffirmation(Action):
    def name(self) -> str:
        return "action_default_ask_affirmation"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        language = language_of(tracker)
        ranking = [
            entry.get("name")
            for entry in tracker.latest_message.get("intent_ranking") or []
            if entry.get("name") != "nlu_fallback"
        ]
        guess = next((name for name in ranking if name and describe(name, language)), None)
        if guess is None:
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        if language is Language.ZH:
            text, yes, no = f"您是想咨询：{describe(guess, language)}吗？", "是的", "不是"
        else:
            text, yes, no = f"Did you mean: {describe(guess, language)}?", "Yes", "No"
        dispatcher.utter_message(
            text=text,
            buttons=[
                {"title": yes, "payload": f"/{guess}"},
                {"title": no, "payload": "/out_of_scope"},
            ],
        )
        return []
