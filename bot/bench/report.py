"""`results.json` -> `report.md` (tables, ratios to the floor) and the PNG charts.

Rendering is pure (unit-tested); charts are drawn by `bot/bench/charts.py` in
`.venv-rasa`, the environment that has matplotlib.
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

from bot.settings import PROJECT_ROOT

SETUP_LABELS = {
    "floor": "stock `rasa init` bot (floor)",
    "stack": "our stack, 1 Rasa",
    "stack_plain": "our stack, 1 Rasa, `RASA_SPEEDUPS=off`",
    "stack_2rasa": "our stack, 2 Rasa + Redis + PostgreSQL",
}
CHARTS = ("latency.png", "throughput.png", "planner.png")


def _ms(value: float | None) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.0f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None or math.isnan(value) else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def ratio(value: float | None, floor: float | None) -> str:
    """`value / floor` as "3.2×"; a dash when either is missing or the floor is zero."""
    if value is None or floor is None or math.isnan(value) or math.isnan(floor) or floor == 0:
        return "—"
    return f"{value / floor:.1f}×"


def _floor_at(results: dict[str, Any], concurrency: int) -> dict[str, Any] | None:
    for row in results.get("chat", {}).get("floor") or []:
        if row["concurrency"] == concurrency:
            found: dict[str, Any] = row
            return found
    return None


def chat_table(results: dict[str, Any]) -> list[str]:
    lines = [
        "| setup | concurrent | turns | unanswered | p50 ms | p95 ms | p99 ms | msg/s "
        "| p50 vs floor | p95 vs floor | p99 vs floor | msg/s vs floor |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    chat: dict[str, Any] = results.get("chat", {})
    for setup, label in SETUP_LABELS.items():
        rows = chat.get(setup)
        if not isinstance(rows, list):
            continue
        for row in rows:
            floor = _floor_at(results, row["concurrency"]) or {}
            ratios = (
                ["1.0×"] * 4
                if setup == "floor"
                else [
                    ratio(row["p50_ms"], floor.get("p50_ms")),
                    ratio(row["p95_ms"], floor.get("p95_ms")),
                    ratio(row["p99_ms"], floor.get("p99_ms")),
                    ratio(row["throughput_per_s"], floor.get("throughput_per_s")),
                ]
            )
            lines.append(
                f"| {label} | {row['concurrency']} | {row['turns']} | {row['errors']} "
                f"| {_ms(row['p50_ms'])} | {_ms(row['p95_ms'])} | {_ms(row['p99_ms'])} "
                f"| {_num(row['throughput_per_s'])} | " + " | ".join(ratios) + " |"
            )
    return lines


# Columns of the CPU table, in the order a turn passes through them.
CPU_PARTS = (
    ("gateway", "gateway"),
    ("nginx", "nginx"),
    ("rasa", "Rasa"),
    ("actions", "action server"),
    ("postgres", "PostgreSQL"),
    ("redis", "Redis"),
)


def _cpu_parts(row: dict[str, Any]) -> dict[str, float]:
    """A row's CPU per turn, Rasa servers summed (`rasa-1`, `rasa-2`, `floor-rasa`)."""
    spent: dict[str, float] = row.get("cpu_ms_per_turn") or {}
    parts = {key: 0.0 for key, _ in CPU_PARTS}
    for name, ms in spent.items():
        key = "rasa" if "rasa" in name else name
        if key in parts:
            parts[key] += ms
    return parts


def cpu_table(results: dict[str, Any]) -> list[str]:
    """CPU milliseconds per answered turn, by process, for each setup and load level."""
    header = " | ".join(label for _, label in CPU_PARTS)
    lines = [
        f"| setup | concurrent | {header} | total ms | cores busy |",
        "|---|---|" + "---|" * len(CPU_PARTS) + "---|---|",
    ]
    for setup, label in SETUP_LABELS.items():
        rows = results.get("chat", {}).get(setup)
        if not isinstance(rows, list):
            continue
        for row in rows:
            if not row.get("cpu_ms_per_turn"):
                continue
            parts = _cpu_parts(row)
            total = sum(parts.values())
            busy = total * row["throughput_per_s"] / 1000
            cells = " | ".join(_num(parts[key]) for key, _ in CPU_PARTS)
            lines.append(
                f"| {label} | {row['concurrency']} | {cells} | {_num(total)} | {_num(busy, 2)} |"
            )
    return lines if len(lines) > 2 else ["Not measured (needs Linux's /proc)."]


