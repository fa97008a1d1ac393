"""The gateway's background upkeep marks broken promises on a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import PromiseToPay
from bot.domain.enums import Channel, PromiseStatus
from bot.gateway.housekeeping import Housekeeping
from bot.settings import Settings
from tests.support import SECRET, account_id_of


async def test_a_promise_past_its_date_without_payment_is_marked_broken(
    own_sessions: async_sessionmaker[AsyncSession], fresh_seeded_url: str
) -> None:
    account_id = await account_id_of(own_sessions, "P2")
    now = datetime.now(timezone.utc)
    async with own_sessions() as session, session.begin():
        late = PromiseToPay(
            account_id=account_id, amount=Decimal("200.00"),
            promised_date=(now - timedelta(days=3)).date(), status=PromiseStatus.OPEN,
            channel=Channel.SMS, policy_version="test", created_at=now - timedelta(days=8),
        )  # fmt: skip
        upcoming = PromiseToPay(
            account_id=account_id, amount=Decimal("200.00"),
            promised_date=(now + timedelta(days=3)).date(), status=PromiseStatus.OPEN,
            channel=Channel.SMS, policy_version="test", created_at=now,
        )  # fmt: skip
        session.add_all([late, upcoming])
    settings = Settings(
        _env_file=None, database_url=fresh_seeded_url, session_secret=SecretStr(SECRET)
    )
    keeper = Housekeeping(settings, own_sessions, interval_seconds=3600)
    result = await keeper.run_once()
    assert result.promise_ids == (late.id,)
    async with own_sessions() as session:
        assert (await session.get(PromiseToPay, late.id)).status is PromiseStatus.BROKEN  # type: ignore[union-attr]
        assert (await session.get(PromiseToPay, upcoming.id)).status is PromiseStatus.OPEN  # type: ignore[union-attr]
    assert (await keeper.run_once()).promise_ids == ()  # a second pass changes nothing
