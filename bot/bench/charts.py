"""Draw the benchmark charts from results.json (run by `.venv-rasa/bin/python`).

    .venv-rasa/bin/python bot/bench/charts.py var/bench/results.json var/bench

Standalone on purpose: `.venv` has no matplotlib, `.venv-rasa` has no project code.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Any

LABELS = {
    "floor": "rasa init (floor)",
    "stack": "our stack, 1 Rasa",
    "stack_plain": "our stack, 1 Rasa, Rasa speed-ups off",
    "stack_2rasa": "our stack, 2 Rasa",
}


def main(results_path: str, out_dir: str) -> int:
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt: Any = importlib.import_module("matplotlib.pyplot")
    results: dict[str, Any] = json.loads(Path(results_path).read_text(encoding="utf-8"))
    out = Path(out_dir)
    chat = {k: v for k, v in results.get("chat", {}).items() if isinstance(v, list) and v}

    if chat:
        fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=False)
        for axis, key in zip(axes, ("p50_ms", "p95_ms", "p99_ms"), strict=True):
            for setup, rows in chat.items():
                xs = [r["concurrency"] for r in rows]
                axis.plot(xs, [r[key] for r in rows], marker="o", label=LABELS.get(setup, setup))
            axis.set_xscale("log")
            axis.set_xticks([r["concurrency"] for r in next(iter(chat.values()))])
            axis.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
            axis.set_title(key.replace("_ms", "") + " latency per turn (ms)")
            axis.set_xlabel("concurrent conversations")
            axis.grid(True, alpha=0.3)
        axes[0].legend()
        fig.tight_layout()
        fig.savefig(out / "latency.png", dpi=100)
        plt.close(fig)

        fig, axis = plt.subplots(figsize=(7, 4))
        setups = list(chat)
        levels = sorted({r["concurrency"] for rows in chat.values() for r in rows})
        width = 0.8 / len(setups)
        for i, setup in enumerate(setups):
            by_level = {r["concurrency"]: r["throughput_per_s"] for r in chat[setup]}
            axis.bar(
                [j + i * width for j in range(len(levels))],
                [by_level.get(level, 0) for level in levels],
                width,
                label=LABELS.get(setup, setup),
            )
        axis.set_xticks([j + width * (len(setups) - 1) / 2 for j in range(len(levels))])
        axis.set_xticklabels([str(level) for level in levels])
        axis.set_xlabel("concurrent conversations")
        axis.set_ylabel("messages / s")
        axis.set_title("Throughput")
        axis.legend()
        fig.tight_layout()
        fig.savefig(out / "throughput.png", dpi=100)
        plt.close(fig)

    planner = results.get("planner") or []
    if planner:
        fig, axis = plt.subplots(figsize=(7, 4))
        for backend in sorted({r["backend"] for r in planner}):
            rows = [r for r in planner if r["backend"] == backend]
            axis.plot(
                [r["accounts"] for r in rows],
                [r["plan_seconds"] for r in rows],
                marker="o",
                label=backend,
            )
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("accounts")
        axis.set_ylabel("planning pass (s)")
        axis.set_title("Reminder planner: time per pass")
        axis.grid(True, alpha=0.3)
        axis.legend()
        fig.tight_layout()
        fig.savefig(out / "planner.png", dpi=100)
        plt.close(fig)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1], sys.argv[2]))
