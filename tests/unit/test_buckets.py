"""Bucket boundaries (CONTRACT.md §5): every edge on both sides."""

from __future__ import annotations

import pytest

from bot.domain.buckets import bucket_for
from bot.domain.enums import Bucket


@pytest.mark.parametrize(
    ("days_past_due", "expected"),
    [
        (0, Bucket.CURRENT),
        (1, Bucket.EARLY),
        (29, Bucket.EARLY),
        (30, Bucket.MID),
        (59, Bucket.MID),
        (60, Bucket.LATE),
        (89, Bucket.LATE),
        (90, Bucket.NPL),
        (179, Bucket.NPL),
        (180, Bucket.CHARGED_OFF),
        (10_000, Bucket.CHARGED_OFF),
    ],
)
def test_bucket_boundaries(days_past_due: int, expected: Bucket) -> None:
    assert bucket_for(days_past_due) is expected


@pytest.mark.parametrize("days_past_due", [-1, -30])
def test_negative_days_past_due_is_rejected(days_past_due: int) -> None:
    with pytest.raises(ValueError, match="negative"):
        bucket_for(days_past_due)


def test_every_bucket_is_reachable() -> None:
    assert {bucket_for(d) for d in range(0, 400)} == set(Bucket)
