"""The pure parts of the load driver: percentiles, summaries, dealing out scripts."""

from __future__ import annotations

import asyncio
import math

import aiohttp
import pytest

from bot.bench.load import TurnSample, percentile, run_load, summarize


def test_percentile_interpolates_between_ranks_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile(list(range(1, 101)), 99) == pytest.approx(99.01)


def test_percentile_does_not_depend_on_order_and_handles_one_value() -> None:
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([7.0], 99) == 7.0


def test_percentile_of_nothing_is_nan_and_q_is_checked() -> None:
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError, match=r"0\.\.100"):
        percentile([1.0], 101)


def test_summary_counts_errors_but_times_only_answered_turns() -> None:
    samples = [TurnSample(0.1, True), TurnSample(0.3, True), TurnSample(5.0, False)]
    row = summarize("stack", 10, 1, 2.0, samples)
    assert row["turns"] == 3 and row["errors"] == 1
    assert row["p50_ms"] == pytest.approx(200.0)
    assert row["p99_ms"] == pytest.approx(298.0)
    assert row["throughput_per_s"] == pytest.approx(1.0)  # 2 answered turns in 2 s


def test_summary_of_a_level_with_no_answer() -> None:
    row = summarize("floor", 1, 1, 0.0, [TurnSample(1.0, False)])
    assert row["errors"] == 1 and row["throughput_per_s"] == 0.0 and math.isnan(row["p50_ms"])


def test_run_load_runs_every_conversation_once_with_its_script_and_own_id() -> None:
    seen: list[tuple[str, int, str]] = []
    in_flight = 0
    peak = 0

    async def send(_: aiohttp.ClientSession, conversation: str, turn: int, text: str) -> bool:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)
        in_flight -= 1
        seen.append((conversation, turn, text))
        return text != "bad"

    scripts = [("a", "b"), ("x", "bad")]
    result = asyncio.run(run_load("t", send, scripts, concurrency=3, conversations=5))
    assert len(result.samples) == 10
    assert sum(not s.ok for s in result.samples) == 2  # conversations 1 and 3 use script 2
    assert len({c for c, _, _ in seen}) == 5
    assert peak == 3
    by_conversation: dict[str, list[str]] = {}
    for conversation, _, text in seen:
        by_conversation.setdefault(conversation, []).append(text)
    assert sorted(map(tuple, by_conversation.values())) == [("a", "b")] * 3 + [("x", "bad")] * 2
