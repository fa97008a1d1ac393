"""`make run`: prepare what is missing, then run every process in the foreground.

Each child runs in its own session so that Ctrl-C reaches only this supervisor,
which then stops the children in order (gateway first, so no user request
lands on a half-stopped stack). If any child dies, everything stops: a stack
with a missing part must not look healthy. If this process is killed hard,
the kernel sends each child SIGTERM (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TypeVar

from bot.runner.rasa_env import rasa_server_env
from bot.settings import PROJECT_ROOT, VAR_DIR, Settings, get_settings

STOP_TIMEOUT_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 240.0
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def die_with_parent() -> None:  # pragma: no cover - runs in the child
    """Ask Linux to SIGTERM this child when its parent dies (no orphans)."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process and the thread copying its output."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, base_env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=PROJECT_ROOT,
            env={**base_env, **self.env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )
        assert self.process.stdout is not None
        threading.Thread(target=self._pump, args=(self.process.stdout,), daemon=True).start()

    def _pump(self, stream: IO[bytes]) -> None:
        prefix = f"[{self.name}] "
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip()
            if line:
                sys.stdout.write(prefix + line + "\n")
                sys.stdout.flush()

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def build_children(settings: Settings, model: Path) -> list[Child]:
    """The processes of the stack, in start order."""
    venv_python = str(PROJECT_ROOT / ".venv" / "bin" / "python")
    rasa = str(PROJECT_ROOT / ".venv-rasa" / "bin" / "rasa")
    rasa_url = settings.rasa_url
    action_port = str(settings.action_server_url.port or 5055)
    return [
        Child(
            "actions",
            [venv_python, "-m", "rasa_sdk", "--actions", "actions", "--port", action_port],
            env={"SANIC_HOST": settings.action_server_url.host or "127.0.0.1"},
        ),
        Child(
            "rasa",
            [
                rasa,
                "run",
                "--model",
                str(model),
                "--enable-api",
                "--auth-token",
                settings.rasa_token.get_secret_value(),
                "--interface",
                rasa_url.host or "127.0.0.1",
                "--port",
                str(rasa_url.port or 5005),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
            ],
            env={
                **rasa_server_env(settings),
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
                "PYTHONWARNINGS": "ignore",
            },
        ),
        Child("gateway", [venv_python, "-m", "bot", "gateway"]),
        # Its own process, not a gateway task: see bot/reminders/service.py.
        Child("reminders", [venv_python, "-m", "bot", "reminders", "run"]),
    ]


def _healthz(settings: Settings) -> tuple[bool, str]:
    url = f"http://{settings.gateway_host}:{settings.gateway_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return response.status == 200, response.read().decode()
    except urllib.error.HTTPError as error:
        return False, error.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as error:
        return False, str(error)


def prepare(settings: Settings) -> Path:
    """Create what is missing: schema, demo data on an empty database, the model."""
    from bot.db.migrate import upgrade
    from bot.demo.seed import seed_demo
    from bot.runner.model import ensure_model

    VAR_DIR.mkdir(exist_ok=True)
    if not settings.rasa_token.get_secret_value():
        raise SystemExit("RASA_TOKEN is empty: run `make run` (it writes .env) or set it.")
    _step("database schema", lambda: upgrade(settings.database_url))
    _step("demo data", lambda: print(seed_demo(settings.database_url, if_empty=True)))
    return _step("Rasa model", ensure_model)


def _step(name: str, action: Callable[[], T]) -> T:
    started = time.monotonic()
    result = action()
    print(f"==> {name}: ready in {time.monotonic() - started:.1f} s", flush=True)
    return result


def run_stack(settings: Settings | None = None) -> int:
    """Prepare and run the stack until a signal or a child's death. Exit code."""
    started = time.monotonic()
    settings = settings or get_settings()
    model = prepare(settings)
    children = build_children(settings, model)

    stop = threading.Event()
    reason: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        reason.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    base_env = dict(os.environ)
    for child in children:
        child.start(base_env)
    parent = os.getppid()
    ready = False
    exit_code = 0
    try:
        while not stop.wait(0.5):
            dead = [c for c in children if c.exited() is not None]
            if dead:
                print(f"==> {dead[0].name} exited with {dead[0].exited()}; stopping", flush=True)
                exit_code = 1
                break
            if os.getppid() != parent:  # `make` itself was killed
                reason.append("parent exited")
                break
            if not ready:
                ready, detail = _healthz(settings)
                if ready:
                    elapsed = time.monotonic() - started
                    print(
                        f"==> ready in {elapsed:.0f} s: web chat "
                        f"http://{settings.gateway_host}:{settings.gateway_port}/  "
                        f"health {json.loads(detail).get('status')}  (Ctrl-C stops)",
                        flush=True,
                    )
                elif time.monotonic() - started > READY_TIMEOUT_SECONDS:
                    print(f"==> not healthy after {READY_TIMEOUT_SECONDS:.0f} s: {detail}")
                    exit_code = 1
                    break
    finally:
        if reason:
            print(f"==> {reason[0]}: stopping", flush=True)
        for child in reversed(children):
            child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in reversed(children):
            child.wait_or_kill(deadline)
        print("==> stopped", flush=True)
    return exit_code
