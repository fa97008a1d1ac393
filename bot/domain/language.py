"""Which language a conversation is in: detected from text, chosen per message.

The gateway owns this decision (Rasa's `language` slot only follows it), so it
lives here as pure functions every channel shares. Detection is deliberately
conservative: a message that carries no real evidence ("123", "👍", "ok")
keeps the conversation's current language rather than flipping it, because a
Chinese speaker answering "OK" to an English-looking prompt still reads
Chinese best.
"""

from __future__ import annotations

import re

from bot.domain.enums import Language

# Han ideographs in every CJK block (Simplified and Traditional alike: both are
# read by our Chinese customers), plus Bopomofo.
_HAN = (
    "\u3400-\u4dbf"  # CJK Unified Ideographs Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003134f"  # Extensions B-G
    "\u3100-\u312f\u31a0-\u31bf"  # Bopomofo (Zhuyin input)
)
# Marks a Chinese input method produces: CJK punctuation 。、「」 and the
# fullwidth forms (，？！１２３ＡＢＣ).
_CJK_MARKS = "\u3001-\u303f\uff01-\uff60\uffe0-\uffe6"
_CHINESE_RE = re.compile(f"[{_HAN}{_CJK_MARKS}]")
# Latin letters, including accented ones (café, naïve), but not × or ÷.
_LATIN_WORD_RE = re.compile("[A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f]+")

# A Chinese character carries about as much as two-thirds of an English word.
_WORD_WEIGHT = 1.5
# Below this, Latin letters alone are not evidence of English: "ok", "Y", "TD".
_MIN_STRONG_WORD = 4


def detect_language(text: str) -> Language | None:
    """The language `text` is written in, or None when the text cannot tell.

    Digits, punctuation, emoji, other scripts and single short Latin tokens
    give None, so the caller keeps the language it already had. Mixed text is
    decided by weight: "我的card被盗了" is Chinese, "What does 分期 mean?" is
    English.
    """
    chinese = len(_CHINESE_RE.findall(text))
    words = _LATIN_WORD_RE.findall(text)
    english_evidence = len(words) >= 2 or any(len(word) >= _MIN_STRONG_WORD for word in words)
    english = _WORD_WEIGHT * len(words) if english_evidence else 0.0
    if chinese == 0 and english == 0:
        return None
    return Language.EN if english > chinese else Language.ZH


def choose_language(
    explicit: Language | None,
    stored: Language | None,
    text: str,
    default: Language,
) -> Language:
    """The language to answer one message in.

    Precedence: what the client asked for (the page's EN / 中文 switch) beats
    what the text looks like, which beats what the conversation already used,
    which beats the default (the channel's or the browser's).
    """
    if explicit is not None:
        return explicit
    detected = detect_language(text)
    if detected is not None:
        return detected
    if stored is not None:
        return stored
    return default


_ACCEPT_ITEM_RE = re.compile(
    r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?"
)


def language_from_accept_header(header: str | None) -> Language | None:
    """The preferred supported language in an HTTP `Accept-Language` header.

    Only a first-message default: a browser set to Chinese gets Chinese before
    the user has typed anything that could tell us.
    """
    if not header:
        return None
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate(header.split(",")):
        match = _ACCEPT_ITEM_RE.match(item)
        if match is None:
            continue
        primary = match.group(1).lower()
        try:
            quality = float(match.group(2)) if match.group(2) else 1.0
        except ValueError:
            continue
        language = {"en": Language.EN, "zh": Language.ZH}.get(primary)
        if language is None or quality <= 0:
            continue
        # Higher quality wins; on a tie the earlier entry wins.
        candidate = (quality, -position, language)
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return None if best is None else best[2]
