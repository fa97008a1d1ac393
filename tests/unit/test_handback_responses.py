"""Hand-back wording: both languages everywhere, and nothing threatening or shaming."""

from __future__ import annotations

import re

import pytest

from bot.settings import PROJECT_ROOT
from tests.unit.test_collections_responses import FORBIDDEN_EN, FORBIDDEN_ZH, _is_zh, _responses

RESPONSES = _responses(PROJECT_ROOT / "domain" / "handback.yml")


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_every_response_speaks_both_languages(name: str) -> None:
    variants = RESPONSES[name]
    assert [v for v in variants if _is_zh(v)], f"{name} has no Chinese variant"
    assert [v for v in variants if not v.get("condition")], f"{name} has no English variant"
    for variant in variants:
        placeholders = set(re.findall(r"{(\w+)}", variant["text"]))
        others = {p for other in variants for p in re.findall(r"{(\w+)}", other["text"])}
        assert placeholders == others, f"{name}: languages fill different values"


@pytest.mark.parametrize("name", sorted(RESPONSES))
def test_no_threats_criminal_liability_or_shaming(name: str) -> None:
    for variant in RESPONSES[name]:
        text = variant["text"]
        assert not (FORBIDDEN_ZH if _is_zh(variant) else FORBIDDEN_EN).search(text), text
        assert not FORBIDDEN_ZH.search(text), text


def test_the_offer_asks_for_explicit_agreement_in_each_language() -> None:
    variants = RESPONSES["utter_ao_offer"]
    assert "“I agree”" in next(v["text"] for v in variants if not _is_zh(v))
    assert "“同意”" in next(v["text"] for v in variants if _is_zh(v))
