"""`POST /twilio/sms`: a text message in, TwiML `<Message>`s out.

Before the dialogue sees a message (but after it is saved, see
`bot.gateway.dialogue`), the SMS screen answers what the law and the carrier
decide rather than the NLU: the keywords of CONTRACT.md §6 (one confirmation,
recorded per channel), silence for an opted-out number, and a numbered answer
to the last options, mapped back to that button's payload. The language is
the account's for a known number; otherwise the text's. A number over its
rate limit (`RATE_LIMIT_SMS_PER_NUMBER`, checked after the keywords) gets no
answer: its text is kept in the inbox as `rate_limited`, unseen by the dialogue.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from aiohttp import web
from multidict import MultiDictProxy
from sqlalchemy import exists, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from twilio.twiml.messaging_response import MessagingResponse

from bot.channels import consent, texts
from bot.channels.buttons import answer_to_payload, options_from
from bot.channels.inbound import (
    MAX_TEXT_CHARS,
    clean_text,
    mask_sensitive,
    sms_conversation_id,
)
from bot.channels.keywords import Keyword, classify, keyword_language, normalize_keyword
from bot.channels.outbound import Delivery, Outbound
from bot.channels.sms_format import render_reply, split_sms
from bot.db.models import ContactLog, Conversation, InboxMessage, OutboxMessage
from bot.domain.enums import (
    Channel,
    ConsentStatus,
    ContactDirection,
    ContactOutcome,
    InboxStatus,
    Language,
)
from bot.domain.language import choose_language
from bot.gateway.deadline import DeadlineExceeded, within
from bot.gateway.dialogue import DialogueService, ForeignConversation, Inbound, Screening, Turn
from bot.gateway.dialogue_history import last_bot_turn
from bot.gateway.escalation import screen_escalation
from bot.gateway.ratelimit import Limit, RateLimiter
from bot.gateway.spool import SmsSpool
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


class SmsNotSent(Exception):
    """Twilio did not accept a reply pushed after the webhook answered."""


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
        *,
        limiter: RateLimiter | None = None,
        per_number: Limit | None = None,
        spool: SmsSpool | None = None,
    ) -> None:
        self.settings = settings
        self.spool = spool or SmsSpool(settings.spool_dir)
        self._sessions = sessions
        self._dialogue = dialogue
        self._outbound = outbound
        self._limiter = limiter
        self._per_number = per_number

    def _bank(self, language: Language) -> str:
        return self.settings.bank_name_zh if language is Language.ZH else self.settings.bank_name_en

    async def receive(self, params: MultiDictProxy[str]) -> list[str]:
        """The message bodies answering one inbound text (none: say nothing).

        Raises:
            BadWebhook, ForeignConversation, SQLAlchemyError: as `_turn`.
        """
        turn = await self._turn(params)
        if not turn.messages:
            return []
        return split_sms(render_turn(turn.messages, turn.language))

    def saved_for_later(self, params: MultiDictProxy[str]) -> str:
        """What a text spooled during a database outage is answered (no database needed)."""
        phone = params.get("From", "")
        default = Language.ZH if phone.startswith(CHINA) else Language.EN
        language = choose_language(None, None, clean_text(params.get("Body", "")), default)
        return texts.say(texts.SMS_SAVED_FOR_LATER, language, bank=self._bank(language))

    async def replay(self, params: MultiDictProxy[str]) -> None:
        """Process a spooled text now, and text the answer (the webhook said "later").

        Skipped when the inbox already has its `MessageSid`: it was saved
        before the outage struck, or an earlier replay got that far (the
        retry worker finishes such a message), so nobody is answered twice.

        Raises:
            SQLAlchemyError: the database is still down (the spool keeps it).
        """
        message_sid = params.get("MessageSid") or params.get("SmsSid") or ""
        async with self._sessions() as session:
            seen = await session.scalar(
                select(
                    exists().where(
                        InboxMessage.channel == Channel.SMS,
                        InboxMessage.provider_message_id == message_sid,
                    )
                )
            )
        if seen:
            log.info("sms.replay_skipped", message_sid=message_sid)
            return
        try:
            turn = await self._turn(params)
        except (BadWebhook, ForeignConversation) as error:
            log.warning("sms.replay_dropped", message_sid=message_sid, reason=str(error))
            return
        except (SQLAlchemyError, OSError):
            raise  # still down: kept in the spool for the next pass
        except Exception:
            # A bug on this one text must not block the texts spooled after it.
            log.exception("sms.replay_failed", message_sid=message_sid)
            return
        conversation = Conversation(
            id=turn.conversation_id,
            channel=Channel.SMS,
            language=turn.language,
            address=phone_or_none(params.get("From")),
        )
        log.info("sms.replayed", conversation_id=turn.conversation_id, replies=len(turn.messages))
        if turn.messages:
            await self.push(conversation, turn.messages)

    async def _turn(self, params: MultiDictProxy[str]) -> Turn:
        """Save one inbound text and answer it (through the screen, then the dialogue).

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
        text = mask_sensitive(raw[:MAX_TEXT_CHARS])
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
        return turn

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
        if await self._over_limit(phone):
            return await self._rate_limited(s)
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

    async def _over_limit(self, phone: str) -> bool:
        """Whether this number has sent more texts than `per_number` allows.

        Counted here, after the signature check and after the keywords (a
        STOP is always honoured), never per IP: Twilio sends every text.
        """
        if self._limiter is None or self._per_number is None:
            return False
        decision = await self._limiter.hit(self._per_number, phone)
        return not decision.allowed

    @staticmethod
    async def _rate_limited(s: Screening) -> list[OutboxMessage]:
        """Keep the text (saved, marked) without running the dialogue or answering.

        A text that calls for a person (distress, a lawyer …) still reaches
        one: the escalation screen is cheap and never needs Rasa.
        """
        escalated = await screen_escalation(s)
        if escalated is not None:
            return escalated
        s.row.status = InboxStatus.RATE_LIMITED
        s.row.last_error = "over the per-number rate limit"
        log.info("sms.rate_limited", conversation_id=s.row.conversation_id, inbox_id=s.row.id)
        return []

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
        """Send replies produced after the webhook answered (the retry worker's, the desk's).

        Raises:
            SmsNotSent: Twilio did not take it (the contact log has the failure);
                the desk then shows the agent the reply was not delivered.
        """
        if conversation.channel is not Channel.SMS or not conversation.address:
            return
        text = render_turn(replies, conversation.language)
        if text:
            outcome = await self._outbound.send_sms(
                conversation.address, text, purpose="reply", conversation_id=conversation.id
            )
            if outcome.delivery is Delivery.FAILED:
                raise SmsNotSent(outcome.reason or "not sent")


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
    """`POST /twilio/sms`: Twilio's Messaging webhook.

    Twilio never retries a text whose webhook failed, so when the database
    cannot save it (down, locked, or slower than the deadline) the text goes
    to the spool and the sender is told we will reply later.
    """
    channel = request.app[SMS_CHANNEL]
    try:
        params = await read_signed_form(request, channel.settings)
        sid(params, "MessageSid", "SmsSid")  # a webhook we could never replay is a 400
        if phone_or_none(params.get("From")) is None:
            raise BadWebhook("From must be a phone number")
    except BadWebhook as error:
        return bad_request(error)
    try:
        bodies = await within(channel.receive(params), channel.settings.webhook_deadline_seconds)
    except BadWebhook as error:
        return bad_request(error)
    except ForeignConversation:
        return bad_request(BadWebhook("conversation belongs to another channel"))
    except web.HTTPException:
        raise
    except (SQLAlchemyError, DeadlineExceeded, OSError) as error:
        log.error("sms.database_unavailable", error=type(error).__name__)
        return await _spool(channel, params)
    except Exception:
        # Twilio gets no internals and no 500; the traceback is logged. The
        # text is spooled: a bug must not lose it either.
        log.exception("sms.unhandled_error")
        return await _spool(channel, params)
    if not bodies:
        return twiml(EMPTY_TWIML)
    response = MessagingResponse()
    for body in bodies:
        response.message(body)
    return twiml(str(response.to_xml()))


async def _spool(channel: SmsChannel, params: MultiDictProxy[str]) -> web.Response:
    try:
        await channel.spool.append(params)
    except OSError:
        log.exception("sms.spool_failed")
        return unavailable()
    response = MessagingResponse()
    response.message(channel.saved_for_later(params))
    return twiml(str(response.to_xml()))


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/sms", post_sms)
