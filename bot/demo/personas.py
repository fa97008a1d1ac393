"""The eight demo personas of CONTRACT.md §4, and their accounts as database rows.

Demos, dialogue tests and manual checks all reach for these people by phone
number, date of birth and card last 4, so the values here are the contract's,
character for character. Dates are relative to the seeding day so that a demo
database always shows "due in 10 days", never a due date from last year.

The personas are few, so the ORM builds them (readability over speed); the
synthetic portfolio in `bot.demo.portfolio` uses bulk inserts instead.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.db.models import (
    Account,
    Card,
    Cardholder,
    Consent,
    Fee,
    InstallmentPlan,
    InstallmentScheduleItem,
    Statement,
    Transaction,
)
from bot.domain.buckets import bucket_for
from bot.domain.enums import (
    Bucket,
    Channel,
    ConsentStatus,
    FeeKind,
    Jurisdiction,
    Language,
    PlanSource,
    PlanStatus,
    TransactionKind,
)

# Who created seeded records (plans, fees) and under which "policy": the audit
# trail must never confuse demo data with something the bot or an agent did.
SEED_ACTOR = "seed"
SEED_POLICY_VERSION = "demo-seed"

# A statement closes this many days before its payment is due (grace period).
GRACE_DAYS = 25
# Current accounts are due this many days after seeding (CONTRACT.md §4, P1).
DAYS_UNTIL_DUE = 10


@dataclass(frozen=True)
class Persona:
    """One fictional customer with exactly one account and one primary card.

    Attributes:
        ref: Stable handle ("P1"…"P8"), stored as `cardholders.external_ref`.
        statement_balance: Closing balance of the latest statement when it
            differs from `balance` (P2: the late fee came after the statement).
    """

    ref: str
    full_name: str
    phone_e164: str
    date_of_birth: date
    card_last4: str
    card_brand: str
    currency: str
    language: Language
    time_zone: str
    days_past_due: int
    balance: Decimal
    minimum_due: Decimal
    past_due_amount: Decimal
    credit_limit: Decimal
    purchase_apr: Decimal
    notes: str
    statement_installment_eligible: bool = False
    statement_balance: Decimal | None = None

    @property
    def jurisdiction(self) -> Jurisdiction:
        """CN for renminbi accounts, US for dollar accounts (P8 is US despite zh)."""
        return Jurisdiction.CN if self.currency == "CNY" else Jurisdiction.US

    @property
    def bucket(self) -> Bucket:
        return bucket_for(self.days_past_due)

    def payment_due_date(self, today: date) -> date:
        """Due in 10 days when current; otherwise the missed date `days_past_due` ago."""
        if self.days_past_due == 0:
            return today + timedelta(days=DAYS_UNTIL_DUE)
        return today - timedelta(days=self.days_past_due)


def _d(amount: str) -> Decimal:
    return Decimal(amount)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        ref="P1",
        full_name="Emily Carter",
        phone_e164="+14155550101",
        date_of_birth=date(1988, 4, 12),
        card_last4="4821",
        card_brand="Visa",
        currency="USD",
        language=Language.EN,
        time_zone="America/Los_Angeles",
        days_past_due=0,
        balance=_d("2480.00"),
        minimum_due=_d("75.00"),
        past_due_amount=_d("0.00"),
        credit_limit=_d("8000.00"),
        purchase_apr=_d("0.2199"),
        notes=(
            "minimum due 75.00 in 10 days; a 1,200.00 purchase eligible for installments; "
            "one 6-month plan with 3 payments left"
        ),
    ),
    Persona(
        ref="P2",
        full_name="Michael Ortiz",
        phone_e164="+13125550102",
        date_of_birth=date(1979, 11, 3),
        card_last4="1937",
        card_brand="Mastercard",
        currency="USD",
        language=Language.EN,
        time_zone="America/Chicago",
        days_past_due=12,
        balance=_d("3150.00"),
        minimum_due=_d("120.00"),
        past_due_amount=_d("120.00"),
        credit_limit=_d("5000.00"),
        purchase_apr=_d("0.2474"),
        notes="past due 120.00; one late fee 29.00",
        statement_balance=_d("3121.00"),
    ),
    Persona(
        ref="P3",
        full_name="Sarah Kim",
        phone_e164="+12065550103",
        date_of_birth=date(1992, 7, 21),
        card_last4="5504",
        card_brand="Visa",
        currency="USD",
        language=Language.EN,
        time_zone="America/Los_Angeles",
        days_past_due=45,
        balance=_d("6800.00"),
        minimum_due=_d("408.00"),
        past_due_amount=_d("408.00"),
        credit_limit=_d("8000.00"),
        purchase_apr=_d("0.2649"),
        notes="lost her job",
    ),
    Persona(
        ref="P4",
        full_name="张伟",
        phone_e164="+8613800138004",
        date_of_birth=date(1985, 2, 14),
        card_last4="6230",
        card_brand="UnionPay",
        currency="CNY",
        language=Language.ZH,
        time_zone="Asia/Shanghai",
        days_past_due=0,
        balance=_d("18600.00"),
        minimum_due=_d("1860.00"),
        past_due_amount=_d("0.00"),
        credit_limit=_d("50000.00"),
        purchase_apr=_d("0.1825"),
        notes="statement balance eligible for 账单分期",
        statement_installment_eligible=True,
    ),
    Persona(
        ref="P5",
        full_name="李娜",
        phone_e164="+8613900139005",
        date_of_birth=date(1990, 9, 30),
        card_last4="7712",
        card_brand="UnionPay",
        currency="CNY",
        language=Language.ZH,
        time_zone="Asia/Shanghai",
        days_past_due=75,
        balance=_d("42000.00"),
        minimum_due=_d("12600.00"),
        past_due_amount=_d("12600.00"),
        credit_limit=_d("50000.00"),
        purchase_apr=_d("0.1825"),
        notes="hardship (illness)",
    ),
    Persona(
        ref="P6",
        full_name="王芳",
        phone_e164="+8613700137006",
        date_of_birth=date(1982, 12, 5),
        card_last4="8845",
        card_brand="UnionPay",
        currency="CNY",
        language=Language.ZH,
        time_zone="Asia/Shanghai",
        days_past_due=120,
        balance=_d("65000.00"),
        minimum_due=_d("26000.00"),
        past_due_amount=_d("26000.00"),
        credit_limit=_d("70000.00"),
        purchase_apr=_d("0.1825"),
        notes="non-performing",
    ),
    Persona(
        ref="P7",
        full_name="David Chen",
        phone_e164="+16465550107",
        date_of_birth=date(1975, 6, 18),
        card_last4="3390",
        card_brand="Mastercard",
        currency="USD",
        language=Language.EN,
        time_zone="America/New_York",
        days_past_due=20,
        balance=_d("1900.00"),
        minimum_due=_d("57.00"),
        past_due_amount=_d("57.00"),
        credit_limit=_d("3000.00"),
        purchase_apr=_d("0.2299"),
        notes="has opted out of SMS",
    ),
    Persona(
        ref="P8",
        full_name="刘洋",
        phone_e164="+19175550108",
        date_of_birth=date(1995, 3, 8),
        card_last4="2268",
        card_brand="Visa",
        currency="USD",
        language=Language.ZH,
        time_zone="America/New_York",
        days_past_due=8,
        balance=_d("2050.00"),
        minimum_due=_d("61.50"),
        past_due_amount=_d("61.50"),
        credit_limit=_d("4000.00"),
        purchase_apr=_d("0.1999"),
        notes="Chinese speaker with a US number",
    ),
)

PERSONA_REFS: tuple[str, ...] = tuple(p.ref for p in PERSONAS)


def persona(ref: str) -> Persona:
    """The persona with handle `ref` ("P1"…"P8").

    Raises:
        KeyError: if there is no such persona.
    """
    for candidate in PERSONAS:
        if candidate.ref == ref:
            return candidate
    raise KeyError(ref)


# --- realising the personas as rows ------------------------------------------------


def add_months(day: date, months: int) -> date:
    """`day` moved by whole calendar months, clamped to the month's last day."""
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    next_month_first = date(year + (month == 12), month % 12 + 1, 1)
    last_day = (next_month_first - timedelta(days=1)).day
    return date(year, month, min(day.day, last_day))


