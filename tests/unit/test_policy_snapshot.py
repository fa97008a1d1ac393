"""Rows to the engine's snapshot: which waivers are recent, which promises open or broken."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from bot.db.models import Account, Fee, PromiseToPay
from bot.domain.enums import Bucket, Channel, FeeKind, Jurisdiction, PromiseStatus
from bot.policy import load_policy
from bot.policy.offers import FeeWaiverRequest, evaluate
from bot.policy.snapshot import snapshot_from_rows
from bot.settings import PROJECT_ROOT

TODAY = date(2027, 3, 15)
NOON = datetime(2027, 3, 15, 12, tzinfo=timezone.utc)


def _account(**changes: object) -> Account:
    values: dict[str, object] = {
        "id": 1,
        "jurisdiction": Jurisdiction.US,
        "currency": "USD",
        "bucket": Bucket.EARLY,
        "days_past_due": 12,
        "current_balance": Decimal("3150.00"),
        "past_due_amount": Decimal("120.00"),
        "minimum_due": Decimal("120.00"),
        "dispute_open": False,
        "attorney_represented": False,
        "bankruptcy": False,
        "deceased": False,
        "vulnerable": False,
    }
    values.update(changes)
    return Account(**values)


def _fee(fee_id: int, days_ago: int, waived_days_ago: int | None = None) -> Fee:
    return Fee(
        id=fee_id,
        account_id=1,
        kind=FeeKind.LATE,
        amount=Decimal("29.00"),
        assessed_on=TODAY - timedelta(days=days_ago),
        waived_at=None if waived_days_ago is None else NOON - timedelta(days=waived_days_ago),
    )


def _promise(status: PromiseStatus) -> PromiseToPay:
    return PromiseToPay(
        account_id=1,
        amount=Decimal("120.00"),
        promised_date=TODAY,
        status=status,
        channel=Channel.SMS,
        policy_version="x",
    )


def test_p2_like_rows_give_a_snapshot_the_bot_may_waive_for() -> None:
    snapshot = snapshot_from_rows(_account(), [_fee(1, 11)], [], TODAY)
    assert snapshot.balance == Decimal("3150.00") and snapshot.bucket is Bucket.EARLY
    assert [(f.id, f.waived) for f in snapshot.fees] == [(1, False)]
    assert snapshot.late_fee_waivers_last_12_months == 0
    assert snapshot.currency_exponent == 2
    policy = load_policy(PROJECT_ROOT / "policy" / "default.yml")
    assert evaluate(policy, snapshot, FeeWaiverRequest(), TODAY).bot_may_agree


def test_only_waivers_of_the_last_12_months_count() -> None:
    fees = [_fee(1, 11), _fee(2, 100, waived_days_ago=90), _fee(3, 500, waived_days_ago=400)]
    snapshot = snapshot_from_rows(_account(), fees, [], TODAY)
    assert snapshot.late_fee_waivers_last_12_months == 1
    assert [f.waived for f in snapshot.fees] == [False, True, True]


def test_promises_and_flags_carry_over() -> None:
    promises = [
        _promise(s) for s in (PromiseStatus.OPEN, PromiseStatus.BROKEN, PromiseStatus.BROKEN)
    ]
    snapshot = snapshot_from_rows(
        _account(dispute_open=True, vulnerable=True), [], promises, TODAY, complaint=True
    )
    assert (snapshot.open_promises, snapshot.broken_promises) == (1, 2)
    assert snapshot.handoff_flags() == ("dispute_open", "vulnerable", "complaint")
