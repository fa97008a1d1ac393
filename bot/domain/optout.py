"""Which channel a natural-language opt-out is about.

"Stop calling me" silences calls, "stop texting me" silences SMS; a bare
"stop" silences the channel it came in on (web chat: SMS, the channel we
would otherwise use to reach them).
"""

from __future__ import annotations

import re

from bot.domain.enums import Channel

_CALLS = re.compile(
    r"\b(call|calls|calling|phone|ring|ringing|voicemail)\b|电话|来电|致电|打给我", re.I
)
_TEXTS = re.compile(r"\b(text|texts|texting|sms|message|messages|msg|msgs)\b|短信|信息|消息", re.I)


def channels_to_opt_out(text: str, current: Channel) -> list[Channel]:
    """The channels the person asked us to stop using."""
    channels: list[Channel] = []
    if _TEXTS.search(text):
        channels.append(Channel.SMS)
    if _CALLS.search(text):
        channels.append(Channel.VOICE)
    if not channels:
        channels.append(Channel.SMS if current is Channel.WEB else current)
    return channels
