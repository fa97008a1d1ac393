"""Create `.env` from `.env.example` with fresh random secrets.

Every `__generate__` placeholder becomes a new random value, so no two
installations share a secret and none is ever committed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from bot.settings import PROJECT_ROOT

PLACEHOLDER = "__generate__"


def render_env(template: str) -> str:
    """`template` with each placeholder replaced by its own random secret."""
    lines = []
    for line in template.splitlines():
        key, sep, value = line.partition("=")
        if sep and value.strip() == PLACEHOLDER and not key.lstrip().startswith("#"):
            line = f"{key}={secrets.token_urlsafe(32)}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def ensure_env_file(root: Path = PROJECT_ROOT) -> bool:
    """Write `root/.env` if it does not exist. Returns whether it was created."""
    target = root / ".env"
    if target.exists():
        return False
    content = render_env((root / ".env.example").read_text(encoding="utf-8"))
    temporary = target.with_suffix(".tmp")
    temporary.write_text(content, encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(target)
    return True
