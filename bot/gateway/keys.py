"""The application keys every part of the gateway reads (settings, database sessions).

Kept apart from `bot.gateway.app` so that modules the app wires in (the desk)
can read them without importing the app factory.
"""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SESSIONS = web.AppKey[async_sessionmaker[AsyncSession]]("sessions")
