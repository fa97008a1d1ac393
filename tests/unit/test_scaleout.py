"""The scale-out run's pieces: nginx's configuration, the phases, the report."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.bench.nginx import nginx_command, render_config, write_config
from bot.bench.scaleout import Turn, phase_summary, write_report


def test_both_upstreams_are_listed_and_failover_is_on(tmp_path: Path) -> None:
    config = render_config(tmp_path, 8000, [8001, 8002], 9000, [9001, 9002])

    gateways = config.split("upstream gateways {")[1].split("}")[0]
    rasa = config.split("upstream rasa {")[1].split("}")[0]
    assert "127.0.0.1:8001 max_fails=1" in gateways and "127.0.0.1:8002 max_fails=1" in gateways
    assert "127.0.0.1:9001" in rasa and "127.0.0.1:9002" in rasa and "8001" not in rasa
    assert "listen 127.0.0.1:8000;" in config and "listen 127.0.0.1:9000;" in config
    assert config.count("proxy_next_upstream error timeout") == 3
    # POSTs are never sent twice by nginx: "non_idempotent" stays off.
    assert "non_idempotent" not in config
    # The desk's live queue is a stream; nginx must not hold it back.
    sse = config.split("location /desk/api/events {")[1].split("}")[0]
    assert "proxy_buffering off;" in sse
    # Everything nginx writes stays under the run's folder.
    assert f"pid {tmp_path / 'nginx.pid'};" in config


@pytest.mark.skipif(shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists(),
                    reason="nginx is not installed (scripts/ensure-nginx)")  # fmt: skip
def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    config = write_config(tmp_path, 18000, [18001, 18002], 19000, [19001, 19002])
    check = subprocess.run([*nginx_command(config), "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def _turn(sent_at: float, seconds: float, outcome: str, retries: int = 0) -> Turn:
    return Turn("c", "hi", sent_at, seconds=seconds, outcome=outcome, retries=retries)


def test_phases_count_outcomes_and_time_answered_turns_only() -> None:
    turns = [
        _turn(1.0, 0.5, "answered"),
        _turn(2.0, 1.5, "answered"),
        _turn(11.0, 30.0, "delayed", retries=1),
        _turn(12.0, 180.0, "error"),
    ]

    before = phase_summary(turns, 0.0, 10.0)
    after = phase_summary(turns, 10.0, math.inf)

    assert (before["turns"], before["answered"], before["errors"]) == (2, 2, 0)
    assert before["p50_ms"] == pytest.approx(1000.0)
    assert before["max_ms"] == pytest.approx(1500.0)
    assert (after["turns"], after["delayed"], after["errors"], after["retried"]) == (2, 1, 1, 1)
    assert after["max_ms"] == pytest.approx(30_000.0)  # the error's 180 s is not a latency


def test_the_report_shows_every_phase_and_the_audit(tmp_path: Path) -> None:
    turns = [_turn(1.0, 0.5, "answered"), _turn(50.0, 2.0, "error")]
    turns[1].detail = "no answer in time"
    result = {
        "conversations": 2,
        "duration_s": 60.0,
        "gateways": 2,
        "rasa_servers": 2,
        "wall_s": 70.0,
        "timeline": {"rasa_killed_at": 20.0, "gateway_killed_at": None},
        "phases": {
            "before the kills": phase_summary(turns, 0, 20),
            "whole run": phase_summary(turns, 0, math.inf),
        },
        "audit": {
            "messages_sent": 2,
            "inbox_rows": 2,
            "inbox_statuses": {"processed": 2},
            "unanswered_rows": 0,
            "doubled_rows": 0,
            "lost": 0,
        },
        "turns": [vars(t) for t in turns],
    }

    text = write_report(tmp_path, result).read_text(encoding="utf-8")

    assert "rasa-1 killed (SIGKILL) at 20 s; gateway-1 killed at —" in text
    assert "| before the kills | 1 | 1 | 0 | 0 | 0 | 500 | 500 | 500 |" in text
    assert "**lost 0**" in text
    assert "50.0 s `c`: no answer in time" in text
    assert (tmp_path / "report.json").exists()
