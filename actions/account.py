"""Answers about a verified cardholder's account: balance, dates, paying.

Every answer checks the database for a verification made in this session
before it reads the account: the dialogue slots alone never unlock data.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.common import language_of, latest_intent, session_started_at
from bot.domain.formatting import format_date, format_money
from bot.domain.parsing import parse_amount, parse_date
from bot.services.accounts import (
    AccountNotFound,
    AccountSummary,
    account_summary,
    payments_since,
    posting_date,
    record_payment_claim,
)
from bot.services.identity import verified_account_id
from bot.services.payment_links import payment_link

log = logging.getLogger(__name__)

ACCOUNT_INTENTS = frozenset(
    {"ask_balance", "ask_due_date", "ask_minimum_payment", "make_payment", "already_paid"}
)
PAYMENT_LOOKBACK = timedelta(days=10)


def _local_today(summary: AccountSummary) -> date:
    return datetime.now(ZoneInfo(summary.time_zone)).date()


async def answer_account_question(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    *,
    intent: str,
    account_id: int,
    since: datetime,
) -> bool:
    """Answer `intent` for the account if it was verified after `since`. Answered?"""
    language = language_of(tracker)
    async with deps.transaction() as session:
        if await verified_account_id(session, tracker.sender_id, since=since) != account_id:
            return False
        summary = await account_summary(session, account_id)

        def money(amount: Any) -> str:
            return format_money(amount, summary.currency, language)

        if intent == "ask_balance":
            if summary.past_due > 0:
                dispatcher.utter_message(
                    response="utter_balance_overdue",
                    balance=money(summary.balance),
                    past_due=money(summary.past_due),
                )
            else:
                dispatcher.utter_message(response="utter_balance", balance=money(summary.balance))
        elif intent in ("ask_due_date", "ask_minimum_payment"):
            if summary.due_date is None or summary.minimum_due <= 0:
                dispatcher.utter_message(
                    response="utter_nothing_due", balance=money(summary.balance)
                )
            elif summary.past_due > 0:
                response = (
                    "utter_due_date_overdue"
                    if intent == "ask_due_date"
                    else "utter_minimum_payment_overdue"
                )
                dispatcher.utter_message(
                    response=response,
                    due_date=format_date(summary.due_date, language),
                    minimum_due=money(summary.minimum_due),
                    past_due=money(summary.past_due),
                )
            else:
                dispatcher.utter_message(
                    response="utter_due_date"
                    if intent == "ask_due_date"
                    else "utter_minimum_payment",
                    due_date=format_date(summary.due_date, language),
                    minimum_due=money(summary.minimum_due),
                )
        elif intent == "make_payment":
            settings = deps.current().settings
            base = str(settings.public_base_url or "") or (
                f"http://{settings.gateway_host}:{settings.gateway_port}"
            )
            link = payment_link(
                base,
                settings.session_secret.get_secret_value(),
                account_id,
                datetime.now(timezone.utc),
            )
            dispatcher.utter_message(response="utter_how_to_pay", payment_link=link)
        elif intent == "already_paid":
            today = _local_today(summary)
            text = str(tracker.latest_message.get("text") or "")
            found = await payments_since(
                session, account_id, datetime.now(timezone.utc) - PAYMENT_LOOKBACK
            )
            if found:
                latest = found[0]
                paid_on = latest.received_at.astimezone(ZoneInfo(summary.time_zone)).date()
                dispatcher.utter_message(
                    response="utter_payment_found",
                    amount=money(latest.amount),
                    paid_on=format_date(paid_on, language),
                )
            else:
                claimed = parse_date(text, today)
                paid_on = claimed if claimed is not None and claimed <= today else today
                record_payment_claim(
                    session,
                    account_id=account_id,
                    conversation_id=tracker.sender_id,
                    claimed_paid_on=paid_on,
                    amount=parse_amount(text),
                )
                dispatcher.utter_message(
                    response="utter_payment_not_found",
                    posting_date=format_date(posting_date(paid_on), language),
                )
        else:
            return False
    return True


class ActionAccountAnswer(Action):
    """Answer an account question, or start the identity check first."""

    def name(self) -> str:
        return "action_account_answer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        intent = latest_intent(tracker) or ""
        account_id = tracker.get_slot("account_id")
        if intent in ACCOUNT_INTENTS and account_id is not None:
            try:
                answered = await answer_account_question(
                    dispatcher,
                    tracker,
                    intent=intent,
                    account_id=int(account_id),
                    since=session_started_at(tracker),
                )
            except (AccountNotFound, SQLAlchemyError):
                log.exception("account_answer_failed", extra={"intent": intent})
                dispatcher.utter_message(response="utter_account_unavailable")
                return []
            if answered:
                return []
        # Not verified in this session (or the slots disagree with the database).
        return [
            SlotSet("verified", False),
            SlotSet("account_id", None),
            SlotSet("pending_request", intent),
            FollowupAction("identity_form"),
        ]
