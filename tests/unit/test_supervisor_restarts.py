"""The supervisor keeps the stack up: restarts with backoff, then gives up.

Tiny Python children (sleep or exit) stand in for Rasa and the gateway; a
fake clock drives the backoff so no test waits out a real delay.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.runner import supervisor as supervisor_module
from bot.runner.supervisor import Child, RestartPolicy, Supervisor, describe_exit
from bot.settings import Settings

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]
CRASHER = [sys.executable, "-c", "raise SystemExit(3)"]
TIMEOUT = 10.0


class FakeClock:
    """Monotonic time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def wait_for(condition: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def wait_exited(child: Child) -> int:
    assert child.process is not None
    return child.process.wait(timeout=TIMEOUT)


@pytest.fixture
def stopped() -> Iterator[list[Supervisor]]:
    """Supervisors to stop after the test, so no child outlives it."""
    supervisors: list[Supervisor] = []
    yield supervisors
    for supervisor in supervisors:
        supervisor.stop()


def make(
    stopped: list[Supervisor],
    children: list[Child],
    clock: FakeClock,
    policy: RestartPolicy | None = None,
) -> Supervisor:
    supervisor = Supervisor(children, dict(os.environ), policy or RestartPolicy(), clock)
    stopped.append(supervisor)
    supervisor.start()
    return supervisor


def test_backoff_doubles_from_one_second_up_to_thirty() -> None:
    policy = RestartPolicy()

    assert [policy.delay(n) for n in range(1, 8)] == [1, 2, 4, 8, 16, 30, 30]


def test_exit_descriptions_name_the_signal() -> None:
    assert describe_exit(-signal.SIGKILL) == "killed by SIGKILL"
    assert describe_exit(3) == "exited with 3"


def test_a_killed_child_is_restarted_after_the_backoff_and_the_others_keep_running(
    stopped: list[Supervisor], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    victim, bystander = Child("victim", SLEEPER), Child("bystander", SLEEPER)
    supervisor = make(stopped, [victim, bystander], clock)
    first_pid, bystander_pid = victim.pid, bystander.pid
    assert first_pid is not None

    os.kill(first_pid, signal.SIGKILL)
    wait_exited(victim)
    assert supervisor.check() is None
    assert victim.restart_at == clock.now + 1.0
    clock.now += 0.9
    supervisor.check()
    assert victim.pid == first_pid  # not yet: still backing off
    clock.now += 0.1
    supervisor.check()

    assert victim.pid != first_pid and victim.exited() is None
    assert bystander.pid == bystander_pid and bystander.exited() is None
    out = capsys.readouterr().out
    assert f"victim (pid {first_pid}) killed by SIGKILL; restarting in 1 s" in out
    assert f"victim restarted (1 in window): pid {victim.pid}" in out
    assert supervisor.degraded_since is not None


def test_each_crash_in_the_window_doubles_the_delay(stopped: list[Supervisor]) -> None:
    clock = FakeClock()
    child = Child("crasher", CRASHER)
    supervisor = make(stopped, [child], clock)
    delays = []
    for _ in range(4):
        wait_exited(child)
        assert supervisor.check() is None
        assert child.restart_at is not None
        delays.append(child.restart_at - clock.now)
        clock.now = child.restart_at
        supervisor.check()  # restarts it
    assert delays == [1.0, 2.0, 4.0, 8.0]


def test_crashes_older_than_the_window_are_forgiven(stopped: list[Supervisor]) -> None:
    clock = FakeClock()
    child = Child("crasher", CRASHER)
    policy = RestartPolicy(max_crashes=2, window_seconds=60.0)
    supervisor = make(stopped, [child], clock, policy)
    for _ in range(2):
        wait_exited(child)
        assert supervisor.check() is None
        clock.now = child.restart_at or clock.now
        supervisor.check()
    clock.now += 61.0  # both crashes fall out of the window
    wait_exited(child)

    assert supervisor.check() is None
    assert child.restart_at == clock.now + 1.0
    assert len(child.crashes) == 1


def test_a_child_crashing_too_often_stops_the_stack(
    stopped: list[Supervisor], capsys: pytest.CaptureFixture[str]
) -> None:
    clock = FakeClock()
    child = Child("crasher", CRASHER)
    policy = RestartPolicy(max_crashes=2, window_seconds=300.0)
    supervisor = make(stopped, [child], clock, policy)
    failure = None
    for _ in range(3):
        wait_exited(child)
        failure = supervisor.check()
        if failure is not None:
            break
        clock.now = child.restart_at or clock.now
        supervisor.check()

    assert failure == "crasher crashed 3 times in 300 s"
    assert "exited with 3: 3 crashes in 300 s" in capsys.readouterr().out


def test_stop_ends_every_child_and_cancels_pending_restarts(stopped: list[Supervisor]) -> None:
    clock = FakeClock()
    sleeper, crasher = Child("sleeper", SLEEPER), Child("crasher", CRASHER)
    supervisor = make(stopped, [sleeper, crasher], clock)
    wait_exited(crasher)
    supervisor.check()
    assert crasher.restart_at is not None

    supervisor.stop()
    clock.now += 60
    supervisor.check()

    assert sleeper.exited() is not None
    assert crasher.restart_at is None and crasher.exited() == 3


@pytest.fixture
def restore_signals() -> Iterator[None]:
    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in previous.items():
        signal.signal(signum, handler)


def _patch_stack(monkeypatch: pytest.MonkeyPatch, children: list[Child], *, healthy: bool) -> None:
    """`run_stack` without the database, the model or a gateway to probe."""
    monkeypatch.setattr(supervisor_module, "prepare", lambda _settings: Path("model.tar.gz"))
    monkeypatch.setattr(supervisor_module, "build_children", lambda _s, _m: children)
    detail = '{"status": "ok"}' if healthy else '{"status": "unavailable"}'
    monkeypatch.setattr(supervisor_module, "_healthz", lambda _settings: (healthy, detail))


@pytest.mark.usefixtures("restore_signals")
def test_run_stack_gives_up_with_exit_code_1(monkeypatch: pytest.MonkeyPatch) -> None:
    child = Child("crasher", CRASHER)
    _patch_stack(monkeypatch, [child], healthy=False)
    policy = RestartPolicy(first_delay_seconds=0.01, max_crashes=2)

    started = time.monotonic()
    code = supervisor_module.run_stack(Settings(_env_file=None), policy)

    assert code == 1
    assert child.exited() is not None
    assert time.monotonic() - started < TIMEOUT


@pytest.mark.usefixtures("restore_signals")
def test_sigterm_stops_the_stack_with_exit_code_0(monkeypatch: pytest.MonkeyPatch) -> None:
    children = [Child("one", SLEEPER), Child("two", SLEEPER)]
    _patch_stack(monkeypatch, children, healthy=True)
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        code = supervisor_module.run_stack(Settings(_env_file=None))
    finally:
        timer.cancel()

    assert code == 0
    assert all(child.exited() is not None for child in children)
