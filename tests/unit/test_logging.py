"""Logging goes through one pipeline and never carries what a cardholder wrote."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from bot.logging import REDACTED, configure_logging
from bot.settings import Settings


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_json_format_renders_structlog_and_stdlib_alike(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(Settings(_env_file=None, log_format="json", log_level="INFO"))

    structlog.get_logger("bot.test").info("chat.received", conversation_id="web-1")
    logging.getLogger("some.library").warning("library says %s", "hi")
    structlog.get_logger("bot.test").debug("too.detailed")

    lines = json_lines(capsys.readouterr().err)
    assert [line["event"] for line in lines] == ["chat.received", "library says hi"]
    assert lines[0]["conversation_id"] == "web-1"
    assert lines[0]["level"] == "info"
    assert lines[1]["logger"] == "some.library"
    assert all("timestamp" in line for line in lines)


def test_sensitive_fields_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(Settings(_env_file=None, log_format="json"))

    structlog.get_logger("bot.test").info(
        "oops", text="my card 4111 1111 1111 1111", phone="+14155550101", token="abc"
    )

    [line] = json_lines(capsys.readouterr().err)
    assert line["text"] == line["phone"] == line["token"] == REDACTED


def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings(_env_file=None, log_format="console")
    configure_logging(settings)
    configure_logging(settings)

    structlog.get_logger("bot.test").info("once")

    assert capsys.readouterr().err.count("once") == 1
