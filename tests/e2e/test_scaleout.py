"""Failover, for real: `make scaleout`, shortened, must lose nothing.

Two gateways and two Rasa servers behind nginx on loopback, PostgreSQL and
Redis; 40 web-chat cardholders for two minutes; one Rasa server and one
gateway SIGKILLed along the way and never restarted. The run's own audit of
the database and of what each cardholder saw is checked here.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.bench.measures import POSTGRES_SERVER
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_SECONDS = 900


def _reachable(url: str) -> bool:
    parsed = make_url(url)
    try:
        with socket.create_connection((parsed.host or "127.0.0.1", parsed.port or 5432), 2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    if not _reachable(POSTGRES_SERVER):
        pytest.skip(f"the scale-out run needs the local PostgreSQL ({POSTGRES_SERVER})")
    out: Path = tmp_path_factory.mktemp("scaleout")
    command = [
        sys.executable, "-m", "bot.bench.scaleout",
        "--conversations", "40", "--duration", "120",
        "--kill-rasa-at", "35", "--kill-gateway-at", "70",
        "--think", "4", "8", "--out", str(out),
    ]  # fmt: skip
    run = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS
    )
    assert (out / "report.json").exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result: dict[str, object] = json.loads((out / "report.json").read_text(encoding="utf-8"))
    result["exit_code"] = run.returncode
    result["output"] = run.stdout[-4000:]
    return result


def test_both_kills_happened_under_load(report: dict[str, object]) -> None:
    timeline = report["timeline"]
    assert isinstance(timeline, dict)
    assert timeline["rasa_killed_at"] is not None and timeline["gateway_killed_at"] is not None
    phases = report["phases"]
    assert isinstance(phases, dict)
    # The survivors served real traffic after each kill.
    assert phases["after rasa-1 died"]["answered"] > 0
    assert phases["after gateway-1 died"]["answered"] > 0


def test_no_message_was_lost_or_answered_twice(report: dict[str, object]) -> None:
    audit = report["audit"]
    assert isinstance(audit, dict)
    assert audit["messages_sent"] > 100
    assert audit["inbox_rows"] == audit["messages_sent"]
    assert audit["inbox_statuses"] == {"processed": audit["messages_sent"]}
    assert (audit["unanswered_rows"], audit["doubled_rows"], audit["lost"]) == (0, 0, 0)


def test_no_cardholder_saw_an_error(report: dict[str, object]) -> None:
    phases = report["phases"]
    assert isinstance(phases, dict)
    assert phases["whole run"]["errors"] == 0, report["output"]
    assert report["exit_code"] == 0, report["output"]
