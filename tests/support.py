"""Helpers for tests that run rasa-sdk actions against a real database."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from ruamel.yaml import YAML
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.db.models import Account, Cardholder, Conversation
from bot.domain.enums import Channel, Language
from bot.settings import PROJECT_ROOT

SECRET = "test-secret"


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


async def add_conversation(
    maker: async_sessionmaker[AsyncSession],
    conversation_id: str,
    channel: Channel = Channel.WEB,
    address: str | None = None,
    language: Language = Language.EN,
) -> None:
    async with maker() as session, session.begin():
        session.add(
            Conversation(id=conversation_id, channel=channel, language=language, address=address)
        )


async def account_id_of(maker: async_sessionmaker[AsyncSession], ref: str) -> int:
    """The account id of a demo persona ("P1" … "P8")."""
    async with maker() as session:
        row = await session.execute(
            select(Account.id).join(Cardholder).where(Cardholder.external_ref == ref)
        )
        return int(row.scalar_one())


async def mark_verified(
    maker: async_sessionmaker[AsyncSession], conversation_id: str, ref: str, **conv: Any
) -> int:
    """A conversation whose identity check for persona `ref` has just succeeded."""
    await add_conversation(maker, conversation_id, **conv)
    account_id = await account_id_of(maker, ref)
    async with maker() as session, session.begin():
        conversation = await session.get(Conversation, conversation_id)
        assert conversation is not None
        conversation.verified_at = datetime.now(timezone.utc)
        conversation.account_id = account_id
    return account_id


def session_started_events(at: datetime) -> list[dict[str, Any]]:
    return [{"event": "session_started", "timestamp": at.timestamp()}]
