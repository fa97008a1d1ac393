import pytest

from bot.domain.enums import Channel
from bot.domain.optout import channels_to_opt_out


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("please stop texting me", Channel.WEB, [Channel.SMS]),
        ("stop calling me", Channel.SMS, [Channel.VOICE]),
        ("no more calls or texts", Channel.WEB, [Channel.SMS, Channel.VOICE]),
        ("别再发短信了", Channel.VOICE, [Channel.SMS]),
        ("别给我打电话", Channel.SMS, [Channel.VOICE]),
        ("stop", Channel.SMS, [Channel.SMS]),
        ("退订", Channel.VOICE, [Channel.VOICE]),
        ("leave me alone", Channel.WEB, [Channel.SMS]),
    ],
)
def test_channels(text: str, current: Channel, expected: list[Channel]) -> None:
    assert channels_to_opt_out(text, current) == expected
