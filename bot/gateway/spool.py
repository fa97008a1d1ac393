"""The SMS spool: texts that arrived while the database could not save them.

Twilio does not retry an inbound SMS webhook, so a text the inbox cannot
save would be lost. The webhook instead appends its signed parameters to a
local file (one JSON line, fsynced before Twilio is answered) and a
background task replays the file through the SMS channel once the database
answers again. A replay is idempotent by `MessageSid`: a text the inbox
already holds (it was saved just before the outage, or an earlier replay got
that far) is skipped, so nothing is answered twice.

The spool is per gateway instance (local disk); each instance replays its own.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

import structlog
from multidict import MultiDict, MultiDictProxy
from sqlalchemy.exc import SQLAlchemyError

from bot.db.types import utcnow

log = structlog.get_logger(__name__)

CURRENT = "sms.jsonl"
REPLAYING_GLOB = "replaying-*.jsonl"

# Replays one spooled webhook; raises when it cannot (the database is still down).
Replay = Callable[[MultiDictProxy[str]], Awaitable[None]]


class SmsSpool:
    """An append-only file of webhook parameters, replayed oldest first."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = asyncio.Lock()  # appends never race a file being taken for replay

    async def append(self, params: Mapping[str, str]) -> None:
        """Write one webhook durably (fsynced) before the caller answers Twilio.

        Raises:
            OSError: the file could not be written (the caller answers 503).
        """
        line = json.dumps(
            {"received_at": utcnow().isoformat(), "params": list(params.items())},
            ensure_ascii=False,
        )
        async with self._lock:
            await asyncio.to_thread(self._append, line + "\n")
        log.warning("spool.sms_saved", message_sid=params.get("MessageSid"))

    def _append(self, line: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / CURRENT
        created = not path.exists()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new file's name must survive a crash too
            _fsync_directory(self.directory)

    def pending(self) -> int:
        """How many spooled texts wait for replay (lines in every spool file)."""
        count = 0
        for path in self._files(include_current=True):
            with path.open("rb") as handle:
                count += sum(1 for line in handle if line.strip())
        return count

    def _take_current(self) -> None:
        """Set the file being appended to aside for replay, durably renamed."""
        current = self.directory / CURRENT
        if current.exists() and current.stat().st_size > 0:
            current.rename(self.directory / f"replaying-{time.time_ns():020d}.jsonl")
            _fsync_directory(self.directory)

    def _files(self, *, include_current: bool) -> list[Path]:
        if not self.directory.exists():
            return []
        files = sorted(self.directory.glob(REPLAYING_GLOB))
        current = self.directory / CURRENT
        if include_current and current.exists():
            files.append(current)
        return files

    async def replay(self, handle: Replay) -> int:
        """Hand every spooled webhook to `handle`, oldest first; how many were handled.

        A file is deleted once every line in it was handled; when `handle`
        raises, the pass stops and the file stays for the next pass (lines
        already handled are skipped by then, by their `MessageSid`).
        """
        async with self._lock:
            # File work (a rename and a directory fsync) off the event loop.
            await asyncio.to_thread(self._take_current)
        handled = 0
        for path in await asyncio.to_thread(self._files, include_current=False):
            text = await asyncio.to_thread(path.read_text, encoding="utf-8")
            for raw in text.splitlines():
                if not raw.strip():
                    continue
                try:
                    entry = json.loads(raw)
                    params = MultiDictProxy(MultiDict([(k, v) for k, v in entry["params"]]))
                except (ValueError, KeyError, TypeError):
                    # A line torn by a crash mid-write: nothing was answered for it.
                    log.error("spool.bad_line", file=path.name)
                    continue
                await handle(params)
                handled += 1
            await asyncio.to_thread(path.unlink)
            log.info("spool.replayed", file=path.name)
        return handled


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SpoolReplayer:
    """Replays the spool in the background, every `interval_seconds`."""

    def __init__(self, spool: SmsSpool, handle: Replay, *, interval_seconds: float) -> None:
        self._spool = spool
        self._handle = handle
        self._interval = interval_seconds

    async def run_forever(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.run_once()

    async def run_once(self) -> int:
        """One pass; a failure (the database still down) is logged, never fatal."""
        try:
            return await self._spool.replay(self._handle)
        except (SQLAlchemyError, OSError) as error:  # still down: next pass
            log.warning("spool.replay_waiting", error=type(error).__name__)
        except Exception:
            log.exception("spool.replay_failed")
        return 0
