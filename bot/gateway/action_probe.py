"""Is Rasa's action server up? Asked around every turn the gateway runs.

Rasa 3.6 does not fail a turn when its action server is down: it logs the
exception, drops the action's events and carries on, so the REST channel
answers 200 with whatever the policies predicted next (typically the
English "Sorry, I still didn't understand" fallback, even in a Chinese
conversation whose `action_session_start` never ran). Nothing in the answer
says so, so the gateway asks the action server itself: before the turn (to
keep a doomed message away from Rasa's tracker) and after it (an answer given
while the action server was down cannot be trusted). A positive answer is
reused for a moment, so a busy gateway asks about once a second, not once per
turn; a negative one never is.

The check is armed by the first answer: a gateway that has never reached an
action server (the integration tests' stand-in Rasa needs none) is not held
back by one that is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp
from yarl import URL

CACHE_SECONDS = 1.0


class ActionServerProbe:
    """`GET /health` on the action server, with a short memory of success."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        action_server_url: str,
        *,
        timeout_seconds: float,
        cache_seconds: float = CACHE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._url = URL(action_server_url.rstrip("/")) / "health"
        self._timeout = timeout_seconds
        self._cache = cache_seconds
        self._clock = clock
        self._up_until = float("-inf")
        self._armed = False

    async def problem(self, *, fresh: bool = False) -> str | None:
        """Why the action server cannot serve a turn, or None when it can.

        Args:
            fresh: ask now even if it answered a moment ago (after a turn).
        """
        now = self._clock()
        if not fresh and now < self._up_until:
            return None
        reason = await self._ask()
        if reason is None:
            self._armed = True
            self._up_until = now + self._cache
            return None
        self._up_until = float("-inf")
        return reason if self._armed else None

    async def _ask(self) -> str | None:
        try:
            async with self._http.get(
                self._url, timeout=aiohttp.ClientTimeout(total=self._timeout)
            ) as response:
                if response.status != 200:
                    return f"action server: HTTP {response.status}"
        except aiohttp.ClientConnectorError:
            return "action server: cannot connect"
        except aiohttp.ClientError as error:
            return f"action server: {type(error).__name__}"
        except asyncio.TimeoutError:
            return f"action server: no answer within {self._timeout:g}s"
        return None
