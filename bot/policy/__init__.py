"""The issuer's policy: a validated, versioned file plus pure functions over it.

`policy/default.yml` holds every limit and price; `load_policy` / `get_policy`
read it into frozen models, and `bot.policy.offers` decides what the bot may
agree to. Nothing here does I/O at import time.
"""

from bot.policy.loader import PolicyError, clear_policy_cache, get_policy, load_policy
from bot.policy.models import InstallmentPolicy, Policy

__all__ = [
    "InstallmentPolicy",
    "Policy",
    "PolicyError",
    "clear_policy_cache",
    "get_policy",
    "load_policy",
]
