"""`POST /twilio/voice` and its Gather action: calls driven turn by turn.

Each test follows the `action` URL of the TwiML it got back, as Twilio does,
posting `SpeechResult` or `Digits`; Rasa and Twilio's REST API are fakes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest

from bot.db.models import ContactLog, Conversation, InboxMessage
from bot.domain.enums import (
    Channel,
    ContactDirection,
    ContactOutcome,
    ConversationOwner,
    Language,
)
from bot.gateway.twilio_voice import VOICE_CHANNEL
from tests.integration.twilio_support import (
    CHINESE_STRANGER,
    DAVID,
    EMILY,
    STRANGER,
    ZHANG_WEI,
    ClientFactory,
    Harness,
    conversation,
    rows,
    running_harness,
    said,
    twiml,
)
from tests.twilio_fake import ACCOUNT_SID, FROM_NUMBER, PUBLIC_BASE_URL, sign

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:twilio\\..*")

CALL = "CA" + "0" * 32
PAY_LINK = "https://bot.example.com/pay/eyJhIjoxfQ.c2ln"


def gather_of(element: ET.Element) -> ET.Element:
    gather = element.find("Gather")
    assert gather is not None, ET.tostring(element, encoding="unicode")
    return gather


def gathered_says(element: ET.Element) -> list[ET.Element]:
    return list(gather_of(element).iter("Say"))


# --- the first TwiML ------------------------------------------------------------------


async def test_an_english_call_opens_with_a_gather_in_english(bot: Harness) -> None:
    opening = await bot.call(CALL)

    gather = gather_of(opening)
    assert gather.attrib == {
        "input": "speech dtmf",
        "action": "/twilio/voice/gather?turn=1&silence=0",
        "method": "POST",
        "language": "en-US",
        "speechTimeout": "auto",
        "timeout": "5",
        "bargeIn": "true",
        "actionOnEmptyResult": "true",
    }
    prompt, hint = gathered_says(opening)
    assert prompt.attrib == {"voice": "Polly.Joanna", "language": "en-US"}
    assert prompt.text == "You said: /greet. Press 1 for Yes."
    assert hint.attrib["voice"] == "Polly.Zhiyu"
    assert hint.text == "中文服务请按星号键。"
    redirect = opening.find("Redirect")
    assert redirect is not None and redirect.text == gather.attrib["action"]
    # The dialogue was greeted in the caller's language, once.
    assert bot.rasa.messages() == ["/greet"]
    assert bot.rasa.metadata[0]["channel"] == "voice"
    found = await conversation(bot.sessions, "voice:" + CALL)
    assert (found.channel, found.address, found.language) == (Channel.VOICE, EMILY, Language.EN)


@pytest.mark.parametrize("caller", [ZHANG_WEI, CHINESE_STRANGER])
async def test_a_chinese_call_uses_zh_cn_and_a_mandarin_voice(bot: Harness, caller: str) -> None:
    opening = await bot.call(CALL, caller)

    assert gather_of(opening).attrib["language"] == "zh-CN"
    prompt, hint = gathered_says(opening)
    assert prompt.attrib == {"voice": "Polly.Zhiyu", "language": "cmn-CN"}
    assert prompt.text == "收到:/greet。是，请按1。"
    assert hint.attrib["voice"] == "Polly.Joanna"
    assert hint.text == "For English, press star."
    assert bot.rasa.metadata[0]["language"] == "zh"


async def test_an_unknown_or_hidden_caller_is_served_in_english(bot: Harness) -> None:
    opening = await bot.call(CALL, "anonymous")
    assert gather_of(opening).attrib["language"] == "en-US"
    found = await conversation(bot.sessions, "voice:" + CALL)
    assert found.address is None


async def test_a_call_we_placed_is_about_the_number_we_called(bot: Harness) -> None:
    await bot.call(CALL, FROM_NUMBER, To=ZHANG_WEI, Direction="outbound-api")
    found = await conversation(bot.sessions, "voice:" + CALL)
    assert (found.address, found.language) == (ZHANG_WEI, Language.ZH)


async def test_an_inbound_call_is_in_the_contact_log(bot: Harness) -> None:
    await bot.call(CALL)
    [log] = await rows(bot.sessions, ContactLog)
    assert (log.channel, log.direction, log.outcome, log.provider_sid) == (
        Channel.VOICE,
        ContactDirection.INBOUND,
        ContactOutcome.ANSWERED,
        CALL,
    )
    assert log.account_id is not None
    assert log.conversation_id == "voice:" + CALL


# --- a call, turn by turn -----------------------------------------------------------------


async def test_speech_and_keyed_digits_drive_the_dialogue(bot: Harness) -> None:
    opening = await bot.call(CALL)
    second = await bot.answer(opening, CALL, SpeechResult="What do I owe?", Confidence="0.9")
    assert gather_of(second).attrib["action"] == "/twilio/voice/gather?turn=2&silence=0"
    assert said(second).startswith("You said: What do I owe?")
    # A date of birth and the last four, keyed: passed on as text.
    bot.rasa.scripted["19880412"] = [{"text": "And the last four digits of your card?"}]
    third = await bot.answer(second, CALL, Digits="19880412")
    assert said(third) == "And the last four digits of your card?"
    fourth = await bot.answer(third, CALL, Digits="4821")
    # A menu choice keyed: mapped to the button's payload.
    fifth = await bot.answer(fourth, CALL, Digits="1")
    assert gather_of(fifth).attrib["action"] == "/twilio/voice/gather?turn=5&silence=0"

    assert bot.rasa.messages() == ["/greet", "What do I owe?", "19880412", "4821", "/affirm"]
    turns = [r.provider_message_id for r in await rows(bot.sessions, InboxMessage)]
    assert turns == [f"{CALL}:{n}" for n in range(5)]


async def test_saying_the_option_picks_it(bot: Harness) -> None:
    opening = await bot.call(CALL)
    await bot.answer(opening, CALL, SpeechResult="Yes.")
    assert bot.rasa.messages() == ["/greet", "/affirm"]


async def test_a_card_number_is_never_stored_from_a_call(bot: Harness) -> None:
    opening = await bot.call(CALL)
    await bot.answer(opening, CALL, Digits="4111111111111111")
    assert bot.rasa.messages()[-1] == "•••• 1111"
    assert all("4111111111111111" not in r.text for r in await rows(bot.sessions, InboxMessage))


async def test_a_twilio_retry_of_a_turn_is_answered_from_the_inbox(bot: Harness) -> None:
    opening = await bot.call(CALL)
    params = {
        "CallSid": CALL,
        "AccountSid": ACCOUNT_SID,
        "From": EMILY,
        "To": FROM_NUMBER,
        "SpeechResult": "What do I owe?",
    }
    action = gather_of(opening).attrib["action"]
    first = await bot.post(action, params)
    second = await bot.post(action, params)
    assert await first.text() == await second.text()
    again = await bot.call(CALL)  # the call webhook retried
    assert said(again) == said(opening)
    assert bot.rasa.messages() == ["/greet", "What do I owe?"]


async def test_star_switches_the_call_to_the_other_language(bot: Harness) -> None:
    opening = await bot.call(CALL)
    switched = await bot.answer(opening, CALL, Digits="*")
    assert gather_of(switched).attrib["language"] == "zh-CN"
    assert gathered_says(switched)[0].text == "收到:/greet。是，请按1。"
    assert bot.rasa.slot_events("voice:" + CALL) == ["language=zh"]
    nxt = await bot.answer(switched, CALL, SpeechResult="我还欠多少钱")
    assert gather_of(nxt).attrib["language"] == "zh-CN"
    assert (await conversation(bot.sessions, "voice:" + CALL)).language is Language.ZH


# --- silence ----------------------------------------------------------------------------


async def test_silence_is_reprompted_then_the_call_ends_politely(bot: Harness) -> None:
    opening = await bot.call(CALL)
    reprompt = await bot.answer(opening, CALL)  # nothing said, nothing keyed

    assert gather_of(reprompt).attrib["action"] == "/twilio/voice/gather?turn=1&silence=1"
    assert said(reprompt) == (
        "Sorry, I didn't hear anything. Are you still there? You said: /greet. Press 1 for Yes."
    )
    goodbye = await bot.answer(reprompt, CALL, SpeechResult="  ")
    assert goodbye.find("Gather") is None
    assert said(goodbye).startswith("I haven't heard from you, so I'll end the call now.")
    assert [child.tag for child in goodbye] == ["Say", "Hangup"]
    assert bot.rasa.messages() == ["/greet"]


async def test_an_answer_after_a_silence_starts_the_count_again(bot: Harness) -> None:
    opening = await bot.call(CALL)
    reprompt = await bot.answer(opening, CALL)
    answered = await bot.answer(reprompt, CALL, SpeechResult="What do I owe?")
    assert gather_of(answered).attrib["action"] == "/twilio/voice/gather?turn=2&silence=0"
    reprompt = await bot.answer(answered, CALL)
    assert gather_of(reprompt).attrib["action"] == "/twilio/voice/gather?turn=2&silence=1"


async def test_chinese_silence_is_reprompted_in_chinese(bot: Harness) -> None:
    opening = await bot.call(CALL, ZHANG_WEI)
    reprompt = await bot.answer(opening, CALL, ZHANG_WEI)
    assert said(reprompt).startswith("抱歉，我没有听到您的声音。您还在吗？")
    goodbye = await bot.answer(reprompt, CALL, ZHANG_WEI)
    assert said(goodbye).startswith("由于没有听到您的回应")


# --- handoff ------------------------------------------------------------------------


def hands_off(bot: Harness) -> None:
    async def during_turn(sender: str, text: str) -> None:
        if text == "let me talk to a person":
            async with bot.sessions() as session:
                found = await session.get(Conversation, sender)
                assert found is not None
                found.owner = ConversationOwner.WAITING
                await session.commit()

    bot.rasa.during_turn = during_turn


async def test_a_handoff_puts_the_call_in_the_queue(bot: Harness) -> None:
    hands_off(bot)
    opening = await bot.call(CALL)
    transfer = await bot.answer(opening, CALL, SpeechResult="let me talk to a person")

    assert transfer.find("Gather") is None
    assert [child.tag for child in transfer] == ["Say", "Say", "Enqueue"]
    assert "Please hold while I connect you" in said(transfer)
    enqueue = transfer.find("Enqueue")
    assert enqueue is not None and enqueue.text == "cardholders"


async def test_a_handoff_dials_the_transfer_number_when_configured(
    aiohttp_client: ClientFactory, clean_db: str
) -> None:
    async with running_harness(
        aiohttp_client, clean_db, twilio_transfer_number="+18005550100"
    ) as harness:
        hands_off(harness)
        opening = await harness.call(CALL, ZHANG_WEI)
        transfer = await harness.answer(
            opening, CALL, ZHANG_WEI, SpeechResult="let me talk to a person"
        )
        dial = transfer.find("Dial")
        assert dial is not None and dial.text == "+18005550100"
        assert "请稍候，正在为您转接人工客服。" in said(transfer)


async def test_a_call_a_person_already_owns_is_transferred_without_chat_wording(
    bot: Harness,
) -> None:
    opening = await bot.call(CALL)
    async with bot.sessions() as session:
        found = await session.get(Conversation, "voice:" + CALL)
        assert found is not None
        found.owner = ConversationOwner.AGENT
        await session.commit()

    transfer = await bot.answer(opening, CALL, SpeechResult="hello?")

    assert said(transfer) == "Please hold while I connect you with a member of our team."
    assert transfer.find("Enqueue") is not None
    # Logged on the paused tracker (the transcript stays whole), never answered.
    assert bot.rasa.messages() == ["/greet", "hello?"]
    assert "voice:" + CALL in bot.rasa.paused


async def test_when_the_assistant_is_down_the_caller_goes_to_a_person(bot: Harness) -> None:
    opening = await bot.call(CALL)
    bot.rasa.mode = "error"
    transfer = await bot.answer(opening, CALL, SpeechResult="What do I owe?")

    assert said(transfer).startswith("Sorry, I'm having trouble right now.")
    assert transfer.find("Enqueue") is not None
    found = await conversation(bot.sessions, "voice:" + CALL)
    assert found.owner is ConversationOwner.WAITING
    assert found.handoff_reason == "assistant_unavailable"


# --- links go by SMS ---------------------------------------------------------------------


async def test_a_payment_link_is_texted_never_read_out(bot: Harness) -> None:
    bot.rasa.scripted["I want to pay"] = [
        {"text": f"You can pay securely here: {PAY_LINK} (the link works for 30 minutes). 💳"}
    ]
    opening = await bot.call(CALL)
    answer = await bot.answer(opening, CALL, SpeechResult="I want to pay")

    spoken = said(answer)
    assert "http" not in spoken and "💳" not in spoken
    assert spoken.startswith(
        "You can pay securely here (the link works for 30 minutes). "
        "I've sent you a secure link by text message."
    )
    [sms] = bot.api.messages
    assert sms["To"] == EMILY
    assert PAY_LINK in sms["Body"]
    assert sms["Body"].startswith("Harbor Bank: ")
    logged = [r for r in await rows(bot.sessions, ContactLog) if r.channel is Channel.SMS]
    assert [(r.purpose, r.provider_sid) for r in logged] == [("secure_link", sms["Sid"])]


async def test_no_link_is_texted_to_a_caller_who_opted_out_of_sms(bot: Harness) -> None:
    bot.rasa.scripted["I want to pay"] = [{"text": f"Pay here: {PAY_LINK}"}]
    opening = await bot.call(CALL, DAVID)
    answer = await bot.answer(opening, CALL, DAVID, SpeechResult="I want to pay")

    assert "opted out of text messages" in said(answer)
    assert bot.api.messages == []
    [suppressed] = [r for r in await rows(bot.sessions, ContactLog) if r.channel is Channel.SMS]
    assert suppressed.outcome is ContactOutcome.SUPPRESSED


async def test_when_twilio_cannot_text_the_link_the_caller_is_told(bot: Harness) -> None:
    bot.rasa.scripted["我要还款"] = [
        {"text": f"您可以通过这个安全链接还款：{PAY_LINK}（30分钟内有效）。"}
    ]
    bot.api.auth_token = "rotated"  # our credentials no longer work
    opening = await bot.call(CALL, ZHANG_WEI)
    answer = await bot.answer(opening, CALL, ZHANG_WEI, SpeechResult="我要还款")
    assert said(answer).startswith(
        "您可以通过这个安全链接还款（30分钟内有效）。抱歉，暂时无法通过短信发送安全链接。"
    )


# --- bad requests -----------------------------------------------------------------------


async def test_unsigned_voice_webhooks_are_403(bot: Harness) -> None:
    params = {"CallSid": CALL, "From": EMILY, "To": FROM_NUMBER}
    for path in ("/twilio/voice", "/twilio/voice/gather?turn=1&silence=0"):
        assert (await bot.post(path, params, signature=None)).status == 403
        other_turn = sign(PUBLIC_BASE_URL + path.replace("turn=1", "turn=2"), params)
        other_caller = sign(PUBLIC_BASE_URL + path, {**params, "From": STRANGER})
        for wrong in (other_turn, other_caller) if "turn" in path else (other_caller,):
            assert (await bot.post(path, params, signature=wrong)).status == 403
    assert bot.rasa.events == []


@pytest.mark.parametrize(
    "path",
    [
        "/twilio/voice/gather?turn=abc&silence=0",
        "/twilio/voice/gather?turn=1&silence=9",
        "/twilio/voice/gather?turn=-1",
    ],
)
async def test_a_tampered_action_url_is_400(bot: Harness, path: str) -> None:
    params = {"CallSid": CALL, "From": EMILY, "To": FROM_NUMBER, "SpeechResult": "hi"}
    assert (await bot.post(path, params)).status == 400


async def test_a_call_without_a_sid_is_400(bot: Harness) -> None:
    assert (await bot.post("/twilio/voice", {"From": EMILY})).status == 400


async def test_rasa_answering_garbage_is_an_outage_and_a_person_takes_the_call(
    bot: Harness,
) -> None:
    bot.rasa.mode = "garbage"
    opening = await bot.call(CALL)
    assert opening.find("Enqueue") is not None
    assert said(opening).startswith("Sorry, I'm having trouble right now.")


async def test_a_bug_still_ends_the_call_politely_in_both_languages(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("a bug, not an outage")

    monkeypatch.setattr(bot.client.app[VOICE_CHANNEL], "_turn", broken)
    response = await bot.post("/twilio/voice", {"CallSid": CALL, "From": EMILY})
    assert response.status == 200
    ending = twiml(await response.text())
    assert [child.tag for child in ending] == ["Say", "Say", "Hangup"]
    assert "Please call again later" in said(ending)
    assert "请稍后再拨" in said(ending)
