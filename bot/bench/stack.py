"""Starting and stopping what a measure needs, each process on a free loopback port.

`ProjectStack` is the stack `make run` starts (action server, Rasa, gateway;
not the reminder scheduler, which would compete for the CPU) built from the
same command lines as `bot/runner/supervisor.py`, optionally with several
Rasa servers behind nginx (round robin, as `deploy/` puts them: the shared
tracker store and the Redis lock store let any server take any turn).
`FloorRasa` is a stock `rasa init` bot served by the same Rasa install. Logs go to `<out>/logs/`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from bot.bench.nginx import nginx_command, write_config
from bot.runner.model import rasa_command, rasa_env
from bot.runner.rasa_env import rasa_server_env
from bot.runner.supervisor import die_with_parent
from bot.settings import PROJECT_ROOT, Settings

START_TIMEOUT_SECONDS = 300.0
STOP_TIMEOUT_SECONDS = 20.0
TWILIO_AUTH_TOKEN = "bench-twilio-auth-token"
G = TypeVar("G", bound="Group")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    """One child in its own session, its output in a log file."""

    name: str
    command: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path = PROJECT_ROOT
    popen: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.popen = subprocess.Popen(
            self.command,
            cwd=self.cwd,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent if sys.platform.startswith("linux") else None,
        )

    def check_alive(self) -> None:
        if self.popen is not None and self.popen.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with {self.popen.returncode}; see {self.log_path}\n"
                + self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
            )

    def terminate(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)

    def wait(self, deadline: float) -> None:
        if self.popen is not None:
            try:
                self.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait()
        if self._log is not None:
            self._log.close()
            self._log = None


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=3) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except (urllib.error.URLError, OSError):
        return 0


@dataclass
class Group:
    """Processes started together, stopped together (in reverse order)."""

    processes: list[Process] = field(default_factory=list)

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def wait_until(self, url: str, what: str, timeout: float = START_TIMEOUT_SECONDS) -> float:
        """Poll `url` until it answers 200; seconds waited."""
        started = time.monotonic()
        while _get(url) != 200:
            for process in self.processes:
                process.check_alive()
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{what} not ready after {timeout:.0f} s")
            time.sleep(1)
        return time.monotonic() - started

    def pids(self) -> list[tuple[str, int | None]]:
        """(name, pid) of each process, for CPU accounting."""
        return [(p.name, p.popen.pid if p.popen else None) for p in self.processes]

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_SECONDS
        for process in reversed(self.processes):
            process.wait(deadline)

    def __enter__(self: G) -> G:
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()


def _python() -> str:
    return str(PROJECT_ROOT / ".venv" / "bin" / "python")


def _rasa_env(settings: Settings) -> dict[str, str]:
    return {**rasa_env(), **rasa_server_env(settings)}


@dataclass
class ProjectStack(Group):
    gateway_url: str = ""
    startup_seconds: float = 0.0


def start_project_stack(
    model: Path,
    database_url: str,
    logs: Path,
    *,
    rasa_servers: int = 1,
    redis_url: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> ProjectStack:
    """Action server, `rasa_servers` Rasa servers (behind nginx if more than one), gateway.

    Returns once the gateway's /healthz answers 200.
    """
    gateway_port, actions_port, proxy_port = free_port(), free_port(), free_port()
    rasa_ports = [free_port() for _ in range(rasa_servers)]
    rasa_url = f"http://127.0.0.1:{proxy_port if rasa_servers > 1 else rasa_ports[0]}"
    gateway = f"http://127.0.0.1:{gateway_port}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "GATEWAY_PORT": str(gateway_port),
        "RASA_URL": rasa_url,
        "ACTION_SERVER_URL": f"http://127.0.0.1:{actions_port}",
        "RASA_TOKEN": secrets.token_urlsafe(16),
        "LOG_LEVEL": "WARNING",
        "LOG_FORMAT": "json",
        "PUBLIC_BASE_URL": gateway,
        "TWILIO_ACCOUNT_SID": "AC" + "1" * 32,
        "TWILIO_AUTH_TOKEN": TWILIO_AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        # Outbound sends go to a port nobody listens on: Twilio is never reached.
        "TWILIO_API_BASE": f"http://127.0.0.1:{free_port()}",
        "PYTHONDONTWRITEBYTECODE": "1",
        **(extra_env or {}),
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    else:
        env.pop("REDIS_URL", None)
    settings = Settings(
        database_url=database_url,
        redis_url=redis_url,
        action_server_url=env["ACTION_SERVER_URL"],
    )
    token = env["RASA_TOKEN"]
    stack = ProjectStack(gateway_url=gateway)
    stack.processes.append(
        Process(
            "actions",
            [_python(), "-m", "rasa_sdk", "--actions", "actions", "--port", str(actions_port)],
            {**env, "SANIC_HOST": "127.0.0.1"},
            logs / "actions.log",
        )
    )
    for index, port in enumerate(rasa_ports):
        command = [
            *rasa_command(),
            "run",
            "--model",
            str(model),
            "--enable-api",
            # One argument: a token may start with "-" (token_urlsafe).
            f"--auth-token={token}",
            "--interface",
            "127.0.0.1",
            "--port",
            str(port),
            "--endpoints",
            "endpoints.yml",
            "--credentials",
            "credentials.yml",
        ]
        stack.processes.append(
            Process(
                f"rasa-{index + 1}",
                command,
                {**env, **_rasa_env(settings)},
                logs / f"rasa-{index + 1}.log",
            )
        )
    if rasa_servers > 1:
        # The gateway is measured directly; nginx's front server is not used here.
        config = write_config(logs / "nginx", free_port(), [gateway_port], proxy_port, rasa_ports)
        subprocess.run([*nginx_command(config), "-t"], check=True, capture_output=True)
        stack.processes.append(Process("nginx", nginx_command(config), env, logs / "nginx.log"))
    stack.processes.append(
        Process("gateway", [_python(), "-m", "bot", "gateway"], env, logs / "gateway.log")
    )
    started = time.monotonic()
    try:
        stack.start()
        for port in rasa_ports:
            stack.wait_until(f"http://127.0.0.1:{port}/", f"Rasa on port {port}")
        stack.wait_until(gateway + "/healthz", "gateway")
        stack.startup_seconds = time.monotonic() - started
    except BaseException:
        stack.stop()
        raise
    return stack


@dataclass
class FloorRasa(Group):
    url: str = ""


def floor_model(folder: Path, logs: Path) -> Path:
    """The stock `rasa init` bot in `folder`, created and trained only if missing."""
    models = sorted((folder / "models").glob("*.tar.gz")) if folder.exists() else []
    if models:
        return models[-1]
    folder.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    print(f"==> rasa init in {folder} (trains the stock bot, a few minutes)", flush=True)
    with open(logs / "floor-init.log", "wb") as log:
        subprocess.run(
            [*rasa_command(), "init", "--no-prompt", "--init-dir", str(folder)],
            cwd=PROJECT_ROOT,
            env=rasa_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
        )
    models = sorted((folder / "models").glob("*.tar.gz"))
    if not models:
        raise RuntimeError(f"rasa init trained no model; see {logs / 'floor-init.log'}")
    return models[-1]


def start_floor(folder: Path, model: Path, logs: Path) -> FloorRasa:
    """`rasa run --enable-api` for the stock bot (in-memory tracker store, no actions)."""
    port = free_port()
    command = [
        *rasa_command(),
        "run",
        "--model",
        str(model),
        "--enable-api",
        "--interface",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    floor = FloorRasa(url=f"http://127.0.0.1:{port}")
    floor.processes.append(
        Process("floor-rasa", command, rasa_env(), logs / "floor-rasa.log", cwd=folder)
    )
    try:
        floor.start()
        floor.wait_until(floor.url + "/status", "floor Rasa")
    except BaseException:
        floor.stop()
        raise
    return floor
