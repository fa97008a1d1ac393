"""Phone numbers never reach a log line, whatever string carries them."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from bot.logging import PSEUDONYM_PREFIX, PhonePseudonymiser, configure_logging
from bot.settings import Settings


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


def scrub(pseudonymiser: PhonePseudonymiser, **event: object) -> dict[str, object]:
    return dict(pseudonymiser(None, "info", dict(event)))


def test_numbers_in_ids_paths_and_nested_values_are_replaced() -> None:
    p = PhonePseudonymiser(b"k" * 32)

    out = scrub(
        p,
        conversation_id="sms:14155550101",
        path="/api/chat/sms:14155550101/messages",
        error="duplicate key (+14155550101)",
        nested={"calls": ["+8613800138004"]},
    )

    assert "4155550101" not in json.dumps(out)
    assert "13800138004" not in json.dumps(out)
    assert str(out["conversation_id"]).startswith("sms:" + PSEUDONYM_PREFIX)
    # The same number with or without "+" gets the same pseudonym, so lines still join up.
    assert str(out["conversation_id"]).removeprefix("sms:") in str(out["error"])


def test_ids_and_small_numbers_are_left_alone() -> None:
    p = PhonePseudonymiser(b"k" * 32)
    event = {
        "message_sid": "SM" + "0" * 31 + "1",
        "call": "CA" + "1234567890" * 3 + "12",
        "inbox_id": 123456,
        "model": "models/20261123-154523.tar.gz",
        "elapsed_ms": "4821.5",
    }

    assert scrub(p, **event) == event


def test_pseudonyms_depend_on_the_key() -> None:
    one, two = PhonePseudonymiser(b"a" * 32), PhonePseudonymiser(b"b" * 32)
    assert one.pseudonym("+14155550101") == one.pseudonym("14155550101")
    assert one.pseudonym("+14155550101") != two.pseudonym("+14155550101")


def test_the_json_pipeline_pseudonymises_structlog_and_stdlib_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(
        Settings(_env_file=None, log_format="json", session_secret=SecretStr("s" * 32))
    )

    structlog.get_logger("bot.test").info("sms.received", conversation_id="sms:13125550102")
    logging.getLogger("some.library").warning("sending to %s", "+13125550102")

    err = capsys.readouterr().err
    assert "3125550102" not in err
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines[0]["conversation_id"].startswith("sms:tel#")
    assert lines[1]["event"].startswith("sending to tel#")
