"""`python -m bot.bench [--quick] [--no-default-nlu] [--out var/bench]` (`make bench`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shutil
import socket
import tempfile
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bot.bench import cpu, load, measures, report, stack
from bot.runner.model import ensure_model, model_path
from bot.settings import PROJECT_ROOT

REDIS_URL = "redis://127.0.0.1:6379/0"
BENCH_DATABASE = "cardbot_bench"
LEVELS = (1, 10, 50)
VOICE_CONCURRENCY = 10


def conversations_at(concurrency: int, quick: bool) -> int:
    """How many conversations a load level runs (each is six turns)."""
    if quick:
        return max(2, concurrency)
    return {1: 8, 10: 40}.get(concurrency, 2 * concurrency)


def _print_row(row: dict[str, Any]) -> None:
    print(
        f"    {row['target']:<12} c={row['concurrency']:<3} turns={row['turns']:<4} "
        f"errors={row['errors']:<3} p50={row['p50_ms']:.0f} p95={row['p95_ms']:.0f} "
        f"p99={row['p99_ms']:.0f} ms  {row['throughput_per_s']:.1f} msg/s",
        flush=True,
    )


def drive(
    target: str,
    send: load.Sender,
    scripts: Sequence[Sequence[str]],
    levels: Sequence[int],
    quick: bool,
    running: stack.Group | None = None,
) -> list[dict[str, Any]]:
    """Warm up (two conversations, not counted), then each load level in turn.

    With `running`, each level's row also carries the CPU its processes (and
    the PostgreSQL and Redis servers) spent per answered turn.
    """
    asyncio.run(
        load.run_load(
            target, send, scripts, concurrency=1, conversations=2, id_prefix=f"warm-{target}"
        )
    )
    sample = cpu.sampler(running.pids()) if running is not None else None
    rows = []
    for level in levels:
        before = sample() if sample else None
        result = asyncio.run(
            load.run_load(
                target,
                send,
                scripts,
                concurrency=level,
                conversations=conversations_at(level, quick),
                id_prefix=target,
            )
        )
        row = result.summary()
        if sample is not None and before is not None:
            row["cpu_ms_per_turn"] = cpu.per_turn_ms(before, sample(), row["turns"] - row["errors"])
        rows.append(row)
        _print_row(row)
    return rows


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def pick_model(quick: bool, notes: list[str]) -> Path:
    """The current model; a quick run falls back to the newest trained one (noted)."""
    current = model_path()
    if current.exists():
        return current
    if quick:
        trained = sorted(
            (PROJECT_ROOT / "models").glob("cardbot-*.tar.gz"), key=lambda p: p.stat().st_mtime
        )
        if trained:
            notes.append(
                f"The model for the current training data is not trained; this quick run used "
                f"the newest trained model `{trained[-1].name}`."
            )
            return trained[-1]
    return ensure_model()


def step(name: str, results: dict[str, Any], action: Callable[[], None]) -> None:
    """Run one measure; a failure is recorded and the others still run."""
    print(f"==> {name}", flush=True)
    try:
        action()
    except Exception as error:  # noqa: BLE001 - one broken measure must not lose the rest
        traceback.print_exc()
        results["notes"].append(f"{name}: failed ({type(error).__name__}: {error}).")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer conversations, small planner")
    parser.add_argument("--out", default="var/bench", help="report folder")
    parser.add_argument(
        "--no-default-nlu",
        action="store_true",
        help="skip training Rasa's default pipeline on data/nlu (about 10 min; "
        "cached by the data's fingerprint, so only a changed data set retrains it)",
    )
    # The comparison used to be opt-in; the old flag is still accepted.
    parser.add_argument("--with-default-nlu", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-floor", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-two-rasa", action="store_true", help="skip 2 Rasa + Redis + PG")
    parser.add_argument("--no-training", action="store_true", help="do not time rasa train")
    parser.add_argument("--only", default="", help=argparse.SUPPRESS)  # development: a,b,...
    args = parser.parse_args(argv)
    quick: bool = args.quick
    out = (PROJECT_ROOT / args.out).resolve()
    logs = out / "logs"
    out.mkdir(parents=True, exist_ok=True)
    only = set(filter(None, args.only.split(",")))

    def wanted(name: str) -> bool:
        return not only or name in only

    load1, load5, _ = os.getloadavg()
    results: dict[str, Any] = {
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "quick" if quick else "full",
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{load1:.1f}/{load5:.1f} at start (shared machine)",
        "chat": {},
        "nlu": {},
        "planner": [],
        "notes": [],
    }
    notes: list[str] = results["notes"]
    model = pick_model(quick, notes)
    results["model"] = model.name
    levels = LEVELS
    tmp = Path(tempfile.mkdtemp(prefix="bench-", dir=out))

    def floor() -> None:
        folder = out / "floor"
        floor_model = stack.floor_model(folder, logs)
        with stack.start_floor(folder, floor_model, logs) as server:
            results["chat"]["floor"] = drive(
                "floor", load.rest_sender(server.url), load.FLOOR_SCRIPTS, levels, quick, server
            )

    def one_rasa() -> None:
        database = f"sqlite:///{tmp / 'chat.db'}"
        measures.seed(database, 20)
        with stack.start_project_stack(model, database, logs / "stack") as running:
            print(f"    stack healthy after {running.startup_seconds:.0f} s", flush=True)
            # Voice first: the chat levels leave retries behind (Rasa timeouts at 50).
            if wanted("voice"):
                calls = VOICE_CONCURRENCY if quick else 3 * VOICE_CONCURRENCY
                sender = load.voice_sender(running.gateway_url, stack.TWILIO_AUTH_TOKEN)
                asyncio.run(
                    load.run_load(
                        "voice",
                        sender,
                        load.VOICE_SCRIPTS,
                        concurrency=1,
                        conversations=2,
                        id_prefix="warm-voice",
                    )
                )
                voice = asyncio.run(
                    load.run_load(
                        "voice",
                        sender,
                        load.VOICE_SCRIPTS,
                        concurrency=VOICE_CONCURRENCY,
                        conversations=calls,
                    )
                )
                results["voice"] = voice.summary()
                _print_row(results["voice"])
            results["chat"]["stack"] = drive(
                "stack",
                load.chat_sender(running.gateway_url),
                load.CHAT_SCRIPTS,
                levels,
                quick,
                running,
            )

    def without_speedups() -> None:
        # The same stack at 10 conversations with Rasa unpatched: what the
        # speed-ups in nlu_components/speedups.py are worth, in this run.
        database = f"sqlite:///{tmp / 'plain.db'}"
        measures.seed(database, 20)
        with stack.start_project_stack(
            model, database, logs / "stack-plain", extra_env={"RASA_SPEEDUPS": "off"}
        ) as running:
            results["chat"]["stack_plain"] = drive(
                "stack_plain",
                load.chat_sender(running.gateway_url),
                load.CHAT_SCRIPTS,
                (10,),
                quick,
                running,
            )

    def two_rasa() -> None:
        if args.no_two_rasa:
            results["chat"]["stack_2rasa"] = "--no-two-rasa"
            return
        if not _port_open("127.0.0.1", 6379) or not measures.postgres_available():
            results["chat"]["stack_2rasa"] = "Redis or PostgreSQL not reachable on 127.0.0.1"
            return
        results["chat"]["stack_2rasa"] = "failed"
        with measures.postgres_database(BENCH_DATABASE) as database:
            measures.seed(database, 20)
            with stack.start_project_stack(
                model, database, logs / "stack-2rasa", rasa_servers=2, redis_url=REDIS_URL
            ) as running:
                print(f"    stack healthy after {running.startup_seconds:.0f} s", flush=True)
                results["chat"]["stack_2rasa"] = drive(
                    "stack_2rasa",
                    load.chat_sender(running.gateway_url),
                    load.CHAT_SCRIPTS,
                    levels,
                    quick,
                    running,
                )
        notes.append(
            "2 Rasa: the gateway's RASA_URL is nginx, round robin over the two Rasa servers "
            "(no stickiness: any server may take any turn); tracker store PostgreSQL "
            "(`cardbot_bench`, also the app database), lock store Redis. The 1-Rasa row uses "
            "the demo configuration (SQLite, in-memory locks)."
        )

    def nlu() -> None:
        results["nlu"]["ours"] = {"languages": measures.heldout_scores(model, tmp / "nlu")}
        train_default = args.with_default_nlu or not (quick or args.no_default_nlu)
        default = measures.default_pipeline_scores(out, train=train_default)
        results["nlu"]["default"] = default
        if default is None:
            notes.append("Rasa default pipeline: not measured (--quick or --no-default-nlu).")
        elif default.get("fingerprint") != measures.nlu_data_fingerprint():
            notes.append(
                f"Rasa default pipeline scores are cached from {default.get('measured')} "
                "(training data has changed since; rerun without --no-default-nlu)."
            )

    def training() -> None:
        results["training"] = measures.training_time(
            out, measure=not quick and not args.no_training
        )

    def planner() -> None:
        sizes = (1_000, 10_000) if quick else (10_000, 100_000)
        for size in sizes:
            url = f"sqlite:///{tmp / f'planner-{size}.db'}"
            results["planner"].append(measures.planner_throughput(url, size, "SQLite"))
            print(f"    {results['planner'][-1]}", flush=True)
        if measures.postgres_available():
            # A million accounts (DESIGN.md) on PostgreSQL only: seeding them is most
            # of the cost (several minutes), planning them shows the cost stays linear.
            for size in sizes if quick else (*sizes, 1_000_000):
                with measures.postgres_database(f"{BENCH_DATABASE}_planner") as url:
                    results["planner"].append(measures.planner_throughput(url, size, "PostgreSQL"))
                print(f"    {results['planner'][-1]}", flush=True)
        else:
            notes.append("Planner on PostgreSQL: not measured (no server on 127.0.0.1:5432).")

    try:
        for name, action in (
            ("floor", floor),
            ("stack", one_rasa),
            ("plain", without_speedups),
            ("two-rasa", two_rasa),
            ("nlu", nlu),
            ("planner", planner),
            ("training", training),
        ):
            if wanted(name) and not (name == "floor" and args.no_floor):
                step(name, results, action)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        load1, load5, _ = os.getloadavg()
        results["machine"] += f", {load1:.1f}/{load5:.1f} at the end"
        written = report.write_report(results, out)
        print(f"==> {written.relative_to(PROJECT_ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
