"""Who the conversation has verified as, asked of the database on every use.

The `verified` slot says what the dialogue believes; `verified_context`
says what happened (a verification in this session, recorded by the
identity service). Actions that disclose or change anything about an
account start here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from sqlalchemy.ext.asyncio import AsyncSession

from actions.common import language_of, session_started_at
from bot.db.models import Account
from bot.domain.enums import Jurisdiction, Language
from bot.domain.formatting import format_date, format_money
from bot.services.identity import verified_account_id


@dataclass(frozen=True)
class Context:
    """A verified account and what the actions need to talk about it."""

    account_id: int
    currency: str
    jurisdiction: Jurisdiction
    today: date
    language: Language

    def money(self, amount: Decimal) -> str:
        return format_money(amount, self.currency, self.language)

    def day(self, value: date) -> str:
        return format_date(value, self.language)


async def verified_context(session: AsyncSession, tracker: Tracker) -> Context | None:
    """The account verified in this session, or None (the database decides, not the slot)."""
    account_id = await verified_account_id(
        session, tracker.sender_id, since=session_started_at(tracker)
    )
    if account_id is None:
        return None
    account = await session.get(Account, account_id)
    if account is None:
        return None
    return Context(
        account_id=account_id,
        currency=account.currency,
        jurisdiction=account.jurisdiction,
        today=datetime.now(ZoneInfo(account.time_zone)).date(),
        language=language_of(tracker),
    )


def identity_first(intent: str) -> list[EventType]:
    """Events that run the identity check now and come back to `intent` after it."""
    return [
        SlotSet("verified", False),
        SlotSet("account_id", None),
        SlotSet("pending_request", intent),
        FollowupAction("identity_form"),
    ]
