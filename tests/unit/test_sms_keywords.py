import pytest

from bot.channels.keywords import Keyword, classify, keyword_language, normalize_keyword
from bot.domain.enums import Language


@pytest.mark.parametrize(
    "text",
    [
        "STOP",
        "stop",
        "  stop! ",
        "Stop.",
        "STOPALL",
        "unsubscribe",
        "END",
        "quit",
        "revoke",
        "optout",
        "opt out",
        "OPT-OUT",
        "cancel",
        "退订",
        " 退订。",
        "TD",
        "td",
        "取消",
        "停止！",
        "ＳＴＯＰ",
        "STOP 🛑",
    ],
)
def test_opt_out_words(text: str) -> None:
    assert classify(text, opted_out=False) is Keyword.STOP


@pytest.mark.parametrize(
    "text",
    ["please stop texting me", "stop it now", "don't stop", "别再发短信了", "", "stopp", "1"],
)
def test_sentences_are_not_keywords(text: str) -> None:
    assert classify(text, opted_out=False) is None


@pytest.mark.parametrize("text", ["START", "unstop", "Start!"])
def test_opt_in_words(text: str) -> None:
    assert classify(text, opted_out=False) is Keyword.START
    assert classify(text, opted_out=True) is Keyword.START


def test_yes_opts_in_only_someone_opted_out() -> None:
    assert classify("yes", opted_out=True) is Keyword.START
    assert classify("Yes!", opted_out=False) is None


@pytest.mark.parametrize("text", ["HELP", "help?", "info", "帮助"])
def test_help_words(text: str) -> None:
    assert classify(text, opted_out=False) is Keyword.HELP


@pytest.mark.parametrize(
    ("opt_out_type", "expected"),
    [("STOP", Keyword.STOP), ("start", Keyword.START), ("HELP", Keyword.HELP)],
)
def test_twilio_opt_out_type_wins(opt_out_type: str, expected: Keyword) -> None:
    assert classify("arrêtez", opt_out_type, opted_out=False) is expected


def test_unknown_opt_out_type_falls_back_to_the_text() -> None:
    assert classify("stop", "SOMETHING", opted_out=False) is Keyword.STOP


def test_long_texts_are_never_keywords() -> None:
    assert normalize_keyword("stop " + " " * 100) == ""


@pytest.mark.parametrize(
    ("text", "language"),
    [("退订", Language.ZH), ("TD", Language.ZH), ("帮助", Language.ZH), ("STOP", Language.EN)],
)
def test_keyword_language(text: str, language: Language) -> None:
    assert keyword_language(text) is language


def test_keyword_language_of_other_text() -> None:
    assert keyword_language("hello") is None