def _at_noon(day: date) -> datetime:
    return datetime.combine(day, time(12, 0), tzinfo=timezone.utc)


def add_personas(session: Session, today: date, now: datetime) -> list[Account]:
    """Add every persona's cardholder, account, card and statement, plus their story.

    Flushes but does not commit: the caller owns the transaction, so a failure
    anywhere in seeding leaves no half-built persona behind.
    """
    accounts = []
    for p in PERSONAS:
        account, card = _add_persona(session, p, today, now)
        story = _STORIES.get(p.ref)
        if story is not None:
            story(session, account, card, today, now)
        accounts.append(account)
    session.flush()
    return accounts


def _add_persona(session: Session, p: Persona, today: date, now: datetime) -> tuple[Account, Card]:
    due = p.payment_due_date(today)
    holder = Cardholder(
        external_ref=p.ref,
        full_name=p.full_name,
        date_of_birth=p.date_of_birth,
        phone_e164=p.phone_e164,
        preferred_language=p.language,
        created_at=now,
    )
    account = Account(
        cardholder=holder,
        jurisdiction=p.jurisdiction,
        currency=p.currency,
        time_zone=p.time_zone,
        credit_limit=p.credit_limit,
        current_balance=p.balance,
        past_due_amount=p.past_due_amount,
        minimum_due=p.minimum_due,
        payment_due_date=due,
        days_past_due=p.days_past_due,
        bucket=p.bucket,
        purchase_apr=p.purchase_apr,
        notes=p.notes,
        created_at=now,
        updated_at=now,
    )
    card = Card(account=account, last4=p.card_last4, brand=p.card_brand, created_at=now)
    statement = Statement(
        account=account,
        statement_date=due - timedelta(days=GRACE_DAYS),
        due_date=due,
        closing_balance=p.statement_balance if p.statement_balance is not None else p.balance,
        # For an overdue account the statement asked for one cycle's minimum;
        # the account's minimum_due has since grown by the missed cycles.
        minimum_due=_cycle_minimum(p),
        installment_eligible=p.statement_installment_eligible,
        created_at=now,
    )
    session.add_all([holder, account, card, statement])
    session.flush()
    return account, card


