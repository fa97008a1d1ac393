"""The whole stack as `make run` starts it, shared by every e2e test module.

One stack is started per test session (Rasa takes tens of seconds to load) on
free loopback ports with its own database, then driven over HTTP like a user.
`test_stack.py` stops it last and checks that every process went away. A module
that kills processes (`test_faults_e2e.py`) starts its own with `running_stack`.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bot.settings import PROJECT_ROOT
from tests.conftest import DatabaseFactory
from tests.twilio_fake import ACCOUNT_SID, AUTH_TOKEN, FROM_NUMBER, sign

START_TIMEOUT = 300.0
# The demo desk accounts `make run` creates from .env (DESK_*_PASSWORD).
DESK_PASSWORDS = {"agent": "e2e-agent-pw-1", "supervisor": "e2e-supervisor-pw-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _tail(path: str, size: int = 6000) -> str:
    with open(path, encoding="utf-8", errors="replace") as log:
        return log.read()[-size:]


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Stack:
    process: subprocess.Popen[str]
    gateway: str
    ports: dict[str, int]
    log_path: str
    database_url: str

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.gateway + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def twilio(self, path: str, params: dict[str, str]) -> tuple[int, str]:
        """A form POST signed the way Twilio signs it; the status and the TwiML."""
        url = self.gateway + path
        request = urllib.request.Request(
            url,
            data=urllib.parse.urlencode(params).encode(),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": sign(url, params),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def chat(self, conversation_id: str, text: str, language: str | None = None) -> Any:
        body: dict[str, Any] = {"conversation_id": conversation_id, "text": text}
        if language:
            body["language"] = language
        status, payload = self.request("POST", "/api/chat", body)
        assert status == 200, payload
        return payload


def stack_env(database_url: str, ports: dict[str, int], **extra: str) -> dict[str, str]:
    """The environment `make run` gets: free ports, its own database, fake Twilio."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_PORT": str(ports["gateway"]),
        "RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "ACTION_SERVER_URL": f"http://127.0.0.1:{ports['actions']}",
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "LOG_FORMAT": "json",
        # Twilio webhooks are signed by the tests with this token; outbound
        # sends go to a port nobody listens on (Twilio is never reached)
        # unless `extra` points TWILIO_API_BASE at a fake.
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": FROM_NUMBER,
        "TWILIO_API_BASE": f"http://127.0.0.1:{_free_port()}",
        "DESK_AGENT_PASSWORD": DESK_PASSWORDS["agent"],
        "DESK_SUPERVISOR_PASSWORD": DESK_PASSWORDS["supervisor"],
        **extra,
    }


def wait_healthy(stack: Stack, timeout: float = START_TIMEOUT) -> None:
    """Poll `/healthz` until 200; fail with the log's tail if the stack dies or stalls."""
    deadline = time.monotonic() + timeout
    while True:
        if stack.process.poll() is not None:
            pytest.fail(f"stack exited early:\n{_tail(stack.log_path)}")
        try:
            status, _ = stack.request("GET", "/healthz")
        except (urllib.error.URLError, OSError):
            status = 0
        if status == 200:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"stack not healthy in time:\n{_tail(stack.log_path)}")
        time.sleep(0.5)


@contextmanager
def running_stack(database_url: str, log_dir: Path, **extra_env: str) -> Iterator[Stack]:
    """`python -m bot run` on free ports, healthy on entry, stopped (SIGTERM) on exit.

    Args:
        database_url: an empty database of its own (seeded by `make run`).
        log_dir: where the stack's combined output goes (`stack.log`).
        extra_env: variables to add or override (e.g. `TWILIO_API_BASE`).
    """
    ports = {"gateway": _free_port(), "rasa": _free_port(), "actions": _free_port()}
    log_path = str(log_dir / "stack.log")
    log = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=PROJECT_ROOT,
        env=stack_env(database_url, ports, **extra_env),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = Stack(process, f"http://127.0.0.1:{ports['gateway']}", ports, log_path, database_url)
    try:
        wait_healthy(stack)
        yield stack
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


@pytest.fixture(scope="session")
def stack(
    database_factory: DatabaseFactory, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    with running_stack(database_factory.create(), tmp_path_factory.mktemp("stack")) as stack:
        yield stack
