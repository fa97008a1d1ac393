"""A deterministic synthetic card portfolio, generated as plain rows in chunks.

The demo needs a believable crowd around the eight personas (searches, queues
and benchmarks must not be answered by a table of eight), and benchmarks need
up to a million accounts. So this module builds dictionaries for SQLAlchemy
Core `executemany`, never ORM objects, a chunk at a time, with ids assigned
here so that every table of a chunk can be inserted without reading back keys.

Everything comes from one `random.Random` and seeded Faker instances consumed
in a fixed order: the same seed, start ids and day give the same rows, however
the rows are chunked. All money is built from integer cents, never floats.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from faker import Faker

from bot.domain.enums import Bucket, Jurisdiction, Language, TransactionKind

Row = dict[str, Any]

DEFAULT_CHUNK_SIZE = 5_000
GRACE_DAYS = 25

# Share of accounts per bucket, in per mille (sums to 1000).
BUCKET_WEIGHTS: tuple[tuple[Bucket, int], ...] = (
    (Bucket.CURRENT, 600),
    (Bucket.EARLY, 150),
    (Bucket.MID, 80),
    (Bucket.LATE, 60),
    (Bucket.NPL, 60),
    (Bucket.CHARGED_OFF, 50),
)
# Inclusive DPD range drawn for each bucket (charged-off accounts stop aging
# in practice; a year and a half is old enough for any demo).
DPD_RANGES: dict[Bucket, tuple[int, int]] = {
    Bucket.CURRENT: (0, 0),
    Bucket.EARLY: (1, 29),
    Bucket.MID: (30, 59),
    Bucket.LATE: (60, 89),
    Bucket.NPL: (90, 179),
    Bucket.CHARGED_OFF: (180, 540),
}

_US_LIMITS = (1_000, 2_000, 3_000, 5_000, 7_500, 10_000, 15_000, 20_000)
_CN_LIMITS = (5_000, 10_000, 20_000, 30_000, 50_000, 80_000, 100_000)
_US_TIME_ZONES: tuple[tuple[str, int], ...] = (
    ("America/New_York", 35),
    ("America/Chicago", 30),
    ("America/Denver", 8),
    ("America/Phoenix", 4),
    ("America/Los_Angeles", 20),
    ("America/Anchorage", 1),
    ("Pacific/Honolulu", 2),
)
_US_BRANDS = ("Visa", "Mastercard", "American Express", "Discover")
_CN_BRANDS = ("UnionPay", "UnionPay", "UnionPay", "Visa", "Mastercard")
_DOB_RANGE = (date(1950, 1, 1).toordinal(), date(2004, 12, 31).toordinal())
# Amounts at or above this can be converted to installments (CONTRACT.md §5).
_INSTALLMENT_MINIMUM_CENTS = 500_00
# Affine maps modulo 10^k with a multiplier coprime to 10 are bijections, so
# distinct indexes give distinct, random-looking numbers.
_PHONE_MULTIPLIER = 7_368_787
_US_PHONE_SPACE = 10**8
_CN_PHONE_SPACE = 10**9
_NAME_POOL_SIZE = 400
_MERCHANT_POOL_SIZE = 150


class PortfolioTooLarge(ValueError):
    """More synthetic accounts were requested than the phone scheme can number."""


@dataclass(frozen=True)
class IdStart:
    """The first explicit primary key to use in each table."""

    cardholder: int
    account: int
    card: int
    statement: int
    transaction: int


@dataclass
class Chunk:
    """Rows for a run of consecutive accounts, one list per table, in FK order."""

    cardholders: list[Row] = field(default_factory=list)
    accounts: list[Row] = field(default_factory=list)
    cards: list[Row] = field(default_factory=list)
    statements: list[Row] = field(default_factory=list)
    transactions: list[Row] = field(default_factory=list)


def us_phone(index: int) -> str:
    """The E.164 number of US synthetic account `index`: +1 2XX 7XX XXXX.

    Exchange 7XX never meets the personas' 555 numbers.
    """
    n = (index * _PHONE_MULTIPLIER + 1_234_567) % _US_PHONE_SPACE
    return f"+12{n // 1_000_000:02d}7{n // 10_000 % 100:02d}{n % 10_000:04d}"


def cn_phone(index: int) -> str:
    """The E.164 number of CN synthetic account `index`: +86 15X XXXX XXXX.

    The 15X prefix never meets the personas' 137/138/139 numbers.
    """
    n = (index * _PHONE_MULTIPLIER + 7_654_321) % _CN_PHONE_SPACE
    return f"+8615{n:09d}"


def _cents(amount: int) -> Decimal:
    return Decimal(amount).scaleb(-2)


def _weighted(rng: random.Random, choices: Sequence[tuple[Any, int]]) -> Any:
    roll = rng.randrange(sum(weight for _, weight in choices))
    for value, weight in choices:
        if roll < weight:
            return value
        roll -= weight
    raise AssertionError("unreachable")  # pragma: no cover


class _Terms(NamedTuple):
    """An account's money (in cents) and due date, before they become Decimals."""

    limit: int
    balance: int
    cycle_minimum: int
    past_due: int
    minimum_due: int
    due: date


