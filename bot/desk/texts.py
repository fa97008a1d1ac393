"""What the desk tells cardholders by itself, in both languages.

An agent's own replies are theirs; these are the notices around them: a
person joined, a request was decided, the assistant is back.
"""

from __future__ import annotations

from typing import Final

from bot.domain.enums import Language

Texts = dict[Language, str]

AGENT_JOINED: Final[Texts] = {
    Language.EN: "You're now talking with {name} from our team.",
    Language.ZH: "我们的客服{name}已接入,正在为您服务。",
}
OFFER_APPROVED: Final[Texts] = {
    Language.EN: (
        "Good news: your request has been approved. {summary} "
        "Nothing changes until you confirm it; the assistant will ask you."
    ),
    Language.ZH: "好消息:您的申请已获批准。{summary}您确认之前不会有任何变更,稍后助手会请您确认。",
}
OFFER_REFUSED: Final[Texts] = {
    Language.EN: (
        "We're sorry: we can't approve this request as asked. {summary} "
        "We'll go through the options with you."
    ),
    Language.ZH: "很抱歉,您的申请暂时无法按原方案批准。{summary}我们会和您一起看看其他选择。",
}
BACK_WITH_BOT: Final[Texts] = {
    Language.EN: "You're back with the assistant. How else can I help?",
    Language.ZH: "现在由智能助手继续为您服务。还有什么可以帮您?",
}
CLOSED: Final[Texts] = {
    Language.EN: "This conversation is closed. Write to us again at any time.",
    Language.ZH: "本次对话已结束。如有需要,欢迎随时再联系我们。",
}
