"""Delinquency buckets by days past due (CONTRACT.md §5)."""

from __future__ import annotations

from bot.domain.enums import Bucket

# Lower bound (inclusive) of each bucket, in days past due.
_LOWER_BOUNDS: tuple[tuple[int, Bucket], ...] = (
    (180, Bucket.CHARGED_OFF),
    (90, Bucket.NPL),
    (60, Bucket.LATE),
    (30, Bucket.MID),
    (1, Bucket.EARLY),
    (0, Bucket.CURRENT),
)


def bucket_for(days_past_due: int) -> Bucket:
    """The bucket an account with `days_past_due` belongs to.

    Raises:
        ValueError: if `days_past_due` is negative.
    """
    if days_past_due < 0:
        raise ValueError(f"days past due cannot be negative: {days_past_due}")
    for lower, bucket in _LOWER_BOUNDS:
        if days_past_due >= lower:
            return bucket
    raise AssertionError("unreachable")  # pragma: no cover
