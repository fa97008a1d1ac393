"""Operating the stack: health, the page, bad input, and a clean stop."""

from __future__ import annotations

import signal
import time
import urllib.request

import pytest

from tests.e2e.conftest import Stack, port_open

pytestmark = pytest.mark.e2e


def test_health_reports_every_part(stack: Stack) -> None:
    status, body = stack.request("GET", "/healthz")
    assert status == 200
    assert body["status"] == "ok"
    assert set(body["checks"]) >= {"database", "rasa", "action_server"}


def test_english_greeting_is_answered_by_the_trained_model(stack: Stack) -> None:
    reply = stack.chat("e2e-en-1", "hello, anyone there?", language="en")
    assert reply["conversation_id"] == "e2e-en-1"
    assert reply["handed_off"] is False
    text = " ".join(m["text"] for m in reply["messages"])
    assert "Harbor Bank" in text


def test_chinese_greeting_gets_a_chinese_answer(stack: Stack) -> None:
    reply = stack.chat("e2e-zh-1", "您好，请问是银行吗", language="zh")
    text = " ".join(m["text"] for m in reply["messages"])
    assert "港湾银行" in text


def test_language_follows_the_text_when_no_hint_is_given(stack: Stack) -> None:
    first = stack.chat("e2e-switch", "hi there")
    assert "Harbor Bank" in " ".join(m["text"] for m in first["messages"])
    second = stack.chat("e2e-switch", "今天天气怎么样")
    text = " ".join(m["text"] for m in second["messages"])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in text), text


def test_bad_input_is_a_clear_400_not_a_500(stack: Stack) -> None:
    status, body = stack.request("POST", "/api/chat", {"conversation_id": "x"})
    assert status == 400 and "error" in body
    status, body = stack.request(
        "POST", "/api/chat", {"conversation_id": "x", "text": "a" * 10_000}
    )
    assert status == 400 and "error" in body


def test_web_chat_page_is_served(stack: Stack) -> None:
    with urllib.request.urlopen(stack.gateway + "/", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200
    assert "中文" in page and "EN" in page


def test_sigterm_stops_every_process(stack: Stack) -> None:
    """Last in the module: stopping the supervisor frees every port it opened."""
    stack.process.send_signal(signal.SIGTERM)
    assert stack.process.wait(timeout=60) == 0
    deadline = time.monotonic() + 20
    while any(port_open(port) for port in stack.ports.values()):
        assert time.monotonic() < deadline, "a child process outlived the supervisor"
        time.sleep(0.5)
