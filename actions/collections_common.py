"""What the collections action families share: the policy, escalation, explanations.

The dialogue collects what the cardholder asks for; `bot.policy.offers`
decides. These helpers turn the engine's reason codes into sentences (every
word from the domain, in the conversation's language), hand a conversation
to a person when a message calls for it, and word the honest "a colleague
will review this" reply.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from actions import deps
from actions.common import latest_intent, render, request_text, response_text
from actions.verified import Context, identity_first, verified_context
from bot.domain.enums import Authority, Bucket, Language
from bot.domain.escalation import Escalation, EscalationCategory, detect, priority_of
from bot.policy import Policy, get_policy
from bot.policy.models import BucketRules
from bot.policy.offers import AccountSnapshot, Decision
from bot.services.accounts import AccountNotFound
from bot.services.collections import flag_account, load_snapshot
from bot.services.conversations import PRIORITY_ELEVATED, request_handoff

# How long a colleague takes to review an offer request (said, not enforced).
REVIEW_BUSINESS_DAYS = 2
# Answers every collections form leaves alone: other rules handle them.
STOP_INTENTS = frozenset({"goodbye"})
DISPUTE = "dispute"
_CONSENT = re.compile(
    r"\bi\s*(?:do\s+)?agree\b|\bagreed\b|\bi\s+accept\b|\baccept(?:ed)?\b|^\s*agree\b"
    r"|同意|接受|我愿意|确认办理|確認辦理",
    re.IGNORECASE,
)
_REFUSAL = re.compile(
    r"disagree|\b(?:do\s*n[o']?t|don't|dont|do\s+not|can'?t|cannot|won'?t|not)\s+"
    r"(?:agree|accept)|不同意|不接受|不愿意|不能接受|没法接受",
    re.IGNORECASE,
)
_AGENT_WORDS = re.compile(r"colleague|agent|person|human|someone|人工|客服|专员|同事", re.I)


def policy() -> Policy:
    return get_policy(deps.current().settings)


def rules_for(snapshot: AccountSnapshot) -> BucketRules:
    return policy().collections.rules_for(snapshot.bucket, snapshot.jurisdiction)


def latest_text(tracker: Tracker) -> str:
    return str(tracker.latest_message.get("text") or "")


def is_consent(text: str) -> bool:
    """An explicit "I agree" / "同意": a bare "yes" is not consent to an agreement."""
    return bool(_CONSENT.search(text)) and not _REFUSAL.search(text)


# The "I agree" button's payload. Typed, "/affirm" is a bare yes; sent by the
# button the cardholder pressed under an offer, it is their explicit consent.
AGREE_PAYLOAD = "/affirm"


def picked_agree(text: str) -> bool:
    """Whether the message is the offer's "I agree" button (its payload)."""
    return text.strip() == AGREE_PAYLOAD


def consent_words(text: str, domain: dict[str, Any], language: Language) -> str:
    """The cardholder's answer as an agreement records it (a button by its label)."""
    if picked_agree(text):
        return f"{render(domain, 'utter_col_i_agree', language)} [{text.strip()}]"
    return text[:500]


def asks_for_agent(text: str) -> bool:
    return bool(_AGENT_WORDS.search(text))


def escalation_in(tracker: Tracker) -> tuple[str, int] | None:
    """The category and priority the latest message calls for (a dispute intent counts)."""
    found: Escalation | None = detect(latest_text(tracker))
    if found is not None:
        return found.reason, found.priority
    if latest_intent(tracker) == DISPUTE:
        return DISPUTE, PRIORITY_ELEVATED
    return None


RESPONSE_FOR_CATEGORY = {
    DISPUTE: "utter_col_handoff_dispute",
    EscalationCategory.DISTRESS.value: "utter_col_handoff_distress",
    EscalationCategory.DECEASED.value: "utter_col_handoff_deceased",
    EscalationCategory.BANKRUPTCY.value: "utter_col_handoff_bankruptcy",
    EscalationCategory.ATTORNEY.value: "utter_col_handoff_attorney",
    EscalationCategory.COMPLAINT.value: "utter_col_handoff_complaint",
}


async def hand_over(
    session: AsyncSession,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    ctx: Context | None,
    category: str,
    priority: int | None = None,
) -> None:
    """Pause collection on a verified account and queue the conversation for a person, now."""
    if priority is None:
        priority = (
            priority_of(EscalationCategory(category))
            if category in {c.value for c in EscalationCategory}
            else PRIORITY_ELEVATED
        )
    if ctx is not None:
        await flag_account(
            session, account_id=ctx.account_id, category=category, conversation_id=tracker.sender_id
        )
    await request_handoff(session, tracker.sender_id, reason=category, priority=priority)
    dispatcher.utter_message(response=RESPONSE_FOR_CATEGORY.get(category, "utter_handoff"))


