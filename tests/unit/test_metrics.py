"""The gateway's metrics: one registry per app, bounded labels, scrape-time readings."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY

from bot.gateway.metrics import Backlog, DependencyState, GatewayMetrics, label_code


def sample(metrics: GatewayMetrics, name: str, **labels: str) -> float:
    found = metrics.registry.get_sample_value(name, labels)
    return 0.0 if found is None else found


def test_each_instance_has_its_own_registry_and_never_the_global_one() -> None:
    first, second = GatewayMetrics(), GatewayMetrics()

    first.handoff("request_human")

    assert sample(first, "cardbot_handoffs_total", reason="request_human") == 1
    assert sample(second, "cardbot_handoffs_total", reason="request_human") == 0
    assert REGISTRY.get_sample_value("cardbot_handoffs_total", {"reason": "request_human"}) is None


def test_a_turn_is_counted_with_how_it_ended_and_timed() -> None:
    metrics = GatewayMetrics()

    with metrics.turn("sms") as record:
        record("zh", "answered")

    assert sample(metrics, "cardbot_turns_total", channel="sms", language="zh", outcome="answered")
    assert sample(metrics, "cardbot_turn_seconds_count", channel="sms") == 1


def test_a_turn_that_raises_is_an_error() -> None:
    metrics = GatewayMetrics()

    with pytest.raises(RuntimeError), metrics.turn("web"):
        raise RuntimeError("database down")

    labels = {"channel": "web", "language": "unknown", "outcome": "error"}
    assert sample(metrics, "cardbot_turns_total", **labels) == 1
    assert sample(metrics, "cardbot_turn_seconds_count", channel="web") == 1


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("request_human", "request_human"),
        ("offer_review:hardship_plan:supervisor", "offer_review"),
        ("Identity_Check_Failed", "identity_check_failed"),
        ("call me on +14155550101", "other"),
        ("我要投诉", "other"),
        ("", "other"),
        (None, "other"),
        ("x" * 80, "other"),
    ],
)
def test_reasons_become_bounded_codes(reason: str | None, label: str) -> None:
    assert label_code(reason) == label


def test_failures_are_also_counted_as_errors_where_they_happened() -> None:
    metrics = GatewayMetrics()

    metrics.rasa_request("tracker events", 0.2, ok=False)
    metrics.rasa_request("webhook", 0.1, ok=True)
    metrics.outbound("sms", "failed")
    metrics.outbound("sms", "sent")

    assert sample(
        metrics, "cardbot_rasa_request_seconds_count", endpoint="tracker_events", outcome="error"
    )
    assert sample(metrics, "cardbot_errors_total", where="rasa") == 1
    assert sample(metrics, "cardbot_errors_total", where="twilio") == 1
    assert sample(metrics, "cardbot_outbound_total", channel="sms", delivery="sent") == 1


def test_http_requests_are_counted_by_route_method_and_status() -> None:
    metrics = GatewayMetrics()

    metrics.http_request("/pay/{token}", "GET", 410, 0.01)

    labels = {"route": "/pay/{token}", "method": "GET", "status": "410"}
    assert sample(metrics, "cardbot_http_requests_total", **labels) == 1
    assert sample(metrics, "cardbot_http_request_seconds_count", route="/pay/{token}", method="GET")


def test_the_scrape_reports_its_readings_and_leaves_out_an_unknown_backlog() -> None:
    metrics = GatewayMetrics()
    up = [DependencyState("database", True, 0.003), DependencyState("rasa", False, None)]

    text = metrics.render(Backlog(3, 42.5, 2), up).decode()

    assert 'cardbot_dependency_up{dependency="database"} 1.0' in text
    assert 'cardbot_dependency_up{dependency="rasa"} 0.0' in text
    assert 'cardbot_dependency_latency_seconds{dependency="database"} 0.003' in text
    assert "cardbot_inbox_unfinished 3.0" in text
    assert "cardbot_inbox_oldest_unfinished_age_seconds 42.5" in text
    assert "cardbot_conversations_waiting_for_person 2.0" in text

    text = metrics.render(None, up).decode()

    assert "cardbot_inbox_unfinished" not in text
    assert 'cardbot_dependency_up{dependency="rasa"} 0.0' in text
