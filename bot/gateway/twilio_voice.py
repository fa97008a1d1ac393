"""`POST /twilio/voice` and its `<Gather>` action: a phone call, turn by turn.

Each answer is TwiML with one `<Gather input="speech dtmf">` in the call's
language (en-US, or zh-CN with a Mandarin voice) whose `action` URL carries
the next turn number and how many silences in a row there have been, so the
gateway keeps no call state in memory and a Twilio retry of a turn
(`CallSid` + turn) is answered from the inbox without running the dialogue
again. The caller can talk over the prompt (barge-in), key digits (a date of
birth, the last four of a card, a menu choice, which is mapped back to the
button's payload), or press * to switch language. Links are never read out:
they go to the caller by SMS. When the dialogue hands the call to a person
(or cannot answer at all), the call is transferred with `<Enqueue>`, or
`<Dial>` when a transfer number is configured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.twiml.voice_response import VoiceResponse

from bot.channels import consent, texts
from bot.channels.buttons import answer_to_payload, options_from
from bot.channels.inbound import MAX_TEXT_CHARS, clean_text, mask_sensitive
from bot.channels.outbound import Delivery, Outbound
from bot.channels.voice_format import (
    GATHER_LANGUAGE,
    SAY_LANGUAGE,
    keyed_digits_as_text,
    links_in,
    spoken_reply,
)
from bot.db.models import ContactLog, Conversation, OutboxMessage
from bot.domain.enums import Channel, ContactDirection, ContactOutcome, Language
from bot.gateway.deadline import DeadlineExceeded, within
from bot.gateway.dialogue import DialogueService, Inbound, Screening, Turn
from bot.gateway.dialogue_history import last_bot_turn
from bot.gateway.inbox import SYSTEM_AUTHOR
from bot.gateway.ratelimit import ABUSE_LIMITS, RATE_LIMITER
from bot.gateway.twilio_webhook import (
    BadWebhook,
    bad_request,
    phone_or_none,
    read_signed_form,
    sid,
    twiml,
)
from bot.reminders.messages import Sender, voicemail_text
from bot.settings import Settings

log = structlog.get_logger(__name__)

VOICE_PREFIX = "voice:"
VOICE_PATH = "/twilio/voice"
GATHER_PATH = "/twilio/voice/gather"
GREETING = "/greet"  # what the dialogue is told when a call connects
SWITCH_LANGUAGE_KEY = "*"
MAX_SILENCES = 2  # the second silence in a row ends the call
GATHER_TIMEOUT_SECONDS = 5
MAX_TURN = 10_000
CHINA = "+86"
HANDOFF_REASON = "assistant_unavailable"


def _other(language: Language) -> Language:
    return Language.EN if language is Language.ZH else Language.ZH


@dataclass(frozen=True)
class Call:
    """Who is on the line, from one webhook's parameters."""

    sid: str
    caller: str | None  # the cardholder's side: From inbound, To on calls we placed
    inbound: bool

    @property
    def conversation_id(self) -> str:
        return VOICE_PREFIX + self.sid

    @classmethod
    def from_params(cls, params: MultiDictProxy[str]) -> Call:
        call_sid = sid(params, "CallSid")
        inbound = not params.get("Direction", "inbound").startswith("outbound")
        caller = phone_or_none(params.get("From" if inbound else "To"))
        return cls(call_sid, caller, inbound)


