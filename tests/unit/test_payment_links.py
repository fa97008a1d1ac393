from datetime import datetime, timedelta, timezone

import pytest

from bot.services.payment_links import InvalidPaymentLink, make_token, payment_link, read_token

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)


def test_round_trip() -> None:
    assert read_token("k", make_token("k", 42, NOW), NOW + timedelta(minutes=29)) == 42


def test_expired_forged_and_garbage_tokens_are_refused() -> None:
    token = make_token("k", 42, NOW)
    with pytest.raises(InvalidPaymentLink):
        read_token("k", token, NOW + timedelta(minutes=31))
    with pytest.raises(InvalidPaymentLink):
        read_token("other-key", token, NOW)
    signature = token.partition(".")[2]
    forged = make_token("k", 43, NOW).partition(".")[0] + "." + signature
    with pytest.raises(InvalidPaymentLink):
        read_token("k", forged, NOW)
    for garbage in ("", ".", "abc", "a.b", "🙂.🙂"):
        with pytest.raises(InvalidPaymentLink):
            read_token("k", garbage, NOW)


def test_link_uses_the_public_base_url() -> None:
    link = payment_link("https://bank.example/", "k", 1, NOW)
    assert link.startswith("https://bank.example/pay/")
