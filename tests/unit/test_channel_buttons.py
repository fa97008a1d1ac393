from typing import Any

import pytest

from bot.channels.buttons import Option, answer_to_payload, options_from

OPTIONS = [Option("Yes", "/affirm"), Option("No, thanks", "/deny"), Option("3 months", "/t3")]


@pytest.mark.parametrize(
    ("answer", "payload"),
    [
        ("1", "/affirm"),
        (" 2 ", "/deny"),
        ("3.", "/t3"),
        ("２", "/deny"),  # a Chinese keyboard's full-width digit
        ("yes", "/affirm"),
        ("No thanks!", "/deny"),
        ("4", None),
        ("0", None),
        ("12", None),
        ("1234", None),
        ("yes please", None),
        ("", None),
        ("👍", None),
    ],
)
def test_answers(answer: str, payload: str | None) -> None:
    assert answer_to_payload(answer, OPTIONS) == payload


def test_without_options_nothing_is_a_pick() -> None:
    assert answer_to_payload("1", []) is None


def test_options_are_numbered_across_a_turns_messages() -> None:
    rows: list[list[dict[str, Any]]] = [
        [{"title": "Yes", "payload": "/affirm"}],
        [],
        [{"title": "No", "payload": "/deny"}, {"title": 5, "payload": "/bad"}],
    ]
    assert options_from(rows) == [Option("Yes", "/affirm"), Option("No", "/deny")]