class VoiceChannel:
    """Phone calls to and from the dialogue."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        dialogue: DialogueService,
        outbound: Outbound,
    ) -> None:
        self.settings = settings
        self._sessions = sessions
        self._dialogue = dialogue
        self._outbound = outbound

    async def start(self, params: MultiDictProxy[str]) -> str:
        """The TwiML that opens a call: the dialogue's greeting, then a Gather."""
        call = Call.from_params(params)
        language = await self._language(call)
        if not call.inbound and params.get("AnsweredBy", "").startswith(("machine", "fax")):
            return self._voicemail(call, language)
        xml = await self._turn(call, 0, GREETING, language, first=True)
        await self._note_call(call)
        return xml

    def _voicemail(self, call: Call, language: Language) -> str:
        """A call we placed reached a machine: the limited-content message only."""
        log.info("voice.voicemail", conversation_id=call.conversation_id)
        response = VoiceResponse()
        self._say(response, voicemail_text(language, Sender.from_settings(self.settings)), language)
        response.hangup()
        return str(response.to_xml())

    async def gather(self, params: MultiDictProxy[str], turn: int, silence: int) -> str:
        """The TwiML answering what the caller said or keyed (or did not)."""
        call = Call.from_params(params)
        language = await self._language(call)
        digits = params.get("Digits", "").strip()
        speech = params.get("SpeechResult", "").strip()
        if digits == SWITCH_LANGUAGE_KEY:
            return await self._turn(call, turn, GREETING, _other(language), first=True)
        text = mask_sensitive(clean_text(keyed_digits_as_text(digits) or speech))
        text = text[:MAX_TEXT_CHARS]
        if not text:
            return await self._silence(call, turn, silence, language)
        return await self._turn(call, turn, text, language)

    async def _language(self, call: Call) -> Language:
        """The call's language so far, else the account's, else by country code."""
        async with self._sessions() as session:
            conversation = await session.get(Conversation, call.conversation_id)
            if conversation is not None:
                return conversation.language
            owner = await consent.find_owner(session, call.caller) if call.caller else None
        if owner is not None:
            return owner.language
        return Language.ZH if (call.caller or "").startswith(CHINA) else Language.EN

    async def _turn(
        self, call: Call, turn: int, text: str, language: Language, *, first: bool = False
    ) -> str:
        cid = call.conversation_id

        async def screen(s: Screening) -> list[OutboxMessage] | None:
            if text != GREETING:
                previous = await last_bot_turn(s.session, cid)
                payload = answer_to_payload(text, options_from([m.buttons for m in previous]))
                if payload is not None:
                    log.info("voice.option_chosen", conversation_id=cid, turn=turn)
                    s.row.text = payload
            return None

        result = await self._dialogue.handle(
            Inbound(
                conversation_id=cid,
                channel=Channel.VOICE,
                text=text,
                default_language=language,
                language=language,
                address=call.caller,
                provider_message_id=f"{call.sid}:{turn}",
            ),
            screen,
        )
        language = result.language
        if not result.answered:
            # A caller cannot wait for a retry; a person takes the call.
            if not result.duplicate:
                await self._dialogue.hand_off(cid, HANDOFF_REASON)
            return self._transfer(language, texts.say(texts.VOICE_TROUBLE, language))
        # The gateway's own notices are written for a chat ("… will reply
        # here"); on a call the transfer below says what happens instead.
        messages = [m for m in result.messages if m.author != SYSTEM_AUTHOR]
        options = options_from([m.buttons for m in messages])
        spoken = spoken_reply([m.text for m in messages], [o.title for o in options], language)
        said = spoken.text
        if spoken.links:
            said = _join(said, await self._send_links(call, result), language)
        if result.handed_off:
            return self._transfer(language, said)
        return self._gather(said, language, turn + 1, 0, first=first)

    async def _send_links(self, call: Call, result: Turn) -> str:
        """Text the caller the links a reply contained; what to say about it."""
        language = result.language
        if result.duplicate:
            return texts.say(texts.VOICE_LINK_SENT, language)  # sent the first time
        if call.caller is None:
            return texts.say(texts.VOICE_LINK_FAILED, language)
        bank = self.settings.bank_name_zh if language is Language.ZH else self.settings.bank_name_en
        body = "\n".join(m.text for m in result.messages if links_in(m.text))
        prefix = f"{bank}：" if language is Language.ZH else f"{bank}: "
        outcome = await self._outbound.send_sms(
            call.caller, prefix + body, purpose="secure_link", conversation_id=call.conversation_id
        )
        if outcome.delivery is Delivery.SENT:
            return texts.say(texts.VOICE_LINK_SENT, language)
        if outcome.delivery is Delivery.SUPPRESSED:
            return texts.say(texts.VOICE_LINK_OPTED_OUT, language)
        return texts.say(texts.VOICE_LINK_FAILED, language)

    async def _silence(self, call: Call, turn: int, silence: int, language: Language) -> str:
        silences = silence + 1
        if silences >= MAX_SILENCES:
            log.info("voice.hangup_after_silence", conversation_id=call.conversation_id)
            response = VoiceResponse()
            self._say(response, texts.say(texts.VOICE_GOODBYE_SILENCE, language), language)
            response.hangup()
            return str(response.to_xml())
        async with self._sessions() as session:
            previous = await last_bot_turn(session, call.conversation_id)
        options = options_from([m.buttons for m in previous])
        again = spoken_reply([m.text for m in previous], [o.title for o in options], language)
        said = _join(texts.say(texts.VOICE_STILL_THERE, language), again.text, language)
        log.info("voice.silence", conversation_id=call.conversation_id, silences=silences)
        return self._gather(said, language, turn, silences)

    def _voice(self, language: Language) -> str:
        return (
            self.settings.twilio_voice_zh
            if language is Language.ZH
            else self.settings.twilio_voice_en
        )

    def _say(self, parent: Any, text: str, language: Language) -> None:
        """Add a `<Say>` to a TwiML element (the SDK's verbs are untyped)."""
        if text:
            parent.say(text, voice=self._voice(language), language=SAY_LANGUAGE[language])

    def _gather(
        self, said: str, language: Language, turn: int, silences: int, *, first: bool = False
    ) -> str:
        action = f"{GATHER_PATH}?turn={turn}&silence={silences}"
        response = VoiceResponse()
        gather = response.gather(
            input="speech dtmf",
            action=action,
            method="POST",
            language=GATHER_LANGUAGE[language],
            speech_timeout="auto",
            timeout=GATHER_TIMEOUT_SECONDS,
            barge_in=True,
            action_on_empty_result=True,
        )
        self._say(gather, said, language)
        if first:  # offered once, in the other language's own voice
            other = _other(language)
            self._say(gather, texts.say(texts.VOICE_SWITCH_HINT, other), other)
        # Reached only if Twilio skips the empty-result action: same as silence.
        response.redirect(action, method="POST")
        return str(response.to_xml())

    def _transfer(self, language: Language, said: str) -> str:
        response = VoiceResponse()
        self._say(response, said, language)
        self._say(response, texts.say(texts.VOICE_TRANSFER, language), language)
        if self.settings.twilio_transfer_number:
            response.dial(self.settings.twilio_transfer_number)
        else:
            response.enqueue(self.settings.twilio_queue_name)
        return str(response.to_xml())

    async def _note_call(self, call: Call) -> None:
        """Put the call in the contact log: a new inbound row, or link ours."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(select(ContactLog).where(ContactLog.provider_sid == call.sid))
            ).all()
            for row in rows:  # a call we placed: now we know its conversation
                row.conversation_id = row.conversation_id or call.conversation_id
            if not rows and call.inbound:
                owner = await consent.find_owner(session, call.caller) if call.caller else None
                session.add(
                    ContactLog(
                        account_id=owner.account_id if owner else None,
                        conversation_id=call.conversation_id,
                        channel=Channel.VOICE,
                        direction=ContactDirection.INBOUND,
                        purpose="inbound_call",
                        outcome=ContactOutcome.ANSWERED,
                        provider_sid=call.sid,
                    )
                )
            await session.commit()

    def failure(self) -> str:
        """Said when something broke: both languages, then a polite hang-up."""
        response = VoiceResponse()
        for language in (Language.EN, Language.ZH):
            self._say(response, texts.say(texts.VOICE_FAILURE, language), language)
        response.hangup()
        return str(response.to_xml())


def _join(first: str, second: str, language: Language) -> str:
    return ("" if language is Language.ZH else " ").join(part for part in (first, second) if part)


VOICE_CHANNEL = web.AppKey("voice_channel", VoiceChannel)


def _counter(request: web.Request, name: str, limit: int) -> int:
    raw = request.query.get(name, "0")
    if not raw.isdecimal() or len(raw) > 6 or int(raw) > limit:
        raise BadWebhook(f"{name} must be an integer from 0 to {limit}")
    return int(raw)


async def _over_limit(request: web.Request, call_sid: str) -> bool:
    """More webhooks for one call than any caller could cause (checked once signed)."""
    limit = request.app[ABUSE_LIMITS].voice_per_call
    decision = await request.app[RATE_LIMITER].hit(limit, call_sid)
    if not decision.allowed:
        log.warning("voice.rate_limited", conversation_id=VOICE_PREFIX + call_sid)
    return not decision.allowed


async def _answer(request: web.Request, *, gather: bool) -> web.Response:
    channel = request.app[VOICE_CHANNEL]
    try:
        params = await read_signed_form(request, channel.settings)
        if await _over_limit(request, sid(params, "CallSid")):
            return twiml(channel.failure())  # an apology, then the call ends
        deadline = channel.settings.webhook_deadline_seconds  # Twilio hangs up at 15 s
        if gather:
            turn = _counter(request, "turn", MAX_TURN)
            silence = _counter(request, "silence", MAX_SILENCES)
            return twiml(await within(channel.gather(params, turn, silence), deadline))
        return twiml(await within(channel.start(params), deadline))
    except BadWebhook as error:
        return bad_request(error)
    except web.HTTPException:
        raise
    except (SQLAlchemyError, DeadlineExceeded) as error:
        # A caller cannot wait for the database; an apology in both languages.
        log.error("voice.database_unavailable", error=type(error).__name__)
        return twiml(channel.failure())
    except Exception:
        # A caller hears an apology, never Twilio's "application error".
        log.exception("voice.unhandled_error")
        return twiml(channel.failure())


async def post_voice(request: web.Request) -> web.Response:
    """`POST /twilio/voice`: a call connects (inbound, or one we placed)."""
    return await _answer(request, gather=False)


async def post_gather(request: web.Request) -> web.Response:
    """`POST /twilio/voice/gather?turn=N&silence=S`: the caller's answer to turn N."""
    return await _answer(request, gather=True)


def add_routes(app: web.Application) -> None:
    app.router.add_post(VOICE_PATH, post_voice)
    app.router.add_post(GATHER_PATH, post_gather)
