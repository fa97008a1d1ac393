"""An `AccountSnapshot` from the account's database rows, without touching the database.

The offer engine takes plain values so it stays pure; this is the one place
that decides how rows map to them (which waivers count towards "one per 12
months", which promises are open or broken), so the actions and the agent
desk cannot count differently. The caller loads the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta, timezone

from bot.db.models import Account, Fee, PromiseToPay
from bot.domain.enums import FeeKind, PromiseStatus
from bot.policy.offers import AccountSnapshot, FeeItem

# Minor-unit digits per currency; both demo currencies use cents/fen.
CURRENCY_EXPONENTS = {"USD": 2, "CNY": 2}
WAIVER_LOOKBACK = timedelta(days=365)


def snapshot_from_rows(
    account: Account,
    fees: Iterable[Fee],
    promises: Iterable[PromiseToPay],
    today: date,
    *,
    complaint: bool = False,
) -> AccountSnapshot:
    """The engine's view of `account`, its fees and its promises on `today`.

    Args:
        complaint: Set when the conversation carries a complaint (the
            account row has no such flag; a complaint forces a handoff).
    """
    fee_list = list(fees)
    since = datetime.combine(today, time.min, tzinfo=timezone.utc) - WAIVER_LOOKBACK
    late_waivers = sum(
        1
        for fee in fee_list
        if fee.kind is FeeKind.LATE and fee.waived_at is not None and fee.waived_at >= since
    )
    promise_list = list(promises)
    return AccountSnapshot(
        jurisdiction=account.jurisdiction,
        bucket=account.bucket,
        days_past_due=account.days_past_due,
        balance=account.current_balance,
        past_due_amount=account.past_due_amount,
        minimum_due=account.minimum_due,
        fees=tuple(
            FeeItem(
                id=fee.id,
                kind=fee.kind,
                amount=fee.amount,
                assessed_on=fee.assessed_on,
                waived=fee.waived_at is not None,
            )
            for fee in fee_list
        ),
        late_fee_waivers_last_12_months=late_waivers,
        open_promises=sum(1 for p in promise_list if p.status is PromiseStatus.OPEN),
        broken_promises=sum(1 for p in promise_list if p.status is PromiseStatus.BROKEN),
        dispute_open=account.dispute_open,
        attorney_represented=account.attorney_represented,
        bankruptcy=account.bankruptcy,
        deceased=account.deceased,
        vulnerable=account.vulnerable,
        complaint=complaint,
        currency_exponent=CURRENCY_EXPONENTS.get(account.currency, 2),
    )