def voice_table(results: dict[str, Any]) -> list[str]:
    voice = results.get("voice")
    if not isinstance(voice, dict):
        return [f"Not measured: {voice or 'skipped'}."]
    floor = _floor_at(results, voice["concurrency"]) or {}
    return [
        "| concurrent calls | calls | webhook turns | unanswered | p50 ms | p95 ms | p99 ms "
        "| turns/s | p50 vs floor (chat) | p95 vs floor (chat) |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {voice['concurrency']} | {voice['conversations']} | {voice['turns']} "
        f"| {voice['errors']} | {_ms(voice['p50_ms'])} | {_ms(voice['p95_ms'])} "
        f"| {_ms(voice['p99_ms'])} | {_num(voice['throughput_per_s'])} "
        f"| {ratio(voice['p50_ms'], floor.get('p50_ms'))} "
        f"| {ratio(voice['p95_ms'], floor.get('p95_ms'))} |",
    ]


def nlu_table(results: dict[str, Any]) -> list[str]:
    nlu: dict[str, Any] = results.get("nlu", {})
    lines = [
        "| pipeline | language | examples | intent accuracy | macro-F1 |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("ours", "ours (`config.yml`)"), ("default", "Rasa default (DIET)")):
        scores = nlu.get(key)
        if not isinstance(scores, dict) or "languages" not in scores:
            lines.append(f"| {label} | — | — | not measured | not measured |")
            continue
        for language, s in scores["languages"].items():
            lines.append(
                f"| {label} | {language} | {s['examples']} | {_pct(s['accuracy'])} "
                f"| {_pct(s['macro_f1'])} |"
            )
    return lines


def planner_table(results: dict[str, Any]) -> list[str]:
    rows = results.get("planner") or []
    if not rows:
        return ["Not measured."]
    lines = [
        "| database | accounts | screened | plan s | accounts/s | jobs planned (rolled back) "
        "| seed s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['backend']} | {row['accounts']:,} | {row['accounts_screened']:,} "
            f"| {row['plan_seconds']:.2f} | {row['accounts_per_s']:,.0f} | {row['planned']:,} "
            f"| {row['seed_seconds']:.0f} |"
        )
    return lines


def _peak_throughput(results: dict[str, Any], setup: str) -> float | None:
    rows = results.get("chat", {}).get(setup)
    if not isinstance(rows, list) or not rows:
        return None
    return max(float(row["throughput_per_s"]) for row in rows)


def _at(results: dict[str, Any], setup: str, concurrency: int) -> dict[str, Any] | None:
    for row in results.get("chat", {}).get(setup) or []:
        if isinstance(row, dict) and row.get("concurrency") == concurrency:
            return row
    return None


def aims(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 9's aims, each with what this run measured and whether it was met.

    `met` is None when a figure the aim needs was not measured.
    """
    stack_10, floor_10 = _at(results, "stack", 10), _at(results, "floor", 10)
    p95_ratio = (
        stack_10["p95_ms"] / floor_10["p95_ms"]
        if stack_10 and floor_10 and floor_10["p95_ms"]
        else None
    )
    two, floor_peak = _peak_throughput(results, "stack_2rasa"), _peak_throughput(results, "floor")
    two_ratio = two / floor_peak if two is not None and floor_peak else None
    voice = results.get("voice")
    voice_p95 = voice["p95_ms"] if isinstance(voice, dict) else None
    seconds = results.get("training", {}).get("seconds")
    training = seconds if isinstance(seconds, (int, float)) else None

    def aim(name: str, target: str, value: float | None, shown: str, ok: bool) -> dict[str, Any]:
        return {"aim": name, "target": target, "measured": shown if value is not None else "—",
                "met": None if value is None else ok}  # fmt: skip

    return [
        aim("full-stack p95 at 10 conversations vs the floor's", "≤ 1.5×", p95_ratio,
            f"{p95_ratio or 0:.2f}×", (p95_ratio or 0) <= 1.5),
        aim("peak throughput, 2 Rasa, vs the floor's (1 process)", "≥ 1.6×", two_ratio,
            f"{two_ratio or 0:.2f}× ({two or 0:.1f} vs {floor_peak or 0:.1f} msg/s)",
            (two_ratio or 0) >= 1.6),
        aim("voice turn p95 at 10 concurrent calls", "< 800 ms", voice_p95,
            f"{voice_p95 or 0:,.0f} ms", (voice_p95 or 0) < 800),
        aim("full training", "< 600 s", training, f"{training or 0:.0f} s", (training or 0) < 600),
    ]  # fmt: skip


def aims_table(results: dict[str, Any]) -> list[str]:
    lines = ["| aim | target | measured | met |", "|---|---|---|---|"]
    for row in aims(results):
        met = {True: "yes", False: "**no**", None: "not measured"}[row["met"]]
        lines.append(f"| {row['aim']} | {row['target']} | {row['measured']} | {met} |")
    return lines


def render_markdown(results: dict[str, Any], charts: list[str] | None = None) -> str:
    quick = results.get("mode") == "quick"
    out = [
        "# Benchmarks"
        + (" (QUICK run: fewer conversations, not the reference numbers)" if quick else ""),
        "",
        f"Generated {results.get('generated', '?')} on {results.get('machine', '?')}; "
        f"model `{results.get('model', '?')}`. Everything below was measured in this one run "
        "on this machine, side by side. Latency is per user turn (request sent to reply "
        "read), over answered turns. Unanswered: an HTTP error, or the gateway's own "
        'notice ("your message is saved, I\'ll reply shortly", or on a call a transfer '
        "to a person) because Rasa gave no answer within the gateway's 10 s timeout.",
        "",
        "## Aims",
        "",
        *aims_table(results),
        "",
        "## Chat: `POST /api/chat` vs the stock `rasa init` bot",
        "",
        "Scripted conversations, each with a fresh conversation id, English and Chinese "
        "alternating: greet → balance → phone → date of birth → card last 4 → due date for "
        "demo personas. The floor gets greet → mood_great → goodbye twice (six turns) on "
        "its REST webhook, in-memory tracker store, no action server.",
        "",
        *chat_table(results),
        "",
    ]
    skipped = results.get("chat", {}).get("stack_2rasa")
    if isinstance(skipped, str):
        out += [f"Two Rasa servers: not measured ({skipped}).", ""]
    out += [
        "### Where the CPU goes: milliseconds of CPU per answered turn",
        "",
        "User + system time of each process during the level, divided by the turns "
        "answered; PostgreSQL and Redis are their whole servers. *Cores busy* is the "
        "total times the throughput: at the machine's core count, more servers of one "
        "kind cannot raise the throughput, only a cheaper turn can.",
        "",
        *cpu_table(results),
        "",
    ]
    out += ["## Voice: TwiML turn latency", "", *voice_table(results), ""]
    out += ["## NLU: held-out intent scores (`tests/nlu/heldout_*.yml`)", "", *nlu_table(results)]
    default = results.get("nlu", {}).get("default")
    if isinstance(default, dict) and default.get("train_seconds") is not None:
        out += [
            "",
            f"Default pipeline: NLU-only training took {default['train_seconds']:.0f} s "
            f"(measured {default.get('measured', '?')}).",
        ]
    out += ["", "## Training time of the full model", ""]
    training = results.get("training", {})
    seconds = training.get("seconds")
    out.append(
        f"{seconds:.0f} s ({training.get('source', '')})."
        if isinstance(seconds, (int, float))
        else f"Not measured ({training.get('source', 'skipped')})."
    )
    out += [
        "",
        "## Reminder planner throughput (dry run, rolled back)",
        "",
        *planner_table(results),
    ]
    if charts:
        out += ["", "## Charts", ""] + [f"![{c}]({c})" for c in charts]
    notes = results.get("notes") or []
    if notes:
        out += ["", "## Notes", ""] + [f"- {note}" for note in notes]
    return "\n".join(out) + "\n"


def render_charts(results_path: Path, out: Path) -> list[str]:
    """Draw the PNGs with `.venv-rasa`'s matplotlib; the names of those written."""
    python = PROJECT_ROOT / ".venv-rasa" / "bin" / "python"
    script = Path(__file__).with_name("charts.py")
    if not python.exists():
        return []
    result = subprocess.run(
        [str(python), str(script), str(results_path), str(out)],
        check=False,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        print(f"==> charts failed: {result.stderr[-2000:]}", flush=True)
    return [name for name in CHARTS if (out / name).exists()]


def write_report(results: dict[str, Any], out: Path) -> Path:
    """`results.json`, the charts and `report.md` in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    results_path = out / "results.json"
    results_path.write_text(
        json.dumps(results, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8"
    )
    for name in CHARTS:
        (out / name).unlink(missing_ok=True)
    charts = render_charts(results_path, out)
    report = out / "report.md"
    report.write_text(render_markdown(results, charts), encoding="utf-8")
    return report
