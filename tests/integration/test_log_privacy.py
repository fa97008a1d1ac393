"""The structured logs carry ids, never who a cardholder is or what they said.

The real gateway (fake Rasa, fake Twilio REST API, seeded personas) is driven
through web chat, signed SMS webhooks, a phone call and the agent desk, with
the production JSON log pipeline (`LOG_FORMAT=json`) at DEBUG; every line it
wrote is then searched for the personas' phone numbers in any form, their
names, dates of birth and card digits, and the texts that were sent.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from bot.db.models import Agent
from bot.demo.personas import PERSONAS
from bot.desk.auth import hash_password
from bot.domain.enums import AgentRole
from bot.logging import QUIET_LOGGERS, configure_logging
from bot.services.conversations import request_handoff
from bot.settings import Settings
from tests.integration.twilio_support import (
    DAVID,
    EMILY,
    ZHANG_WEI,
    Client,
    ClientFactory,
    Harness,
    running_harness,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

PASSWORD = "correct horse battery staple"
CALL_SID = "CA" + "7" * 32

WEB_TEXTS = (
    "Hi, this is Michael Ortiz, my phone is +13125550102",
    "my number is 3125550102 and I was born 1979-11-03",
    "the card ends in 1937",
    "here is my card 4111 1111 1111 1111",
)
SMS_TEXTS = (
    "This is Emily Carter, born 1988-04-12, card ending 4821",
    "my lawyer will call you about this, Emily Carter",
)
OPTED_OUT_TEXT = "David Chen here, why the reminders?"
SPOKEN = "我是张伟 生日是1985-02-14"
AGENT_REPLY = "Emily Carter, I can see your card ending 4821 and will help."


def forbidden_strings() -> list[str]:
    """Everything personal the drive above puts in front of the gateway."""
    found: list[str] = []
    for persona in PERSONAS:
        e164 = persona.phone_e164
        digits = e164.lstrip("+")
        national = digits[1:] if e164.startswith("+1") else digits[2:]
        found += [e164, digits, national, persona.full_name, persona.date_of_birth.isoformat()]
    found += ["4111 1111 1111 1111", "4111111111111111", PASSWORD]
    found += [*WEB_TEXTS, *SMS_TEXTS, OPTED_OUT_TEXT, SPOKEN, AGENT_REPLY]
    return found


# Card last fours sent above, as whole numbers (not inside ids, times or durations).
LAST_FOURS = re.compile(r"(?<![0-9.])(?:1937|4821|6230)(?![0-9.])")


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """Everything logged while the test runs, as the production JSON pipeline writes it."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet = QUIET_LOGGERS
    saved_quiet = {name: logging.getLogger(name).level for name in quiet}
    configure_logging(
        Settings(
            _env_file=None,
            log_format="json",
            log_level="DEBUG",
            session_secret=SecretStr("privacy-test-secret-" + "x" * 20),
        )
    )
    # No logger may keep this pipeline after the test (other tests capture logs).
    structlog.configure(cache_logger_on_first_use=False)
    stream = io.StringIO()
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers, root.level = saved_handlers, saved_level
        for name, level in saved_quiet.items():
            logging.getLogger(name).setLevel(level)
        structlog.reset_defaults()


async def sign_in(harness: Harness, aiohttp_client: ClientFactory) -> tuple[Client, str]:
    """A desk agent's client, signed in, and its CSRF token."""
    async with harness.sessions() as session, session.begin():
        session.add(
            Agent(
                username="alice",
                display_name="Alice Wong",
                role=AgentRole.AGENT,
                password_hash=hash_password(PASSWORD),
                active=True,
            )
        )
    client = await aiohttp_client(harness.client.server)
    await client.get("/desk/login")
    token = next(c.value for c in client.session.cookie_jar if c.key == "desk_login_csrf")
    response = await client.post(
        "/desk/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert response.status == 303, await response.text()
    me = await (await client.get("/desk/api/me")).json()
    return client, me["csrf_token"]


async def drive_every_channel(bot: Harness, aiohttp_client: ClientFactory) -> None:
    # Web chat: a cardholder identifying themselves (and pasting a card number).
    for text in WEB_TEXTS:
        response = await bot.client.post(
            "/api/chat", json={"conversation_id": "web-privacy", "text": text}
        )
        assert response.status == 200
    await bot.client.get("/api/chat/web-privacy/messages?after=0")
    # SMS: a known number, an escalation (hands off), and an opted-out number.
    for text in SMS_TEXTS:
        await bot.sms(text, sender=EMILY)
    await bot.sms(OPTED_OUT_TEXT, sender=DAVID)
    await bot.sms("STOP", sender=ZHANG_WEI)
    # A phone call: speech and keyed digits.
    opening = await bot.call(CALL_SID, caller=ZHANG_WEI)
    await bot.answer(opening, CALL_SID, caller=ZHANG_WEI, SpeechResult=SPOKEN)
    # The desk: an agent takes the texting conversation and answers by SMS.
    async with bot.sessions() as session, session.begin():
        await request_handoff(session, "web-privacy", reason="request_human")
    client, csrf = await sign_in(bot, aiohttp_client)
    headers = {"X-CSRF-Token": csrf}
    sms_cid = "sms:" + EMILY.lstrip("+")
    taken = await client.post(f"/desk/api/conversations/{sms_cid}/take", headers=headers)
    assert taken.status == 200, await taken.text()
    await client.get(f"/desk/api/conversations/{sms_cid}")
    sent = await client.post(
        f"/desk/api/conversations/{sms_cid}/reply", json={"text": AGENT_REPLY}, headers=headers
    )
    assert sent.status == 200, await sent.text()
    assert AGENT_REPLY in bot.api.bodies_to(EMILY)


async def test_no_log_line_carries_personal_data(
    aiohttp_client: ClientFactory, clean_db: str, json_logs: io.StringIO
) -> None:
    async with running_harness(
        aiohttp_client, clean_db, desk_cookie_secure=False, desk_poll_seconds=0.2
    ) as bot:
        await drive_every_channel(bot, aiohttp_client)

    lines = [json.loads(line) for line in json_logs.getvalue().splitlines() if line.strip()]
    events = {line["event"] for line in lines}
    # The drive was logged (the check below is not vacuous) ...
    assert {"dialogue.received", "dialogue.escalated", "desk.replied"} <= events, events
    assert any(str(line.get("conversation_id", "")).startswith("sms:tel#") for line in lines)
    # ... and nothing personal was.
    leaks = []
    for line in lines:
        line.pop("timestamp", None)
        rendered = json.dumps(line, ensure_ascii=False)
        where = f"{line.get('logger')}: {rendered[:300]}"
        leaks += [f"{word!r} in {where}" for word in forbidden_strings() if word in rendered]
        if LAST_FOURS.search(rendered):
            leaks.append(f"a card's last four in {where}")
    assert leaks == [], "\n".join(leaks)
