"""Outbound SMS and calls through the real Twilio SDK, and status callbacks.

Twilio's REST API is a fake on loopback (`tests/twilio_fake.py`) that checks
the account's Basic auth and records every form it is sent.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import unused_port
from pydantic import AnyHttpUrl

from bot.channels.outbound import OUTBOUND, Delivery
from bot.channels.sms_format import MAX_SEGMENTS, segment_count
from bot.db.models import Consent, ContactLog
from bot.domain.enums import Channel, ConsentStatus, ContactDirection, ContactOutcome
from tests.integration.twilio_support import (
    DAVID,
    EMILY,
    STRANGER,
    ClientFactory,
    Harness,
    rows,
    running_harness,
)
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER, PUBLIC_BASE_URL, Refusal

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")


async def status(bot: Harness, **params: str) -> int:
    response = await bot.post("/twilio/status", {"AccountSid": ACCOUNT_SID, **params})
    return response.status


# --- SMS ----------------------------------------------------------------------------


async def test_an_sms_goes_out_through_the_sdk_and_is_logged(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].send_sms(
        EMILY, "Harbor Bank: please get in touch with us.", purpose="reminder"
    )

    assert outcome.delivery is Delivery.SENT
    [sent] = bot.api.messages
    assert sent == {
        "To": EMILY,
        "From": FROM_NUMBER,
        "Body": "Harbor Bank: please get in touch with us.",
        "StatusCallback": PUBLIC_BASE_URL + "/twilio/status",
        "Sid": outcome.sids[0],
    }
    assert bot.api.unauthorised == 0
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.channel, log.direction, log.purpose, log.outcome, log.provider_sid) == (
        Channel.SMS,
        ContactDirection.OUTBOUND,
        "reminder",
        ContactOutcome.QUEUED,
        outcome.sids[0],
    )
    assert log.account_id is not None  # Emily's account


async def test_a_long_sms_goes_out_in_a_few_parts(bot: Harness) -> None:
    text = " ".join(f"Sentence number {n} of a long reminder." for n in range(40))
    outcome = await bot.client.app[OUTBOUND].send_sms(EMILY, text, purpose="reminder")
    assert len(outcome.sids) == len(bot.api.messages) > 1
    assert all(segment_count(m["Body"]) <= MAX_SEGMENTS for m in bot.api.messages)
    assert len(await rows(bot.sessions, ContactLog)) == len(outcome.sids)


async def test_nothing_is_sent_to_an_opted_out_number(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].send_sms(DAVID, "Hello", purpose="reminder")
    assert outcome.delivery is Delivery.SUPPRESSED
    assert bot.api.messages == []
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.outcome, log.reason) == (ContactOutcome.SUPPRESSED, "opted_out")


async def test_twilio_saying_unsubscribed_records_the_opt_out(bot: Harness) -> None:
    bot.api.refusals[EMILY] = Refusal(400, 21610, "Attempt to send to unsubscribed recipient")
    outcome = await bot.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")

    assert outcome.delivery is Delivery.FAILED
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.FAILED
    assert log.reason is not None and "unsubscribed" in log.reason
    [consent] = [c for c in await rows(bot.sessions, Consent) if c.source == "twilio_unsubscribed"]
    assert (consent.channel, consent.status) == (Channel.SMS, ConsentStatus.OPTED_OUT)
    bot.api.refusals.clear()
    again = await bot.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
    assert again.delivery is Delivery.SUPPRESSED


async def test_wrong_credentials_fail_without_an_exception(bot: Harness) -> None:
    bot.api.auth_token = "rotated"
    outcome = await bot.client.app[OUTBOUND].send_sms(STRANGER, "Hello", purpose="reminder")
    assert outcome.delivery is Delivery.FAILED
    assert bot.api.unauthorised == 1
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.FAILED


async def test_twilio_unreachable_fails_without_an_exception(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    closed = AnyHttpUrl(f"http://127.0.0.1:{unused_port()}")
    async with running_harness(aiohttp_client, clean_db, twilio_api_base=closed) as harness:
        outcome = await harness.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
        assert outcome.delivery is Delivery.FAILED
        assert outcome.reason is not None and "unreachable" in outcome.reason


async def test_without_twilio_credentials_nothing_is_attempted(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(aiohttp_client, clean_db, twilio_account_sid="") as harness:
        outcome = await harness.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
        assert outcome.delivery is Delivery.FAILED
        assert harness.api.messages == []


# --- calls ----------------------------------------------------------------------------


async def test_a_call_is_placed_with_the_voice_webhook_as_its_twiml(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].place_call(EMILY, purpose="reminder")
    assert outcome.delivery is Delivery.SENT
    [call] = bot.api.calls
    assert call["To"] == EMILY
    assert call["From"] == FROM_NUMBER
    assert call["Url"] == PUBLIC_BASE_URL + "/twilio/voice"
    assert call["StatusCallback"] == PUBLIC_BASE_URL + "/twilio/status"

    assert await status(bot, CallSid=call["Sid"], CallStatus="completed", AnsweredBy="human") == 200
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.channel, log.outcome) == (Channel.VOICE, ContactOutcome.ANSWERED)


async def test_a_call_that_reaches_voicemail_is_logged_as_such(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].place_call(EMILY, purpose="reminder")
    sid = outcome.sids[0]
    await status(bot, CallSid=sid, CallStatus="completed", AnsweredBy="machine_end_beep")
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.VOICEMAIL


async def test_an_unanswered_call(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].place_call(EMILY, purpose="reminder")
    await status(bot, CallSid=outcome.sids[0], CallStatus="no-answer")
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.NO_ANSWER


# --- status callbacks ---------------------------------------------------------------------


async def test_status_callbacks_move_the_contact_log_forward_only(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
    sid = outcome.sids[0]

    assert await status(bot, MessageSid=sid, MessageStatus="sent") == 200
    assert (await rows(bot.sessions, ContactLog))[0].outcome is ContactOutcome.SENT
    assert await status(bot, MessageSid=sid, MessageStatus="delivered") == 200
    assert await status(bot, MessageSid=sid, MessageStatus="sent") == 200  # late, out of order
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.DELIVERED


async def test_an_undelivered_message_records_twilio_error_code(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
    await status(bot, MessageSid=outcome.sids[0], MessageStatus="undelivered", ErrorCode="30003")
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.outcome, log.reason) == (ContactOutcome.FAILED, "twilio undelivered (error 30003)")


async def test_an_unknown_sid_is_acknowledged_and_ignored(bot: Harness) -> None:
    assert await status(bot, MessageSid="SM" + "f" * 32, MessageStatus="delivered") == 200
    assert await rows(bot.sessions, ContactLog) == []


async def test_status_callbacks_must_be_signed(bot: Harness) -> None:
    outcome = await bot.client.app[OUTBOUND].send_sms(EMILY, "Hello", purpose="reminder")
    params = {"MessageSid": outcome.sids[0], "MessageStatus": "delivered"}
    response = await bot.post("/twilio/status", params, signature=None)
    assert response.status == 403
    response = await bot.post("/twilio/status", params, signature="forged")
    assert response.status == 403
    [log] = await rows(bot.sessions, ContactLog)
    assert log.outcome is ContactOutcome.QUEUED


@pytest.mark.parametrize(
    "params",
    [{}, {"MessageSid": "SM1"}, {"MessageSid": "not a sid!", "MessageStatus": "sent"}],
)
async def test_a_malformed_status_callback_is_400(bot: Harness, params: dict[str, str]) -> None:
    assert await status(bot, **params) == 400