class _Pools:
    """Names and merchants drawn once from seeded Faker, then sampled by `rng`.

    Calling Faker per row would dominate the run time at a million accounts.
    """

    def __init__(self, random_seed: int) -> None:
        en = Faker("en_US")
        en.seed_instance(random_seed)
        zh = Faker("zh_CN")
        zh.seed_instance(random_seed)
        size = _NAME_POOL_SIZE
        self.en_first: list[str] = [en.first_name() for _ in range(size)]
        self.en_last: list[str] = [en.last_name() for _ in range(size)]
        self.zh_first: list[str] = [zh.first_name() for _ in range(size)]
        self.zh_last: list[str] = [zh.last_name() for _ in range(size)]
        self.en_merchants: list[str] = [en.company() for _ in range(_MERCHANT_POOL_SIZE)]
        self.zh_merchants: list[str] = [zh.company() for _ in range(_MERCHANT_POOL_SIZE)]


def generate_portfolio(
    count: int,
    *,
    random_seed: int,
    today: date,
    now: datetime,
    ids: IdStart,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[Chunk]:
    """Yield the rows of `count` synthetic accounts, `chunk_size` accounts at a time.

    The first twelve accounts cover every (bucket, jurisdiction) pair, so even
    a tiny portfolio exercises every branch of the policy; the rest follow
    `BUCKET_WEIGHTS` with about half in each jurisdiction.

    Raises:
        PortfolioTooLarge: if `count` exceeds what unique phone numbers allow.
        ValueError: if `count` is negative or `chunk_size` is not positive.
    """
    if count < 0:
        raise ValueError(f"account count cannot be negative: {count}")
    if chunk_size < 1:
        raise ValueError(f"chunk size must be positive: {chunk_size}")
    if count > _US_PHONE_SPACE:
        raise PortfolioTooLarge(f"at most {_US_PHONE_SPACE} synthetic accounts: {count}")
    builder = _Builder(random_seed=random_seed, today=today, now=now, ids=ids)
    chunk = Chunk()
    for index in range(count):
        builder.add_account(chunk, index)
        if len(chunk.accounts) == chunk_size:
            yield chunk
            chunk = Chunk()
    if chunk.accounts:
        yield chunk


class _Builder:
    """Turns an account index into rows; holds the random state and the id counters."""

    _COVERAGE: tuple[tuple[Bucket, Jurisdiction], ...] = tuple(
        (bucket, jurisdiction)
        for jurisdiction in (Jurisdiction.US, Jurisdiction.CN)
        for bucket, _ in BUCKET_WEIGHTS
    )

    def __init__(self, *, random_seed: int, today: date, now: datetime, ids: IdStart) -> None:
        self.rng = random.Random(random_seed)
        self.pools = _Pools(random_seed)
        self.today = today
        self.now = now
        self.ids = ids
        self.next_transaction_id = ids.transaction

    def add_account(self, chunk: Chunk, index: int) -> None:
        rng = self.rng
        if index < len(self._COVERAGE):
            bucket, jurisdiction = self._COVERAGE[index]
        else:
            bucket = _weighted(rng, BUCKET_WEIGHTS)
            jurisdiction = Jurisdiction.CN if rng.randrange(2) else Jurisdiction.US
        dpd = rng.randint(*DPD_RANGES[bucket])
        is_cn = jurisdiction is Jurisdiction.CN

        cardholder_id = self.ids.cardholder + index
        account_id = self.ids.account + index
        card_id = self.ids.card + index
        chunk.cardholders.append(self._cardholder(cardholder_id, index, is_cn))

        terms = self._terms(bucket, dpd, is_cn)
        apr_basis_points = 1825 if is_cn else rng.randint(1499, 2999)
        chunk.accounts.append(
            {
                "id": account_id,
                "cardholder_id": cardholder_id,
                "jurisdiction": jurisdiction,
                "currency": "CNY" if is_cn else "USD",
                "time_zone": "Asia/Shanghai" if is_cn else _weighted(rng, _US_TIME_ZONES),
                "credit_limit": _cents(terms.limit),
                "current_balance": _cents(terms.balance),
                "past_due_amount": _cents(terms.past_due),
                "minimum_due": _cents(terms.minimum_due),
                "payment_due_date": terms.due,
                "days_past_due": dpd,
                "bucket": bucket,
                "purchase_apr": Decimal(apr_basis_points).scaleb(-4),
                "dispute_open": False,
                "attorney_represented": False,
                "bankruptcy": False,
                "deceased": False,
                "vulnerable": False,
                "notes": None,
                "created_at": self.now,
                "updated_at": self.now,
            }
        )
        chunk.cards.append(
            {
                "id": card_id,
                "account_id": account_id,
                "last4": f"{rng.randrange(10_000):04d}",
                "brand": rng.choice(_CN_BRANDS if is_cn else _US_BRANDS),
                "is_primary": True,
                "active": True,
                "created_at": self.now,
            }
        )
        chunk.statements.append(
            {
                "id": self.ids.statement + index,
                "account_id": account_id,
                "statement_date": terms.due - timedelta(days=GRACE_DAYS),
                "due_date": terms.due,
                "closing_balance": _cents(terms.balance),
                "minimum_due": _cents(terms.cycle_minimum),
                "installment_eligible": dpd == 0
                and terms.balance >= _INSTALLMENT_MINIMUM_CENTS
                and rng.randrange(100) < 35,
                "created_at": self.now,
            }
        )
        # Only cards still in use have recent spending.
        if bucket in (Bucket.CURRENT, Bucket.EARLY) and rng.randrange(2):
            for _ in range(rng.randint(1, 4)):
                chunk.transactions.append(
                    self._purchase(account_id, card_id, is_cn, current=dpd == 0)
                )

    def _terms(self, bucket: Bucket, dpd: int, is_cn: bool) -> _Terms:
        rng = self.rng
        limit = rng.choice(_CN_LIMITS if is_cn else _US_LIMITS) * 100
        utilisation = rng.randint(2, 85) if dpd == 0 else rng.randint(60, 105)
        balance = max(1_00, limit * utilisation // 100 + rng.randrange(100))
        # CN cards ask for 10% of the balance (at least 100); US for 3% (at least 25).
        floor, share = (100_00, 10) if is_cn else (25_00, 3)
        cycle_minimum = min(balance, max(floor, balance * share // 100))
        if dpd == 0:
            due = self.today + timedelta(days=rng.randint(1, 28))
            return _Terms(limit, balance, cycle_minimum, 0, cycle_minimum, due)
        missed_cycles = (dpd + 29) // 30
        if bucket is Bucket.CHARGED_OFF:
            past_due = balance  # the whole balance is due once charged off
        else:
            past_due = min(balance, cycle_minimum * missed_cycles)
        return _Terms(
            limit, balance, cycle_minimum, past_due, past_due, self.today - timedelta(days=dpd)
        )

    def _cardholder(self, cardholder_id: int, index: int, is_cn: bool) -> Row:
        rng, pools = self.rng, self.pools
        if is_cn:
            name = rng.choice(pools.zh_last) + rng.choice(pools.zh_first)
            language = Language.ZH
            phone = cn_phone(index)
        else:
            name = f"{rng.choice(pools.en_first)} {rng.choice(pools.en_last)}"
            # Some US customers prefer Chinese, like persona P8.
            language = Language.ZH if rng.randrange(100) < 6 else Language.EN
            phone = us_phone(index)
        return {
            "id": cardholder_id,
            "external_ref": f"S{index + 1:08d}",
            "full_name": name,
            "date_of_birth": date.fromordinal(rng.randint(*_DOB_RANGE)),
            "phone_e164": phone,
            "preferred_language": language,
            "created_at": self.now,
        }

    def _purchase(self, account_id: int, card_id: int, is_cn: bool, *, current: bool) -> Row:
        rng = self.rng
        # Mostly everyday spending, now and then a purchase big enough to split.
        if rng.randrange(10) == 0:
            amount_cents = rng.randint(500_00, 8_000_00)
        else:
            amount_cents = rng.randint(3_00, 300_00)
        if is_cn:
            amount_cents *= 5
        transaction_id = self.next_transaction_id
        self.next_transaction_id += 1
        return {
            "id": transaction_id,
            "account_id": account_id,
            "card_id": card_id,
            "kind": TransactionKind.PURCHASE,
            "posted_on": self.today - timedelta(days=rng.randint(1, 30)),
            "merchant": rng.choice(self.pools.zh_merchants if is_cn else self.pools.en_merchants),
            "amount": _cents(amount_cents),
            "installment_eligible": current and amount_cents >= _INSTALLMENT_MINIMUM_CENTS,
            "installment_plan_id": None,
            "created_at": self.now,
        }
