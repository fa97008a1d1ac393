"""`rasa data validate`, strict about everything but what actions say.

Rasa's validator warns about every response not named in a story or rule,
but here many responses are chosen by custom actions (the amount owed
decides between `utter_balance` and `utter_balance_overdue`). So its
`--fail-on-warnings` cannot be used. Instead every warning fails, except
"utterance not used" for a response that an action in `actions/` names, and
"intent not in the NLU data" for EXTERNAL_ intents the gateway triggers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bot.runner.model import rasa_command, rasa_env
from bot.settings import PROJECT_ROOT

_WARNING = re.compile(r"UserWarning: (.*)")
_UNUSED = re.compile(r"The utterance '(utter_\w+)' is not used in any story or rule\.")
_NAMED_IN_CODE = re.compile(r"""["'](utter_\w+)["']""")
# Intents the gateway triggers through the HTTP API (Rasa's EXTERNAL_ naming
# convention) never appear in NLU data, by design.
_EXTERNAL_INTENT = re.compile(
    r"The intent 'EXTERNAL_\w+' is listed in the domain file, but is not found in the NLU"
)
# Uttered by Rasa itself: the ultimate fallback and the two-stage fallback's rephrase.
RASA_BUILT_IN = frozenset({"utter_default", "utter_ask_rephrase"})


def responses_used_outside_stories(root: Path = PROJECT_ROOT) -> set[str]:
    """Responses that actions, forms or Rasa itself utter.

    Every `utter_…` name in the action code, `utter_ask_<slot>` for each slot
    a form requests (unless the domain has an `action_ask_<slot>`, which Rasa
    runs instead), and Rasa's built-in fallback responses.
    """
    from ruamel.yaml import YAML

    names: set[str] = set(RASA_BUILT_IN)
    for path in (root / "actions").rglob("*.py"):
        names.update(_NAMED_IN_CODE.findall(path.read_text(encoding="utf-8")))
    yaml = YAML(typ="safe")
    documents = [
        yaml.load(path.read_text(encoding="utf-8")) or {}
        for path in sorted((root / "domain").glob("*.yml"))
    ]
    actions = {name for document in documents for name in document.get("actions") or []}
    for document in documents:
        for form in (document.get("forms") or {}).values():
            names.update(
                f"utter_ask_{slot}"
                for slot in form.get("required_slots", [])
                if f"action_ask_{slot}" not in actions
            )
    return names


def unexpected_warnings(output: str, allowed_unused: set[str]) -> list[str]:
    """Warnings in the validator's output that should fail the build."""
    problems = []
    for match in _WARNING.finditer(output):
        message = match.group(1).strip()
        unused = _UNUSED.search(message)
        if unused and unused.group(1) in allowed_unused:
            continue
        if _EXTERNAL_INTENT.search(message):
            continue
        if "pkg_resources" in message or "Slot auto-fill has been removed" in message:
            continue  # Rasa's own import-time noise, not about this project
        problems.append(message)
    return problems


def main(root: Path = PROJECT_ROOT) -> int:
    command = [
        *rasa_command(root),
        "data", "validate",
        "--domain", "domain",
        "--data", "data",
        "--config", "config.yml",
    ]  # fmt: skip
    result = subprocess.run(
        command, cwd=root, env=rasa_env(), capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    problems = unexpected_warnings(output, responses_used_outside_stories(root))
    if result.returncode != 0 or problems:
        sys.stderr.write(output if result.returncode != 0 else "")
        for problem in problems:
            sys.stderr.write(f"validation warning: {problem}\n")
        return result.returncode or 1
    print("rasa data validate: OK (responses used by actions allowed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
