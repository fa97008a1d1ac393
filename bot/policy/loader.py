"""Reading the policy file: exact decimals in, a named field path out on any error.

YAML numbers such as `0.0072` would normally become binary floats; here they
are built as `Decimal` from their text, so a rate is exactly what the issuer
typed. A file that breaks the schema stops the process that loads it with a
message naming the file and the field ("policy/default.yml:
installments.CN.tenors.12: ..."), never a half-valid policy.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.constructor import ConstructorError, SafeConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import ScalarNode

from bot.policy.models import Policy
from bot.settings import PROJECT_ROOT, Settings


class PolicyError(ValueError):
    """The policy file is missing, is not YAML, or breaks the schema.

    Attributes:
        problems: One "field.path: message" per problem (the message lists them
            too, each prefixed with the file).
    """

    def __init__(self, source: str, problems: list[str]) -> None:
        super().__init__("\n".join(f"{source}: {problem}" for problem in problems))
        self.source = source
        self.problems = problems


class _DecimalConstructor(SafeConstructor):
    """The safe constructor, except that YAML floats become `Decimal` from their text."""

    def construct_decimal(self, node: ScalarNode) -> Decimal:
        text = str(self.construct_scalar(node)).replace("_", "")
        special = {".inf": "Infinity", "+.inf": "Infinity", "-.inf": "-Infinity", ".nan": "NaN"}
        try:
            return Decimal(special.get(text.lower(), text))
        except InvalidOperation as exc:  # pragma: no cover - YAML's float syntax is decimal
            raise ConstructorError(
                None, None, f"not a decimal number: {text!r}", node.start_mark
            ) from exc


_DecimalConstructor.add_constructor(
    "tag:yaml.org,2002:float", _DecimalConstructor.construct_decimal
)


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _DecimalConstructor
    return yaml


def _display(path: Path) -> str:
    """The path as people write it: relative to the repository when inside it."""
    try:
        return path.resolve().relative_to(PROJECT_ROOT).as_posix()
    except ValueError:
        return str(path)


def _field_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _problems(error: ValidationError) -> list[str]:
    problems = []
    for detail in error.errors(include_url=False):
        message = str(detail["msg"]).removeprefix("Value error, ")
        where = _field_path(detail["loc"])
        problems.append(f"{where}: {message}" if where else message)
    return problems


def parse_policy(document: Any, source: str = "<policy>") -> Policy:
    """Validate an already-parsed policy document.

    Raises:
        PolicyError: naming `source` and each offending field.
    """
    if not isinstance(document, dict):
        raise PolicyError(source, ["the file must be a mapping of sections (version, …)"])
    try:
        return Policy.model_validate(document)
    except ValidationError as exc:
        raise PolicyError(source, _problems(exc)) from exc


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file at `path`.

    Raises:
        PolicyError: if the file cannot be read, is not YAML or breaks the schema.
    """
    source = _display(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(source, [f"cannot read the file ({exc.strerror or exc})"]) from exc
    try:
        document = _yaml().load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        raise PolicyError(source, [f"{where}not valid YAML: {exc.problem}"]) from exc
    except YAMLError as exc:
        raise PolicyError(source, [f"not valid YAML: {exc}"]) from exc
    return parse_policy(document, source)


def get_policy(settings: Settings) -> Policy:
    """The policy `settings.policy_file` names, loaded once per version of the file.

    Long-running processes pick up an edited file on the next call (the cache
    is keyed by modification time and size), so a policy change needs no
    restart; a broken edit raises `PolicyError` instead of serving stale terms.
    """
    path = settings.policy_file
    if not path.is_absolute():  # POLICY_FILE=policy/x.yml means the repository's, whatever the cwd
        path = PROJECT_ROOT / path
    path = path.resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise PolicyError(
            _display(path), [f"cannot read the file ({exc.strerror or exc})"]
        ) from exc
    return _load_cached(path, stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=8)
def _load_cached(path: Path, mtime_ns: int, size: int) -> Policy:
    return load_policy(path)


def clear_policy_cache() -> None:
    """Forget every loaded policy (tests that rewrite a file within one clock tick)."""
    _load_cached.cache_clear()
