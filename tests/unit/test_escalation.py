"""The escalation detector: what hands a conversation to a person at once, in EN and ZH."""

from __future__ import annotations

import pytest

from bot.domain.escalation import (
    PRIORITY_DISTRESS,
    PRIORITY_ELEVATED,
    EscalationCategory,
    detect,
)
from bot.services import conversations

C = EscalationCategory

SIGNALS = [
    # bankruptcy
    ("I filed for bankruptcy last month", C.BANKRUPTCY),
    ("im going bankrupt", C.BANKRUPTCY),
    ("we filed chapter 7", C.BANKRUPTCY),
    ("bankrupcy paperwork is done", C.BANKRUPTCY),
    ("I'm bancrupt", C.BANKRUPTCY),
    ("我已经申请个人破产了", C.BANKRUPTCY),
    ("公司破產了", C.BANKRUPTCY),
    # attorney / lawyer
    ("please talk to my lawyer", C.ATTORNEY),
    ("my attorney will call you", C.ATTORNEY),
    ("i have an atorney now", C.ATTORNEY),
    ("I'm represented by counsel, my laywer handles this", C.ATTORNEY),
    ("我已经委托律师处理了", C.ATTORNEY),
    ("請聯繫我的律師", C.ATTORNEY),
    # death of the cardholder
    ("my husband passed away, this was his card", C.DECEASED),
    ("the cardholder died in march", C.DECEASED),
    ("my mother past away", C.DECEASED),
    ("持卡人已经去世了", C.DECEASED),
    ("我爸爸上个月过世了", C.DECEASED),
    ("我父親過世了", C.DECEASED),
    # complaint
    ("I want to file a complaint", C.COMPLAINT),
    ("I'll report you to the CFPB", C.COMPLAINT),
    ("I'm contacting the regulator", C.COMPLAINT),
    ("i have a complant about your calls", C.COMPLAINT),
    ("我要投诉你们", C.COMPLAINT),
    ("我要去银保监会反映", C.COMPLAINT),
    ("我会打12378", C.COMPLAINT),
    ("我要投訴", C.COMPLAINT),
    # distress / self-harm
    ("I want to kill myself", C.DISTRESS),
    ("i dont want to live anymore", C.DISTRESS),
    ("I've been thinking about suicide", C.DISTRESS),
    ("thinking about sucide", C.DISTRESS),
    ("honestly I want to die", C.DISTRESS),
    ("我真的不想活了", C.DISTRESS),
    ("压力太大，活不下去了", C.DISTRESS),
    ("我想过轻生", C.DISTRESS),
    ("我想輕生", C.DISTRESS),
]


@pytest.mark.parametrize(("text", "category"), SIGNALS)
def test_signals_are_detected(text: str, category: EscalationCategory) -> None:
    found = detect(text)
    assert found is not None, text
    assert found.category is category


# Decided: these idioms only look alarming and do not escalate (documented in the module).
QUIET = [
    "I'm dying to know my balance",
    "this deadline is killing me",
    "my phone died, can you resend the link",
    "my battery died halfway through",
    "累死了，今天还能还款吗",
    "烦死了，账单怎么这么多",
    "I lost my job and can't pay",
    "can you waive the late fee",
    "我失业了还不上",
    "I'll pay $200 on Friday",
    "the payment is 12,378.00",  # digits of an amount are not the 12378 hotline
    "我还了112378元",
    "",
    "   ",
]


@pytest.mark.parametrize("text", QUIET)
def test_ordinary_messages_and_idioms_stay_quiet(text: str) -> None:
    assert detect(text) is None


def test_distress_outranks_everything_else() -> None:
    found = detect("my lawyer says bankruptcy, I don't want to live anymore")
    assert found is not None
    assert found.category is C.DISTRESS
    assert found.priority == PRIORITY_DISTRESS
    assert set(found.categories) == {C.DISTRESS, C.ATTORNEY, C.BANKRUPTCY}


def test_priorities_match_the_handoff_queue() -> None:
    assert PRIORITY_DISTRESS == conversations.PRIORITY_DISTRESS
    assert PRIORITY_ELEVATED == conversations.PRIORITY_ELEVATED
    complaint = detect("I want to file a complaint")
    assert complaint is not None and complaint.priority >= conversations.PRIORITY_ELEVATED
    assert complaint.reason == "complaint"


def test_full_width_and_case_are_folded() -> None:
    found = detect("ＣＦＰＢ COMPLAINT")
    assert found is not None and found.category is C.COMPLAINT
