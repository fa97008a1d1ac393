"""`POST /twilio/sms`: a text message in, TwiML `<Message>`s out.

Before the dialogue sees a message (but after it is saved, see
`bot.gateway.dialogue`), the SMS screen answers what the law and the carrier
decide rather than the NLU: the keywords of CONTRACT.md §6 (one confirmation,
recorded per channel), silence for an opted-out number, and a numbered answer
to the last options, mapped back to that button's payload. The language is
the account's for a known number; otherwise the text's.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels import consent, texts
from bot.channels.buttons import answer_to_payload, options_from
from bot.channels.inbound import (
    MAX_TEXT_CHARS,
    clean_text,
    mask_card_numbers,
    sms_conversation_id,
)
from bot.channels.keywords import Keyword, classify, keyword_language, normalize_keyword
from bot.channels.outbound import Outbound
from bot.channels.sms_format import render_reply, split_sms
from bot.db.models import ContactLog, Conversation, OutboxMessage
from bot.domain.enums import Channel, ConsentStatus, ContactDirection, ContactOutcome, Language
from bot.gateway.dialogue import DialogueService, ForeignConversation, Inbound, Screening
from bot.gateway.dialogue_history import last_bot_turn
from bot.gateway.twilio_webhook import (
    EMPTY_TWIML,
    BadWebhook,
    bad_request,
    phone_or_none,
    read_signed_form,
    sid,
    twiml,
    unavailable,
)
from bot.settings import Settings

log = structlog.get_logger(__name__)

CHINA = "+86"


def render_turn(messages: Sequence[OutboxMessage], language: Language) -> str:
    """A turn's messages as one text, buttons as numbered options."""
    options = options_from([message.buttons or [] for message in messages])
    return render_reply(
        [message.text for message in messages], [o.title for o in options], language
    )


