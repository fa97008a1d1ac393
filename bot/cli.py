"""Command line entry points. Each command imports its module lazily so that
`python -m bot --help` stays fast and no command pays for another's imports."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.db.migrate import upgrade
    from bot.settings import get_settings

    upgrade(get_settings().database_url)
    return 0


def _demo_seed(args: argparse.Namespace) -> int:
    from bot.demo.seed import DemoDataExists, seed_demo
    from bot.settings import get_settings

    try:
        report = seed_demo(
            get_settings().database_url,
            accounts=args.accounts,
            if_empty=args.if_empty,
            random_seed=args.random_seed,
        )
    except DemoDataExists as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report)
    return 0


def _env_init(args: argparse.Namespace) -> int:
    from bot.runner.envfile import ensure_env_file

    created = ensure_env_file()
    print(".env created with fresh secrets" if created else ".env already exists (kept)")
    return 0


def _model_ensure(args: argparse.Namespace) -> int:
    from bot.runner.model import ensure_model

    path = ensure_model(force=args.force)
    print(path)
    return 0


def _model_test(args: argparse.Namespace) -> int:
    from bot.runner.model import run_dialogue_tests

    return run_dialogue_tests()


def _gateway(args: argparse.Namespace) -> int:
    from bot.gateway.server import serve
    from bot.settings import get_settings

    serve(get_settings())
    return 0


def _reminders_run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.reminders.service import run_scheduler, serve
    from bot.settings import get_settings

    if args.once:
        report = asyncio.run(run_scheduler(get_settings(), once=True))
        if report is not None:
            print(report.plan)
            print({outcome: len(ids) for outcome, ids in report.outcomes.items()})
        return 0
    serve(get_settings())
    return 0


def _reminders_plan(args: argparse.Namespace) -> int:
    import asyncio
    from datetime import datetime, timezone

    from bot.reminders.service import plan_report
    from bot.settings import get_settings

    now = None
    if args.now:
        now = datetime.fromisoformat(args.now)
        now = now if now.tzinfo else now.replace(tzinfo=timezone.utc)
    report = asyncio.run(plan_report(get_settings(), dry_run=args.dry_run, now=now))
    print(("dry run (rolled back): " if args.dry_run else "") + str(report))
    return 0


def _desk_user(args: argparse.Namespace) -> int:
    import getpass
    import os

    from sqlalchemy.orm import Session

    from bot.db.engine import make_engine
    from bot.demo.desk_accounts import deactivate_desk_user, upsert_desk_user
    from bot.domain.enums import AgentRole
    from bot.settings import get_settings

    engine = make_engine(get_settings().database_url)
    try:
        with Session(engine) as session, session.begin():
            if args.deactivate:
                done = deactivate_desk_user(session, args.username)
            else:
                # From the environment for scripts, else asked (never an argument:
                # command lines end up in shell history and process lists).
                password = os.environ.get("DESK_PASSWORD") or getpass.getpass("Password: ")
                if len(password) < 12:
                    print("error: use a password of at least 12 characters", file=sys.stderr)
                    return 2
                done = upsert_desk_user(
                    session,
                    args.username.strip().lower(),
                    args.name or args.username,
                    AgentRole(args.role),
                    password,
                )
    finally:
        engine.dispose()
    print(f"{args.username}: {done}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from bot.runner.supervisor import run_stack

    return run_stack()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    db.add_parser("upgrade", help="apply Alembic migrations up to head").set_defaults(
        handler=_db_upgrade
    )

    demo = commands.add_parser("demo", help="demo data").add_subparsers(
        dest="demo_command", required=True
    )
    seed = demo.add_parser("seed", help="create the demo personas and a synthetic portfolio")
    seed.add_argument(
        "--accounts",
        type=int,
        default=2000,
        help="synthetic accounts besides the 8 personas (default 2000)",
    )
    seed.add_argument(
        "--if-empty", action="store_true", help="do nothing if the database has accounts"
    )
    seed.add_argument("--random-seed", type=int, default=20261123, help="makes the data repeatable")
    seed.set_defaults(handler=_demo_seed)

    desk = commands.add_parser("desk", help="agent desk accounts").add_subparsers(
        dest="desk_command", required=True
    )
    user = desk.add_parser(
        "user",
        help="create a desk user or reset their password (DESK_PASSWORD or a prompt)",
    )
    user.add_argument("username")
    user.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    user.add_argument("--name", help="display name shown to colleagues and cardholders")
    user.add_argument("--deactivate", action="store_true", help="stop this user signing in")
    user.set_defaults(handler=_desk_user)

    env = commands.add_parser("env", help=".env file").add_subparsers(
        dest="env_command", required=True
    )
    env.add_parser("init", help="write .env with random secrets if it is missing").set_defaults(
        handler=_env_init
    )

    model = commands.add_parser("model", help="the trained Rasa model").add_subparsers(
        dest="model_command", required=True
    )
    ensure = model.add_parser("ensure", help="train unless a model for this project exists")
    ensure.add_argument("--force", action="store_true", help="train even if cached")
    ensure.set_defaults(handler=_model_ensure)
    model.add_parser(
        "test-stories", help="run the dialogue tests in tests/ (rasa test core)"
    ).set_defaults(handler=_model_test)

    reminders = commands.add_parser("reminders", help="payment reminders").add_subparsers(
        dest="reminders_command", required=True
    )
    reminders_run = reminders.add_parser("run", help="run the reminder scheduler")
    reminders_run.add_argument(
        "--once", action="store_true", help="plan and send what is due now, then exit"
    )
    reminders_run.set_defaults(handler=_reminders_run)
    reminders_plan = reminders.add_parser("plan", help="one planning pass; prints accounts/s")
    reminders_plan.add_argument(
        "--dry-run", action="store_true", help="roll the pass back (benchmark)"
    )
    reminders_plan.add_argument("--now", help="plan as of this ISO time (default: now, UTC)")
    reminders_plan.set_defaults(handler=_reminders_plan)

    commands.add_parser("gateway", help="serve the HTTP gateway").set_defaults(handler=_gateway)
    commands.add_parser(
        "run", help="start gateway, Rasa, action server, reminders (what `make run` does)"
    ).set_defaults(handler=_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler = args.handler
    result: int = handler(args)
    return result


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
