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
# Answered while the database is down: the text is spooled and replayed later.
SMS_SAVED_FOR_LATER: Final[Texts] = {
    Language.EN: (
        "{bank}: Sorry, we're having a technical problem. We've kept your message "
        "and will reply by text as soon as we can."
    ),
    Language.ZH: "{bank}：抱歉，系统暂时出现技术问题。您的消息已保存，我们会尽快通过短信回复您。",
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


# Said by the gateway when a message calls for a person at once (RULES.md:
# distress, a death, bankruptcy, a lawyer, a complaint), before the dialogue
# runs. Nothing about an account is said: the sender may not be verified.
ESCALATED_DISTRESS: Final[Texts] = {
    Language.EN: (
        "I'm really sorry you're feeling this way, and I'm glad you told me. You matter "
        "far more than any bill. I've asked a colleague to reach out to you right away. "
        "If you are in danger or thinking about ending your life, please call or text 988 "
        "(Suicide & Crisis Lifeline, US) now, or call 911 in an emergency."
    ),
    Language.ZH: (
        "听到您这样说我很难过，谢谢您愿意告诉我。您比任何账单都重要。"
        "我已请同事马上与您联系。如果您感到有危险或有轻生的念头，"
        "请立即拨打心理援助热线 12356，紧急情况请拨打 120 或 110。"
    ),
}

ESCALATED_DECEASED: Final[Texts] = {
    Language.EN: (
        "I'm very sorry for your loss. I'm connecting you with a colleague who will explain, "
        "gently and step by step, what happens next. Please stay in this conversation."
    ),
    Language.ZH: (
        "对您的不幸我们深表哀悼。我正在为您转接专门的同事，会耐心地说明后续事宜。请留在当前对话中。"
    ),
}

ESCALATED_BANKRUPTCY: Final[Texts] = {
    Language.EN: (
        "Thank you for letting me know. I'm passing this to a colleague who handles "
        "bankruptcy cases. Please stay in this conversation; a person will reply here."
    ),
    Language.ZH: (
        "感谢您告知。我将转交负责破产相关事务的同事处理，请留在当前对话中，稍后会有工作人员回复您。"
    ),
}

ESCALATED_ATTORNEY: Final[Texts] = {
    Language.EN: (
        "Thank you for letting me know you have a lawyer. A colleague will take it from "
        "here and can work with your representative. Please stay in this conversation."
    ),
    Language.ZH: (
        "感谢您告知已委托律师。接下来由同事为您处理，并可与您的代理人沟通。请留在当前对话中。"
    ),
}

ESCALATED_COMPLAINT: Final[Texts] = {
    Language.EN: (
        "I'm sorry we've let you down. I've recorded your complaint and I'm connecting you "
        "with a colleague who can look into it properly. Please stay in this conversation."
    ),
    Language.ZH: (
        "很抱歉给您带来不好的体验。我已记录您的投诉，并为您转接同事认真处理。请留在当前对话中。"
    ),
}


def escalated(category: str) -> Texts:
    """The reply for an escalation category (`bot.domain.escalation`)."""
    return {
        "distress": ESCALATED_DISTRESS,
        "deceased": ESCALATED_DECEASED,
        "bankruptcy": ESCALATED_BANKRUPTCY,
        "attorney": ESCALATED_ATTORNEY,
        "complaint": ESCALATED_COMPLAINT,
    }[category]
