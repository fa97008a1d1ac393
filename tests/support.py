"""Helpers for tests that run rasa-sdk actions against a real database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from ruamel.yaml import YAML

from bot.settings import PROJECT_ROOT


def load_domain(folder: Path = PROJECT_ROOT / "domain") -> dict[str, Any]:
    """The merged domain, as rasa-sdk receives it from the Rasa server."""
    merged: dict[str, Any] = {"slots": {}, "forms": {}, "responses": {}, "intents": []}
    yaml = YAML(typ="safe")
    for path in sorted(folder.glob("*.yml")):
        content = yaml.load(path.read_text(encoding="utf-8")) or {}
        for key in ("slots", "forms", "responses"):
            merged[key].update(content.get(key) or {})
        merged["intents"] += content.get("intents") or []
    return merged


def make_tracker(
    sender_id: str,
    *,
    text: str = "",
    intent: str | None = None,
    slots: dict[str, Any] | None = None,
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    ranking: list[tuple[str, float]] | None = None,
) -> Tracker:
    all_slots: dict[str, Any] = {"language": "en", "verified": False}
    all_slots.update(slots or {})
    latest: dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99} if intent else {},
        "entities": [],
        "intent_ranking": [{"name": n, "confidence": c} for n, c in ranking or []],
    }
    return Tracker(
        sender_id,
        all_slots,
        latest,
        events or [],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


def message_values(dispatcher: CollectingDispatcher) -> str:
    """Everything the bot would show, as one string (values and texts)."""
    parts: list[str] = []
    for message in dispatcher.messages:
        parts += [str(value) for key, value in message.items() if value and key != "response"]
    return " ".join(parts)
