"""`make run`: prepare what is missing, then run every process in the foreground.

Each child runs in its own session so that Ctrl-C reaches only this supervisor,
which then stops the children in order (gateway first, so no user request
lands on a half-stopped stack). A child that dies unexpectedly is restarted
after a backoff (1 s, doubling up to 30 s) while the others keep serving: the
gateway keeps every inbound message in its inbox and replays it once the
missing part is back. A child that keeps crashing (more than 5 times in 5
minutes) is a fault no restart will cure, so the whole stack stops with exit
code 1. If this process is killed hard, the kernel sends each child SIGTERM
(PR_SET_PDEATHSIG).
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
from collections import deque
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


@dataclass(frozen=True)
class RestartPolicy:
    """How the supervisor treats a child that died on its own.

    The delay doubles with each crash inside the window, so a child that
    cannot start (a port taken, a broken model) does not spin; a crash-free
    window resets it.
    """

    first_delay_seconds: float = 1.0
    max_delay_seconds: float = 30.0
    max_crashes: int = 5
    window_seconds: float = 300.0

    def delay(self, recent_crashes: int) -> float:
        """Seconds to wait before restarting after the `recent_crashes`-th crash."""
        doubled = self.first_delay_seconds * 2 ** max(0, recent_crashes - 1)
        return float(min(self.max_delay_seconds, doubled))


@dataclass
class Child:
    """One supervised process, the thread copying its output, and its crashes."""

    name: str
    command: list[str]
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    crashes: deque[float] = field(default_factory=deque)
    restart_at: float | None = None

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

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def exited(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def terminate(self) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    def kill_leftovers(self) -> None:
        """SIGKILL what a dead child left in its session (a worker holding its port)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def describe_exit(code: int) -> str:
    """`exited with 3`, or `killed by SIGKILL` for a negative Popen return code."""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exited with {code}"


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


