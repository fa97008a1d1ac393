"""Fee waivers: which fee the cardholder means, and whether the policy lets the bot waive it.

A waiver costs the cardholder nothing, so within the bot's limits it is
applied at once and confirmed; beyond them the request goes to a colleague
(offer pending approval + handoff with a summary); an already waived fee or
an account without fees gets a plain answer.
"""

from __future__ import annotations

import logging
import re
from decimal import Decimal
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.exc import SQLAlchemyError

from actions import deps
from actions.collections_common import (
    escalate_if_needed,
    explain,
    hand_over,
    policy,
    review_requested,
)
from actions.common import render, request_text
from actions.verified import Context, identity_first, verified_context
from bot.domain.enums import FeeKind
from bot.policy.offers import AccountSnapshot, FeeItem, FeeWaiverRequest, evaluate
from bot.services.accounts import AccountNotFound
from bot.services.collections import (
    CollectionsError,
    apply_fee_waiver,
    load_snapshot,
    record_refusal,
    request_agent_review,
)

log = logging.getLogger(__name__)

INTENT = "request_fee_waiver"
KIND_RESPONSES = {
    FeeKind.LATE: "utter_fw_kind_late",
    FeeKind.ANNUAL: "utter_fw_kind_annual",
    FeeKind.OVERLIMIT: "utter_fw_kind_overlimit",
    FeeKind.INSTALLMENT: "utter_fw_kind_installment",
    FeeKind.INTEREST: "utter_fw_kind_interest",
}
_KIND_WORDS: tuple[tuple[FeeKind, re.Pattern[str]], ...] = (
    (FeeKind.LATE, re.compile(r"late|penalt|滞纳|違約|违约|逾期费|罚息", re.I)),
    (FeeKind.ANNUAL, re.compile(r"annual|yearly|年费|年費", re.I)),
    (FeeKind.OVERLIMIT, re.compile(r"over\s*-?\s*limit|超限", re.I)),
    (FeeKind.INTEREST, re.compile(r"interest|利息", re.I)),
)


def wanted_fees(text: str, snapshot: AccountSnapshot) -> list[FeeItem]:
    """The unwaived fees the message names by kind; else the latest late/overlimit fee; else any."""
    unwaived = [fee for fee in snapshot.fees if not fee.waived]
    kinds = {kind for kind, pattern in _KIND_WORDS if pattern.search(text)}
    if kinds:
        return [fee for fee in unwaived if fee.kind in kinds]
    penalties = [fee for fee in unwaived if fee.kind in (FeeKind.LATE, FeeKind.OVERLIMIT)]
    if penalties:
        return [max(penalties, key=lambda fee: (fee.assessed_on, fee.id))]
    return unwaived


def _describe(fees: list[FeeItem], ctx: Context, domain: dict[str, Any]) -> str:
    parts = [
        render(
            domain,
            "utter_fw_fee_item",
            ctx.language,
            kind=render(domain, KIND_RESPONSES[fee.kind], ctx.language),
            amount=ctx.money(fee.amount),
            date=ctx.day(fee.assessed_on),
        )
        for fee in fees
    ]
    return "; ".join(parts) if ctx.language.value == "en" else "；".join(parts)


class ActionFeeWaiver(Action):
    """Waive the fee within the bot's limits, or pass the request to a colleague."""

    def name(self) -> str:
        return "action_fee_waiver"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if await escalate_if_needed(dispatcher, tracker):
            return []
        text = request_text(tracker, INTENT)
        try:
            async with deps.transaction() as session:
                ctx = await verified_context(session, tracker)
                if ctx is None:
                    return identity_first(INTENT)
                snapshot = await load_snapshot(session, ctx.account_id, ctx.today, lock=True)
                fees = wanted_fees(text, snapshot)
                if not fees:
                    dispatcher.utter_message(response="utter_fw_nothing_to_waive")
                    return []
                request = FeeWaiverRequest(fee_ids=tuple(fee.id for fee in fees))
                decision = evaluate(policy(), snapshot, request, ctx.today)
                described = _describe(fees, ctx, domain)
                if decision.bot_may_agree:
                    await apply_fee_waiver(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        reason=f"cardholder request in conversation {tracker.sender_id}",
                        conversation_id=tracker.sender_id,
                    )
                    total = sum((fee.amount for fee in fees), Decimal(0))
                    dispatcher.utter_message(
                        response="utter_fw_done", fees=described, amount=ctx.money(total)
                    )
                elif decision.handoff_required:
                    record_refusal(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        conversation_id=tracker.sender_id,
                    )
                    await hand_over(session, dispatcher, tracker, ctx, "account_flag")
                elif decision.allowed:
                    listed = ", ".join(f"{f.kind.value} {f.amount}" for f in fees)
                    summary = (
                        f"Fee waiver request: {listed}"
                        f" {ctx.currency} (account {ctx.account_id}); needs "
                        f"{decision.authority.value if decision.authority else '-'} because: "
                        f"{', '.join(decision.reasons)}; policy {decision.policy_version}."
                    )
                    await request_agent_review(
                        session,
                        account_id=ctx.account_id,
                        conversation_id=tracker.sender_id,
                        decision=decision,
                        summary=summary,
                    )
                    dispatcher.utter_message(
                        response="utter_fw_needs_review",
                        fees=described,
                        reasons=explain(decision, ctx, domain),
                    )
                    review_requested(dispatcher, ctx, domain, decision)
                else:
                    record_refusal(
                        session,
                        account_id=ctx.account_id,
                        decision=decision,
                        conversation_id=tracker.sender_id,
                    )
                    dispatcher.utter_message(response="utter_fw_not_possible", fees=described)
        except (AccountNotFound, CollectionsError, SQLAlchemyError):
            log.exception("fee_waiver_failed")
            dispatcher.utter_message(response="utter_col_failed")
        return []
