"""Every response exists in English and Chinese, with the same values in both."""

from __future__ import annotations

import re

import pytest

from bot.runner.validate import responses_used_outside_stories
from tests.support import load_domain

DOMAIN = load_domain()
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("name", sorted(DOMAIN["responses"]))
def test_response_has_an_english_default_and_a_chinese_variant(name: str) -> None:
    variants = DOMAIN["responses"][name]
    chinese = [
        v for v in variants
        if v.get("condition") == [{"type": "slot", "name": "language", "value": "zh"}]
    ]  # fmt: skip
    english = [v for v in variants if "condition" not in v]
    assert len(chinese) == 1, f"{name}: needs exactly one zh variant"
    assert len(english) == 1, f"{name}: needs exactly one unconditional (English) variant"
    zh_text, en_text = chinese[0]["text"], english[0]["text"]
    assert re.search(r"[\u4e00-\u9fff]", zh_text), f"{name}: zh variant is not Chinese"
    assert not re.search(r"[\u4e00-\u9fff]", en_text), f"{name}: en variant has Chinese"
    # The bank's name is the one value that differs by language.
    same = {"bank_name_zh": "bank_name", "bank_name_en": "bank_name"}
    zh_values = {same.get(v, v) for v in PLACEHOLDER.findall(zh_text)}
    en_values = {same.get(v, v) for v in PLACEHOLDER.findall(en_text)}
    assert zh_values == en_values


def test_every_response_an_action_names_exists() -> None:
    named = responses_used_outside_stories()
    missing = {n for n in named if n not in DOMAIN["responses"]}
    assert missing == set()


def test_no_response_mentions_criminal_liability_or_threats() -> None:
    banned = re.compile(r"恶意透支|刑事|criminal|arrest|jail|prison|lawsuit|起诉|坐牢", re.I)
    for name, variants in DOMAIN["responses"].items():
        for variant in variants:
            assert not banned.search(variant["text"]), name