class SmsChannel:
    """Text messages to and from the dialogue."""

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

    def _bank(self, language: Language) -> str:
        return self.settings.bank_name_zh if language is Language.ZH else self.settings.bank_name_en

    async def receive(self, params: MultiDictProxy[str]) -> list[str]:
        """The message bodies answering one inbound text (none: say nothing).

        Raises:
            BadWebhook: no sender number or no message SID.
            ForeignConversation: the id belongs to another channel (never, by
                construction of SMS ids, unless the data was tampered with).
            SQLAlchemyError: the database failed.
        """
        phone = phone_or_none(params.get("From"))
        if phone is None:
            raise BadWebhook("From must be a phone number")
        message_sid = sid(params, "MessageSid", "SmsSid")
        raw = clean_text(params.get("Body", ""))
        too_long = len(raw) > MAX_TEXT_CHARS
        text = mask_card_numbers(raw[:MAX_TEXT_CHARS])
        opt_out_type = params.get("OptOutType") or None
        async with self._sessions() as session:
            owner = await consent.find_owner(session, phone)
        explicit = owner.language if owner else keyword_language(text)
        default = Language.ZH if phone.startswith(CHINA) else Language.EN
        cid = sms_conversation_id(phone)

        async def screen(s: Screening) -> list[OutboxMessage] | None:
            return await self._screen(s, phone, owner, text, opt_out_type, too_long=too_long)

        turn = await self._dialogue.handle(
            Inbound(
                conversation_id=cid,
                channel=Channel.SMS,
                text=text,
                default_language=default,
                language=explicit,
                address=phone,
                provider_message_id=message_sid,
            ),
            screen,
        )
        if not turn.messages:
            return []
        return split_sms(render_turn(turn.messages, turn.language))

    async def _screen(
        self,
        s: Screening,
        phone: str,
        owner: consent.PhoneOwner | None,
        text: str,
        opt_out_type: str | None,
        *,
        too_long: bool,
    ) -> list[OutboxMessage] | None:
        """Keywords, opt-outs and odd bodies answered here; the rest let through."""
        was_out = await consent.opted_out(s.session, phone, Channel.SMS, owner)
        keyword = classify(text, opt_out_type, opted_out=was_out)
        if keyword is not None:
            return await self._keyword(s, keyword, phone, owner, text, opt_out_type, was_out)
        if was_out:
            s.session.add(
                ContactLog(
                    account_id=owner.account_id if owner else None,
                    conversation_id=s.row.conversation_id,
                    channel=Channel.SMS,
                    direction=ContactDirection.OUTBOUND,
                    purpose="reply",
                    outcome=ContactOutcome.SUPPRESSED,
                    reason="opted_out",
                )
            )
            log.info("sms.suppressed", conversation_id=s.row.conversation_id)
            return []
        language = s.row.language
        if not text:
            return [s.reply(texts.say(texts.SMS_TEXT_ONLY, language))]
        if too_long:
            return [s.reply(texts.say(texts.SMS_TOO_LONG, language))]
        previous = await last_bot_turn(s.session, s.row.conversation_id)
        payload = answer_to_payload(text, options_from([m.buttons or [] for m in previous]))
        if payload is not None:
            log.info("sms.option_chosen", conversation_id=s.row.conversation_id)
            s.row.text = payload
        return None

    async def _keyword(
        self,
        s: Screening,
        keyword: Keyword,
        phone: str,
        owner: consent.PhoneOwner | None,
        text: str,
        opt_out_type: str | None,
        was_out: bool,
    ) -> list[OutboxMessage]:
        """Record the choice; one confirmation, unless Twilio sends its own
        (`OptOutType` is set when Twilio's Advanced Opt-Out matched the word)."""
        language = s.row.language
        bank = self._bank(language)
        twilio_confirms = opt_out_type is not None
        word = (normalize_keyword(text) or (opt_out_type or "")).strip()[:64] or None
        cid = s.row.conversation_id
        if keyword is Keyword.STOP:
            if not was_out:
                await _record(s, phone, owner, ConsentStatus.OPTED_OUT, word)
            log.info("sms.opted_out", conversation_id=cid, already=was_out)
            if was_out or twilio_confirms:
                return []  # one confirmation, then silence
            return [s.reply(texts.say(texts.SMS_STOPPED, language, bank=bank))]
        if keyword is Keyword.START:
            if was_out:
                await _record(s, phone, owner, ConsentStatus.OPTED_IN, word)
            log.info("sms.opted_in", conversation_id=cid, was_out=was_out)
            if twilio_confirms:
                return []
            return [s.reply(texts.say(texts.SMS_STARTED, language, bank=bank))]
        # HELP: carriers require an answer even after an opt-out.
        if twilio_confirms:
            return []
        help_text = texts.say(texts.SMS_HELP, language, bank=bank)
        if was_out:
            help_text += "\n" + texts.say(texts.SMS_HELP_OPTED_OUT, language)
        return [s.reply(help_text)]

    async def push(self, conversation: Conversation, replies: list[OutboxMessage]) -> None:
        """Send replies produced after the webhook answered (the retry worker's)."""
        if conversation.channel is not Channel.SMS or not conversation.address:
            return
        text = render_turn(replies, conversation.language)
        if text:
            await self._outbound.send_sms(
                conversation.address, text, purpose="reply", conversation_id=conversation.id
            )


async def _record(
    s: Screening,
    phone: str,
    owner: consent.PhoneOwner | None,
    status: ConsentStatus,
    word: str | None,
) -> None:
    await consent.record_choice(
        s.session, phone, Channel.SMS, status, owner, source="sms_keyword", keyword=word
    )


SMS_CHANNEL = web.AppKey("sms_channel", SmsChannel)


async def post_sms(request: web.Request) -> web.Response:
    """`POST /twilio/sms`: Twilio's Messaging webhook."""
    channel = request.app[SMS_CHANNEL]
    try:
        params = await read_signed_form(request, channel.settings)
        bodies = await channel.receive(params)
    except BadWebhook as error:
        return bad_request(error)
    except ForeignConversation:
        return bad_request(BadWebhook("conversation belongs to another channel"))
    except SQLAlchemyError:
        log.exception("sms.database_error")
        return unavailable()
    except web.HTTPException:
        raise
    except Exception:
        # Twilio gets no internals and no 500; the traceback is logged.
        log.exception("sms.unhandled_error")
        return unavailable()
    if not bodies:
        return twiml(EMPTY_TWIML)
    response = MessagingResponse()
    for body in bodies:
        response.message(body)
    return twiml(str(response.to_xml()))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/sms", post_sms)