def _cycle_minimum(p: Persona) -> Decimal:
    if p.days_past_due == 0:
        return p.minimum_due
    missed_cycles = (p.days_past_due + 29) // 30
    return (p.past_due_amount / missed_cycles).quantize(Decimal("0.01"))


def _emily_purchases_and_plan(
    session: Session, account: Account, card: Card, today: date, now: datetime
) -> None:
    """P1: ordinary spending, one 1,200.00 eligible purchase, one plan 3 of 6 paid."""

    def purchase(days_ago: int, merchant: str, amount: str, eligible: bool = False) -> Transaction:
        txn = Transaction(
            account_id=account.id,
            card_id=card.id,
            kind=TransactionKind.PURCHASE,
            posted_on=today - timedelta(days=days_ago),
            merchant=merchant,
            amount=Decimal(amount),
            installment_eligible=eligible,
            created_at=now,
        )
        session.add(txn)
        return txn

    purchase(20, "Best Buy #1123 San Francisco", "1200.00", eligible=True)
    purchase(18, "Whole Foods Market", "86.40")
    purchase(16, "Shell Oil 5732", "52.10")
    purchase(12, "Netflix.com", "15.49")
    purchase(9, "Blue Bottle Coffee", "7.25")

    # The plan converted an earlier purchase (no longer eligible: it is in a
    # plan). Three of six instalments are paid; the fourth is due with this
    # statement. Each due date is counted from this statement's, so month-end
    # clamping (31st → 30th → 28th) never drifts it.
    next_due = today + timedelta(days=DAYS_UNTIL_DUE)
    paid = 3
    converted_on = add_months(next_due, -(paid + 1))
    converted = purchase((today - converted_on).days, "Delta Air Lines", "900.00")
    session.flush()
    principal, tenor, monthly_fee_rate = Decimal("900.00"), 6, Decimal("0.006")
    monthly_fee = (principal * monthly_fee_rate).quantize(Decimal("0.01"))
    plan = InstallmentPlan(
        account_id=account.id,
        source=PlanSource.PURCHASE,
        source_transaction_id=converted.id,
        principal=principal,
        tenor_months=tenor,
        monthly_fee_rate=monthly_fee_rate,
        total_fee=monthly_fee * tenor,
        # Nominal APR of 155.40 a month for 900.00 over 6 months (12 × monthly IRR).
        annual_rate=Decimal("0.122394"),
        status=PlanStatus.ACTIVE,
        policy_version=SEED_POLICY_VERSION,
        created_by=SEED_ACTOR,
        created_at=_at_noon(converted.posted_on + timedelta(days=2)),
    )
    session.add(plan)
    session.flush()
    converted.installment_plan_id = plan.id
    part = (principal / tenor).quantize(Decimal("0.01"))
    for sequence in range(1, tenor + 1):
        due = add_months(next_due, sequence - (paid + 1))
        session.add(
            InstallmentScheduleItem(
                plan_id=plan.id,
                sequence=sequence,
                due_date=due,
                principal_part=part,
                fee_part=monthly_fee,
                amount=part + monthly_fee,
                paid_at=_at_noon(due - timedelta(days=3)) if sequence <= paid else None,
            )
        )


def _michael_late_fee(
    session: Session, account: Account, card: Card, today: date, now: datetime
) -> None:
    """P2: the late fee charged the day after the missed due date, not waived."""
    session.add(
        Fee(
            account_id=account.id,
            kind=FeeKind.LATE,
            amount=Decimal("29.00"),
            assessed_on=today - timedelta(days=account.days_past_due - 1),
            created_at=now,
        )
    )


def _david_sms_opt_out(
    session: Session, account: Account, card: Card, today: date, now: datetime
) -> None:
    """P7: replied STOP to a text a month ago; SMS stays silent until he opts back in."""
    session.add(
        Consent(
            cardholder_id=account.cardholder_id,
            channel=Channel.SMS,
            status=ConsentStatus.OPTED_OUT,
            source="sms_keyword",
            keyword="STOP",
            changed_at=_at_noon(today - timedelta(days=30)),
        )
    )


_Story = Callable[[Session, Account, Card, date, datetime], None]

_STORIES: dict[str, _Story] = {
    "P1": _emily_purchases_and_plan,
    "P2": _michael_late_fee,
    "P7": _david_sms_opt_out,
}
