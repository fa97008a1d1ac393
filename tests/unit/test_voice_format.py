import pytest

from bot.channels.voice_format import (
    MAX_SAY_CHARS,
    clip,
    keyed_digits_as_text,
    links_in,
    menu,
    speakable,
    spoken_reply,
)
from bot.domain.enums import Language

LINK = "https://bot.example.com/pay/eyJhIjoxfQ.c2ln-_"


def test_links_are_taken_out_and_returned() -> None:
    spoken = speakable(
        f"You can pay securely here: {LINK} (the link works for 30 minutes).", Language.EN
    )
    assert spoken.text == "You can pay securely here (the link works for 30 minutes)."
    assert spoken.links == (LINK,)


def test_chinese_text_around_a_link_survives() -> None:
    spoken = speakable(
        f"您可以通过这个安全链接还款：{LINK}（30分钟内有效）。请勿泄露卡号。", Language.ZH
    )
    assert spoken.text == "您可以通过这个安全链接还款（30分钟内有效）。请勿泄露卡号。"
    assert spoken.links == (LINK,)


def test_a_link_at_the_end_of_a_sentence_keeps_the_full_stop_out() -> None:
    assert links_in(f"Pay at {LINK}.") == [LINK]
    assert links_in("see www.example.com, then") == ["www.example.com"]


def test_emoji_and_markdown_are_not_read_out() -> None:
    spoken = speakable("Great 👍🏽 news! *Your* plan is set ✅ 👨‍👩‍👧", Language.EN)
    assert spoken.text == "Great news! Your plan is set."


def test_money_and_symbols_people_say_stay() -> None:
    assert speakable("You owe $2,480.00 (¥100 + €5).", Language.EN).text == (
        "You owe $2,480.00 (¥100 + €5)."
    )


def test_lines_become_sentences() -> None:
    assert speakable("First line\nSecond line", Language.EN).text == "First line. Second line."
    assert speakable("第一行\n第二行", Language.ZH).text == "第一行。第二行。"


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.EN, "Press 1 for Yes. Press 2 for No, thanks."),
        (Language.ZH, "是，请按1。否，请按2。"),
    ],
)
def test_buttons_become_a_keypad_menu(language: Language, expected: str) -> None:
    titles = ["Yes", "No, thanks"] if language is Language.EN else ["是", "否"]
    assert menu(titles, language) == expected


def test_a_turn_is_one_thing_to_say() -> None:
    spoken = spoken_reply(["Hello!", f"Pay here: {LINK}"], ["Yes 👍"], Language.EN)
    assert spoken.text == "Hello! Pay here. Press 1 for Yes."
    assert spoken.links == (LINK,)


def test_long_text_is_clipped_at_a_sentence() -> None:
    text = "This is a sentence. " * 400
    clipped = clip(text)
    assert len(clipped) <= MAX_SAY_CHARS
    assert clipped.endswith(".")
    assert clip("short") == "short"


@pytest.mark.parametrize(
    ("keyed", "text"),
    [
        ("04121988", "04/12/1988"),  # month, day, year as US callers key it
        ("12311999", "12/31/1999"),
        ("19880412", "19880412"),  # year first: already unambiguous
        ("4821", "4821"),  # last 4
        ("13121988", "13121988"),  # no month 13: left for the parser to refuse
        ("", ""),
    ],
)
def test_keyed_dates_get_the_slashes_that_make_them_us_dates(keyed: str, text: str) -> None:
    assert keyed_digits_as_text(keyed) == text