async def escalate_if_needed(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Hand the conversation over if the latest message calls for it. Handed over?"""
    found = escalation_in(tracker)
    if found is None:
        return False
    category, priority = found
    async with deps.transaction() as session:
        ctx = await verified_context(session, tracker)
        await hand_over(session, dispatcher, tracker, ctx, category, priority)
    return True


# --- explaining the engine's reasons ------------------------------------------------

# The sentence for each reason code that has its own; the rest share a general one.
REASON_RESPONSES = {
    "promise_beyond_window": "utter_col_reason_promise_beyond_window",
    "amount_below_required": "utter_col_reason_amount_below_required",
    "promise_already_open": "utter_col_reason_promise_already_open",
    "broken_promises": "utter_col_reason_broken_promises",
    "months_beyond_limit": "utter_col_reason_months_beyond_limit",
    "down_payment_below_required": "utter_col_reason_down_payment_below_required",
    "interest_waiver_over_limit": "utter_col_reason_interest_waiver_over_limit",
    "settlement_below_minimum": "utter_col_reason_settlement_below_minimum",
    "pay_by_beyond_window": "utter_col_reason_pay_by_beyond_window",
    "bot_not_authorised": "utter_col_reason_bot_not_authorised",
    "not_offered_by_bot_in_bucket": "utter_col_reason_not_offered_by_bot_in_bucket",
    "waiver_limit_reached": "utter_col_reason_waiver_limit_reached",
    "instalment_above_affordable": "utter_col_reason_instalment_above_affordable",
    "periods_beyond_limit": "utter_col_reason_periods_beyond_limit",
    "fee_not_covered": "utter_col_reason_fee_not_covered",
}
AUTHORITY_RESPONSES = {
    Authority.BOT: "utter_col_authority_bot",
    Authority.AGENT: "utter_col_authority_agent",
    Authority.SUPERVISOR: "utter_col_authority_supervisor",
}


class _Blank(dict[str, Any]):
    """Placeholders a caller did not fill read as "-" (a reason sentence never fails)."""

    def __missing__(self, key: str) -> str:
        return "-"


def explain(decision: Decision, ctx: Context, domain: dict[str, Any], **values: Any) -> str:
    """The engine's reasons as plain sentences in the conversation's language."""
    sentences: list[str] = []
    for reason in decision.reasons:
        name = REASON_RESPONSES.get(reason, "utter_col_reason_other")
        text = response_text(domain, name, ctx.language).format_map(_Blank(values))
        if text not in sentences:
            sentences.append(text)
    return " ".join(sentences) if ctx.language is Language.EN else "".join(sentences)


def authority_name(authority: Authority | None, ctx: Context, domain: dict[str, Any]) -> str:
    return render(domain, AUTHORITY_RESPONSES[authority or Authority.AGENT], ctx.language)


def review_requested(
    dispatcher: CollectingDispatcher, ctx: Context, domain: dict[str, Any], decision: Decision
) -> None:
    """The honest reply after an offer request went to a person."""
    dispatcher.utter_message(
        response="utter_col_review_requested",
        who=authority_name(decision.authority, ctx, domain),
        days=REVIEW_BUSINESS_DAYS,
    )


def yes_no_buttons(
    domain: dict[str, Any], language: Language, yes: str, no: str
) -> list[dict[str, str]]:
    return [
        {"title": render(domain, yes, language), "payload": "/affirm"},
        {"title": render(domain, no, language), "payload": "/deny"},
    ]


def bot_offers_settlement(snapshot: AccountSnapshot) -> bool:
    rules = rules_for(snapshot)
    return rules.settlement is not None and rules.settlement.min_pct.bot is not None


def is_charged_off(snapshot: AccountSnapshot) -> bool:
    return snapshot.bucket is Bucket.CHARGED_OFF


# --- starting a request ---------------------------------------------------------------

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Opening:
    """What a collections request starts from: the account, its snapshot, what was said."""

    ctx: Context
    snapshot: AccountSnapshot
    text: str


async def open_request(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    intent: str,
    *,
    reset: list[EventType],
    not_started: list[EventType],
) -> Opening | list[EventType]:
    """The common start of a promise, hardship or settlement request.

    Returns the events to end with instead when the request cannot start:
    an escalation in the message, no verification yet (the identity check
    runs, then the request resumes), an account flag that needs a person,
    or the account unreadable.
    """
    if await escalate_if_needed(dispatcher, tracker):
        return not_started
    text = request_text(tracker, intent)
    try:
        async with deps.transaction() as session:
            ctx = await verified_context(session, tracker)
            if ctx is None:
                return [*reset, *identity_first(intent)]
            snapshot = await load_snapshot(session, ctx.account_id, ctx.today)
            if snapshot.handoff_flags():
                await hand_over(session, dispatcher, tracker, ctx, "account_flag")
                return not_started
    except (AccountNotFound, SQLAlchemyError):
        _log.exception("collections_start_failed", extra={"intent": intent})
        dispatcher.utter_message(response="utter_account_unavailable")
        return not_started
    return Opening(ctx, snapshot, text)
