from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.enums import Language
from bot.domain.language import (
    choose_language,
    detect_language,
    language_from_accept_header,
)

EN, ZH = Language.EN, Language.ZH


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("你好", ZH),
        ("我还欠多少钱", ZH),
        ("請問我的帳單可以分期嗎", ZH),  # Traditional
        ("還款日是哪天?", ZH),  # Traditional with ASCII punctuation
        ("转人工", ZH),
        ("ＯＫ，好的", ZH),  # fullwidth forms from a Chinese input method
        ("how much do I owe", EN),
        ("When is my payment due?", EN),
        ("STOP", EN),
        ("Café crème", EN),
    ],
)
def test_detects_the_language_of_plain_text(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我的card被盗了", ZH),  # Chinese with an English word
        ("我的credit card被盗了", ZH),
        ("ok 好的", ZH),
        ("What does 分期 mean?", EN),  # English mentioning a Chinese term
        ("Please call 张伟 about my bill", EN),
        ("please help me with 分期付款", EN),
    ],
)
def test_mixed_text_goes_to_the_dominant_language(text: str, expected: Language) -> None:
    assert detect_language(text) is expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "123456",
        "4821",
        "$200",
        "2026-12-01",
        "!!!???",
        "👍",
        "🙏😭💳",
        "ok",  # a short Latin token is no evidence either way
        "Y",
        "TD",
        "Привет",  # unsupported scripts keep the current language
        "안녕하세요",
    ],
)
def test_text_without_evidence_gives_none(text: str) -> None:
    assert detect_language(text) is None


@given(st.text(alphabet=st.characters(categories=["Nd", "Po", "Ps", "Pe", "Sm", "Sc", "So", "Zs"])))
def test_digits_punctuation_and_symbols_never_decide(text: str) -> None:
    # Fullwidth/CJK punctuation is the one exception (it comes from a Chinese IME).
    ascii_or_symbols = "".join(c for c in text if not 0x3000 <= ord(c) <= 0x303F)
    ascii_or_symbols = "".join(c for c in ascii_or_symbols if not 0xFF00 <= ord(c) <= 0xFFEF)
    assert detect_language(ascii_or_symbols) is None


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1))
def test_any_han_text_is_chinese(text: str) -> None:
    assert detect_language(text) is ZH


def test_explicit_choice_wins_over_everything() -> None:
    assert choose_language(EN, ZH, "你好", ZH) is EN
    assert choose_language(ZH, EN, "hello there", EN) is ZH


def test_detected_language_beats_stored_and_default() -> None:
    assert choose_language(None, EN, "你好", EN) is ZH
    assert choose_language(None, ZH, "hello there", ZH) is EN


def test_text_without_evidence_keeps_the_stored_language() -> None:
    assert choose_language(None, ZH, "123", EN) is ZH
    assert choose_language(None, ZH, "👍", EN) is ZH
    assert choose_language(None, EN, "ok", ZH) is EN


def test_default_applies_only_when_nothing_else_says() -> None:
    assert choose_language(None, None, "123", ZH) is ZH
    assert choose_language(None, None, "123", EN) is EN


@given(
    explicit=st.sampled_from([EN, ZH]),
    stored=st.sampled_from([EN, ZH, None]),
    text=st.text(),
    default=st.sampled_from([EN, ZH]),
)
def test_explicit_always_wins(
    explicit: Language, stored: Language | None, text: str, default: Language
) -> None:
    assert choose_language(explicit, stored, text, default) is explicit


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", ZH),
        ("zh-Hant-TW", ZH),
        ("en-US,en;q=0.9", EN),
        ("fr-FR, en;q=0.5, zh;q=0.7", ZH),
        ("de-DE, fr;q=0.8", None),
        ("en;q=0, zh;q=0.1", ZH),
        ("", None),
        (None, None),
        ("garbage;;;", None),
    ],
)
def test_accept_language_header(header: str | None, expected: Language | None) -> None:
    assert language_from_accept_header(header) is expected
