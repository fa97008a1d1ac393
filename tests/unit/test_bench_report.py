"""Rendering the benchmark report: tables, ratios to the floor, what was not measured."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from bot.bench import report


def _row(target: str, concurrency: int, p50: float, rate: float) -> dict[str, Any]:
    return {
        "target": target, "concurrency": concurrency, "conversations": 4, "turns": 24,
        "errors": 0, "wall_seconds": 1.0, "throughput_per_s": rate,
        "p50_ms": p50, "p95_ms": 2 * p50, "p99_ms": 3 * p50, "mean_ms": p50,
    }  # fmt: skip


def _results(**extra: Any) -> dict[str, Any]:
    results: dict[str, Any] = {
        "generated": "2026-11-23T15:00:00+00:00",
        "mode": "full",
        "machine": "x86_64, 2 CPUs",
        "model": "cardbot-abc.tar.gz",
        "chat": {
            "floor": [_row("floor", 1, 20.0, 50.0), _row("floor", 10, 40.0, 100.0)],
            "stack": [_row("stack", 1, 100.0, 10.0), _row("stack", 10, 400.0, 20.0)],
            "stack_2rasa": "Redis or PostgreSQL not reachable on 127.0.0.1",
        },
        "voice": {**_row("voice", 10, 300.0, 25.0), "conversations": 10, "turns": 50},
        "nlu": {
            "ours": {"languages": {"en": {"examples": 276, "accuracy": 0.9637, "macro_f1": 0.96}}},
            "default": None,
        },
        "training": {"seconds": 123.4, "source": "timed `rasa train` in this run"},
        "planner": [
            {
                "backend": "SQLite",
                "accounts": 10000,
                "accounts_screened": 10008,
                "plan_seconds": 1.3,
                "accounts_per_s": 7698.5,
                "planned": 2643,
                "seed_seconds": 4.0,
            },
        ],
        "notes": ["a note"],
    }
    results.update(extra)
    return results


def test_ratio_to_the_floor() -> None:
    assert report.ratio(100.0, 20.0) == "5.0×"
    assert report.ratio(100.0, None) == "—"
    assert report.ratio(100.0, 0.0) == "—"
    assert report.ratio(math.nan, 20.0) == "—"


def test_chat_rows_carry_their_ratio_to_the_floor_at_the_same_concurrency() -> None:
    lines = report.chat_table(_results())
    stack_10 = next(line for line in lines if "our stack, 1 Rasa | 10 |" in line)
    cells = [cell.strip() for cell in stack_10.split("|")[1:-1]]
    assert cells[4:8] == ["400", "800", "1,200", "20.0"]
    assert cells[8:] == ["10.0×", "10.0×", "10.0×", "0.2×"]
    floor_1 = next(line for line in lines if "(floor) | 1 |" in line)
    assert floor_1.endswith("| 1.0× | 1.0× | 1.0× | 1.0× |")


def test_aims_compare_against_the_floor_and_say_what_was_not_measured() -> None:
    found = {row["aim"]: row for row in report.aims(_results())}
    p95 = found["full-stack p95 at 10 conversations vs the floor's"]
    assert (p95["measured"], p95["met"]) == ("10.00×", False)  # 800 ms against 80 ms
    assert found["peak throughput, 2 Rasa, vs the floor's (1 process)"]["met"] is None
    assert found["voice turn p95 at 10 concurrent calls"]["met"] is True  # 600 ms
    assert found["full training"]["measured"] == "123 s"
    fast = _results()
    fast["chat"]["stack"][1]["p95_ms"] = 120.0  # 1.5× the floor's 80 ms: met, just
    fast["chat"]["stack_2rasa"] = [_row("stack_2rasa", 10, 50.0, 160.0)]
    found = {row["aim"]: row for row in report.aims(fast)}
    assert found["full-stack p95 at 10 conversations vs the floor's"]["met"] is True
    two = found["peak throughput, 2 Rasa, vs the floor's (1 process)"]
    assert (two["measured"], two["met"]) == ("1.60× (160.0 vs 100.0 msg/s)", True)
    assert "| full training | < 600 s | 123 s | yes |" in report.render_markdown(fast)


def test_cpu_table_sums_rasa_servers_and_says_how_many_cores_were_busy() -> None:
    results = _results()
    results["chat"]["stack"][1]["cpu_ms_per_turn"] = {
        "gateway": 15.0, "rasa-1": 7.0, "rasa-2": 8.0, "actions": 12.0,
        "postgres": 6.0, "redis": 0.5, "total": 48.5,
    }  # fmt: skip
    lines = report.cpu_table(results)
    [row] = [line for line in lines if line.startswith("| our stack, 1 Rasa | 10 |")]
    cells = [cell.strip() for cell in row.split("|")[1:-1]]
    # gateway, nginx, Rasa (both), actions, PostgreSQL, Redis, total, cores (48.5 ms x 20/s)
    assert cells[2:] == ["15.0", "0.0", "15.0", "12.0", "6.0", "0.5", "48.5", "0.97"]
    assert report.cpu_table(_results()) == ["Not measured (needs Linux's /proc)."]


def test_markdown_has_every_section_and_says_what_was_not_measured() -> None:
    text = report.render_markdown(_results(), charts=["latency.png"])
    for heading in (
        "## Aims",
        "## Chat",
        "## Voice",
        "## NLU",
        "## Training time",
        "## Reminder planner",
    ):
        assert heading in text
    assert "Two Rasa servers: not measured (Redis or PostgreSQL not reachable" in text
    assert "| Rasa default (DIET) | — | — | not measured | not measured |" in text
    assert "| ours (`config.yml`) | en | 276 | 96.4% | 96.0% |" in text
    assert "123 s (timed `rasa train` in this run)." in text
    assert "| SQLite | 10,000 | 10,008 | 1.30 | 7,698 | 2,643 | 4 |" in text
    assert "![latency.png](latency.png)" in text
    assert "- a note" in text
    assert "QUICK" not in text


def test_a_quick_run_is_labelled_and_missing_parts_do_not_break_rendering() -> None:
    text = report.render_markdown(
        {"mode": "quick", "chat": {}, "nlu": {}, "training": {"seconds": None}, "notes": []}
    )
    assert text.startswith("# Benchmarks (QUICK run")
    assert "Voice" in text and "Not measured" in text


def test_write_report_writes_json_and_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report, "render_charts", lambda _results, _out: [])
    written = report.write_report(_results(), tmp_path)
    assert written == tmp_path / "report.md"
    saved = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert saved["chat"]["stack"][1]["p50_ms"] == 400.0
    assert "## Chat" in written.read_text(encoding="utf-8")


def test_the_stock_pipelines_cache_key_follows_the_nlu_data_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.bench import measures

    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "rasa.lock").write_text("rasa==3.6.21\n")
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    nlu = tmp_path / "data" / "nlu" / "en.yml"
    nlu.write_text("- intent: greet\n")
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    monkeypatch.setattr(measures, "PROJECT_ROOT", tmp_path)
    first = measures.nlu_data_fingerprint()
    (tmp_path / "config.yml").write_text("pipeline: [something else]\n")  # ours: not its input
    assert measures.nlu_data_fingerprint() == first
    nlu.write_text("- intent: greet\n  examples: hi\n")
    assert measures.nlu_data_fingerprint() != first
