"""SMS keywords (CONTRACT.md §6): opt-out, re-opt-in and help.

They are answered by the gateway before the dialogue sees the message, so an
opt-out works even when Rasa is down and is never guessed at by the NLU. Only
a whole message counts ("STOP", "  stop! ", "退订"); a sentence like "please
stop texting me" is natural language and goes to the dialogue, whose
`opt_out` intent handles it.
"""

from __future__ import annotations

import enum
import unicodedata

from bot.domain.enums import Language


class Keyword(str, enum.Enum):
    STOP = "STOP"
    START = "START"
    HELP = "HELP"


OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "END", "QUIT", "REVOKE", "OPTOUT", "CANCEL"}
    | {"退订", "TD", "取消", "停止"}
)
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_WORDS = frozenset({"HELP", "INFO", "帮助"})
# "YES" answers the bot's questions all day long; it only re-subscribes
# someone who is actually opted out.
CONDITIONAL_OPT_IN = frozenset({"YES"})
_CHINESE_WORDS = frozenset({"退订", "TD", "取消", "停止", "帮助"})
# Twilio's Advanced Opt-Out names the keyword class it matched.
_OPT_OUT_TYPES = {"STOP": Keyword.STOP, "START": Keyword.START, "HELP": Keyword.HELP}
_MAX_KEYWORD_CHARS = 40


def _ignorable(char: str) -> bool:
    # Spaces, punctuation and symbols (emoji included) around or inside the word.
    return unicodedata.category(char)[0] in "ZPSC"


def normalize_keyword(text: str) -> str:
    """The message reduced to the letters a keyword is compared on.

    Width and case are folded (`ＳＴＯＰ`, `stop`), and spaces, punctuation
    and symbols are dropped, so "Stop!", " STOP " and "opt-out" all compare
    as the bare word.
    """
    if len(text) > _MAX_KEYWORD_CHARS:
        return ""
    folded = unicodedata.normalize("NFKC", text).upper()
    return "".join(char for char in folded if not _ignorable(char))


def classify(text: str, opt_out_type: str | None = None, *, opted_out: bool) -> Keyword | None:
    """Which keyword the message is, if any.

    Args:
        text: the message body as received.
        opt_out_type: Twilio's `OptOutType` parameter, which wins when set.
        opted_out: whether the sender is currently opted out (for "YES").
    """
    if opt_out_type:
        keyword = _OPT_OUT_TYPES.get(opt_out_type.strip().upper())
        if keyword is not None:
            return keyword
    word = normalize_keyword(text)
    if word in OPT_OUT_WORDS:
        return Keyword.STOP
    if word in OPT_IN_WORDS and (opted_out or word not in CONDITIONAL_OPT_IN):
        return Keyword.START
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


def keyword_language(text: str) -> Language | None:
    """The language a bare keyword suggests: 退订 and TD are Chinese, STOP English."""
    word = normalize_keyword(text)
    if word in _CHINESE_WORDS:
        return Language.ZH
    if word in OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS:
        return Language.EN
    return None
