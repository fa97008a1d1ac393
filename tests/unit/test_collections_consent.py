"""Consent to an agreement: an explicit "I agree" / "同意", never a bare yes or a refusal."""

from __future__ import annotations

import pytest

from actions.collections_common import is_consent


@pytest.mark.parametrize(
    ("text", "consent"),
    [
        ("I agree", True),
        ("yes i agree", True),
        ("agreed", True),
        ("ok I accept", True),
        ("同意", True),
        ("我同意", True),
        ("yes", False),
        ("好的", False),
        ("i do not agree", False),
        ("i can't agree to that", False),
        ("I don't accept", False),
        ("i disagree", False),
        ("不同意", False),
        ("我不接受", False),
    ],
)
def test_only_explicit_agreement_is_consent(text: str, consent: bool) -> None:
    assert is_consent(text) is consent
