"""Everything the SMS and phone channels say themselves, in both languages.

The dialogue's own words live in Rasa's domain; these are the gateway's:
keyword confirmations (answered before the dialogue) and the phone menu's
glue. `{bank}` is the bank's name in the message's language.
"""

from __future__ import annotations

from typing import Final

from bot.domain.enums import Language

Texts = dict[Language, str]

SMS_STOPPED: Final[Texts] = {
    Language.EN: (
        "{bank}: You're unsubscribed and will get no more text messages from us. "
        "Reply START to resubscribe."
    ),
    Language.ZH: "{bank}：您已成功退订，我们将不再向您发送短信。如需恢复，请回复START。",
}
SMS_STARTED: Final[Texts] = {
    Language.EN: (
        "{bank}: You're subscribed to text messages again. Reply STOP to unsubscribe "
        "or HELP for help."
    ),
    Language.ZH: "{bank}：您已恢复接收短信。回复“退订”可取消，回复“帮助”获取帮助。",
}
SMS_HELP: Final[Texts] = {
    Language.EN: (
        '{bank} card services: text us your question, e.g. "how much do I owe?". '
        "For urgent help call the number on the back of your card. "
        "Reply STOP to unsubscribe. Msg & data rates may apply."
    ),
    Language.ZH: (
        "{bank}信用卡服务：直接发送您的问题即可，例如“我还欠多少钱”。"
        "如需紧急帮助，请拨打卡片背面的客服电话。回复“退订”取消短信。"
    ),
}
SMS_HELP_OPTED_OUT: Final[Texts] = {
    Language.EN: "You're unsubscribed from our text messages; reply START to resubscribe.",
    Language.ZH: "您目前已退订短信，回复START即可恢复。",
}
SMS_TOO_LONG: Final[Texts] = {
    Language.EN: (
        "Sorry, that message is too long for me. Please send a shorter one "
        "(up to 2,000 characters)."
    ),
    Language.ZH: "抱歉，您的消息太长了，请发送不超过2000字的消息。",
}
SMS_TEXT_ONLY: Final[Texts] = {
    Language.EN: "Sorry, I can only read text. Please type your message.",
    Language.ZH: "抱歉，我只能读取文字消息，请直接输入文字。",
}

VOICE_PRESS: Final[Texts] = {
    Language.EN: "Press {number} for {title}.",
    Language.ZH: "{title}，请按{number}。",
}
VOICE_LINK_SENT: Final[Texts] = {
    Language.EN: "I've sent you a secure link by text message.",
    Language.ZH: "我已通过短信将安全链接发送给您。",
}
VOICE_LINK_OPTED_OUT: Final[Texts] = {
    Language.EN: (
        "I can't text you the secure link because you've opted out of text messages. "
        "You can also pay in our app or online banking."
    ),
    Language.ZH: (
        "由于您已退订短信，我无法通过短信发送安全链接。您也可以通过手机银行或网上银行还款。"
    ),
}
VOICE_LINK_FAILED: Final[Texts] = {
    Language.EN: (
        "I couldn't text you the secure link just now. "
        "You can also pay in our app or online banking."
    ),
    Language.ZH: "抱歉，暂时无法通过短信发送安全链接。您也可以通过手机银行或网上银行还款。",
}
VOICE_STILL_THERE: Final[Texts] = {
    Language.EN: "Sorry, I didn't hear anything. Are you still there?",
    Language.ZH: "抱歉，我没有听到您的声音。您还在吗？",
}
VOICE_GOODBYE_SILENCE: Final[Texts] = {
    Language.EN: (
        "I haven't heard from you, so I'll end the call now. Please call again any time. Goodbye."
    ),
    Language.ZH: "由于没有听到您的回应，本次通话将结束。欢迎随时再次来电，再见。",
}
VOICE_TRANSFER: Final[Texts] = {
    Language.EN: "Please hold while I connect you with a member of our team.",
    Language.ZH: "请稍候，正在为您转接人工客服。",
}
VOICE_TROUBLE: Final[Texts] = {
    Language.EN: "Sorry, I'm having trouble right now.",
    Language.ZH: "抱歉，系统暂时出了点问题。",
}
# Said in the *other* language, by that language's voice, on the first prompt.
VOICE_SWITCH_HINT: Final[Texts] = {
    Language.EN: "For English, press star.",
    Language.ZH: "中文服务请按星号键。",
}
VOICE_FAILURE: Final[Texts] = {
    Language.EN: "Sorry, something went wrong on our side. Please call again later. Goodbye.",
    Language.ZH: "抱歉，系统出现问题，请稍后再拨。再见。",
}


def say(texts: Texts, language: Language, **values: str) -> str:
    """The text in `language`, with its placeholders filled in."""
    return texts[language].format(**values) if values else texts[language]