class Supervisor:
    """Starts the children, restarts the ones that die, and stops them all.

    `check` is called from the main thread's loop (PR_SET_PDEATHSIG follows
    the thread that forked, so every child must be started from the same,
    long-lived thread).
    """

    def __init__(
        self,
        children: list[Child],
        base_env: dict[str, str],
        policy: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = children
        self._base_env = base_env
        self._policy = policy or RestartPolicy()
        self._clock = clock
        # When the first crash since the stack was last seen healthy happened.
        self.degraded_since: float | None = None
        self._stopping = False

    def start(self) -> None:
        """Start every child, in order."""
        for child in self.children:
            self._launch(child, "started")

    def check(self) -> str | None:
        """Notice deaths and run due restarts.

        Returns:
            Why the stack must stop (a child crashing too often), or None.
        """
        if self._stopping:
            return None
        now = self._clock()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.restart_at = None
                    self._launch(child, f"restarted ({len(child.crashes)} in window)")
                continue
            code = child.exited()
            if code is not None:
                failure = self._crashed(child, code, now)
                if failure is not None:
                    return failure
        return None

    def recovered(self) -> None:
        """The stack is healthy again after a crash (logged by the caller)."""
        self.degraded_since = None

    def stop(self) -> None:
        """Stop every child, the last started first, SIGKILL after a deadline."""
        self._stopping = True
        for child in reversed(self.children):
            child.restart_at = None
            child.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for child in reversed(self.children):
            child.wait_or_kill(deadline)

    def _launch(self, child: Child, what: str) -> None:
        child.start(self._base_env)
        _say(f"{child.name} {what}: pid {child.pid}")

    def _crashed(self, child: Child, code: int, now: float) -> str | None:
        child.kill_leftovers()
        child.crashes.append(now)
        window = self._policy.window_seconds
        while child.crashes and now - child.crashes[0] > window:
            child.crashes.popleft()
        count = len(child.crashes)
        how = describe_exit(code)
        if count > self._policy.max_crashes:
            _say(f"{child.name} (pid {child.pid}) {how}: {count} crashes in {window:g} s")
            return f"{child.name} crashed {count} times in {window:g} s"
        delay = self._policy.delay(count)
        child.restart_at = now + delay
        if self.degraded_since is None:
            self.degraded_since = now
        _say(f"{child.name} (pid {child.pid}) {how}; restarting in {delay:g} s")
        return None


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
                # One argument: a token may start with "-" (token_urlsafe).
                f"--auth-token={settings.rasa_token.get_secret_value()}",
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
    from bot.demo.desk_accounts import ensure_demo_desk_accounts
    from bot.demo.seed import seed_demo
    from bot.runner.model import ensure_model

    VAR_DIR.mkdir(exist_ok=True)
    if not settings.rasa_token.get_secret_value():
        raise SystemExit("RASA_TOKEN is empty: run `make run` (it writes .env) or set it.")
    _step("database schema", lambda: upgrade(settings.database_url))
    _step("demo data", lambda: print(seed_demo(settings.database_url, if_empty=True)))
    _step("desk accounts", lambda: _print_desk_accounts(ensure_demo_desk_accounts(settings)))
    return _step("Rasa model", ensure_model)


def _print_desk_accounts(done: dict[str, str]) -> None:
    if not done:
        print("desk accounts: none configured (set DESK_AGENT_PASSWORD / DESK_SUPERVISOR_PASSWORD)")
        return
    listed = ", ".join(f"{username} {what}" for username, what in done.items())
    print(f"desk accounts: {listed}; sign in at /desk/login (passwords in .env)")


def _step(name: str, action: Callable[[], T]) -> T:
    started = time.monotonic()
    result = action()
    print(f"==> {name}: ready in {time.monotonic() - started:.1f} s", flush=True)
    return result


def run_stack(settings: Settings | None = None, policy: RestartPolicy | None = None) -> int:
    """Prepare and run the stack until a signal or a child that keeps crashing.

    Returns:
        The exit code: 0 after a signal, 1 when the stack could not be kept up.
    """
    started = time.monotonic()
    settings = settings or get_settings()
    model = prepare(settings)
    supervisor = Supervisor(build_children(settings, model), dict(os.environ), policy)

    stop = threading.Event()
    reason: list[str] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        reason.append(signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    supervisor.start()
    parent = os.getppid()
    health = _HealthWatch(settings, started)
    exit_code = 0
    try:
        while not stop.wait(0.5):
            failure = supervisor.check()
            if failure is not None:
                reason.append(failure)
                exit_code = 1
                break
            if os.getppid() != parent:  # `make` itself was killed
                reason.append("parent exited")
                break
            if not health.watch(supervisor):
                exit_code = 1
                break
    finally:
        if reason:
            _say(f"{reason[0]}: stopping")
        supervisor.stop()
        _say("stopped")
    return exit_code


class _HealthWatch:
    """Reports when the stack first becomes healthy, and when it is again after a crash."""

    PROBE_INTERVAL_SECONDS = 2.0

    def __init__(self, settings: Settings, started: float) -> None:
        self._settings = settings
        self._started = started
        self._ready = False
        self._next_probe = 0.0

    def watch(self, supervisor: Supervisor) -> bool:
        """Probe `/healthz` when something is awaited; False if start-up took too long."""
        now = time.monotonic()
        if self._ready and supervisor.degraded_since is None:
            return True
        if now < self._next_probe:
            return True
        self._next_probe = now + (self.PROBE_INTERVAL_SECONDS if self._ready else 0.0)
        healthy, detail = _healthz(self._settings)
        if not self._ready:
            if healthy:
                supervisor.recovered()  # crashes during start-up are history
            return self._first_ready(healthy, detail, now)
        if healthy and supervisor.degraded_since is not None:
            _say(f"healthy again {now - supervisor.degraded_since:.0f} s after the first crash")
            supervisor.recovered()
        return True

    def _first_ready(self, healthy: bool, detail: str, now: float) -> bool:
        settings = self._settings
        if healthy:
            self._ready = True
            _say(
                f"ready in {now - self._started:.0f} s: web chat "
                f"http://{settings.gateway_host}:{settings.gateway_port}/  "
                f"health {json.loads(detail).get('status')}  (Ctrl-C stops)"
            )
        elif now - self._started > READY_TIMEOUT_SECONDS:
            _say(f"not healthy after {READY_TIMEOUT_SECONDS:.0f} s: {detail}")
            return False
        return True
