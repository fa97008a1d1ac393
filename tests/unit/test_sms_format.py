import pytest

from bot.channels.sms_format import (
    ELLIPSIS,
    MAX_SEGMENTS,
    clean,
    gsm_friendly,
    is_gsm,
    render_reply,
    segment_count,
    split_sms,
)
from bot.domain.enums import Language


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # two septets each
        ("€" * 81, 2),
        ("好" * 70, 1),
        ("好" * 71, 2),
        ("a" * 69 + "é", 1),  # é is GSM-7
        ("a" * 70 + "ê", 2),  # ê is not: the whole message is UCS-2
        ("😀" * 35, 1),  # two UTF-16 units each
        ("😀" * 36, 2),
    ],
)
def test_segments(text: str, segments: int) -> None:
    assert segment_count(text) == segments


def test_typography_is_straightened_only_when_that_keeps_gsm() -> None:
    assert gsm_friendly("You’re “done” – thanks…") == 'You\'re "done" - thanks...'
    assert is_gsm(gsm_friendly("You’re done"))
    assert gsm_friendly("You’re 好") == "You’re 好"


def test_short_text_is_one_message() -> None:
    assert split_sms("  Hello there.  ") == ["Hello there."]
    assert split_sms("") == []
    assert split_sms("\x00\x07") == []


def test_long_text_is_cut_at_sentences() -> None:
    sentences = [f"This is sentence number {n} of the reply." for n in range(30)]
    parts = split_sms(" ".join(sentences))
    assert 1 < len(parts) <= 4
    assert all(segment_count(p) <= MAX_SEGMENTS for p in parts)
    assert all(p.endswith("reply.") for p in parts)
    assert " ".join(parts) == " ".join(sentences)


def test_amounts_are_not_sentence_ends() -> None:
    text = ("You owe $2,480.00 in total. " * 30).strip()
    for part in split_sms(text, max_segments=1, max_messages=100):
        assert part.endswith("total.")


def test_chinese_is_cut_after_full_stops() -> None:
    text = "您的账单已出。" * 40
    parts = split_sms(text)
    assert all(segment_count(p) <= MAX_SEGMENTS for p in parts)
    assert all(p.endswith("。") for p in parts)
    assert "".join(parts) == text


def test_a_sentence_longer_than_a_message_is_cut_at_words_then_characters() -> None:
    words = " ".join(["word"] * 200)
    parts = split_sms(words, max_segments=1, max_messages=100)
    assert all(segment_count(p) == 1 for p in parts)
    assert " ".join(parts) == words
    unbroken = "x" * 400
    parts = split_sms(unbroken, max_segments=1, max_messages=100)
    assert "".join(parts) == unbroken
    assert [len(p) for p in parts] == [160, 160, 80]


def test_too_much_text_is_cut_short_with_an_ellipsis() -> None:
    parts = split_sms("Another sentence here. " * 500)
    assert len(parts) == 4
    assert parts[-1].endswith(ELLIPSIS)
    assert all(segment_count(p) <= MAX_SEGMENTS for p in parts)


def test_emoji_are_never_split_in_half() -> None:
    parts = split_sms("😀" * 300, max_segments=1, max_messages=100)
    assert "".join(parts) == "😀" * 300
    assert all(segment_count(p) == 1 for p in parts)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.EN, "Pick one.\nReply with a number:\n1) Yes\n2) No, thanks"),
        (Language.ZH, "Pick one.\n请回复数字选择：\n1) Yes\n2) No, thanks"),
    ],
)
def test_buttons_become_numbered_options(language: Language, expected: str) -> None:
    assert render_reply(["Pick one."], ["Yes", "No, thanks"], language) == expected


def test_rendering_drops_empty_messages_and_control_characters() -> None:
    assert render_reply(["", "a\x00b", "  "], [], Language.EN) == "ab"
    assert clean("a\r\nb\n\n\n\nc") == "a\nb\n\nc"
