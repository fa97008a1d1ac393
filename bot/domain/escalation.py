"""Messages a person must take over at once: bankruptcy, a lawyer, a death, a complaint, distress.

RULES.md: these escalate in any bucket, whatever else was asked, so they are
found by plain patterns on the text (not by the intent model, which a rare
sentence can fool). Pure: the gateway calls it before the dialogue, the
collections actions on each answer.

Matching is deliberately a little generous (a false alarm costs a person a
minute; a missed one can cost far more), with three limits:
- idioms that only look alarming stay quiet: "I'm dying to know my balance",
  "this deadline is killing me", "累死了", "烦死了" (we match "want to die",
  "kill myself", "不想活了", never a bare "dying" or "死了");
- "died"/"passed away" count whoever died ("my husband passed away and this
  was his card" is the usual wording); a person checks who it was;
- negations are not parsed ("I'm not bankrupt" still escalates).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import Enum

# Handoff priorities, as in bot.services.conversations (kept equal by a test).
PRIORITY_DISTRESS = 100
PRIORITY_ELEVATED = 50


class EscalationCategory(str, Enum):
    DISTRESS = "distress"
    DECEASED = "deceased"
    BANKRUPTCY = "bankruptcy"
    ATTORNEY = "attorney"
    COMPLAINT = "complaint"


# Highest first: the order a message with several signals is reported in.
_PRIORITY = {
    EscalationCategory.DISTRESS: PRIORITY_DISTRESS,
    EscalationCategory.DECEASED: PRIORITY_ELEVATED + 20,
    EscalationCategory.BANKRUPTCY: PRIORITY_ELEVATED + 10,
    EscalationCategory.ATTORNEY: PRIORITY_ELEVATED + 10,
    EscalationCategory.COMPLAINT: PRIORITY_ELEVATED,
}

# Traditional -> Simplified for the characters the patterns below use.
_TRADITIONAL = str.maketrans(
    {
        "產": "产",
        "師": "师",
        "過": "过",
        "訴": "诉",
        "銀": "银",
        "監": "监",
        "輕": "轻",
        "殺": "杀",
        "離": "离",
        "結": "结",
        "東": "东",
        "顧": "顾",
        "問": "问",
        "託": "托",
        "約": "约",
        "兒": "儿",
        "訟": "讼",
        "會": "会",
        "機": "机",
        "構": "构",
        "門": "门",
        "幣": "币",
        "傷": "伤",
        "尋": "寻",
        "絕": "绝",
        "壓": "压",
        "撐": "撑",
        "見": "见",
        "語": "语",
        "體": "体",
        "國": "国",
        "務": "务",
        "協": "协",
        "與": "与",
    }
)

_EN: dict[EscalationCategory, str] = {
    EscalationCategory.DISTRESS: r"""
        \bkill+(?:ing)?\s*my\s*sel(?:f|ves)\b | \bkms\b
        | \bsu+[iy]?c+[iy]?d(?:e|al)\b | \bsuicid | \bsuiside
        | \bend\s+it\s+all\b | \bend\s+my\s+life\b | \btake\s+my\s+(?:own\s+)?life\b
        | \b(?:do\s*n[o']?t|dont|do\s+not|don't)\s+(?:want|wanna)\s+(?:to\s+)?(?:live|be\s+alive)\b
        | \b(?:want|wanna|going)\s+(?:to\s+)?die\b | \bno\s+reason\s+to\s+live\b
        | \bbetter\s+off\s+dead\b | \bhurt(?:ing)?\s+my\s*self\b | \bself[\s-]*harm
        | \bcan'?t\s+go\s+on\b
    """,
    EscalationCategory.DECEASED: r"""
        \bpass(?:ed)?\s+(?:away|on)\b | \bpast\s+away\b | \bdied\b | \bdeceased\b
        | \bdecea?s(?:ed|e)\b | \bdeath\s+(?:of|certificate)\b | \bfuneral\b
        | \b(?:is|was|he's|she's)\s+dead\b | \bestate\s+of\b | \bexecutor\b
    """,
    EscalationCategory.BANKRUPTCY: r"""
        \bban[ck]{1,2}r[uo]\w*p\w* | \bbank\s+rupt
        | \bch(?:apter|ap|\.)?\s*(?:7|seven|13|thirteen|11)\b
        | \binsolven(?:t|cy)\b
    """,
    EscalationCategory.ATTORNEY: r"""
        \batt?[oe]rne?y | \blawy[eu]?r | \blaywer | \blawer\b | \bsolicitor\b
        | \blegal\s+(?:counsel|representation|aid)\b | \bmy\s+counsel\b
        | \brepresented\s+by\b | \bdebt\s+(?:settlement\s+)?(?:relief\s+)?company\b
    """,
    EscalationCategory.COMPLAINT: r"""
        \bcomplaint | \bcomplain(?:ing|ed)?\s+(?:to|about|with)\b | \bcompl[ai]{1,2}nt
        | \bregulator | \bcfpb\b | \bconsumer\s+financial\s+protection
        | \bbetter\s+business\s+bureau\b | \bbbb\b | \bombuds | \bstate\s+attorney\s+general\b
    """,
}

_ZH: dict[EscalationCategory, str] = {
    EscalationCategory.DISTRESS: (
        r"不想活|活不下去|活不了了|轻生|自杀|自尽|寻死|想死|不如死|去死|结束(?:自己的)?生命"
        r"|跳楼|割腕|撑不下去了|了结自己|活着没意思|活着没有意思"
    ),
    EscalationCategory.DECEASED: r"去世|过世|离世|逝世|病逝|病故|身故|已故|过身|遗产|死亡证明",
    EscalationCategory.BANKRUPTCY: r"破产|破產|资不抵债",
    EscalationCategory.ATTORNEY: r"律师|律所|法律顾问|法律援助|委托代理",
    EscalationCategory.COMPLAINT: (
        r"投诉|银保监|银监|金融监管|监管局|监管部门|(?<![\d.,])(?:12378|12363)(?![\d.,])|人民银行|消费者协会|消协|金融消费权益"
    ),
}

# Idioms blanked out before matching: they only look like a signal.
_IDIOMS = re.compile(
    r"\b(?:phone|battery|car|laptop|computer|internet|wifi|app|card\s+reader)\s+(?:just\s+)?"
    r"(?:has\s+)?died\b|\bdying\s+to\b|\bto\s+die\s+for\b|\bkilling\s+me\b"
    r"|烦死了|累死了|笑死|气死|忙死|饿死|热死|冷死",
    re.IGNORECASE,
)

_PATTERNS: dict[EscalationCategory, re.Pattern[str]] = {
    category: re.compile(f"(?:{_EN[category]})|(?:{_ZH[category]})", re.VERBOSE | re.IGNORECASE)
    for category in EscalationCategory
}


@dataclass(frozen=True)
class Escalation:
    """What a message signals: the most urgent category first, and every category found."""

    category: EscalationCategory
    priority: int
    categories: tuple[EscalationCategory, ...]

    @property
    def reason(self) -> str:
        """The handoff reason recorded on the conversation."""
        return self.category.value


def normalise(text: str) -> str:
    """Full-width to ASCII, Traditional to Simplified, curly quotes straight, lower case."""
    folded = unicodedata.normalize("NFKC", text).translate(_TRADITIONAL)
    return folded.replace("\u2019", "'").replace("\u2018", "'").lower()


def priority_of(category: EscalationCategory) -> int:
    return _PRIORITY[category]


def detect(text: str) -> Escalation | None:
    """The escalation `text` calls for, or None when it calls for none."""
    if not text or not text.strip():
        return None
    plain = _IDIOMS.sub(" ", normalise(text))
    found = tuple(
        sorted(
            (category for category, pattern in _PATTERNS.items() if pattern.search(plain)),
            key=lambda category: -_PRIORITY[category],
        )
    )
    if not found:
        return None
    return Escalation(category=found[0], priority=_PRIORITY[found[0]], categories=found)
