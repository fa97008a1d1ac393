"""What the gateway masks before a message is stored, sent to Rasa or shown at the desk."""

from __future__ import annotations

import pytest

from bot.channels.inbound import CODE_MASK, MASK, mask_sensitive


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("my cvv is 123", f"my cvv is {CODE_MASK}"),
        ("CVV: 4321", f"CVV: {CODE_MASK}"),
        ("the security code is 987", f"the security code is {CODE_MASK}"),
        ("123 is my CVC", f"{CODE_MASK} is my CVC"),
        ("安全码是123", f"安全码是{CODE_MASK}"),
        ("卡背面三位是 456", f"卡背面三位是 {CODE_MASK}"),
        ("我的验证码是 5831", f"我的验证码是 {CODE_MASK}"),
        ("１２３ is my cvv", f"{CODE_MASK} is my cvv"),  # full-width digits
        ("last 4 is 4821, cvv 123", f"last 4 is 4821, cvv {CODE_MASK}"),
        (
            "4111-1111-1111-1111 exp 12/27 cvv 987",
            f"{MASK}1111 exp 12/27 cvv {CODE_MASK}",
        ),
        ("card 4111111111111111 then 321", f"card {MASK}1111 then {CODE_MASK}"),
    ],
)
def test_security_codes_never_get_through(text: str, masked: str) -> None:
    assert mask_sensitive(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "4821",  # the identity check's last four digits
        "5504",
        "I can pay 600. What is a CVV?",  # another sentence: the amount stays
        "I can pay 600 a month, security code",
        "pay 200 on Friday",
        "my date of birth is 07/21/1992",
        "我下周五还两千，谢谢",  # full-width punctuation is left as written
        "分12期手续费多少",
    ],
)
def test_everything_else_is_left_exactly_as_written(text: str) -> None:
    assert mask_sensitive(text) == text


def test_a_card_number_keeps_only_its_last_four() -> None:
    masked = mask_sensitive("my card is 4111 1111 1111 1111")
    assert masked == f"my card is {MASK}1111"
    assert "4111 1111" not in masked
