"""The stack `make run` starts: the command lines it gives each process."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from bot.runner.supervisor import build_children
from bot.settings import Settings


def test_a_rasa_token_starting_with_a_dash_is_passed_as_one_argument() -> None:
    # token_urlsafe() starts with "-" one time in 64: argparse would take it for an option.
    settings = Settings(_env_file=None, rasa_token=SecretStr("-abc_DEF-123"))

    children = {child.name: child for child in build_children(settings, Path("model.tar.gz"))}

    command = children["rasa"].command
    assert "--auth-token=-abc_DEF-123" in command
    assert "-abc_DEF-123" not in command  # never a separate argument
