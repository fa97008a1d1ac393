"""CPU accounting for the benchmark: process trees from /proc, per-turn figures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.bench import cpu

pytestmark = pytest.mark.skipif(not cpu.available(), reason="needs Linux's /proc")


def _burn(seconds: float) -> None:
    deadline = time.process_time() + seconds
    while time.process_time() < deadline:
        pass


def test_a_process_tree_counts_its_living_children() -> None:
    # A parent that sleeps, with a child that burns CPU: the tree is charged for both.
    code = (
        "import subprocess, sys, time;"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import time\\nend = time.process_time() + 0.6\\nwhile time.process_time() < end: pass"
        "\\ntime.sleep(30)']);"
        "time.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code])
    try:
        before = cpu.snapshot({"tree": parent.pid}, services={})
        time.sleep(1.5)
        after = cpu.snapshot({"tree": parent.pid}, services={})
    finally:
        parent.kill()
        parent.wait()
    assert after["tree"] - before["tree"] >= 0.4


def test_this_process_is_charged_what_it_burned() -> None:
    before = cpu.snapshot({"me": os.getpid()}, services={})
    _burn(0.3)
    after = cpu.snapshot({"me": os.getpid()}, services={})
    assert 0.25 <= after["me"] - before["me"] <= 1.0


def test_services_are_summed_by_command_name() -> None:
    name = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    snap = cpu.snapshot({}, services={"me": name, "nobody": "no-such-command-xyz"})
    assert snap["me"] > 0 and snap["nobody"] == 0


def test_per_turn_milliseconds_and_total() -> None:
    before = {"gateway": 1.0, "rasa-1": 2.0, "postgres": 10.0}
    after = {"gateway": 2.5, "rasa-1": 5.0, "postgres": 10.5}
    assert cpu.per_turn_ms(before, after, 100) == {
        "gateway": 15.0,
        "rasa-1": 30.0,
        "postgres": 5.0,
        "total": 50.0,
    }
    assert cpu.per_turn_ms(before, after, 0) == {}


def test_no_sampler_without_processes() -> None:
    assert cpu.sampler([("gateway", None)]) is None
    sample = cpu.sampler([("me", os.getpid())])
    assert sample is not None and sample()["me"] > 0
