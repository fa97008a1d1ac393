"""`POST /twilio/sms`: signatures, retries, keywords, opt-outs, language, formatting.

The real gateway app on a seeded database; Rasa and Twilio's REST API are
fakes on loopback, so every request is real HTTP.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.channels.sms_format import MAX_SEGMENTS, segment_count
from bot.db.models import (
    AuditLog,
    Cardholder,
    Consent,
    ContactLog,
    Conversation,
    InboxMessage,
    OutboxMessage,
)
from bot.domain.enums import (
    Channel,
    ConsentStatus,
    ContactOutcome,
    ConversationOwner,
    InboxStatus,
    Language,
)
from bot.gateway.app import RETRY_WORKER
from tests.integration.twilio_support import (
    CHINESE_STRANGER,
    DAVID,
    EMILY,
    LIU_YANG,
    STRANGER,
    ZHANG_WEI,
    ClientFactory,
    Harness,
    conversation,
    messages_of,
    rows,
    running_harness,
)
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER, PUBLIC_BASE_URL, sign

# The SDK's aiohttp calls use arguments aiohttp 3.14 deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

STOPPED_EN = "Harbor Bank: You're unsubscribed and will get no more text messages from us."
STOPPED_ZH = "港湾银行：您已成功退订，我们将不再向您发送短信。"


async def sms_consent(bot: Harness, phone: str) -> ConsentStatus | None:
    async with bot.sessions() as session:
        status = await session.scalar(
            select(Consent.status)
            .join(Cardholder, Cardholder.id == Consent.cardholder_id)
            .where(Cardholder.phone_e164 == phone, Consent.channel == Channel.SMS)
        )
        return status


def form(body: str, sender: str = EMILY, sid: str = "SM" + "a" * 32) -> dict[str, str]:
    return {
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "To": FROM_NUMBER,
        "Body": body,
    }


# --- the happy path ---------------------------------------------------------------


async def test_a_text_is_answered_with_numbered_options(bot: Harness) -> None:
    replies = await bot.sms("How much do I owe?")

    assert replies == ["You said: How much do I owe?\nReply with a number:\n1) Yes"]
    assert bot.rasa.messages() == ["How much do I owe?"]
    assert bot.rasa.metadata[0] == {
        "channel": "sms",
        "language": "en",
        "inbox_id": bot.rasa.metadata[0]["inbox_id"],
    }
    [row] = await rows(bot.sessions, InboxMessage)
    assert (row.channel, row.status, row.provider_message_id) == (
        Channel.SMS,
        InboxStatus.PROCESSED,
        "SM" + "1".zfill(32),
    )
    found = await conversation(bot.sessions, "sms:14155550101")
    assert (found.channel, found.address, found.language) == (Channel.SMS, EMILY, Language.EN)


async def test_the_number_answers_the_last_options(bot: Harness) -> None:
    await bot.sms("hello there")
    await bot.sms(" 1 ")
    await bot.sms("yes")  # the option's title picks it too
    await bot.sms("2")  # only one option: not a pick, goes through as typed

    assert bot.rasa.messages() == ["hello there", "/affirm", "/affirm", "2"]


async def test_options_are_forgotten_after_someone_else_speaks(bot: Harness) -> None:
    await bot.sms("hello there")
    bot.rasa.mode = "error"
    await bot.sms("something")  # a "saved, will reply" notice is now the last word
    bot.rasa.mode = "ok"
    async with bot.sessions() as session:
        for row in (await session.scalars(select(InboxMessage))).all():
            row.status = InboxStatus.PROCESSED  # as if replayed
        await session.commit()

    await bot.sms("1")
    assert bot.rasa.messages()[-1] == "1"


async def test_account_language_wins_for_a_known_number(bot: Harness) -> None:
    # P8 is a Chinese speaker with a US number: English text, Chinese answer.
    replies = await bot.sms("hello there", sender=LIU_YANG)
    assert replies == ["收到:hello there\n请回复数字选择：\n1) 是"]
    assert bot.rasa.metadata[0]["language"] == "zh"


@pytest.mark.parametrize(
    ("sender", "text", "expected"),
    [
        (STRANGER, "what do I owe", "You said: what do I owe"),
        (STRANGER, "我还欠多少钱", "收到:我还欠多少钱"),
        (CHINESE_STRANGER, "123", "收到:123"),  # no evidence: the country decides
        (STRANGER, "👍🙏", "You said: 👍🙏"),
    ],
)
async def test_unknown_numbers_get_the_language_of_their_text(
    bot: Harness, sender: str, text: str, expected: str
) -> None:
    [reply] = await bot.sms(text, sender=sender)
    assert reply.startswith(expected)


async def test_a_card_number_is_masked_before_it_is_stored(bot: Harness) -> None:
    await bot.sms("my card is 4111 1111 1111 1111")
    [row] = await rows(bot.sessions, InboxMessage)
    assert "4111 1111" not in row.text
    assert row.text == "my card is •••• 1111"
    assert bot.rasa.messages() == ["my card is •••• 1111"]


# --- signatures -------------------------------------------------------------------


async def test_missing_signature_is_403_and_nothing_is_saved(bot: Harness) -> None:
    response = await bot.post("/twilio/sms", form("hello"), signature=None)
    assert response.status == 403
    assert await rows(bot.sessions, InboxMessage) == []
    assert bot.rasa.events == []


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(sign(PUBLIC_BASE_URL + "/twilio/sms", form("hello"), "wrong-token"), id="key"),
        pytest.param(sign(PUBLIC_BASE_URL + "/twilio/voice", form("hello")), id="other-path"),
        pytest.param(sign("https://evil.example/twilio/sms", form("hello")), id="other-host"),
        pytest.param(sign(PUBLIC_BASE_URL + "/twilio/sms", form("hell0")), id="tampered"),
        pytest.param("garbage", id="garbage"),
    ],
)
async def test_invalid_signature_is_403_and_nothing_is_saved(bot: Harness, signature: str) -> None:
    response = await bot.post("/twilio/sms", form("hello"), signature=signature)
    assert response.status == 403
    assert await rows(bot.sessions, InboxMessage) == []
    assert bot.rasa.events == []


async def test_the_signature_may_name_the_default_port(bot: Harness) -> None:
    params = form("hello there")
    signature = sign("https://bot.example.com:443/twilio/sms", params)
    response = await bot.post("/twilio/sms", params, signature=signature)
    assert response.status == 200


async def test_without_a_public_url_the_signature_covers_the_address_called(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(aiohttp_client, clean_db, public_base_url=None) as harness:
        params = form("hello there")
        server = harness.client.server
        local = sign(f"http://{server.host}:{server.port}/twilio/sms", params)
        assert (await harness.post("/twilio/sms", params, signature=local)).status == 200
        public = sign(PUBLIC_BASE_URL + "/twilio/sms", params)
        assert (await harness.post("/twilio/sms", params, signature=public)).status == 403


async def test_without_an_auth_token_every_webhook_is_refused(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(aiohttp_client, clean_db, twilio_auth_token="") as harness:
        params = form("hello")
        for path in ("/twilio/sms", "/twilio/voice", "/twilio/status"):
            forged = sign(PUBLIC_BASE_URL + path, params, token="")
            response = await harness.post(path, params, signature=forged)
            assert response.status == 403, path
        assert harness.rasa.events == []


# --- Twilio retries -----------------------------------------------------------------


async def test_a_repeated_message_sid_runs_the_dialogue_once(bot: Harness) -> None:
    first = await bot.post("/twilio/sms", form("hello there"))
    second = await bot.post("/twilio/sms", form("hello there"))

    assert first.status == second.status == 200
    assert await first.text() == await second.text()
    assert messages_of(await second.text())[0].startswith("You said: hello there")
    assert bot.rasa.messages() == ["hello there"]
    assert len(await rows(bot.sessions, InboxMessage)) == 1


async def test_a_repeated_stop_confirms_once_and_identically(bot: Harness) -> None:
    first = await bot.post("/twilio/sms", form("STOP"))
    second = await bot.post("/twilio/sms", form("STOP"))
    assert await first.text() == await second.text()
    assert messages_of(await first.text())[0].startswith(STOPPED_EN)


# --- keywords -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sender", "body", "confirmation"),
    [
        (EMILY, "STOP", STOPPED_EN),
        (EMILY, "  stop! ", STOPPED_EN),
        (EMILY, "Unsubscribe", STOPPED_EN),
        (EMILY, "ＳＴＯＰ", STOPPED_EN),
        (EMILY, "opt-out", STOPPED_EN),
        (ZHANG_WEI, "退订", STOPPED_ZH),
        (ZHANG_WEI, "TD", STOPPED_ZH),
        (ZHANG_WEI, "取消。", STOPPED_ZH),
        (ZHANG_WEI, "STOP", STOPPED_ZH),  # the account's language
        (STRANGER, "退订", STOPPED_ZH),
        (STRANGER, "quit", STOPPED_EN),
    ],
)
async def test_opt_out_words_confirm_once_then_silence(
    bot: Harness, sender: str, body: str, confirmation: str
) -> None:
    [reply] = await bot.sms(body, sender=sender)
    assert reply.startswith(confirmation)
    assert bot.rasa.events == []

    assert await bot.sms("what is my balance", sender=sender) == []
    assert await bot.sms("STOP", sender=sender) == []  # no second confirmation
    assert bot.rasa.events == []
    log = await rows(bot.sessions, ContactLog)
    assert [(c.outcome, c.reason) for c in log] == [(ContactOutcome.SUPPRESSED, "opted_out")]
    if sender != STRANGER:
        assert await sms_consent(bot, sender) is ConsentStatus.OPTED_OUT
    else:
        actions = [a.action for a in await rows(bot.sessions, AuditLog)]
        assert actions == ["phone_opted_out_sms"]


async def test_natural_language_opt_out_is_left_to_the_dialogue(bot: Harness) -> None:
    await bot.sms("please stop texting me")
    assert bot.rasa.messages() == ["please stop texting me"]


async def test_nothing_is_sent_to_an_opted_out_number(bot: Harness) -> None:
    assert await sms_consent(bot, DAVID) is ConsentStatus.OPTED_OUT  # the demo seed
    assert await bot.sms("what's my balance?", sender=DAVID) == []
    assert await bot.sms("1", sender=DAVID) == []
    assert bot.rasa.events == []
    assert bot.api.messages == []
    # Kept all the same: the inbox is the transcript.
    assert [r.text for r in await rows(bot.sessions, InboxMessage)] == ["what's my balance?", "1"]


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
async def test_start_resubscribes_an_opted_out_number(bot: Harness, word: str) -> None:
    [reply] = await bot.sms(word, sender=DAVID)
    assert reply.startswith("Harbor Bank: You're subscribed to text messages again.")
    assert await sms_consent(bot, DAVID) is ConsentStatus.OPTED_IN
    assert bot.rasa.events == []

    [answer] = await bot.sms("what's my balance?", sender=DAVID)
    assert answer.startswith("You said: what's my balance?")


async def test_yes_from_a_subscribed_number_is_an_answer_not_a_keyword(bot: Harness) -> None:
    await bot.sms("yes")
    assert bot.rasa.messages() == ["yes"]
    assert await sms_consent(bot, EMILY) is None


async def test_start_after_stop_round_trip_for_an_unknown_number(bot: Harness) -> None:
    await bot.sms("STOP", sender=STRANGER)
    assert await bot.sms("hello there", sender=STRANGER) == []
    [reply] = await bot.sms("start", sender=STRANGER)
    assert reply.startswith("Harbor Bank: You're subscribed")
    [answer] = await bot.sms("hello there", sender=STRANGER)
    assert answer.startswith("You said: hello there")


@pytest.mark.parametrize(
    ("sender", "body", "expected"),
    [
        (EMILY, "HELP", "Harbor Bank card services:"),
        (EMILY, "info", "Harbor Bank card services:"),
        (ZHANG_WEI, "帮助", "港湾银行信用卡服务："),
    ],
)
async def test_help_is_answered_without_the_dialogue(
    bot: Harness, sender: str, body: str, expected: str
) -> None:
    [reply] = await bot.sms(body, sender=sender)
    assert reply.startswith(expected)
    assert "STOP" in reply or "退订" in reply
    assert bot.rasa.events == []


async def test_help_is_answered_even_after_an_opt_out(bot: Harness) -> None:
    [reply] = await bot.sms("HELP", sender=DAVID)
    assert "reply START to resubscribe" in reply
    assert await sms_consent(bot, DAVID) is ConsentStatus.OPTED_OUT


@pytest.mark.parametrize(
    ("opt_out_type", "body", "status"),
    [
        ("STOP", "arret", ConsentStatus.OPTED_OUT),  # a custom keyword Twilio matched
        ("START", "go on", ConsentStatus.OPTED_IN),
    ],
)
async def test_twilio_opt_out_type_is_honoured_and_twilio_confirms(
    bot: Harness, opt_out_type: str, body: str, status: ConsentStatus
) -> None:
    sender = EMILY if status is ConsentStatus.OPTED_OUT else DAVID
    assert await bot.sms(body, sender=sender, OptOutType=opt_out_type) == []
    assert await sms_consent(bot, sender) is status
    assert bot.rasa.events == []
    consent = [c for c in await rows(bot.sessions, Consent) if c.channel is Channel.SMS]
    assert any(c.source == "sms_keyword" for c in consent)


async def test_help_opt_out_type_is_left_to_twilio(bot: Harness) -> None:
    assert await bot.sms("aide", OptOutType="HELP") == []
    assert bot.rasa.events == []


# --- long texts and odd bodies --------------------------------------------------------


async def test_a_long_reply_is_split_at_sentences(bot: Harness) -> None:
    sentence = "Your plan has three payments left and the next one is due soon. "
    text = (sentence * 12).strip()
    bot.rasa.scripted["tell me everything"] = [{"text": text}]

    replies = await bot.sms("tell me everything")

    assert len(replies) > 1
    assert all(segment_count(part) <= MAX_SEGMENTS for part in replies)
    assert all(part.endswith("soon.") for part in replies)
    assert " ".join(replies) == text


async def test_a_long_chinese_reply_is_split_too(bot: Harness) -> None:
    text = "您的分期还剩三期，下一期即将到期。" * 20
    bot.rasa.scripted["我的分期"] = [{"text": text}]
    replies = await bot.sms("我的分期", sender=ZHANG_WEI)
    assert len(replies) > 1
    assert all(segment_count(part) <= MAX_SEGMENTS for part in replies)
    assert all(part.endswith("。") for part in replies)
    assert "".join(replies) == text


async def test_a_10k_character_body_gets_a_polite_answer(bot: Harness) -> None:
    [reply] = await bot.sms("x" * 10_000)
    assert reply.startswith("Sorry, that message is too long")
    assert bot.rasa.events == []
    [row] = await rows(bot.sessions, InboxMessage)
    assert len(row.text) == 2000


async def test_a_10k_chinese_body_gets_a_chinese_answer(bot: Harness) -> None:
    [reply] = await bot.sms("好" * 10_000, sender=STRANGER)
    assert reply.startswith("抱歉，您的消息太长了")


async def test_an_empty_body_asks_for_text(bot: Harness) -> None:
    [reply] = await bot.sms("", NumMedia="1")
    assert reply == "Sorry, I can only read text. Please type your message."
    assert bot.rasa.events == []


async def test_control_characters_never_reach_the_twiml(bot: Harness) -> None:
    [reply] = await bot.sms("hi\x07 there\x00")
    assert reply.startswith("You said: hi there")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({"Body": "hi", "MessageSid": "SM1"}, "From", id="no-from"),
        pytest.param({"From": "anonymous", "Body": "hi", "MessageSid": "SM1"}, "From", id="anon"),
        pytest.param({"From": EMILY, "Body": "hi"}, "MessageSid", id="no-sid"),
        pytest.param({"From": EMILY, "Body": "hi", "MessageSid": "../x"}, "MessageSid", id="sid"),
    ],
)
async def test_malformed_webhooks_are_400_not_500(
    bot: Harness, params: dict[str, str], message: str
) -> None:
    response = await bot.post("/twilio/sms", params)
    assert response.status == 400
    assert message in await response.text()
    assert await rows(bot.sessions, InboxMessage) == []


async def test_a_body_that_is_not_a_form_is_400(bot: Harness) -> None:
    signature = sign(PUBLIC_BASE_URL + "/twilio/sms", {})
    response = await bot.client.post(
        "/twilio/sms",
        data=b'{"From": "+14155550101"}',
        headers={"Content-Type": "application/json", "X-Twilio-Signature": signature},
    )
    assert response.status == 400


async def test_garbage_bytes_in_a_form_are_not_a_500(bot: Harness) -> None:
    response = await bot.client.post(
        "/twilio/sms",
        data=b"\xff\xfe%%%&&==\x00",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": "whatever",
        },
    )
    assert response.status == 403


async def test_an_oversized_body_is_413(bot: Harness) -> None:
    params = form("x" * 300_000)
    response = await bot.post("/twilio/sms", params)
    assert response.status == 413
    assert await rows(bot.sessions, InboxMessage) == []


# --- Rasa down, handed off --------------------------------------------------------------


async def test_a_late_answer_is_texted_through_the_rest_api(bot: Harness) -> None:
    bot.rasa.mode = "error"
    [reply] = await bot.sms("when is my payment due")
    assert reply.startswith("Sorry, I'm having trouble right now.")
    bot.rasa.mode = "ok"

    assert await bot.client.app[RETRY_WORKER].run_once() == 1

    [sent] = bot.api.messages
    assert sent["To"] == EMILY
    assert sent["From"] == FROM_NUMBER
    assert sent["Body"] == "You said: when is my payment due\nReply with a number:\n1) Yes"
    assert sent["StatusCallback"] == PUBLIC_BASE_URL + "/twilio/status"
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.outcome, log.provider_sid, log.purpose) == (
        ContactOutcome.QUEUED,
        sent["Sid"],
        "reply",
    )


async def _owned_by(bot: Harness, owner: ConversationOwner) -> None:
    async with bot.sessions() as session:
        found = await session.get(Conversation, "sms:14155550101")
        assert found is not None
        found.owner = owner
        await session.commit()


async def test_a_text_while_waiting_for_a_person_gets_the_waiting_notice_once(
    bot: Harness,
) -> None:
    await bot.sms("hello there")
    await _owned_by(bot, ConversationOwner.WAITING)

    [reply] = await bot.sms("are you there?")
    again = await bot.sms("hello??")

    assert reply.startswith("You're waiting for a member of our team")
    assert again == []  # an empty <Response/>: no second notice
    # Rasa's tracker is paused and only logs the texts (a whole transcript).
    assert bot.rasa.messages() == ["hello there", "are you there?", "hello??"]
    assert "sms:14155550101" in bot.rasa.paused
    outbox = await rows(bot.sessions, OutboxMessage)
    assert outbox[-1].author == "system"


async def test_a_text_to_an_agent_is_left_to_the_agent(bot: Harness) -> None:
    await bot.sms("hello there")
    await _owned_by(bot, ConversationOwner.AGENT)

    assert await bot.sms("are you there?") == []
    assert bot.rasa.messages() == ["hello there", "are you there?"]


# --- a reply to a reminder --------------------------------------------------------------


async def _sent_reminder(bot: Harness, phone: str, job_ref: str) -> int:
    """A reminder the scheduler sent to `phone` an hour ago."""
    from datetime import timedelta

    from bot.channels.inbound import sms_conversation_id
    from bot.db.models import Account, ReminderJob
    from bot.db.types import utcnow
    from bot.domain.enums import ReminderKind, ReminderStatus

    now = utcnow()
    async with bot.sessions() as session, session.begin():
        account_id = await session.scalar(
            select(Account.id).join(Cardholder).where(Cardholder.phone_e164 == phone)
        )
        assert account_id is not None
        job = ReminderJob(
            account_id=account_id, kind=ReminderKind.OVERDUE, channel=Channel.SMS,
            due_on=now.date(), reference=job_ref, not_before=now - timedelta(hours=2),
            not_after=now + timedelta(hours=8), status=ReminderStatus.SENT,
            sent_at=now - timedelta(hours=1), conversation_id=sms_conversation_id(phone),
        )  # fmt: skip
        session.add(job)
    return job.id


async def test_a_reply_to_a_reminder_reaches_rasa_with_the_reminder_once(bot: Harness) -> None:
    await _sent_reminder(bot, LIU_YANG, "reply-test")
    await bot.sms("我下周五还两千", sender=LIU_YANG)  # the first text of this conversation
    first = bot.rasa.metadata[-1]
    assert first["reminder"]["reminder_kind"] == "overdue"  # read by action_session_start
    await bot.sms("好的", sender=LIU_YANG)
    assert "reminder" not in bot.rasa.metadata[-1]  # passed on once only
    intents = [v for kind, _, v in bot.rasa.events if kind == "intent"]
    assert intents == []  # a new conversation gets it in the metadata, not as an intent


async def test_a_reminder_to_a_known_conversation_is_passed_as_an_intent(bot: Harness) -> None:
    await bot.sms("hello", sender=EMILY)  # Rasa knows this conversation now
    await _sent_reminder(bot, EMILY, "known-conversation")
    await bot.sms("I'll pay Friday", sender=EMILY)
    intents = [v for kind, _, v in bot.rasa.events if kind == "intent"]
    assert len(intents) == 1 and intents[0].startswith("EXTERNAL_reminder:")
    assert "reminder_kind=overdue" in intents[0]
    # The intent came before the text it explains.
    kinds = [kind for kind, sender, _ in bot.rasa.events if sender.endswith("14155550101")]
    assert kinds[-2:] == ["intent", "message"]
