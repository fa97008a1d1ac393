"""Collections wording: both languages everywhere, and nothing threatening or shaming.

RULES.md: no threats, no criminal liability (恶意透支), no shaming. Every
response of domain/collections.yml is scanned in both languages.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from bot.settings import PROJECT_ROOT

COLLECTIONS_DOMAIN = PROJECT_ROOT / "domain" / "collections.yml"
FORBIDDEN_EN = re.compile(
    r"legal action|lawsuit|\bsue\b|arrest|police|jail|prison|criminal|court|credit blacklist"
    r"|collection agency|garnish|seize|shame|irresponsible|deadbeat|final warning",
    re.IGNORECASE,
)
FORBIDDEN_ZH = re.compile(
    r"恶意透支|刑事|坐牢|起诉|报警|征信黑名单|黑名单|法院|拘留|诉讼|警告|老赖|丢人"
)


def _responses(path: Path = COLLECTIONS_DOMAIN) -> dict[str, list[dict[str, Any]]]:
    document = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    responses: dict[str, list[dict[str, Any]]] = document["responses"]
    return responses


def _is_zh(variant: dict[str, Any]) -> bool:
    return any(c.get("value") == "zh" for c in variant.get("condition") or [])


RESPONSES = _responses()


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
        pattern = FORBIDDEN_ZH if _is_zh(variant) else FORBIDDEN_EN
        assert not pattern.search(text), f"{name}: {text}"
        assert not FORBIDDEN_ZH.search(text), f"{name}: {text}"


def test_distress_reply_names_a_crisis_line_in_each_language() -> None:
    variants = RESPONSES["utter_col_handoff_distress"]
    english = next(v["text"] for v in variants if not _is_zh(v))
    chinese = next(v["text"] for v in variants if _is_zh(v))
    assert "988" in english
    assert "12356" in chinese and "心理援助热线" in chinese


def test_the_scanner_catches_what_it_must() -> None:
    assert FORBIDDEN_EN.search("we may take legal action")
    assert FORBIDDEN_EN.search("you could be arrested")
    for word in ("恶意透支", "刑事", "坐牢", "起诉", "报警", "征信黑名单"):
        assert FORBIDDEN_ZH.search(f"否则{word}")
